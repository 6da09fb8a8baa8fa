"""``leadflow watch``: the watchfiles loop around the inbox mechanics, in a thread and as a process."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.watch import main, watch_inbox
from flows.inbox.intake import Finished, InboxSettings, Layout, Verdict
from tests.flows.inbox_steps import CountingImport, lead_csv

REPO_ROOT = Path(__file__).resolve().parents[2]


class Watcher:
    """watch_inbox running in a thread, with what it finished and when."""

    def __init__(self, root: Path, step: CountingImport, settings: InboxSettings) -> None:
        self.stop = threading.Event()
        self.finished: list[tuple[float, Finished]] = []
        self._arrived = threading.Condition()
        self.result: int | None = None
        self.thread = threading.Thread(target=self._run, args=(root, step, settings))

    def _run(self, root: Path, step: CountingImport, settings: InboxSettings) -> None:
        self.result = watch_inbox(
            root, step, settings, stop_event=self.stop, rescan_seconds=0.2, on_finished=self._record
        )

    def _record(self, done: Finished) -> None:
        with self._arrived:
            self.finished.append((time.monotonic(), done))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[float, Finished]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.finished) >= count, timeout=timeout)
            return list(self.finished)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Layout.at(tmp_path / "watched").root


@pytest.fixture
def step(tmp_path: Path) -> CountingImport:
    return CountingImport(tmp_path / "runs")


def start(root: Path, step: CountingImport, settle: float) -> Watcher:
    watcher = Watcher(root, step, InboxSettings(settle_seconds=settle))
    watcher.thread.start()
    time.sleep(0.3)
    return watcher


@pytest.fixture
def running(root: Path, step: CountingImport) -> Iterator[Watcher]:
    watcher = start(root, step, settle=0)
    yield watcher
    watcher.stop.set()
    watcher.thread.join(timeout=5)


def test_dropped_file_is_imported_within_about_a_second(root: Path, running: Watcher) -> None:
    dropped = time.monotonic()
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))

    [(at, done)] = running.wait_for(1)

    assert done.verdict is Verdict.IMPORTED
    assert at - dropped < 1.5


def test_stop_event_ends_the_watcher_promptly_with_the_count_of_finished_files(
    root: Path, running: Watcher
) -> None:
    (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
    running.wait_for(1)

    stopped = time.monotonic()
    running.stop.set()
    running.thread.join(timeout=5)

    assert not running.thread.is_alive() and time.monotonic() - stopped < 2
    assert running.result == 1


def test_a_file_still_being_written_is_taken_whole_once_it_has_settled(
    root: Path, step: CountingImport
) -> None:
    watcher = start(root, step, settle=1.0)
    path = root / "inbox" / "slow.csv"
    data = lead_csv("slow", rows=8)
    try:
        with path.open("wb") as handle:
            for line in data.splitlines(keepends=True):
                time.sleep(0.25)
                handle.write(line)
                handle.flush()
                last_write = time.monotonic()
        [(at, done)] = watcher.wait_for(1)
    finally:
        watcher.stop.set()
        watcher.thread.join(timeout=5)

    assert at - last_write >= 0.9
    assert done.verdict is Verdict.IMPORTED and done.path.read_bytes() == data


def test_hostile_drops_do_not_stop_the_watcher(root: Path, running: Watcher, step: CountingImport) -> None:
    inbox = root / "inbox"
    (inbox / "a-folder").mkdir()
    (inbox / "empty.csv").write_bytes(b"")
    os.mkfifo(inbox / "pipe.csv")
    (inbox / "bad\nname.csv").write_bytes(b"no,contact\n1,2\n")
    (inbox / "good.csv").write_bytes(lead_csv("good"))

    finished = {done.path.name.split("-", 3)[-1]: done.verdict for _, done in running.wait_for(4)}

    assert finished == {
        "empty.csv": Verdict.FAILED,
        "pipe.csv": Verdict.FAILED,
        "bad_name.csv": Verdict.FAILED,
        "good.csv": Verdict.IMPORTED,
    }
    assert running.thread.is_alive() and (inbox / "a-folder").is_dir()


CHILD = """
import logging, sys, threading
from pathlib import Path
from flows.inbox.intake import InboxSettings
from flows.commands.watch import stop_on_signals, watch_inbox
from tests.flows.inbox_steps import CountingImport

logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
root = Path(sys.argv[1])
stop = threading.Event()
with stop_on_signals(stop):
    count = watch_inbox(root, CountingImport(root / "runs"), InboxSettings(settle_seconds=0), stop_event=stop)
print(f"finished {count}", flush=True)
"""


def _read_until(process: subprocess.Popen[str], needle: str, timeout: float = 15) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen; output so far: {lines}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_the_watcher_cleanly(root: Path, signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _read_until(process, "inbox: watching")
        (root / "inbox" / "leads.csv").write_bytes(lead_csv("a"))
        _read_until(process, "inbox: imported leads.csv")
        process.send_signal(signum)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert f"inbox: stopping after the current file ({signum.name})" in output
    assert output.rstrip().endswith("finished 1")
    assert os.listdir(root / "processing") == []


def test_watch_command_refuses_a_bad_targets_file_in_one_line(root: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text("[targets.obi]\nkind = 'carrier-pigeon'\n", encoding="utf-8")
    out = io.StringIO()

    status = main([str(root), "--targets", str(targets)], console=Console(file=out, width=1000))

    assert status == 1
    [line] = out.getvalue().strip().splitlines()
    assert line.startswith(f"Error: {targets}: target 'obi'")


def test_watch_command_refuses_a_root_that_is_a_file_in_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "leads.csv"
    not_a_folder.write_bytes(lead_csv("a"))
    out = io.StringIO()

    status = main([str(not_a_folder)], console=Console(file=out, width=1000))

    assert status == 1
    [line] = out.getvalue().strip().splitlines()
    assert line.startswith(f"Error: {not_a_folder}: the watched folders cannot be made there")
    assert "(Not a directory" in line and "Give a folder" in line
