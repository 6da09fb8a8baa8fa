"""Open the ledger a run was given: a PostgreSQL URL (``postgresql://...``) or a SQLite file."""

from __future__ import annotations

from pathlib import Path

from connectors.lease import env_seconds
from connectors.ledger import Ledger
from connectors.ledger_pg import PostgresLedger, is_postgres_url
from connectors.ledger_types import LedgerBackend

__all__ = ["WAIT_ENV", "WAIT_SECONDS", "open_ledger", "wait_seconds"]

WAIT_ENV = "LEADFLOW_LEDGER_WAIT"
WAIT_SECONDS = 30.0
"""How long opening the ledger waits for a lock another process holds (SQLite) or for the
database server to answer (PostgreSQL) before the run's targets fail ``LEDGER_UNAVAILABLE``."""


def wait_seconds() -> float:
    """$LEADFLOW_LEDGER_WAIT (seconds, > 0), else :data:`WAIT_SECONDS`."""
    return env_seconds(WAIT_ENV, WAIT_SECONDS)


def open_ledger(spec: str | Path, *, lease: float | None = None) -> LedgerBackend:
    """``spec`` a ``postgresql://`` / ``postgres://`` URL: the PostgreSQL ledger; else a path: the
    SQLite ledger file (created with its folder). ``lease``: seconds (connectors.lease). Raises
    :class:`connectors.ledger_types.LedgerUnavailable` after :func:`wait_seconds`."""
    wait = wait_seconds()
    if isinstance(spec, str) and is_postgres_url(spec):
        return PostgresLedger(spec, lease=lease, connect_timeout=wait)
    return Ledger(Path(spec), lease=lease, busy_timeout=wait)
