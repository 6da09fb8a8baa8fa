"""A `leadflow import` stopped with Ctrl-C (SIGINT) part-way, then run again.

The person at the terminal gets a short account of what the interruption left and what to do
(no traceback), exit code 130 (the shell's code for SIGINT), and the same command run again
delivers the rest: OBI holds every lead once.
"""

from __future__ import annotations

import io
import os
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


def _interrupt_once_some_are_held(process: subprocess.Popen[bytes], vendors: Vendors) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the import ended (exit {process.returncode}) before Ctrl-C")
        if vendors.held()["obi"]:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            return
        time.sleep(0.05)
    process.kill()
    raise AssertionError("OBI received no lead within 90 s")


def _interrupted_import(
    vendors: Vendors, file: Path, tmp_path: Path, *options: str
) -> tuple[list[str], Path, int, str, str]:
    """``leadflow import FILE`` to OBI (two leads a request, 0.3 s an answer) in a process of its
    own, Ctrl-C once OBI holds some: (the command's arguments, its --out, exit code, stdout,
    stderr)."""
    targets = write_targets(tmp_path / "targets.toml", only=["obi"], obi={"chunk_size": 2, "concurrency": 1})
    out = tmp_path / "out"
    vendors.set_faults({"vendors": {"sinch_obi": {"*": {"latency": 0.3}}}})
    command = [str(file), "--targets", str(targets), "--out", str(out)]
    with (tmp_path / "stdout").open("wb") as out_file, (tmp_path / "stderr").open("wb") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "import", *command, *options],
            cwd=REPO_ROOT,
            env={**os.environ, "COLUMNS": "200"},
            stdout=out_file,
            stderr=err_file,
        )
        _interrupt_once_some_are_held(process, vendors)
    stdout, stderr = ((tmp_path / name).read_text(encoding="utf-8") for name in ("stdout", "stderr"))
    return command, out, process.returncode, stdout, stderr


def _rerun_sends_the_rest_once(vendors: Vendors, command: list[str], out: Path, leads: int) -> None:
    """The same command again, once the interrupted run's lease lapsed: every lead OBI holds,
    once, and a run folder of one result per lead."""
    vendors.set_faults({})
    time.sleep(1.0)  # past the lease
    buffer = io.StringIO()
    code = import_main(command, console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = read_results(run_dir)
    assert results.height == leads
    held = Counter(customer["externalId"] for customer in vendors.obi_customers())
    assert set(held) == set(results.filter(results["batch_id"].is_not_null())["external_id"])
    assert max(held.values()) == 1


def test_ctrl_c_during_an_import_says_what_to_do_without_a_traceback_and_a_rerun_sends_the_rest(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEASE_ENV, "0.5")  # the interrupted run's claims outlive it by this

    command, out, code, stdout, stderr = _interrupted_import(vendors, lead_file(40, seed=3), tmp_path)

    assert code == 130, (stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    said = " ".join((stdout + stderr).split())
    assert "Interrupted" in said, said
    assert "Run the same command again" in said, said
    assert str(out / "ledger.sqlite") in said, said  # where what was delivered is recorded
    assert not [p for p in out.iterdir() if p.is_dir()], "an interrupted run writes no run folder"
    assert 0 < vendors.held()["obi"] < 40
    _rerun_sends_the_rest_once(vendors, command, out, 40)


def test_ctrl_c_during_a_prefect_import_is_one_line_naming_the_flow_run_and_a_rerun_sends_the_rest(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--prefect``: the flow run (on Prefect's temporary server, started by the command) is
    stopped by the same Ctrl-C: Prefect marks it crashed, the terminal gets the one line."""
    monkeypatch.setenv(LEASE_ENV, "0.5")

    command, out, code, stdout, stderr = _interrupted_import(
        vendors, lead_file(60, seed=4), tmp_path, "--prefect"
    )

    assert code == 130, (stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    said = " ".join(stdout.split())
    assert said.startswith("Interrupted (Ctrl-C): the import_leads flow run stopped before it finished"), said
    assert "Run the same command again" in said, said
    assert "Crashed" in stderr  # Prefect's own record of the flow run: not Completed
    assert not [p for p in out.iterdir() if p.is_dir()], "an interrupted run writes no run folder"
    assert 0 < vendors.held()["obi"] < 60
    _rerun_sends_the_rest_once(vendors, command, out, 60)
