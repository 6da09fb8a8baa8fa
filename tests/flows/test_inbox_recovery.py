"""A watcher that dies mid-import leaves its claim in processing/: the next pass must finish it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.inbox.intake import InboxSettings, Layout, Verdict, run_once
from flows.inbox.layout import host_tag
from flows.inbox.recovery import owner_alive, take_over_orphans
from flows.inbox.registry import IntakeRegistry, IntakeState
from tests.flows.inbox_steps import CountingImport, lead_csv

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = InboxSettings(settle_seconds=0)

KILLED_MID_IMPORT = """
import os, signal, sys
from pathlib import Path
from flows.inbox.intake import InboxSettings, run_once
from tests.flows.inbox_steps import CountingImport
root = Path(sys.argv[1])
run_once(root, CountingImport(root / "dead-runs", during=lambda path: os.kill(os.getpid(), signal.SIGKILL)),
         InboxSettings(settle_seconds=0))
"""

DIED_AFTER_RECORDING = """
import hashlib, os, sys
from pathlib import Path
from flows.inbox.intake import claim
from flows.inbox.registry import IntakeRegistry, IntakeState
root = Path(sys.argv[1])
taken = claim(root / "inbox" / "leads.csv")
digest = hashlib.sha256(taken.path.read_bytes()).hexdigest()
registry = IntakeRegistry(taken.layout.registry)
registry.reserve(digest, taken.name, "leads.csv")
registry.settle(digest, IntakeState.IMPORTED, "run-of-the-dead", str(root / "dead-runs" / "run-of-the-dead"))
os._exit(0)
"""

CLAIMS_AND_WAITS = """
import sys
from pathlib import Path
from flows.inbox.intake import claim
taken = claim(Path(sys.argv[1]) / "inbox" / "leads.csv")
print(taken.name, flush=True)
sys.stdin.read()
"""


def _child(script: str, root: Path, *, piped: bool = False) -> subprocess.Popen[str]:
    """A real watcher process running ``script`` on ``root`` (stdin/stdout piped when asked)."""
    pipe = subprocess.PIPE if piped else None
    return subprocess.Popen(
        [sys.executable, "-c", script, str(root)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        text=True,
        stdin=pipe,
        stdout=pipe,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "watched"
    (Layout.at(root).inbox / "leads.csv").write_bytes(lead_csv("a"))
    return root


def test_a_file_whose_watcher_was_killed_mid_import_is_imported_by_the_next_pass(root: Path) -> None:
    dead = _child(KILLED_MID_IMPORT, root)
    assert dead.wait(timeout=60) == -9
    layout = Layout.at(root)
    [orphan] = os.listdir(layout.processing)
    step = CountingImport(root / "runs")

    [done] = run_once(root, step, NOW)

    assert done.verdict is Verdict.IMPORTED
    assert done.original_name == "leads.csv"
    assert len(step.imported) == 1
    assert os.listdir(layout.processing) == [] and os.listdir(layout.inbox) == []
    assert done.path.parent == layout.archive and done.path.read_bytes() == lead_csv("a")
    record = IntakeRegistry(layout.registry).record(step.imported[0])
    assert record is not None and record.state is IntakeState.IMPORTED and record.run_id == done.run_id
    assert orphan not in os.listdir(layout.archive)
    assert run_once(root, step, NOW) == [] and len(step.imported) == 1


def test_a_watcher_that_died_after_recording_its_import_is_filed_as_imported_not_imported_again(
    root: Path,
) -> None:
    assert _child(DIED_AFTER_RECORDING, root).wait(timeout=60) == 0
    step = CountingImport(root / "runs")

    [done] = run_once(root, step, NOW)

    assert step.imported == []
    assert done.verdict is Verdict.IMPORTED and done.run_id == "run-of-the-dead"
    note = json.loads(Path(f"{done.path}.result.json").read_text(encoding="utf-8"))
    assert note["run_id"] == "run-of-the-dead"


def test_a_claim_is_left_alone_while_its_watcher_runs_and_taken_over_once_it_is_gone(root: Path) -> None:
    alive = _child(CLAIMS_AND_WAITS, root, piped=True)
    try:
        assert alive.stdout is not None
        claimed = alive.stdout.readline().strip()
        step = CountingImport(root / "runs")

        assert run_once(root, step, NOW) == []
        assert os.listdir(Layout.at(root).processing) == [claimed]
    finally:
        alive.communicate(input="", timeout=30)

    [done] = run_once(root, step, NOW)
    assert done.verdict is Verdict.IMPORTED and len(step.imported) == 1


def test_an_orphan_is_taken_over_by_one_of_two_watchers_recovering_at_once(root: Path) -> None:
    assert _child(KILLED_MID_IMPORT, root).wait(timeout=60) == -9
    layout = Layout.at(root)
    results: list[int] = []
    start = threading.Barrier(2)

    def recover() -> None:
        start.wait()
        results.append(len(take_over_orphans(layout)))

    threads = [threading.Thread(target=recover) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 1]
    assert len(os.listdir(layout.processing)) == 1


def test_a_pid_reused_by_a_process_started_after_the_claim_does_not_own_it() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as other:
        try:
            before = datetime.now(UTC) - timedelta(hours=1)
            after = datetime.now(UTC) + timedelta(minutes=1)

            assert owner_alive(other.pid, before) is False
            assert owner_alive(other.pid, after) is True
        finally:
            other.communicate(input=b"", timeout=30)
    assert owner_alive(other.pid, datetime.now(UTC)) is False
    assert owner_alive(os.getpid(), datetime.now(UTC) - timedelta(days=1)) is True


def test_a_dead_claim_of_another_machine_is_left_to_that_machine_and_one_of_ours_is_taken_over(
    root: Path,
) -> None:
    layout = Layout.at(root)
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    other = "00000000" if host_tag() != "00000000" else "11111111"
    theirs = layout.processing / f"20261204T120000Z-{dead.pid}@{other}-1abcd-theirs.csv"
    ours = layout.processing / f"20261204T120000Z-{dead.pid}@{host_tag()}-2abcd-ours.csv"
    for path in (theirs, ours):
        path.write_bytes(lead_csv(path.stem))

    taken = take_over_orphans(layout)

    assert [claim.resumes for claim in taken] == [ours.name]
    assert theirs.exists(), "another machine's processes cannot be seen from here"
