"""Crash and resume: an import killed with SIGKILL mid-run and started again sends every lead
exactly once overall, as the sandbox (a real uvicorn server on 127.0.0.1) sees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.lease import LEASE_ENV
from connectors.ledger import Ledger
from connectors.ledger_types import TargetKey
from sandbox.server import SandboxServer
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID

REPO_ROOT = Path(__file__).resolve().parents[2]
LEADS = 300
LEASE = 0.5
"""Seconds a killed run's claims outlive it (connectors.lease): short, so the rerun can start soon."""

IMPORT = """
import asyncio, json, sys
from pathlib import Path
from connectors.base import Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import dispatch
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector

base_url, campaign, ledger_path, run_id, out, n = sys.argv[1:7]
target = TargetConfig(name="obi", kind="sinch_obi", base_url=base_url, campaign=campaign, chunk_size=10,
                      concurrency=2, retry=RetryPolicy(backoff=0.01, max_backoff=0.05))
connector = SinchObiConnector(target=target, secrets={"username": "demo", "password": "demo-secret"})
leads = [Lead(i, f"crash-{i:04d}", phones=(Phone(f"+3120{i:07d}"),)) for i in range(1, int(n) + 1)]

async def main() -> None:
    with Ledger(Path(ledger_path)) as ledger:
        results = await dispatch(connector, leads, ledger=ledger, run_id=run_id)
    Path(out).write_text(json.dumps([[r.external_id, r.status.value, list(r.reasons)] for r in results]))

asyncio.run(main())
"""


def start_import(server: SandboxServer, ledger: Path, run_id: str, out: Path) -> subprocess.Popen[bytes]:
    args = [f"{server.base_url}/obi", DEMO_CAMPAIGN_ID, str(ledger), run_id, str(out), str(LEADS)]
    env = {**os.environ, LEASE_ENV: str(LEASE)}
    return subprocess.Popen([sys.executable, "-c", IMPORT, *args], cwd=REPO_ROOT, env=env)


def stored(server: SandboxServer) -> Counter[str]:
    dump = server.sandbox.simulators["sinch_obi"].dump()
    return Counter(c["externalId"] for c in dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"])


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.mark.slow
def test_an_import_killed_mid_run_and_rerun_sends_each_lead_exactly_once(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEASE_ENV, str(LEASE))
    ledger_path = tmp_path / "ledger.sqlite"
    server.sandbox.faults.configure(
        {"vendors": {"sinch_obi": {"/campaigns/*/customers/list": {"latency": 0.05}}}}
    )
    crashed = start_import(server, ledger_path, "run-1", tmp_path / "run-1.json")
    deadline = time.monotonic() + 30
    while sum(stored(server).values()) < 60 and time.monotonic() < deadline and crashed.poll() is None:
        time.sleep(0.01)
    os.kill(crashed.pid, signal.SIGKILL)
    crashed.wait(10)
    assert crashed.returncode == -signal.SIGKILL, "the first run finished before it could be killed"
    time.sleep(LEASE + 0.2)  # the dead run's lease expires
    before = stored(server)
    assert 0 < sum(before.values()) < LEADS

    key = TargetKey("sinch_obi", f"{server.base_url}/obi", DEMO_CAMPAIGN_ID)
    with Ledger(ledger_path) as ledger:
        left_in_flight = ledger.pending_chunks(key, exclude_run="run-2")
    assert left_in_flight, "the kill left no chunk in flight: nothing to resume"

    server.sandbox.faults.configure({})
    namespace: dict[str, object] = {"__name__": "rerun"}
    sys_argv = sys.argv
    sys.argv = [
        "rerun",
        f"{server.base_url}/obi",
        DEMO_CAMPAIGN_ID,
        str(ledger_path),
        "run-2",
        str(tmp_path / "run-2.json"),
        str(LEADS),
    ]
    try:
        exec(IMPORT, namespace)  # the same program, run again in this process
    finally:
        sys.argv = sys_argv

    after = stored(server)
    assert set(after) == {f"crash-{i:04d}" for i in range(1, LEADS + 1)}
    assert max(after.values()) == 1
    results = json.loads((tmp_path / "run-2.json").read_text())
    assert len(results) == LEADS
    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) <= {"already_sent", "accepted"}
    assert statuses["already_sent"] >= sum(before.values())
    with Ledger(ledger_path) as ledger:
        assert ledger.pending_chunks(key, exclude_run="run-3") == []
        assert {e.status for e in ledger.entries(key).values()} == {"accepted"}
