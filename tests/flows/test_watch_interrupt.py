"""A second Ctrl-C while ``leadflow watch`` sends a file: the watcher's own handler took the
first (stop after the current file), the second interrupts at once. The sends under way are
cancelled and end before the ledger closes: the run's lease is ended in the ledger (the next
run need not wait for it to lapse), no "closed database" warning, no traceback, exit 130. Real
parts: the command in a process of its own, Prefect's temporary server, the sandbox on
127.0.0.1."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.inbox.intake import Layout
from tests.conftest import REPO_ROOT
from tests.flows.conftest import Vendors, write_targets

pytestmark = pytest.mark.slow


def test_a_second_ctrl_c_mid_send_cancels_the_sends_before_the_ledger_closes(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    layout = Layout.at(tmp_path / "watched")
    (layout.inbox / "leads.csv").write_bytes(lead_file(60, seed=9).read_bytes())
    targets = write_targets(tmp_path / "t.toml", only=["obi"], obi={"chunk_size": 2, "concurrency": 1})
    vendors.set_faults({"vendors": {"sinch_obi": {"*": {"latency": 0.3}}}})
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "flows.cli", "watch", str(layout.root), "--settle", "0"]
    with (tmp_path / "output").open("wb") as output:
        watcher = subprocess.Popen(
            [*command, "--targets", str(targets)], cwd=REPO_ROOT, env=env, stdout=output, stderr=output
        )
        try:
            deadline = time.monotonic() + 240
            while not vendors.held()["obi"] and watcher.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert vendors.held()["obi"], "OBI received no lead"
            watcher.send_signal(signal.SIGINT)
            time.sleep(0.5)
            watcher.send_signal(signal.SIGINT)
            watcher.wait(timeout=60)
        finally:
            if watcher.poll() is None:
                watcher.kill()
    said = (tmp_path / "output").read_text(encoding="utf-8")

    assert watcher.returncode == 130, said[-3000:]
    assert "Traceback" not in said and "closed database" not in said, said[-3000:]
    assert "Interrupted (Ctrl-C)" in said
    assert vendors.held()["obi"] < 60  # stopped mid-send, not after the file
    with sqlite3.connect(layout.root / "runs" / "ledger.sqlite") as db:
        leases = db.execute("SELECT run_id, until FROM leases").fetchall()
    assert leases and all(until == 0 for _, until in leases), leases
