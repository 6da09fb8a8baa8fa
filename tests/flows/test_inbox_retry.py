"""Files whose rows failed to send: retried from ``retry/`` with backoff, then ``failed/`` with a
reason, and never remembered as imported. A small real import step stands in for the import
flow and reports rows unsent while its "vendor" is down (the end-to-end run through the real
flow and the sandbox is in test_scan_inbox.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flows.inbox.intake import ImportOutcome, InboxSettings, Layout, Verdict, run_once
from flows.inbox.registry import IntakeRegistry, IntakeState
from flows.inbox.retry import next_attempt_at
from tests.flows.inbox_steps import CountingImport, lead_csv

VENDOR_DOWN = "not everything was sent: obi nothing sent: 3 failed (TRANSPORT_FAILED 3)"


class FlakyVendorImport(CountingImport):
    """Imports like CountingImport, reporting every row unsent while ``down`` is set."""

    def __init__(self, out: Path) -> None:
        super().__init__(out)
        self.down = True

    def __call__(self, path: Path) -> ImportOutcome:
        outcome = super().__call__(path)
        if not self.down:
            return outcome
        return ImportOutcome(outcome.run_id, outcome.run_dir, outcome.summary, unsent=VENDOR_DOWN)


LOGIN_REFUSED = "not everything was sent: obi stopped: 3 failed (AUTH_FAILED 3)"
FIX = "obi: the vendor refused our login: fix the values behind credentials.password (env:OBI_PASSWORD)"


class RefusedLoginImport(CountingImport):
    """Imports like CountingImport, reporting every row unsent for a cause waiting cannot fix."""

    def __call__(self, path: Path) -> ImportOutcome:
        outcome = super().__call__(path)
        return ImportOutcome(outcome.run_id, outcome.run_dir, outcome.summary, unsent=LOGIN_REFUSED, fix=FIX)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Layout.at(tmp_path / "watched").root


@pytest.fixture
def step(tmp_path: Path) -> FlakyVendorImport:
    return FlakyVendorImport(tmp_path / "runs")


def settings(attempts: int = 3, delay: float = 0.0) -> InboxSettings:
    return InboxSettings(settle_seconds=0, retry_attempts=attempts, retry_delay_seconds=delay)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_file_whose_rows_failed_waits_in_retry_with_a_note_and_is_not_archived(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))

    [done] = run_once(root, step, settings(delay=60))

    layout = Layout.at(root)
    assert done.verdict is Verdict.RETRYING and done.problem == VENDOR_DOWN
    assert done.path.parent == layout.retry and files_in(layout.archive) == files_in(layout.failed) == []
    note = json.loads(Path(f"{done.path}.retry.json").read_text(encoding="utf-8"))
    assert (note["file"], note["attempt"], note["attempts"]) == ("leads.csv", 1, 3)
    assert note["problem"] == VENDOR_DOWN and note["run_id"] == done.run_id == "run-1"
    assert "only the rows not yet delivered are sent" in note["what_to_do"]
    record = IntakeRegistry(layout.registry).record(note["fingerprint"].removeprefix("sha256:"))
    assert record is not None and record.state is IntakeState.RETRYING and record.attempts == 1


def test_a_retry_waits_for_its_backoff_which_doubles_up_to_the_maximum(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    [first] = run_once(root, step, settings(delay=3600))

    assert run_once(root, step, settings(delay=3600)) == []
    assert first.path.exists() and len(step.imported) == 1
    assert [next_attempt_at(0, n, 60, 3600) for n in (1, 2, 3, 7)] == [60, 120, 240, 3600]


def test_a_due_retry_is_imported_again_and_archived_once_everything_is_sent(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    [first] = run_once(root, step, settings())
    step.down = False

    [second] = run_once(root, step, settings())

    layout = Layout.at(root)
    assert (first.verdict, second.verdict) == (Verdict.RETRYING, Verdict.IMPORTED)
    assert second.original_name == "leads.csv" and second.path.parent == layout.archive
    assert files_in(layout.retry) == files_in(layout.processing) == files_in(layout.inbox) == []
    assert len(step.imported) == 2 and len(set(step.imported)) == 1


def test_after_the_last_attempt_the_file_goes_to_failed_saying_what_failed_and_what_to_do(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))

    verdicts = [d.verdict for _ in range(4) for d in run_once(root, step, settings(attempts=3))]

    assert verdicts == [Verdict.RETRYING, Verdict.RETRYING, Verdict.FAILED]
    assert len(step.imported) == 3
    layout = Layout.at(root)
    [failed] = [p for p in layout.failed.iterdir() if not p.name.endswith(".error.txt")]
    text = Path(f"{failed}.error.txt").read_text(encoding="utf-8")
    assert f"Problem:     rows still failed to send after 3 attempt(s): {VENDOR_DOWN}" in text
    assert "drop the file again" in text and "only the rows not yet delivered are sent" in text
    assert f"Run folder:  {step.out / 'run-3'}" in text
    assert files_in(layout.retry) == files_in(layout.archive) == []


def test_content_that_failed_to_send_is_imported_again_when_dropped_again(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    [failed] = run_once(root, step, settings(attempts=1))
    step.down = False
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))

    [again] = run_once(root, step, settings(attempts=1))

    assert (failed.verdict, again.verdict) == (Verdict.FAILED, Verdict.IMPORTED)
    assert len(step.imported) == 2


def test_a_new_drop_of_content_waiting_for_a_retry_is_imported_now_and_the_waiting_copy_is_archived(
    root: Path, step: FlakyVendorImport
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    [waiting] = run_once(root, step, settings(delay=0.5))
    step.down = False
    (root / "inbox" / "leads (fixed vendor).csv").write_bytes(lead_csv("a"))

    [dropped] = run_once(root, step, settings(delay=3600))
    time.sleep(0.6)
    [retried] = run_once(root, step, settings())

    assert (waiting.verdict, dropped.verdict, retried.verdict) == (
        Verdict.RETRYING,
        Verdict.IMPORTED,
        Verdict.DUPLICATE_DROP,
    )
    assert len(step.imported) == 2
    assert files_in(Layout.at(root).retry) == []


OLD_SCHEMA = """
CREATE TABLE intake (fingerprint TEXT PRIMARY KEY, state TEXT NOT NULL, claimed_name TEXT NOT NULL,
    original_name TEXT NOT NULL, run_id TEXT, run_dir TEXT, updated_at TEXT NOT NULL);
