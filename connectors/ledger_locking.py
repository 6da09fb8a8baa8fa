"""Lock contention on the SQLite ledger file: retrying what SQLite's busy handler does not cover,
the write transaction that takes the lock up front, and the lease thread's own connection.

Several processes share one ledger file (WAL, ``busy_timeout``; connectors.ledger). SQLite waits
on most locks by itself; what is here is the rest: a new connection's first statements failing at
once while another process opens, recovers or checkpoints the WAL (:func:`retry_while_locked`),
and the read-then-write deadlock two processes meet when they upgrade a read lock
(:class:`Transaction`). And a ledger that cannot be written at all (its disk full, a file
system turned read-only, an I/O error): :func:`writable` makes that
:class:`connectors.ledger_types.LedgerUnavailable`, which stops the target, not the run."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from connectors.ledger_types import LedgerUnavailable

__all__ = [
    "Transaction",
    "is_lock_contention",
    "is_unwritable",
    "renew_connection",
    "retry_while_locked",
    "writable",
]


def is_lock_contention(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _BUSY_CODES or "database is locked" in str(error)


_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} | {5 | (n << 8) for n in range(1, 4)})
"""SQLITE_BUSY and its extended forms (recovery, snapshot, timeout), SQLITE_LOCKED."""


_UNWRITABLE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY})
"""Primary result codes of a write the file or its disk refused (extended codes carry them in
their low byte): ``database or disk is full``, ``disk I/O error`` (a write past a file size
limit, a failing disk), ``attempt to write a readonly database``."""


def is_unwritable(error: sqlite3.Error) -> bool:
    """Whether ``error`` is the ledger's file or disk refusing a write (:data:`_UNWRITABLE_CODES`)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _UNWRITABLE_CODES


@contextlib.contextmanager
def writable(path: Path) -> Iterator[None]:
    """Turn a refused write (:func:`is_unwritable`) into :class:`LedgerUnavailable` naming the
    file and what to do. What the ledger recorded before stays: each claim and each answer is
    its own transaction, so a refused one leaves none of itself."""
    try:
        yield
    except sqlite3.Error as error:
        if not is_unwritable(error):
            raise
        raise LedgerUnavailable(
            f"ledger {path}: cannot write to it ({error}); free space on its disk or make it "
            "writable, then run the same command again (what it recorded before stays)"
        ) from None


def retry_while_locked(
    db: sqlite3.Connection, path: Path, busy_timeout: float, step: Callable[[], None]
) -> None:
    """Run ``step`` until it gets past lock contention or ``busy_timeout`` has passed.

    SQLite's busy handler covers most contention, but not all of it: while another process opens,
    recovers or checkpoints the WAL, the first statements of a new connection (the journal mode
    change above all) can fail with ``database is locked`` at once, without waiting. Seen in CI as
    the second of two imports started together failing on its first statement. What still fails
    after ``busy_timeout`` becomes :class:`LedgerUnavailable`: one line that names the file."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if not is_lock_contention(error):
                raise
            if time.monotonic() + delay > deadline:
                raise LedgerUnavailable(
                    f"ledger {path}: still locked by another process after {busy_timeout:g} s "
                    f"({error}); wait for the other run to finish, or give this run its own --ledger"
                ) from None
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
        delay = min(delay * 2, 0.25)


def renew_connection(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection of the lease thread's own (connectors.lease), usable from that thread."""
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return db


class Transaction:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``/``ROLLBACK``: take the write lock up front, so two
    processes never deadlock upgrading a read lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        """Roll back what is left: after a full disk or an I/O error SQLite may have rolled the
        transaction back itself, and a ROLLBACK's own error would hide the one that matters."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
