"""Open the ledger a run was given: a PostgreSQL URL (``postgresql://...``) or a SQLite file."""

from __future__ import annotations

from pathlib import Path

from connectors.ledger import Ledger
from connectors.ledger_pg import PostgresLedger, is_postgres_url
from connectors.ledger_types import LedgerBackend

__all__ = ["open_ledger"]


def open_ledger(spec: str | Path, *, lease: float | None = None) -> LedgerBackend:
    """``spec`` a ``postgresql://`` / ``postgres://`` URL: the PostgreSQL ledger; else a path: the
    SQLite ledger file (created with its folder). ``lease``: seconds (connectors.lease)."""
    if isinstance(spec, str) and is_postgres_url(spec):
        return PostgresLedger(spec, lease=lease)
    return Ledger(Path(spec), lease=lease)
