"""The PostgreSQL ledger's tables, and the settings each of its connections gets
(connectors.ledger_pg).

Tables (created on first use, under an advisory lock so that two processes create them once):
``ledger_targets`` (the normalized vendor endpoints), ``ledger_journal`` (in-flight and settled
chunks, ``rows`` as jsonb), ``ledger_settled_ids`` (target, external id, journal seq of every lead
of a settled row, written by the same statement as the row: what makes
:meth:`connectors.ledger_pg.PostgresLedger.entries` for some leads a keyed lookup; filled from the
journal when a ledger made before it is first opened), ``ledger_claims`` (one row per lead a run
claimed; delivered leads stay claimed for good) and ``ledger_leases`` (per target and run, renewed
by a thread while the run lives); ``ledger_contact_keys`` and ``ledger_people`` are written only
under a frequency limit (connectors.ledger_contacts_pg).
"""

from __future__ import annotations

from typing import Any

import psycopg

__all__ = ["SCHEMA", "configure"]

SCHEMA = """
SELECT pg_advisory_xact_lock(7170610);
CREATE TABLE IF NOT EXISTS ledger_targets (
    id serial PRIMARY KEY, kind text NOT NULL, base_url text NOT NULL, campaign text NOT NULL,
    UNIQUE (kind, base_url, campaign)
);
CREATE TABLE IF NOT EXISTS ledger_journal (
    seq bigserial PRIMARY KEY, target_id integer NOT NULL REFERENCES ledger_targets (id),
    batch_id text NOT NULL, state text NOT NULL, run_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(), rows jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_journal_by_target ON ledger_journal (target_id, seq);
CREATE TABLE IF NOT EXISTS ledger_claims (
    target_id integer NOT NULL REFERENCES ledger_targets (id), external_id text NOT NULL,
    run_id text NOT NULL, PRIMARY KEY (target_id, external_id)
);
DO $$
BEGIN
    IF to_regclass('ledger_settled_ids') IS NULL THEN
        CREATE TABLE ledger_settled_ids (
            target_id integer NOT NULL, external_id text NOT NULL, seq bigint NOT NULL,
            PRIMARY KEY (target_id, external_id, seq)
        );
        INSERT INTO ledger_settled_ids (target_id, external_id, seq)
        SELECT j.target_id, r ->> 0, j.seq FROM ledger_journal AS j, jsonb_array_elements(j.rows) AS r
        WHERE j.state = 'settled'
        ON CONFLICT DO NOTHING;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS ledger_leases (
    target_id integer NOT NULL REFERENCES ledger_targets (id), run_id text NOT NULL,
    until double precision NOT NULL, PRIMARY KEY (target_id, run_id)
);
"""


def configure(db: psycopg.Connection[Any]) -> None:
    """``synchronous_commit=off``: a commit returns before its WAL is flushed, as the SQLite
    ledger's ``synchronous=NORMAL``. A client that dies loses nothing it committed; only a crash
    of the database server's machine may lose the last fraction of a second of commits. A flush
    per commit (two per request) cost about 1 ms a request, which one-lead-a-request vendors
    (MaxContact, ONC) pay per lead."""
    db.execute("SET synchronous_commit = off")
