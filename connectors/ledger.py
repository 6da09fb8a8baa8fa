"""The send ledger: what each target and campaign got from us, so nothing is sent twice.

One SQLite file that several processes may share; its tables, and opening it, are
connectors.ledger_schema's; what SQLite's own busy handler leaves to retry is
connectors.ledger_locking's. This module is the ledger's operations on it: reads, claims, settling.

A chunk is journalled ``in_flight`` (one row carrying its rows' external ids) before the request
leaves, and ``settled`` (one row carrying its rows' outcomes) after; a chunk's state is its latest
journal row. A chunk still ``in_flight`` from another run is what a crash leaves behind; the engine
asks the vendor about it (``Connector.reconcile``) or resends its leads with the same external ids.
The ledger is keyed by the vendor endpoint, not the target name: two targets naming the same
campaign share what was sent.

A lead's entry (:meth:`Ledger.entries`) is its latest settled row: ``sends``, then every settled
journal row of the target in ``seq`` order, a later row replacing an earlier one except that a
vendor id, once known, is kept when a later answer has none (what the former per-lead upsert into
``sends`` stored).

Cost: one append (a row and a small index entry at the end of the target's range) and one commit
per journal row, i.e. two short transactions per request, WAL with ``synchronous=NORMAL`` (a
commit is a write to the WAL, not an fsync). The former layout cost about 2.5 us per lead for the
multi-row upsert into ``sends`` (a WITHOUT ROWID B-tree insert per row) and, per request, rewrote a
large ``chunks`` row in place at a random B-tree position twice (in flight, then settled): about
three times the page writes of two appends. Reading what was delivered for some leads (the
engine asks once per request batch: :meth:`Ledger.entries`) reads only their journal rows, found
through ``settled_ids``: its cost and memory follow the leads asked about, not the ledger's size.
That index is one B-tree insert per settled lead (bench/ledger_lookup.py measures both). Settled
rows are plain tuples (:data:`SettledRow`; :class:`Settlement` is one with names), because the
engine writes one per lead.

Compatibility: a ledger written before the journal is read as is (its ``sends`` and ``chunks``
rows are the oldest layer; a chunk they leave in flight is settled in the journal). A version of
leadflow older than the journal would not see what this one wrote; do not share one ledger file
between the two.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import orjson

from connectors import contact_retention as retention
from connectors import ledger_contacts as contacts
from connectors.endpoint import normalize_endpoint
from connectors.frequency import FrequencyLimit
from connectors.lease import Renewer, lease_seconds
from connectors.ledger_locking import Transaction, renew_connection, retry_while_locked, writable
from connectors.ledger_queries import PENDING, SENDS_OF, SETTLED_OF
from connectors.ledger_schema import prepare
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
from transforms.people import People

__all__ = ["Ledger"]


def _as_array(value: object) -> list[object]:
    """orjson writes plain tuples as arrays but refuses their subclasses (:class:`Settlement`)."""
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")


log = logging.getLogger("leadflow.connectors")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _writes(method: Callable[Concatenate[Ledger, _P], _R]) -> Callable[Concatenate[Ledger, _P], _R]:
    """A write of the ledger's: a refused one (its disk full) is ``LedgerUnavailable``
    (connectors.ledger_locking.writable), which stops the target, not the run."""

    @functools.wraps(method)
    def write(self: Ledger, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with writable(self.path):
            return method(self, *args, **kwargs)

    return write


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Ledger:
    """One connection per engine run; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, lease: float | None = None) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.lease_seconds = lease or lease_seconds()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        try:
            with writable(self.path):
                retry_while_locked(self._db, self.path, busy_timeout, lambda: prepare(self._db))
        except BaseException:
            self._db.close()
            raise
        self._ids: dict[TargetKey, int] = {}
        self._contacts = contacts.Contacts()
        """The contact log as far as read (connectors.ledger_contacts), for frequency limits."""
        self._window = retention.WindowNote()
        self._plans: dict[int, contacts.FrequencyPlan] = {}
        """Each target's latest plan decided ahead (:meth:`plan_limit`)."""

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> Transaction:
        return Transaction(self._db)

    def _target_id(self, key: TargetKey) -> int:
        found = self._ids.get(key)
        if found is None:
            endpoint = normalize_endpoint(key.base_url)
            with writable(self.path), self._write():  # a target's first use writes its row
                self._db.execute(
                    "INSERT OR IGNORE INTO targets (kind, base_url, campaign) VALUES (?, ?, ?)",
                    (key.kind, endpoint, key.campaign),
                )
                row = self._db.execute(
                    "SELECT id FROM targets WHERE kind = ? AND base_url = ? AND campaign = ?",
                    (key.kind, endpoint, key.campaign),
                ).fetchone()
            found = self._ids[key] = int(row[0])
        return found

    # --- reads --------------------------------------------------------------------------
    def entries(self, key: TargetKey, external_ids: Iterable[str] | None = None) -> dict[str, LedgerEntry]:
        """Latest settled entry per external id for ``key`` (all of them, or only ``external_ids``).

        All of them: the target's whole history, read once (a report, a test). Only some (the
        engine, once per request batch and for leads another run holds): the ``sends`` rows and
        the settled journal rows of those leads alone, found by key through ``settled_ids`` (one
        statement each, the ids passed as one JSON array), folded in ``seq`` order; what is read
        and kept follows the number of leads asked about, never the ledger's size."""
        target_id = self._target_id(key)
        if external_ids is None:
            found: dict[str, LedgerEntry] = {
                row[0]: LedgerEntry(*row)
                for row in self._db.execute(
                    "SELECT external_id, status, vendor_id, vendor_status, batch_id, run_id FROM sends "
                    "WHERE target_id = ?",
                    (target_id,),
                )
            }
            settled = self._db.execute(
                "SELECT batch_id, run_id, rows FROM journal WHERE target_id = ? AND state = ? ORDER BY seq",
                (target_id, SETTLED),
            )
            fold_settled(
                found, ((batch_id, run_id, orjson.loads(rows)) for batch_id, run_id, rows in settled)
            )
            return found
        wanted = set(external_ids)
        if not wanted:
            return {}
        ids = orjson.dumps(sorted(wanted)).decode()
        found = {row[0]: LedgerEntry(*row) for row in self._db.execute(SENDS_OF, (target_id, ids))}
        settled = self._db.execute(SETTLED_OF, (target_id, ids))
        fold_settled(
            found, ((b, r, [x for x in orjson.loads(rows) if x[0] in wanted]) for b, r, rows in settled)
        )
        return found

    def pending_chunks(self, key: TargetKey, *, exclude_run: str) -> list[PendingChunk]:
        """Chunks of other runs still in flight for ``key`` whose run holds no live lease (it
        crashed, or finished leaving them unsettled), oldest first. A live run's chunks are its
        own business, never an orphan.

        Found by the database (each batch id's latest journal row, grouped there), so what this
        process holds is the orphans, not the target's history: a million-lead ledger's chunks
        are sorted by SQLite, which spills to its temporary files, not kept in a dict here."""
        target_id = self._target_id(key)
        live = self.live_runs(key)
        chunks: list[PendingChunk] = []
        legacy = self._db.execute(
            "SELECT c.batch_id, c.run_id, c.external_ids FROM chunks AS c "
            "WHERE c.target_id = ?1 AND c.state = ?2 AND c.run_id != ?3 AND NOT EXISTS ("
            "SELECT 1 FROM journal AS j WHERE j.target_id = ?1 AND j.batch_id = c.batch_id) "
            "ORDER BY c.updated_at",
            (target_id, IN_FLIGHT, exclude_run),
        )
        for batch_id, run_id, ids in legacy:  # older than any journal row
            if run_id not in live:
                chunks.append(PendingChunk(batch_id, tuple(orjson.loads(ids)), run_id))
        journal = self._db.execute(PENDING, (target_id, IN_FLIGHT, exclude_run))
        for batch_id, run_id, ids in journal:
            if run_id not in live:
                chunks.append(PendingChunk(batch_id, tuple(orjson.loads(ids)), run_id))
        return chunks

    def chunk_state(self, key: TargetKey, batch_id: str) -> str | None:
        target_id = self._target_id(key)
        for query in (
            "SELECT state FROM journal WHERE target_id = ? AND batch_id = ? ORDER BY seq DESC LIMIT 1",
            "SELECT state FROM chunks WHERE target_id = ? AND batch_id = ?",
        ):
            row = self._db.execute(query, (target_id, batch_id)).fetchone()
            if row is not None:
                return str(row[0])
        return None

    def live_runs(self, key: TargetKey) -> frozenset[str]:
        """Runs whose lease on ``key`` has not expired."""
        rows = self._db.execute(
            "SELECT run_id FROM leases WHERE target_id = ? AND until > ?", (self._target_id(key), time.time())
        )
        return frozenset(run_id for (run_id,) in rows)

    # --- writes -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lease(self, key: TargetKey, run_id: str) -> Iterator[None]:
        """Hold a lease on ``key`` for ``run_id`` while the block runs: renewed every third of
        ``lease_seconds`` by a thread of its own (connectors.lease: a busy event loop does not let
        it lapse), and ended on exit, so that what the run leaves in flight is an orphan for the
        next run."""
        target_id = self._target_id(key)
        own = renew_connection(self.path, self.busy_timeout)

        def renew(db: sqlite3.Connection = own) -> None:
            db.execute(
                "INSERT INTO leases (target_id, run_id, until) VALUES (?, ?, ?) "
                "ON CONFLICT (target_id, run_id) DO UPDATE SET until = excluded.until",
                (target_id, run_id, time.time() + self.lease_seconds),
            )

        try:
            with writable(self.path):
                renew(self._db)
        except BaseException:
            own.close()
            raise
        renewer = Renewer(renew, run_id, self.lease_seconds)
        renewer.start()
        try:
            yield
        finally:
            renewer.stop()
            own.close()
            try:
                self._db.execute(
                    "UPDATE leases SET until = 0 WHERE target_id = ? AND run_id = ?", (target_id, run_id)
                )
            except sqlite3.Error as error:  # its disk full: the lease lapses by itself
                log.warning("ledger %s: ending the lease of run %s failed (%s)", self.path, run_id, error)

    @_writes
    def begin_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        external_ids: Sequence[str],
        run_id: str,
        *,
        takeover: bool = False,
        batch_of: Callable[[Sequence[str]], str] | None = None,
        people: contacts.PeopleLike | None = None,
        limit: FrequencyLimit | None = None,
        legacy: contacts.LegacyKeys | None = None,
    ) -> Claim:
        """Claim a chunk's leads for ``run_id`` and record the claimed ones ``in_flight``, in one
        transaction, before the request leaves. A lead already claimed by another run is not
        claimed (its holder is returned): it is in flight elsewhere, or was delivered. With
        ``takeover`` (a resend) a claim whose run holds no live lease is taken over. When only
        some leads are claimed they are in flight under ``batch_of(their ids)`` (a vendor may
        refuse a batch id used twice with other contents). With a frequency ``limit`` and each
        lead's ``people`` keys (connectors.frequency), the leads whose person the limit refuses
        are not claimed (``Claim.limited``) and the claimed ones' contacts are recorded, in the
        same transaction (connectors.ledger_contacts; ``legacy``: the leads' version 1 keys, for
        contacts recorded before transforms.person_keys)."""
        target_id = self._target_id(key)
        guarded = limit is not None and people is not None
        plan = None
        if people is not None:  # once: the memory knows the keys it looked up when recorded
            people = contacts.as_people(people)
            plan = self._plans.get(target_id)
            if plan is not None and (plan.limit is not limit or not plan.covers(people)):
                plan = None
        remember: Callable[[contacts.Contacts], None] | None = None
        with self._write():
            wanted: Sequence[str] = external_ids
            limited: tuple[str, ...] = ()
            if limit is not None and people is not None:
                wanted, limited = contacts.sqlite_admit(
                    self._db,
                    self._contacts,
                    target_id,
                    external_ids,
                    people,
                    limit=limit,
                    legacy=legacy,
                    plan=plan,
                )
                retention.sqlite_note_window(self._db, self._window, limit.window_seconds)
            ids = orjson.dumps(list(wanted)).decode()
            claimed = tuple(
                eid
                for (eid,) in self._db.execute(
                    "INSERT INTO claims (target_id, external_id, run_id) "
                    "SELECT ?1, value, ?2 FROM json_each(?3) WHERE true "
                    "ON CONFLICT (target_id, external_id) DO UPDATE SET run_id = excluded.run_id "
                    "WHERE claims.run_id = excluded.run_id OR (?4 AND NOT EXISTS ("
                    "SELECT 1 FROM leases AS l WHERE l.target_id = ?1 AND l.run_id = claims.run_id "
                    "AND l.until > ?5)) RETURNING external_id",
                    (target_id, run_id, ids, takeover, time.time()),
                ).fetchall()
            )
            if len(claimed) != len(external_ids):
                rows = orjson.dumps(list(claimed)).decode()
                if batch_of is not None:
                    batch_id = batch_of(claimed)
                held = dict(
                    self._db.execute(
                        "SELECT external_id, run_id FROM claims WHERE target_id = ? AND run_id != ? "
                        "AND external_id IN (SELECT value FROM json_each(?))",
                        (target_id, run_id, ids),
                    ).fetchall()
                )
            else:
                rows, held = ids, {}
            if claimed:
                journal_seq = self._insert(target_id, batch_id, IN_FLIGHT, run_id, rows)
                if guarded:
                    assert people is not None
                    remember = contacts.sqlite_record(
                        self._db, target_id, claimed, external_ids, people, plan=plan, journal_seq=journal_seq
                    )
        if remember is not None:
            remember(self._contacts)
        return Claim(batch_id, claimed, held, limited)

    @_writes
    def plan_limit(
        self, key: TargetKey, external_ids: Sequence[str], *, people: People, limit: FrequencyLimit
    ) -> None:
        """Decide ``limit`` for a whole plan of ``key``'s leads ahead (``people``: their keys,
        in the plan's order; its chunks are claimed with slices of them and this same
        ``limit``): each chunk's :meth:`begin_chunk` then takes its verdict when nothing since
        changes it, else decides as before (connectors.frequency_plan). Nothing is written:
        what counts is still claimed chunk by chunk."""
        target_id = self._target_id(key)
        self._plans.pop(target_id, None)
        plan = contacts.sqlite_plan(self._db, self._contacts, target_id, external_ids, people, limit=limit)
        if plan is not None:
            self._plans[target_id] = plan

    def preview_limit(
        self,
        key: TargetKey,
        external_ids: Sequence[str],
        *,
        people: contacts.PeopleLike,
        limit: FrequencyLimit,
        legacy: contacts.LegacyKeys | None = None,
        pending: contacts.Pending | None = None,
    ) -> tuple[str, ...]:
        """The leads :meth:`begin_chunk`'s ``limit`` would refuse now, for a dry run: read only,
        nothing claimed or recorded; ``pending`` are the dry run's own leads of this target it
        would have sent before (person key -> external ids)."""
        _, limited = contacts.sqlite_admit(
            self._db,
            self._contacts,
            self._target_id(key),
            external_ids,
            people,
            limit=limit,
            legacy=legacy,
            pending=pending,
        )
        return limited

    @_writes
    def release(self, key: TargetKey, external_ids: Iterable[str], run_id: str) -> None:
        """Give up ``run_id``'s claims on these leads (not delivered: another run may send them)."""
        self._db.execute(
            "DELETE FROM claims WHERE target_id = ? AND run_id = ? "
            "AND external_id IN (SELECT value FROM json_each(?))",
            (self._target_id(key), run_id, orjson.dumps(list(external_ids)).decode()),
        )

    @_writes
    def settle_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        rows: Iterable[SettledRow],
        run_id: str,
        *,
        state: str = SETTLED,
    ) -> None:
        """Record the vendor's answer for a chunk's rows and close the chunk, in one journal row.
        ``state="superseded"`` closes a chunk whose rows are sent again under other batch ids.
        ``run_id``'s claims on the rows not delivered are released; a delivered lead stays
        claimed for good, which is what keeps a concurrent run from sending it again."""
        rows = list(rows)
        if rows and set(map(len, rows)) != {4}:
            raise ValueError("a settled row is (external_id, status, vendor_id, vendor_status)")
        if state == IN_FLIGHT:
            raise ValueError("settle_chunk closes a chunk; begin_chunk opens one")
        self._append(key, batch_id, state, run_id, orjson.dumps(rows, default=_as_array).decode())
        undelivered = [row[0] for row in rows if row[1] not in SENT_STATUSES]
        if undelivered:
            self.release(key, undelivered, run_id)

    def _append(self, key: TargetKey, batch_id: str, state: str, run_id: str, rows: str) -> None:
        """One INSERT, committed on its own: a single statement is atomic and takes the write lock
        before it reads (retrying through ``busy_timeout``), so it needs no ``BEGIN IMMEDIATE``,
        which costs two more statements per request."""
        self._insert(self._target_id(key), batch_id, state, run_id, rows)

    def _insert(self, target_id: int, batch_id: str, state: str, run_id: str, rows: str) -> int:
        """Append a journal row; its ``seq``."""
        cursor = self._db.execute(
            "INSERT INTO journal (target_id, batch_id, state, run_id, at, rows) VALUES (?, ?, ?, ?, ?, ?)",
            (target_id, batch_id, state, run_id, _now(), rows),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid
