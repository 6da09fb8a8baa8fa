"""Bring a ledger file written by an earlier leadflow up to the current layout, in place.

Version 1 (``PRAGMA user_version``): vendor endpoints are stored normalized
(connectors.endpoint). Rows of ``targets`` written with the raw URL are renamed; two spellings of
one endpoint (``http://localhost:8765/obi`` and ``http://127.0.0.1:8765/obi/``) are merged into
the older row: the journal keeps its order (``seq``), and of two ``sends`` rows for one lead the
newer one stays.

Version 2: ``settled_ids`` (the index of settled leads, connectors.ledger_schema) holds every lead of the
settled journal rows written before its trigger existed, filled in one statement.

Each step runs once per file, inside one ``BEGIN IMMEDIATE``, so two processes opening an old
ledger at once migrate it once.
"""

from __future__ import annotations

import sqlite3

from connectors.endpoint import normalize_endpoint

__all__ = ["VERSION", "migrate"]

VERSION = 2


def migrate(db: sqlite3.Connection) -> None:
    """Migrate ``db`` (autocommit connection, schema already created) to :data:`VERSION`."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < 1:
            _normalize_endpoints(db)
        if version < 2:
            _index_settled(db)
        if version < VERSION:
            db.execute(f"PRAGMA user_version = {VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _index_settled(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT OR IGNORE INTO settled_ids (target_id, external_id, seq) "
        "SELECT j.target_id, r.value ->> 0, j.seq FROM journal AS j, json_each(j.rows) AS r "
        "WHERE j.state = 'settled'"
    )


def _normalize_endpoints(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, kind, base_url, campaign FROM targets ORDER BY id").fetchall()
    survivors: dict[tuple[str, str, str], int] = {}
    renames: list[tuple[int, str]] = []
    for target_id, kind, base_url, campaign in rows:
        name = (kind, normalize_endpoint(base_url), campaign)
        kept = survivors.setdefault(name, target_id)
        if kept != target_id:
            _merge(db, into=kept, old=target_id)
        elif name[1] != base_url:
            renames.append((target_id, name[1]))
    for target_id, endpoint in renames:
        db.execute("UPDATE targets SET base_url = ? WHERE id = ?", (endpoint, target_id))


def _merge(db: sqlite3.Connection, *, into: int, old: int) -> None:
    db.execute("UPDATE journal SET target_id = ? WHERE target_id = ?", (into, old))
    db.execute(
        "INSERT INTO sends SELECT ?, external_id, status, vendor_id, vendor_status, batch_id, run_id, "
        "updated_at FROM sends AS s WHERE target_id = ? AND true "
        "ON CONFLICT (target_id, external_id) DO UPDATE SET status = excluded.status, "
        "vendor_id = coalesce(excluded.vendor_id, sends.vendor_id), vendor_status = excluded.vendor_status, "
        "batch_id = excluded.batch_id, run_id = excluded.run_id, updated_at = excluded.updated_at "
        "WHERE excluded.updated_at >= sends.updated_at",
        (into, old),
    )
    db.execute("DELETE FROM sends WHERE target_id = ?", (old,))
    db.execute("UPDATE OR IGNORE chunks SET target_id = ? WHERE target_id = ?", (into, old))
    db.execute("DELETE FROM chunks WHERE target_id = ?", (old,))
    db.execute("DELETE FROM targets WHERE id = ?", (old,))
