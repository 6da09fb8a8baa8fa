"""The PostgreSQL ledger when the server ends its connections during a run (a restart, a
failover, ``pg_terminate_backend``, an idle timeout), on a real server.

- A connection ended while it waited in the pool is replaced before it is used: the next
  operation works, nothing is raised.
- A connection ended in the middle of a statement: a read, or a chunk's answer (which may be
  written twice), is tried once more and goes through; a claim is not tried again (its lost
  answer may have committed) and is ``LedgerUnavailable`` naming the database, which the engine
  turns into a stopped target (tests/flows/test_ledger_unwritable.py for the engine's side).

A statement is caught in the middle by a lock: another connection holds the table the statement
writes, the statement waits, and the backend waiting is the one ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from connectors.ledger_pg import PostgresLedger
from connectors.ledger_types import SETTLED, LedgerUnavailable, TargetKey

KEY = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")


def _end_backends(url: str, where: str) -> int:
    """End the ledger's backends of this test's schema that match ``where`` (SQL on pg_stat_activity)."""
    with psycopg.connect(url, autocommit=True) as db:
        schema = db.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND ({where})"
        ).fetchall()
        return len(rows)


@contextmanager
def _table_locked(url: str, table: str) -> Iterator[None]:
    with psycopg.connect(url) as db:
        db.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
        db.rollback()


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # the test reads it
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _end_the_waiting_statement(url: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _end_backends(url, "wait_event_type = 'Lock'"):
            return
        time.sleep(0.02)
    raise AssertionError("no statement came to wait on the lock")


def test_a_pooled_connection_the_server_ended_is_replaced_before_use(postgres_url: str) -> None:
    with PostgresLedger(postgres_url) as ledger:
        claim = ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        assert _end_backends(postgres_url, "state = 'idle'") >= 1

        ledger.settle_chunk(
            KEY, claim.batch_id, [("a", "accepted", "v1", "201"), ("b", "accepted", "v2", "201")], "run-1"
        )
        second = ledger.begin_chunk(KEY, "b2", ["c"], "run-1")

        assert second.claimed == ("c",)
        assert {eid for eid, entry in ledger.entries(KEY).items() if entry.status == "accepted"} == {"a", "b"}


def test_a_chunks_answer_whose_connection_is_ended_mid_statement_is_written_on_a_new_one(
    postgres_url: str,
) -> None:
    with PostgresLedger(postgres_url) as ledger:
        claim = ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        with _table_locked(postgres_url, "ledger_journal"):
            thread, outcome = _in_thread(
                lambda: ledger.settle_chunk(KEY, claim.batch_id, [("a", "accepted", "v1", "201")], "run-1")
            )
            _end_the_waiting_statement(postgres_url)
            time.sleep(0.2)  # the second try waits on the lock in its turn
        thread.join(timeout=30)

        assert outcome == [None]
        assert ledger.chunk_state(KEY, claim.batch_id) == SETTLED
        assert ledger.entries(KEY)["a"].status == "accepted"


def test_a_claim_whose_connection_is_ended_mid_statement_is_ledger_unavailable_not_tried_again(
    postgres_url: str,
) -> None:
    with PostgresLedger(postgres_url) as ledger:
        ledger.live_runs(KEY)  # the target's row made before the lock
        with _table_locked(postgres_url, "ledger_claims"):
            thread, outcome = _in_thread(lambda: ledger.begin_chunk(KEY, "b1", ["a"], "run-1"))
            _end_the_waiting_statement(postgres_url)
        thread.join(timeout=30)

        [error] = outcome
        assert isinstance(error, LedgerUnavailable)
        assert "the database connection was lost" in str(error)
        assert "password" not in str(error).lower()
        assert ledger.begin_chunk(KEY, "b1", ["a"], "run-1").claimed == ("a",)  # nothing of it stayed


@pytest.mark.parametrize("operation", ["entries", "settle"])
def test_the_second_loss_in_a_row_is_ledger_unavailable(postgres_url: str, operation: str) -> None:
    with PostgresLedger(postgres_url) as ledger:
        claim = ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        call: Callable[[], object] = (
            (lambda: ledger.entries(KEY, ["a"]))
            if operation == "entries"
            else (lambda: ledger.settle_chunk(KEY, claim.batch_id, [("a", "accepted", "v1", "201")], "run-1"))
        )
        table = "ledger_journal"
        with _table_locked(postgres_url, table):
            thread, outcome = _in_thread(call)
            _end_the_waiting_statement(postgres_url)
            _end_the_waiting_statement(postgres_url)
        thread.join(timeout=30)

        [error] = outcome
        assert isinstance(error, LedgerUnavailable)


def test_a_read_that_gets_no_connection_in_the_pools_time_is_ledger_unavailable_after_one_wait(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with PostgresLedger(postgres_url, max_connections=1) as ledger:
        ledger.live_runs(KEY)
        ledger._pool.timeout = 0.5  # the pool's wait, 30 s by default
        with ledger._pool.connection(), pytest.raises(LedgerUnavailable, match="no database connection"):
            ledger.entries(KEY, ["a"])  # its one connection is taken

    assert "trying once more" not in caplog.text
