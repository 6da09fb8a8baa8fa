"""What ``leadflow watch`` prints: one line per file from Leadflow, no Prefect traceback.

Runs the command as people run it, with the real ``import_leads`` flow (Prefect's ephemeral
server) in dry-run mode: a bad file used to print Prefect's ~50-line traceback of the
LeadFileError the folder files in ``failed/`` anyway, and a good file printed nothing from
Leadflow at all, only Prefect's run-by-run log.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.commands.watch import PREFECT_RUN_LOGGERS, watch_console_logging
from flows.inbox.intake import Layout
from flows.local_server import stop_process_group
from tests.conftest import REPO_ROOT, SAMPLE_DATA
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS


@pytest.mark.slow
def test_watch_prints_one_line_per_file_and_no_traceback(tmp_path: Path) -> None:
    layout = Layout.at(tmp_path / "watched")
    (layout.inbox / "bad.csv").write_bytes(b"foo;bar\n\x00\x01\x02binary\n")
    (layout.inbox / "good.csv").write_bytes((SAMPLE_DATA / "us_crm_export.csv").read_bytes())
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env |= DEMO_CREDENTIALS | {
        "LEADFLOW_SANDBOX_URL": "http://127.0.0.1:9",  # a dry run sends nothing
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PYTHONPATH": str(REPO_ROOT),
        "COLUMNS": "80",
    }
    command = [sys.executable, "-m", "flows.cli", "watch", str(layout.root), "--settle", "0", "--dry-run"]
    watcher = subprocess.Popen(
        [*command, "--targets", str(SANDBOX_TARGETS)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and watcher.poll() is None:
            filed = [*layout.failed.glob("*-bad.csv"), *layout.archive.glob("*-good.csv")]
            if len(filed) == 2:
                break
            time.sleep(1)
    finally:
        stop_process_group(watcher, signal.SIGINT, grace=60)
        output = watcher.communicate()[0]

    lines = output.splitlines()
    [bad] = [line for line in lines if "bad.csv" in line]
    [good] = [line for line in lines if "good.csv" in line]
    assert "Traceback" not in output, output
    assert "inbox: bad.csv failed: the file is binary" in bad and "-> failed/" in bad
    assert "inbox: imported good.csv (run " in good and "-> archive/" in good
    assert f"Ledger: {layout.root.absolute() / 'runs' / 'ledger.sqlite'}" in lines, output
    assert not [line for line in lines if "Flow run" in line or "Task run" in line], output


def test_the_watchers_logging_is_undone_when_it_returns() -> None:
    # leadflow watch may run in a process that goes on (a test session, a caller's script):
    # its loggers must propagate again, or caplog and the caller's handlers would see nothing
    loggers = [logging.getLogger("leadflow"), *map(logging.getLogger, PREFECT_RUN_LOGGERS)]
    loggers.append(logging.getLogger("leadflow.inbox"))
    before = [(logger.level, logger.propagate, list(logger.handlers)) for logger in loggers]

    with watch_console_logging(io.StringIO()):
        assert not any(logger.propagate for logger in loggers[:-1])

    assert [(logger.level, logger.propagate, list(logger.handlers)) for logger in loggers] == before


def test_the_watchers_terminal_shows_the_folders_lines_not_each_retry_of_a_sender() -> None:
    # a vendor down while a file is imported: the sender logs a retry per batch at INFO (~40
    # lines for 2,000 leads); the terminal shows the file's one line, and the senders' warnings
    stream = io.StringIO()

    with watch_console_logging(stream):
        senders = logging.getLogger("leadflow.connectors")
        senders.info("onc: batch 1a2b try 1 failed (onc: HTTP 503); retrying in 0.24s")
        senders.warning("onc: batch 1a2b failed after 5 tries: onc: HTTP 503")
        logging.getLogger("leadflow.inbox").warning("inbox: v.csv not fully sent, will retry: ...")
        logging.getLogger("leadflow.inbox").info("inbox: imported w.csv (run r1) -> archive/w.csv")

    shown = stream.getvalue()
    assert "retrying in" not in shown, shown
    assert "failed after 5 tries" in shown and "v.csv not fully sent" in shown and "imported w.csv" in shown
