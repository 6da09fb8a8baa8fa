"""The send ledger: what each target and campaign got from us, so nothing is sent twice.

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
             :meth:`Ledger.entries` for some leads a keyed lookup (version 2 of the layout).
``contact_log``  the contacts claimed under a frequency limit (connectors.ledger_contacts, which
             owns it; written only when a target has a limit).

A chunk is journalled ``in_flight`` (one row carrying its rows' external ids) before the request
leaves, and ``settled`` (one row carrying its rows' outcomes) after; a chunk's state is its latest
journal row. A chunk still ``in_flight`` from another run is what a crash leaves behind; the engine
asks the vendor about it (``Connector.reconcile``) or resends its leads with the same external ids.
The ledger is keyed by the vendor endpoint, not the target name: two targets naming the same
campaign share what was sent.

A lead's entry (:meth:`Ledger.entries`) is its latest settled row: ``sends``, then every settled
journal row of the target in ``seq`` order, a later row replacing an earlier one except that a
vendor id, once known, is kept when a later answer has none (what the former per-lead upsert into
``sends`` stored). The view ``settled_rows`` shows them one lead a row for anyone querying the file.

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
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from connectors import contact_retention as retention
from connectors import ledger_contacts as contacts
from connectors.endpoint import normalize_endpoint
from connectors.frequency import FrequencyLimit
from connectors.lease import LEASE_SECONDS, Renewer, lease_seconds
from connectors.ledger_migrate import migrate
from connectors.ledger_types import (
    IN_FLIGHT,
    SENT_STATUSES,
    SETTLED,
    Claim,
    LedgerEntry,
    LedgerUnavailable,
    PendingChunk,
    SettledRow,
    Settlement,
    TargetKey,
    fold_settled,
)

__all__ = [
    "IN_FLIGHT",
    "LEASE_SECONDS",
    "SENT_STATUSES",
    "SETTLED",
    "Claim",
    "Ledger",
    "LedgerEntry",
    "PendingChunk",
    "SettledRow",
    "Settlement",
    "TargetKey",
]


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

_SENDS_OF = (
    "SELECT s.external_id, s.status, s.vendor_id, s.vendor_status, s.batch_id, s.run_id "
    "FROM sends AS s WHERE s.target_id = ?1 AND s.external_id IN (SELECT value FROM json_each(?2))"
)
"""The oldest layer's rows of some leads: one primary-key lookup per lead."""

_SETTLED_OF = (
    "SELECT j.batch_id, j.run_id, j.rows FROM journal AS j WHERE j.seq IN ("
    "SELECT i.seq FROM settled_ids AS i "
    "WHERE i.target_id = ?1 AND i.external_id IN (SELECT value FROM json_each(?2))) ORDER BY j.seq"
)
"""The settled journal rows holding some leads, in commit order: a range of ``settled_ids`` per
lead, then one rowid lookup per journal row (tests/connectors/test_ledger_lookups.py checks the plan)."""

_PENDING = (
    "SELECT j.batch_id, j.run_id, j.rows FROM journal AS j JOIN ("
    "SELECT max(seq) AS last FROM journal WHERE target_id = ?1 GROUP BY batch_id) AS m ON j.seq = m.last "
    "WHERE j.state = ?2 AND j.run_id != ?3 ORDER BY j.seq"
)
"""The chunks whose latest journal row is in flight under another run, oldest first."""

_CHECKPOINT_PAGES = 8192
"""WAL pages (4 KiB) before SQLite checkpoints, which fsyncs while the engine waits: SQLite's
default of 1000 is reached about every 10k leads; 8192 (32 MiB) keeps that out of most runs."""


