"""A ledger that stops taking writes part-way through an import (its disk full; here its
process may not grow a file past 300 kB, so the WAL's next write fails as a full disk's would)
stops the target, not the run: the rows it could not claim fail ``LEDGER_UNAVAILABLE``, the run
folder is written with one result per row, the exit code is 4, and no traceback is printed. A
chunk whose answer could not be recorded stays in flight in the ledger: the same command run
again settles it with the vendor and sends the rest, each lead held once at the vendor."""

from __future__ import annotations

import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from connectors.lease import LEASE_ENV
from flows.commands.import_file import main as import_main
from tests.flows.conftest import Vendors, read_results, write_targets

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMIT = 300_000
"""Bytes a file of the import's process may grow to: the run folder's files stay under it, the
ledger's WAL (a few pages a chunk) passes it part-way through the sending."""


def _files_up_to_the_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG), the process lives
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_a_ledger_that_fills_up_mid_import_stops_the_target_and_a_rerun_sends_each_lead_once(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEASE_ENV, "0.5")
    file = lead_file(300, seed=7)
    targets = write_targets(tmp_path / "t.toml", only=["obi"], obi={"chunk_size": 2, "concurrency": 1})
    ledger = tmp_path / "ledger.sqlite"
    command = [str(file), "--targets", str(targets), "--ledger", str(ledger), "--out", str(tmp_path / "out")]

    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "import", *command],
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=_files_up_to_the_limit,  # a resource limit, set before exec only
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    assert f"ledger {ledger}: cannot write to it" in done.stderr
    [run_dir] = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    first = read_results(run_dir)
    assert first.height == 300  # one result per row, the unclaimed ones included
    stopped = first.filter(first["reasons"].list.contains("LEDGER_UNAVAILABLE"))
    assert stopped.height > 0 and set(stopped["status"]) == {"failed"}
    held_then = Counter(customer["externalId"] for customer in vendors.obi_customers())
    assert 0 < len(held_then) < 300 and max(held_then.values()) == 1

    time.sleep(1.0)  # past the first run's lease, which its full disk could not end
    buffer = io.StringIO()
    code = import_main([*command], Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    [_, rerun_dir] = sorted(path for path in (tmp_path / "out").iterdir() if path.is_dir())
    rerun = read_results(rerun_dir)
    held = Counter(customer["externalId"] for customer in vendors.obi_customers())
    delivered = rerun.filter(rerun["status"].is_in(["accepted", "already_sent"]))
    assert set(held) == set(delivered["external_id"])
    assert max(held.values()) == 1  # what the first run sent, recorded or not, is not sent again