CREATE TABLE observed (name BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    since REAL NOT NULL);
INSERT INTO intake VALUES ('abc', 'imported', 'x-a.csv', 'a.csv', 'run-0', NULL, '2026-01-01');
INSERT INTO observed VALUES (X'622e637376', 10, 20, 100.0);
"""


def test_a_registry_written_before_retries_existed_keeps_its_records_and_gains_the_new_columns(
    tmp_path: Path,
) -> None:
    import sqlite3
    from contextlib import closing

    path = tmp_path / "registry.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(OLD_SCHEMA)

    registry = IntakeRegistry(path)

    record = registry.record("abc")
    assert record is not None and (record.state, record.run_id, record.attempts) == (
        IntakeState.IMPORTED,
        "run-0",
        0,
    )
    assert registry.observe({b"b.csv": (10, 20)}, now=130.0) == {b"b.csv": (100.0, 100.0)}
    assert registry.reserve("abc", "y-a.csv", "a.csv") == record


def test_a_file_whose_rows_need_a_person_waits_in_retry_with_no_next_attempt_and_says_what_to_fix(
    root: Path, tmp_path: Path
) -> None:
    step = RefusedLoginImport(tmp_path / "runs")
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))

    [held] = run_once(root, step, settings(delay=0))

    assert held.verdict is Verdict.RETRYING and held.held and held.path.parent == Layout.at(root).retry
    note = json.loads(Path(f"{held.path}.retry.json").read_text(encoding="utf-8"))
    assert note["next_attempt_at"] is None and note["next_attempt_epoch"] is None
    assert note["what_to_do"] == FIX and note["problem"] == LOGIN_REFUSED
    assert run_once(root, step, settings(delay=0)) == [] and len(step.imported) == 1

    held.path.rename(root / "inbox" / held.path.name)  # a person fixed it and moved it back
    (root / "inbox" / f"{held.path.name}.ready").touch()
    [again] = run_once(root, step, settings(delay=0))

    assert again.verdict is Verdict.RETRYING and len(step.imported) == 2
