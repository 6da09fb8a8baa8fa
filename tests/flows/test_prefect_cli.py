"""Prefect's own CLI against a real local server, with the versions constraints.txt pins.

An operator deploys prefect.yaml with ``prefect deploy --all`` and looks at runs with
``prefect deployment ls``, ``prefect flow-run ls`` and ``prefect artifact ls/inspect``. With
FastAPI 0.151 or later under Prefect's server, every one of these got a 422: Prefect's client
sends ``"limit": null`` (and ``"sort": null``, ``"flow_runs": null``) and FastAPI stopped
treating an explicit ``null`` in a body field as "use the default". ``prefect deploy --all``
created the first deployment and died on the second. This runs them all from the repository
root against ``prefect server start`` on 127.0.0.1 with a throwaway PREFECT_HOME (SQLite).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.local_server import stop_process_group
from tests.conftest import REPO_ROOT
from tests.flows.webhook_receiver import Receiver

pytestmark = pytest.mark.slow

POOL = "leadflow-process"
ARTIFACT_KEY = "leadflow-cli-check"
PREFECT = str(Path(sys.executable).with_name("prefect"))


class LocalPrefect:
    """A ``prefect server start`` child and the environment that points commands at it."""

    def __init__(self, env: dict[str, str], api_url: str) -> None:
        self.env = env
        self.api_url = api_url

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, "--no-prompt", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def deployment_names(self) -> set[str]:
        response = httpx.post(f"{self.api_url}/deployments/filter", json={}, timeout=30)
        response.raise_for_status()
        return {deployment["name"] for deployment in response.json()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def local_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefect]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "COLUMNS": "200",
    }
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--analytics-off"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"prefect server exited with status {server.returncode}"
            assert time.monotonic() < deadline, "prefect server did not answer /health within 180 s"
            try:
                if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield LocalPrefect(env, api_url)
    finally:
        stop_process_group(server, signal.SIGTERM, grace=15)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_prefect_deploy_all_creates_every_deployment_of_prefect_yaml(local_prefect: LocalPrefect) -> None:
    _ok(local_prefect.run("work-pool", "create", POOL, "--type", "process"))

    _ok(local_prefect.run("deploy", "--all"))

    assert local_prefect.deployment_names() == {"nightly-import", "watched-folder-scan", "import-partition"}


def test_prefect_listing_commands_exit_0_against_the_server(local_prefect: LocalPrefect) -> None:
    if not local_prefect.deployment_names():
        _ok(local_prefect.run("work-pool", "create", POOL, "--type", "process", "--overwrite"))
        _ok(local_prefect.run("deploy", "--all"))
    _ok(local_prefect.run("deployment", "run", "import-leads/nightly-import"))  # a flow run to list
    _ok(
        local_prefect.python(
            "from prefect.artifacts import create_markdown_artifact\n"
            f"create_markdown_artifact(markdown='# check', key={ARTIFACT_KEY!r})\n"
        )
    )

    deployments = _ok(local_prefect.run("deployment", "ls"))
    # by flow: the newest 15 by expected start can all be the watched-folder deployment's
    # scheduled runs, once the server's scheduler has made them (it did in CI-like loaded runs)
    flow_runs = _ok(local_prefect.run("flow-run", "ls", "--flow-name", "import-leads"))
    artifacts = _ok(local_prefect.run("artifact", "ls"))
    inspected = _ok(local_prefect.run("artifact", "inspect", ARTIFACT_KEY))

    assert "nightly-import" in deployments and "watched-folder-scan" in deployments
    assert "import-leads" in flow_runs
    assert ARTIFACT_KEY in artifacts
    assert "# check" in inspected


def test_the_automation_recipe_tells_a_webhook_when_an_import_fails(
    local_prefect: LocalPrefect, tmp_path: Path
) -> None:
    """README "Alerts": prefect-automations.yaml, created with ``prefect automation create``,
    sends a notification through a block when an ``import-leads`` run fails; here the block is a
    custom webhook pointing at a receiver on 127.0.0.1, and the run fails for a bad file."""
    with Receiver() as receiver:
        created = _ok(
            local_prefect.python(
                "from prefect.blocks.notifications import CustomWebhookNotificationBlock as B\n"
                f"block = B(name='leadflow', url={receiver.url!r}, "
                "json_data={'subject': '{{subject}}', 'body': '{{body}}'})\n"
                "print(block.save('leadflow-alerts', overwrite=True))\n"
            )
        )
        block_id = created.strip().splitlines()[-1]
        recipe = (REPO_ROOT / "prefect-automations.yaml").read_text(encoding="utf-8")
        assert "00000000-0000-0000-0000-000000000000" in recipe
        mine = tmp_path / "automations.yaml"
        mine.write_text(recipe.replace("00000000-0000-0000-0000-000000000000", block_id), encoding="utf-8")
        _ok(local_prefect.run("automation", "create", "--from-file", str(mine)))
        assert "leadflow-run-failed" in _ok(local_prefect.run("automation", "ls"))
        bad = tmp_path / "partner-drop.csv"
        bad.write_text("name,notes\nAnn,hello\n", encoding="utf-8")

        local_prefect.python(
            "from flows.import_leads import import_leads\n"
            f"import_leads({str(bad)!r}, out_dir={str(tmp_path / 'out')!r}, return_state=True)\n"
        )

        deadline = time.monotonic() + 240
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(1)
    assert receiver.posts, "no notification within 240 s"
    [note] = receiver.posts
    assert "import-leads" in note["subject"] and "Failed" in note["subject"]
    assert "partner-drop.csv" in note["body"] and "no phone or email column" in note["body"].lower()