def _as_array(value: object) -> list[object]:
    """orjson writes plain tuples as arrays but refuses their subclasses (:class:`Settlement`)."""
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")


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
            _retry_while_locked(self._db, self.path, busy_timeout, lambda: _prepare(self._db))
        except BaseException:
            self._db.close()
            raise
        self._ids: dict[TargetKey, int] = {}
        self._contacts = contacts.Contacts()
        """The contact log as far as read (connectors.ledger_contacts), for frequency limits."""
        self._window = retention.WindowNote()

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
            endpoint = normalize_endpoint(key.base_url)
            with self._write():
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
        found = {row[0]: LedgerEntry(*row) for row in self._db.execute(_SENDS_OF, (target_id, ids))}
        settled = self._db.execute(_SETTLED_OF, (target_id, ids))
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
        journal = self._db.execute(_PENDING, (target_id, IN_FLIGHT, exclude_run))
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
        own = _renew_connection(self.path, self.busy_timeout)

        def renew(db: sqlite3.Connection = own) -> None:
            db.execute(
                "INSERT INTO leases (target_id, run_id, until) VALUES (?, ?, ?) "
                "ON CONFLICT (target_id, run_id) DO UPDATE SET until = excluded.until",
                (target_id, run_id, time.time() + self.lease_seconds),
            )

        renew(self._db)
        renewer = Renewer(renew, run_id, self.lease_seconds)
        renewer.start()
        try:
            yield
        finally:
            renewer.stop()
            own.close()
            self._db.execute(
                "UPDATE leases SET until = 0 WHERE target_id = ? AND run_id = ?", (target_id, run_id)
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
        people: Sequence[Sequence[int]] | None = None,
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
        remember: Callable[[contacts.Contacts], None] | None = None
        with self._write():
            wanted: Sequence[str] = external_ids
            limited: tuple[str, ...] = ()
            if limit is not None and people is not None:
                wanted, limited = contacts.sqlite_admit(
                    self._db, self._contacts, target_id, external_ids, people, limit=limit, legacy=legacy
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
                if guarded:
                    assert people is not None
                    remember = contacts.sqlite_record(self._db, target_id, claimed, external_ids, people)
                self._insert(target_id, batch_id, IN_FLIGHT, run_id, rows)
        if remember is not None:
            remember(self._contacts)
        return Claim(batch_id, claimed, held, limited)

    def preview_limit(
        self,
        key: TargetKey,
        external_ids: Sequence[str],
        *,
        people: Sequence[Sequence[int]],
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

    def release(self, key: TargetKey, external_ids: Iterable[str], run_id: str) -> None:
        """Give up ``run_id``'s claims on these leads (not delivered: another run may send them)."""
        self._db.execute(
            "DELETE FROM claims WHERE target_id = ? AND run_id = ? "
            "AND external_id IN (SELECT value FROM json_each(?))",
            (self._target_id(key), run_id, orjson.dumps(list(external_ids)).decode()),
        )

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

    def _insert(self, target_id: int, batch_id: str, state: str, run_id: str, rows: str) -> None:
        self._db.execute(
            "INSERT INTO journal (target_id, batch_id, state, run_id, at, rows) VALUES (?, ?, ?, ?, ?, ?)",
            (target_id, batch_id, state, run_id, _now(), rows),
        )


def _prepare(db: sqlite3.Connection) -> None:
    """WAL (once per file: the mode is stored in it), the per-connection settings, the schema
    (created in one ``BEGIN IMMEDIATE``, so the busy handler serializes two first openings) and
    the migration; then the contacts past their retention are pruned, when due
    (connectors.contact_retention)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
    db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\n{contacts.SQLITE_SCHEMA}\nCOMMIT;")
    migrate(db)
    retention.sqlite_prune(db, due_only=True)


def _is_lock_contention(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _BUSY_CODES or "database is locked" in str(error)


_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} | {5 | (n << 8) for n in range(1, 4)})
"""SQLITE_BUSY and its extended forms (recovery, snapshot, timeout), SQLITE_LOCKED."""


def _retry_while_locked(
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
            if not _is_lock_contention(error):
                raise
            if time.monotonic() + delay > deadline:
                raise LedgerUnavailable(
                    f"ledger {path}: still locked by another process after {busy_timeout:g} s "
                    f"({error}); wait for the other run to finish, or give this run its own --ledger"
                ) from None
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
        delay = min(delay * 2, 0.25)


def _renew_connection(path: Path, busy_timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return db


class _Transaction:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``/``ROLLBACK``: take the write lock up front, so two
    processes never deadlock upgrading a read lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
