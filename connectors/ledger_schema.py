"""The SQLite ledger file's layout, and opening one: the tables, the settings each connection
gets, and the migration of a file an earlier leadflow wrote (connectors.ledger_migrate).

One SQLite file (WAL, ``busy_timeout``; each journal write is one autocommitted INSERT, other writes
are ``BEGIN IMMEDIATE`` transactions, so two processes may share it). Tables:

``targets``  the vendor endpoints: (kind, base_url, campaign) -> a small integer id.
``journal``  what happened to each request, appended in commit order (``seq``): target, batch id,
             state, run id, time, and ``rows``: for ``in_flight`` the JSON array of its rows'
             external ids, for ``settled`` the JSON array of its rows'
             ``[external_id, status, vendor_id, vendor_status]``, for ``superseded`` ``[]``.
``sends``, ``chunks``  per-lead and per-request tables of ledgers written before the journal;
             read as the oldest layer, never written any more.
``settled_ids``  (target, external id, journal seq) for every lead of every settled journal row,
             written by a trigger on ``journal`` (so the append stays one statement): what makes
             :meth:`connectors.ledger.Ledger.entries` for some leads a keyed lookup (version 2 of
             the layout).
``claims``, ``leases``  which run holds each lead, and until when each run is alive
             (connectors.lease).
``contact_log``  the contacts claimed under a frequency limit (connectors.ledger_contacts, which
             owns it; written only when a target has a limit).

The view ``settled_rows`` shows the settled journal rows one lead a row for anyone querying the file.
"""

from __future__ import annotations

import sqlite3

from connectors import contact_retention as retention
from connectors import ledger_contacts as contacts
from connectors.ledger_migrate import migrate

__all__ = ["CHECKPOINT_PAGES", "SCHEMA", "prepare"]


SCHEMA = """
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, base_url TEXT NOT NULL, campaign TEXT NOT NULL,
    UNIQUE (kind, base_url, campaign)
);
CREATE TABLE IF NOT EXISTS sends (
    target_id INTEGER NOT NULL REFERENCES targets (id), external_id TEXT NOT NULL,
    status TEXT NOT NULL, vendor_id TEXT, vendor_status TEXT, batch_id TEXT,
    run_id TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (target_id, external_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
    target_id INTEGER NOT NULL REFERENCES targets (id), batch_id TEXT NOT NULL,
    state TEXT NOT NULL, external_ids TEXT NOT NULL, run_id TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (target_id, batch_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_state ON chunks (target_id, state);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets (id), batch_id TEXT NOT NULL,
    state TEXT NOT NULL, run_id TEXT NOT NULL, at TEXT NOT NULL, rows TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_target ON journal (target_id, seq);
CREATE TABLE IF NOT EXISTS claims (
    target_id INTEGER NOT NULL REFERENCES targets (id), external_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (target_id, external_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    target_id INTEGER NOT NULL REFERENCES targets (id), run_id TEXT NOT NULL,
    until REAL NOT NULL,
    PRIMARY KEY (target_id, run_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settled_ids (
    target_id INTEGER NOT NULL, external_id TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (target_id, external_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS journal_settled_ids AFTER INSERT ON journal WHEN new.state = 'settled'
BEGIN
    INSERT OR IGNORE INTO settled_ids (target_id, external_id, seq)
    SELECT new.target_id, value ->> 0, new.seq FROM json_each(new.rows);
END;
CREATE VIEW IF NOT EXISTS settled_rows AS
    SELECT j.seq, j.target_id, r.value ->> 0 AS external_id, r.value ->> 1 AS status,
           r.value ->> 2 AS vendor_id, r.value ->> 3 AS vendor_status,
           j.batch_id, j.run_id, j.at AS updated_at
    FROM journal AS j, json_each(j.rows) AS r
    WHERE j.state = 'settled';
"""

CHECKPOINT_PAGES = 8192
"""WAL pages (4 KiB) before SQLite checkpoints, which fsyncs while the engine waits: SQLite's
default of 1000 is reached about every 10k leads; 8192 (32 MiB) keeps that out of most runs."""


def prepare(db: sqlite3.Connection) -> None:
    """WAL (once per file: the mode is stored in it), the per-connection settings, the schema
    (created in one ``BEGIN IMMEDIATE``, so the busy handler serializes two first openings) and
    the migration; then the contacts past their retention are pruned, when due
    (connectors.contact_retention)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    db.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\n{contacts.SQLITE_SCHEMA}\nCOMMIT;")
    migrate(db)
    retention.sqlite_prune(db, due_only=True)
