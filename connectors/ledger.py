"""The send ledger: what each target and campaign got from us, so nothing is sent twice.

One SQLite file (WAL, ``busy_timeout``, writes in ``BEGIN IMMEDIATE`` transactions, so two
processes may share it). Tables:

``targets`` the vendor endpoints: (kind, base_url, campaign) -> a small integer id.
``sends``   one row per (target, external_id): the latest settled status, vendor id and status,
            batch id, run id and time.
``chunks``  one row per request: batch id, target, ``in_flight``/``settled``/``superseded``, the
            external ids of its rows, run id.

A chunk is written ``in_flight`` (one row carrying its rows' external ids: one small write per
request, not one per lead) before the request leaves; its rows' outcomes and the chunk's
``settled`` state are written in one transaction after. A chunk still ``in_flight`` from another
run is what a crash leaves behind; the engine asks the vendor about it (``Connector.reconcile``)
or resends its leads with the same external ids. The ledger is keyed by the vendor endpoint, not
the target name: two targets naming the same campaign share what was sent.

Cost: two short transactions per request (``begin_chunk``; ``settle_chunk`` with all of the
chunk's rows in one multi-row upsert statement), WAL with ``synchronous=NORMAL`` (a commit is a
write to the WAL, not an fsync). Settled rows are plain tuples (:data:`SettledRow`;
:class:`Settlement` is one with names), because the engine writes one per lead.
"""

from __future__ import annotations

import functools
import itertools
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import orjson

__all__ = [
    "IN_FLIGHT",
    "SENT_STATUSES",
    "Ledger",
    "LedgerEntry",
    "PendingChunk",
    "SettledRow",
    "Settlement",
    "TargetKey",
]

IN_FLIGHT = "in_flight"
SENT_STATUSES = ("accepted", "submitted")
"""Ledger statuses that make a later run report the lead ``already_sent``."""

_SCHEMA = """
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
"""

_CHECKPOINT_PAGES = 8192
"""WAL pages (4 KiB) before SQLite checkpoints, which fsyncs while the engine waits: SQLite's
default of 1000 is reached about every 10k leads; 8192 (32 MiB) keeps that out of most runs."""

_UPSERT_ROWS = 200
"""Rows per multi-row upsert: 4 + 4 * 200 parameters stays under SQLite's oldest limit (999)."""


_UPSERT_HEAD = (
    "INSERT INTO sends"
    " (target_id, external_id, status, vendor_id, vendor_status, batch_id, run_id, updated_at) VALUES "
)
_UPSERT_TAIL = """
ON CONFLICT (target_id, external_id) DO UPDATE SET
    status = excluded.status,
    vendor_id = COALESCE(excluded.vendor_id, sends.vendor_id),
    vendor_status = excluded.vendor_status,
    batch_id = excluded.batch_id,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at
"""


@functools.lru_cache(maxsize=32)
def _upsert_sends(rows: int) -> str:
    """One statement for ``rows`` rows; parameters ?1..?4 are target_id, batch_id, run_id and time,
    then four per row. One statement per chunk costs about half of one per row (executemany)."""
    values = ", ".join(
        f"(?1, ?{5 + 4 * r}, ?{6 + 4 * r}, ?{7 + 4 * r}, ?{8 + 4 * r}, ?2, ?3, ?4)" for r in range(rows)
    )
    return _UPSERT_HEAD + values + _UPSERT_TAIL


@dataclass(frozen=True, slots=True)
class TargetKey:
    """Where leads went: the vendor endpoint and campaign, independent of the target's name."""

    kind: str
    base_url: str
    campaign: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    external_id: str
    status: str
    vendor_id: str | None
    vendor_status: str | None
    batch_id: str | None
    run_id: str


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """A chunk some earlier run recorded in flight and never settled."""

    batch_id: str
    external_ids: tuple[str, ...]
    run_id: str


class Settlement(NamedTuple):
    external_id: str
    status: str
    vendor_id: str | None = None
    vendor_status: str | None = None


