"""Opening the ledger while other processes use it: contention is waited out (the busy handler,
and retries where SQLite fails at once), and a lock that outlasts the wait is one clear error
naming the file, never a traceback from a pragma."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from connectors.ledger import Ledger
from connectors.ledger_pg import PostgresLedger
from connectors.ledger_types import LedgerUnavailable, TargetKey

KEY = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")


def _open_claim_close(path: str, start: float, rounds: int) -> str:
    """Open, claim one lead and close, ``rounds`` times, starting at ``start``: every open and
    close meets the other processes' WAL checkpoints and first openings."""
    while time.time() < start:
        pass
    try:
        for n in range(rounds):
            with Ledger(Path(path)) as ledger, ledger.lease(KEY, f"run-{start}-{n}"):
                ledger.begin_chunk(KEY, f"b-{n}", [f"lead-{n}"], f"run-{start}-{n}")
    except Exception as error:  # reported to the parent, which fails the test with it
        return f"{type(error).__name__}: {error}"
    return "ok"


def test_processes_opening_one_new_ledger_together_all_open_it(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    start = time.time() + 1.0
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        answers = pool.starmap(_open_claim_close, [(path, start + i * 1e-6, 15) for i in range(6)])
    assert answers == ["ok"] * 6


def test_a_lock_released_within_the_wait_is_waited_out(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.4, lambda: holder.execute("COMMIT")).start()
    began = time.monotonic()
    with Ledger(path, busy_timeout=10) as ledger:
        assert ledger.entries(KEY) == {}
    assert time.monotonic() - began >= 0.3, "the opening should have waited for the lock"
    holder.close()


def test_a_lock_held_past_the_wait_is_one_error_naming_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerUnavailable) as raised:
            Ledger(path, busy_timeout=0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(raised.value)
    assert str(path) in message
    assert "another process" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unreachable_postgresql_ledger_is_one_error_without_the_password() -> None:
    url = "postgresql://leadflow:hunter2-secret@127.0.0.1:9/leadflow"
    with pytest.raises(LedgerUnavailable) as raised:
        PostgresLedger(url, connect_timeout=0.5)
    message = str(raised.value)
    assert "hunter2-secret" not in message
    assert "127.0.0.1:9" in message
    assert "cannot reach the database" in message
