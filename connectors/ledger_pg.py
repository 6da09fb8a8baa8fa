"""The PostgreSQL ledger: the same contract as the SQLite one (connectors.ledger_types), for runs
on several machines or many processes sharing the work.

Tables (created on first use, under an advisory lock so that two processes create them once):
``ledger_targets`` (the normalized vendor endpoints), ``ledger_journal`` (in-flight and settled
chunks, ``rows`` as jsonb), ``ledger_claims`` (one row per lead a run claimed; delivered leads
stay claimed for good) and ``ledger_leases`` (per target and run, renewed by a thread while the
run lives). A chunk's claim and its in-flight record are one transaction; the claim is
``INSERT .. ON CONFLICT DO UPDATE .. WHERE`` (a lead held by another run is left as it is),
``RETURNING`` what this run got. Ids are claimed in sorted order, so two runs claiming
overlapping chunks lock rows in the same order and never deadlock.

Connections come from a psycopg_pool pool (autocommit); the lease thread takes its own from it.
The connection string (``postgresql://user@host:port/db``) is never logged: it may hold a password.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from connectors.endpoint import normalize_endpoint
from connectors.lease import Renewer, lease_seconds
from connectors.ledger_types import (
    IN_FLIGHT,
    SENT_STATUSES,
    SETTLED,
    Claim,
    LedgerEntry,
    PendingChunk,
    SettledRow,
    TargetKey,
    fold_settled,
)

__all__ = ["PostgresLedger", "is_postgres_url"]

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS ledger_leases (
    target_id integer NOT NULL REFERENCES ledger_targets (id), run_id text NOT NULL,
    until double precision NOT NULL, PRIMARY KEY (target_id, run_id)
);
"""

_CLAIM = """
INSERT INTO ledger_claims (target_id, external_id, run_id)
SELECT %(target)s, x, %(run)s FROM unnest(%(ids)s::text[]) AS x
ON CONFLICT (target_id, external_id) DO UPDATE SET run_id = excluded.run_id
WHERE ledger_claims.run_id = excluded.run_id OR (%(takeover)s AND NOT EXISTS (
    SELECT 1 FROM ledger_leases AS l
    WHERE l.target_id = ledger_claims.target_id AND l.run_id = ledger_claims.run_id AND l.until > %(now)s))
RETURNING external_id
"""