SettledRow = tuple[str, str, str | None, str | None]
"""(external_id, status, vendor_id, vendor_status): a :class:`Settlement` or a plain tuple."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Ledger:
    """One connection per engine run; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        self._db.executescript(_SCHEMA)
        self._ids: dict[TargetKey, int] = {}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

    def _target_id(self, key: TargetKey) -> int:
        found = self._ids.get(key)
        if found is None:
            with self._write():
                self._db.execute(
                    "INSERT OR IGNORE INTO targets (kind, base_url, campaign) VALUES (?, ?, ?)",
                    (key.kind, key.base_url, key.campaign),
                )
                row = self._db.execute(
                    "SELECT id FROM targets WHERE kind = ? AND base_url = ? AND campaign = ?",
                    (key.kind, key.base_url, key.campaign),
                ).fetchone()
            found = self._ids[key] = int(row[0])
        return found

    # --- reads --------------------------------------------------------------------------
    def entries(self, key: TargetKey, external_ids: Iterable[str] | None = None) -> dict[str, LedgerEntry]:
        """Latest settled entry per external id for ``key`` (all of them, or only ``external_ids``)."""
        rows = self._db.execute(
            "SELECT external_id, status, vendor_id, vendor_status, batch_id, run_id FROM sends "
            "WHERE target_id = ?",
            (self._target_id(key),),
        )
        found = {row[0]: LedgerEntry(*row) for row in rows}
        if external_ids is None:
            return found
        return {eid: found[eid] for eid in external_ids if eid in found}

    def pending_chunks(self, key: TargetKey, *, exclude_run: str) -> list[PendingChunk]:
        """Chunks of other runs still in flight for ``key``, oldest first."""
        rows = self._db.execute(
            "SELECT batch_id, external_ids, run_id FROM chunks "
            "WHERE target_id = ? AND state = ? AND run_id != ? ORDER BY updated_at",
            (self._target_id(key), IN_FLIGHT, exclude_run),
        )
        return [PendingChunk(b, tuple(json.loads(ids)), r) for b, ids, r in rows]

    def chunk_state(self, key: TargetKey, batch_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM chunks WHERE target_id = ? AND batch_id = ?", (self._target_id(key), batch_id)
        ).fetchone()
        return None if row is None else str(row[0])

    # --- writes -------------------------------------------------------------------------
    def begin_chunk(self, key: TargetKey, batch_id: str, external_ids: Sequence[str], run_id: str) -> None:
        """Record a chunk ``in_flight`` with the external ids of its rows, before it is sent."""
        target_id = self._target_id(key)
        with self._write():
            self._db.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (target_id, batch_id) DO UPDATE SET "
                "state = excluded.state, external_ids = excluded.external_ids, "
                "run_id = excluded.run_id, updated_at = excluded.updated_at",
                (target_id, batch_id, IN_FLIGHT, orjson.dumps(list(external_ids)).decode(), run_id, _now()),
            )

    def settle_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        rows: Iterable[SettledRow],
        run_id: str,
        *,
        state: str = "settled",
    ) -> None:
        """Record the vendor's answer for a chunk's rows and close the chunk, in one transaction."""
        now = _now()
        target_id = self._target_id(key)
        rows = list(rows)
        if any(len(row) != 4 for row in rows):
            raise ValueError("a settled row is (external_id, status, vendor_id, vendor_status)")
        with self._write():
            self._db.execute(
                "UPDATE chunks SET state = ?, updated_at = ? WHERE target_id = ? AND batch_id = ?",
                (state, now, target_id, batch_id),
            )
            for start in range(0, len(rows), _UPSERT_ROWS):
                part = rows[start : start + _UPSERT_ROWS]
                params = [target_id, batch_id, run_id, now, *itertools.chain.from_iterable(part)]
                self._db.execute(_upsert_sends(len(part)), params)


class _Transaction:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``/``ROLLBACK``: take the write lock up front, so two
    processes never deadlock upgrading a read lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
