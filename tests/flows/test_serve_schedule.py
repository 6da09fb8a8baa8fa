"""``leadflow serve`` must run its deployments on their schedules, not only when triggered.

This runs the real thing: ``leadflow serve`` with no ``PREFECT_API_URL`` starts a local Prefect
server (scheduler on), serves the watched-folder scan on a short interval, and a dropped file
must end in ``archive/`` through a run the scheduler created, imported with the ``--country``
and ``--suppress`` given to ``leadflow serve`` (its run.json records the list applied). It
failed before SQLAlchemy was held below 2.1: Prefect 3.8's scheduler could not insert the runs
it planned.

The server listens on the port given with ``--port`` (not a new random one per start), and its
run list reads as what happened: the scan that took the file, the file's import. The import's
report link artifact opens the report served on ``--runs-port``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flows.inbox.intake import Layout
from flows.local_server import stop_process_group

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_served_scan_runs_on_its_interval_and_imports_a_dropped_file(
    tmp_path: Path, sample_data: Path
) -> None:
    root = tmp_path / "watched"
    layout = Layout.at(root)
    (layout.inbox / "leads.csv").write_bytes((sample_data / "us_crm_export.csv").read_bytes())
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    port, runs_port = _free_ports(2)
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONPATH": str(REPO_ROOT)}
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            str(root),
            "--scan-every",
            "5",
            "--settle",
            "0",
            "--port",
            str(port),
            "--runs-port",
            str(runs_port),
            "--country",
            "US",
            "--suppress",
            str(REPO_ROOT / "sample_data" / "do_not_contact.csv"),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # a wait for the outcome, not a speed check: on a loaded 2-core machine the server's start,
        # the first scan and the import's flow-run process took over 240 s together
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and serve.poll() is None:
            if any(path.name.endswith(".result.json") for path in layout.archive.iterdir()):
                break
            time.sleep(1)
        archived = sorted(path.name for path in layout.archive.iterdir())
        names = _flow_run_names(f"http://127.0.0.1:{port}/api") if serve.poll() is None else []
        report = _served_report(f"http://127.0.0.1:{port}/api") if serve.poll() is None else None
    finally:
        stop_process_group(serve, signal.SIGINT, grace=60)
        output = serve.communicate()[0]

    assert any(name.endswith("-leads.csv") for name in archived), output[-3000:]
    assert any(name.endswith(".result.json") for name in archived), output[-3000:]
    assert os.listdir(layout.inbox) == []
    assert f"Prefect server for the served deployments: http://127.0.0.1:{port}" in output
    assert "scan: 1 imported" in names, names
    assert f"Run folders and reports, read-only: http://127.0.0.1:{runs_port}/" in output
    assert report is not None and report.status_code == 200, report
    assert str(report.url).startswith(f"http://127.0.0.1:{runs_port}/") and "<html" in report.text.lower()
    assert any(re.fullmatch(r"leads\.csv → validate · .+", name) for name in names), names
    [run_json] = (root / "runs").glob("*/run.json")
    run = json.loads(run_json.read_text(encoding="utf-8"))
    assert (run["default_country"], run["default_country_source"]) == ("US", "option")
    [applied] = run["suppression_lists"]
    listed = REPO_ROOT / "sample_data" / "do_not_contact.csv"
    assert applied["path"] == str(listed)
    assert applied["sha256"] == hashlib.sha256(listed.read_bytes()).hexdigest()
    assert applied["entries"] > 0
    summary = json.loads((run_json.parent / "summary.json").read_text(encoding="utf-8"))
    assert summary["suppressed"], summary


def _flow_run_names(api: str) -> list[str]:
    """The names of the flow runs the server holds, once the import run has finished."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200, "offset": 0}, timeout=30)
        response.raise_for_status()
        names = [run["name"] for run in response.json()]
        if "scan: 1 imported" in names or time.monotonic() > deadline:
            return names
        time.sleep(1)


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _served_report(api: str) -> httpx.Response | None:
    """The import's ``import-report`` link artifact, followed: the report as served by serve."""
    body = {
        "artifacts": {"key": {"any_": ["import-report"]}},
        "limit": 1,
        "offset": 0,
        "sort": "CREATED_DESC",
    }
    response = httpx.post(f"{api}/artifacts/filter", json=body, timeout=30)
    response.raise_for_status()
    found = [re.search(r"\((http://[^)]+)\)", str(a["data"])) for a in response.json()]
    links = [match.group(1) for match in found if match]
    return httpx.get(links[0], timeout=30) if links else None