def is_postgres_url(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


class PostgresLedger:
    """One connection pool per ledger object; use as a context manager or call :meth:`close`."""

    def __init__(self, url: str, *, lease: float | None = None, max_connections: int = 4) -> None:
        self.lease_seconds = lease or lease_seconds()
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, kwargs={"autocommit": True}, open=True
        )
        with self._pool.connection() as db, db.transaction():
            db.execute(_SCHEMA)
        self._ids: dict[TargetKey, int] = {}

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as db:
            return db.execute(query, params).fetchall()

    def _target_id(self, key: TargetKey) -> int:
        found = self._ids.get(key)
        if found is None:
            endpoint = normalize_endpoint(key.base_url)
            [(found,)] = self._rows(
                "WITH new AS (INSERT INTO ledger_targets (kind, base_url, campaign) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id) SELECT id FROM new UNION ALL "
                "SELECT id FROM ledger_targets WHERE kind = %s AND base_url = %s AND campaign = %s",
                (key.kind, endpoint, key.campaign) * 2,
            )[:1]
            self._ids[key] = found
        return found

    # --- reads --------------------------------------------------------------------------
    def entries(self, key: TargetKey, external_ids: Iterable[str] | None = None) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        settled = self._rows(
            "SELECT batch_id, run_id, rows FROM ledger_journal "
            "WHERE target_id = %s AND state = %s ORDER BY seq",
            (self._target_id(key), SETTLED),
        )
        fold_settled(found, settled)
        if external_ids is None:
            return found
        return {eid: found[eid] for eid in external_ids if eid in found}

    def _latest(self, target_id: int) -> dict[str, tuple[str, str, int]]:
        return {
            batch_id: (state, run_id, seq)
            for batch_id, state, run_id, seq in self._rows(
                "SELECT DISTINCT ON (batch_id) batch_id, state, run_id, seq FROM ledger_journal "
                "WHERE target_id = %s ORDER BY batch_id, seq DESC",
                (target_id,),
            )
        }

    def pending_chunks(self, key: TargetKey, *, exclude_run: str) -> list[PendingChunk]:
        target_id = self._target_id(key)
        live = self.live_runs(key)
        pending = sorted(
            (seq, batch_id, run_id)
            for batch_id, (state, run_id, seq) in self._latest(target_id).items()
            if state == IN_FLIGHT and run_id != exclude_run and run_id not in live
        )
        chunks: list[PendingChunk] = []
        for seq, batch_id, run_id in pending:
            [(ids,)] = self._rows("SELECT rows FROM ledger_journal WHERE seq = %s", (seq,))
            chunks.append(PendingChunk(batch_id, tuple(ids), run_id))
        return chunks

    def chunk_state(self, key: TargetKey, batch_id: str) -> str | None:
        found = self._latest(self._target_id(key)).get(batch_id)
        return None if found is None else found[0]

    def live_runs(self, key: TargetKey) -> frozenset[str]:
        rows = self._rows(
            "SELECT run_id FROM ledger_leases WHERE target_id = %s AND until > %s",
            (self._target_id(key), time.time()),
        )
        return frozenset(run_id for (run_id,) in rows)

    # --- writes -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lease(self, key: TargetKey, run_id: str) -> Iterator[None]:
        target_id = self._target_id(key)

        def renew() -> None:
            self._rows(
                "INSERT INTO ledger_leases (target_id, run_id, until) VALUES (%s, %s, %s) "
                "ON CONFLICT (target_id, run_id) DO UPDATE SET until = excluded.until RETURNING 1",
                (target_id, run_id, time.time() + self.lease_seconds),
            )

        renew()
        renewer = Renewer(renew, run_id, self.lease_seconds)
        renewer.start()
        try:
            yield
        finally:
            renewer.stop()
            self._rows(
                "UPDATE ledger_leases SET until = 0 WHERE target_id = %s AND run_id = %s RETURNING 1",
                (target_id, run_id),
            )

    def begin_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        external_ids: Sequence[str],
        run_id: str,
        *,
        takeover: bool = False,
        batch_of: Callable[[Sequence[str]], str] | None = None,
    ) -> Claim:
        target_id = self._target_id(key)
        params = {
            "target": target_id,
            "run": run_id,
            "ids": sorted(external_ids),
            "takeover": takeover,
            "now": time.time(),
        }
        with self._pool.connection() as db, db.transaction():
            got = {eid for (eid,) in db.execute(_CLAIM, params).fetchall()}
            claimed = tuple(eid for eid in external_ids if eid in got)
            held: dict[str, str] = {}
            if len(claimed) != len(external_ids):
                held = dict(
                    db.execute(
                        "SELECT external_id, run_id FROM ledger_claims WHERE target_id = %s "
                        "AND run_id != %s AND external_id = ANY(%s::text[])",
                        (target_id, run_id, list(external_ids)),
                    ).fetchall()
                )
                if batch_of is not None:
                    batch_id = batch_of(claimed)
            if claimed:
                db.execute(
                    "INSERT INTO ledger_journal (target_id, batch_id, state, run_id, rows) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (target_id, batch_id, IN_FLIGHT, run_id, Jsonb(list(claimed))),
                )
        return Claim(batch_id, claimed, held)

    def release(self, key: TargetKey, external_ids: Iterable[str], run_id: str) -> None:
        with self._pool.connection() as db:
            db.execute(
                "DELETE FROM ledger_claims WHERE target_id = %s AND run_id = %s "
                "AND external_id = ANY(%s::text[])",
                (self._target_id(key), run_id, sorted(external_ids)),
            )

    def settle_chunk(
        self, key: TargetKey, batch_id: str, rows: Iterable[SettledRow], run_id: str, *, state: str = SETTLED
    ) -> None:
        settled = [list(row) for row in rows]
        if settled and set(map(len, settled)) != {4}:
            raise ValueError("a settled row is (external_id, status, vendor_id, vendor_status)")
        if state == IN_FLIGHT:
            raise ValueError("settle_chunk closes a chunk; begin_chunk opens one")
        with self._pool.connection() as db:
            db.execute(
                "INSERT INTO ledger_journal (target_id, batch_id, state, run_id, rows) "
                "VALUES (%s, %s, %s, %s, %s)",
                (self._target_id(key), batch_id, state, run_id, Jsonb(settled)),
            )
        undelivered = [str(row[0]) for row in settled if row[1] not in SENT_STATUSES]
        if undelivered:
            self.release(key, undelivered, run_id)
