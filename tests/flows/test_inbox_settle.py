"""The settle check against slow writers: a file still being written is never imported half.

Real writers in threads append to real files with pauses longer than the old 5-second settle
time; a watcher (``watch_inbox`` in a thread, rescanning every 0.2 s) must take each file
only once it is complete, whole, and never take a ``.part`` file.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.inbox.intake import InboxSettings, Layout, Verdict, scan
from flows.inbox.settle import settle_window
from tests.flows.inbox_steps import CountingImport, lead_csv
from tests.flows.test_watch import Watcher

OLD_SETTLE_SECONDS = 5.0


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Layout.at(tmp_path / "watched").root


@pytest.fixture
def step(tmp_path: Path) -> CountingImport:
    return CountingImport(tmp_path / "runs")


class SlowWriter(threading.Thread):
    """Writes ``data`` to ``path`` in ``parts`` pieces, sleeping ``pauses[i]`` before piece i+1."""

    def __init__(self, path: Path, data: bytes, pauses: list[float]) -> None:
        super().__init__()
        self.path, self.data, self.pauses = path, data, pauses
        self.finished_at: float | None = None

    def run(self) -> None:
        lines = self.data.splitlines(keepends=True)
        pieces = len(self.pauses) + 1
        size = -(-len(lines) // pieces)
        with self.path.open("wb") as handle:
            for i in range(pieces):
                handle.write(b"".join(lines[i * size : (i + 1) * size]))
                handle.flush()
                if i < len(self.pauses):
                    time.sleep(self.pauses[i])
        self.finished_at = time.monotonic()


@pytest.fixture
def watching(root: Path, step: CountingImport, request: pytest.FixtureRequest) -> Iterator[Watcher]:
    settings: InboxSettings = request.param
    watcher = Watcher(root, step, settings)
    watcher.thread.start()
    yield watcher
    watcher.stop.set()
    watcher.thread.join(timeout=10)


def test_the_settle_window_starts_well_above_the_old_5_seconds_grows_with_writing_time_and_is_capped() -> (
    None
):
    defaults = InboxSettings()

    assert defaults.settle_seconds >= 30 > OLD_SETTLE_SECONDS
    assert settle_window(defaults, written_for=0) == defaults.settle_seconds
    assert settle_window(defaults, written_for=600) == defaults.settle_seconds + 300
    assert settle_window(defaults, written_for=10**6) == defaults.settle_max_seconds


@pytest.mark.parametrize("watching", [InboxSettings()], indirect=True)
def test_a_writer_pausing_longer_than_the_old_settle_time_is_not_imported_until_it_says_it_is_done(
    root: Path, step: CountingImport, watching: Watcher
) -> None:
    path = root / "inbox" / "slow.csv"
    data = lead_csv("slow", rows=30)
    writer = SlowWriter(path, data, pauses=[OLD_SETTLE_SECONDS + 1, OLD_SETTLE_SECONDS + 1])

    writer.start()
    writer.join()
    assert watching.finished == [] and step.imported == []
    (root / "inbox" / "slow.csv.ready").write_bytes(b"")
    [(at, done)] = watching.wait_for(1)

    assert writer.finished_at is not None and at > writer.finished_at
    assert done.verdict is Verdict.IMPORTED and done.path.read_bytes() == data
    assert step.imported == [hashlib.sha256(data).hexdigest()]


@pytest.mark.parametrize(
    "watching", [InboxSettings(settle_seconds=1.0, settle_growth=1.0, settle_max_seconds=4.0)], indirect=True
)
def test_a_long_write_then_a_pause_longer_than_the_base_window_is_still_waited_for(
    root: Path, step: CountingImport, watching: Watcher
) -> None:
    path = root / "inbox" / "export.csv"
    data = lead_csv("export", rows=40)
    writer = SlowWriter(path, data, pauses=[0.3] * 10 + [2.5])  # writing for 3 s, then a 2.5 s pause

    writer.start()
    writer.join()
    [(at, done)] = watching.wait_for(1, timeout=20)

    assert writer.finished_at is not None and at > writer.finished_at
    assert done.verdict is Verdict.IMPORTED and done.path.read_bytes() == data
    assert step.imported == [hashlib.sha256(data).hexdigest()]


@pytest.mark.parametrize("watching", [InboxSettings(settle_seconds=0)], indirect=True)
def test_a_part_file_is_never_taken_and_the_renamed_file_is_taken_whole(
    root: Path, step: CountingImport, watching: Watcher, caplog: pytest.LogCaptureFixture
) -> None:
    partial = root / "inbox" / "leads.csv.part"
    data = lead_csv("part", rows=20)
    with caplog.at_level(logging.INFO, logger="leadflow.inbox"):
        writer = SlowWriter(partial, data, pauses=[1.0, 1.0, 1.0])
        writer.start()
        writer.join()
        time.sleep(0.5)
        assert watching.finished == [] and step.imported == []
        partial.rename(root / "inbox" / "leads.csv")
        [(_, done)] = watching.wait_for(1)

    assert done.verdict is Verdict.IMPORTED and done.path.read_bytes() == data
    assert step.imported == [hashlib.sha256(data).hexdigest()]
    [ignoring] = [r.getMessage() for r in caplog.records if "ignoring leads.csv.part" in r.getMessage()]
    assert "renamed to leads.csv" in ignoring and "leads.csv.ready" in ignoring


def test_a_file_left_waiting_is_logged_once_naming_the_part_and_ready_conventions(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    settings = InboxSettings(settle_seconds=30)

    with caplog.at_level(logging.INFO, logger="leadflow.inbox"):
        assert scan(root, settings, now=1000.0) == []
        assert scan(root, settings, now=1010.0) == []

    [waiting] = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert "waiting for leads.csv to settle" in waiting and "of the 30 s needed" in waiting
    assert "leads.csv.part" in waiting and "leads.csv.ready" in waiting
