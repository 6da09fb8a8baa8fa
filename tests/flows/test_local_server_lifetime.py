"""The local Prefect server ``leadflow serve`` starts lives in its own session, so it must end
when serve dies however serve dies (SIGKILL included): else it keeps its port and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.local_server import dies_with_parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

PARENT = """
import subprocess, sys, time
from flows.local_server import dies_with_parent
child = subprocess.Popen(dies_with_parent(["/bin/sleep", "120"]), start_new_session=True)
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_a_child_in_its_own_session_ends_when_its_parent_is_killed() -> None:
    repo = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        time.sleep(0.5)
        assert _alive(child), "the shim should have exec'd the command"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the child outlived its killed parent"
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_the_shim_runs_the_command_itself_with_its_arguments(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    done = subprocess.run(dies_with_parent(["/bin/sh", "-c", f"echo $0 > {out}", "hello"]), check=False)
    assert done.returncode == 0
    assert out.read_text().strip() == "hello"
