"""The ledger's record of contacts, for the frequency guardrail (connectors.frequency).

Its own tables, created beside the ledger's (``CREATE .. IF NOT EXISTS`` on every opening, no
version step: a ledger without them simply gets them, and an older leadflow ignores them).

A contact is a (person key, target, external id) claimed while a frequency limit was on, and
when. It counts while its lead is claimed: the ledger keeps a claim while the lead is in flight
and, once delivered, for good, and deletes it when the lead was not delivered (refused, failed),
so what the vendor did not take stops counting without a write of its own here. A lead claimed
again is dated again.

SQLite: ``contact_log``, appended to (one row per claimed chunk: its time, target and
``[[external_id, key, ...], ...]``) in the claim's ``BEGIN IMMEDIATE``, which serializes every
claim, so its ``seq`` order is its commit order. Each ledger object reads the log into memory
(:class:`ContactMemory`: the window's contacts at its first use, then the rows appended since,
by any process) and checks the claims of the few contacts a chunk's people have. An index by
person instead cost a random B-tree write per key per lead, about twice the claim's own page
writes (bench/frequency.py). The memory holds the window's contacts (about 100 bytes a key).

PostgreSQL: ``ledger_contacts`` (one row per person key, target and external id, indexed by
person) and ``ledger_people`` (one row per person key, locked ``FOR UPDATE`` through an upsert by
the transaction that decides for that person, so runs on several machines decide for one person
one after the other). A log read by ``seq`` would miss rows committed out of ``seq`` order there.
``ledger_contacts.target_id`` has no foreign key, unlike the ledger's other tables: PostgreSQL
checks one row by row, and that was half of the insert of a chunk's contacts (EXPLAIN ANALYZE:
1.0 of 2.1 ms for 200 rows); its target ids are those of the claims it is written with, which
have theirs. A table made before this keeps its key (correct, slower).

Rows older than every window stay; nothing prunes them yet.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import psycopg

from connectors.frequency import Event, FrequencyLimit, decide

__all__ = [
    "PG_RECENT",
    "PG_SCHEMA",
    "SQLITE_SCHEMA",
    "Admission",
    "ContactMemory",
    "admit",
    "pg_admit",
    "pg_record",
    "sqlite_admit",
    "sqlite_record",
]

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_log (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, target_id INTEGER NOT NULL REFERENCES targets (id),
    rows TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_log_by_time ON contact_log (at);
"""

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_people (person bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ledger_contacts (
    person bigint NOT NULL, target_id integer NOT NULL,
    external_id text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (person, target_id, external_id)
);
"""

PG_RECENT = (
    "SELECT k.person, k.target_id, k.external_id FROM unnest(%s::bigint[]) AS x (p) "
    "CROSS JOIN LATERAL (SELECT * FROM ledger_contacts AS y WHERE y.person = x.p AND y.at > %s "
    "OFFSET 0) AS k "
    "JOIN ledger_claims AS c ON c.target_id = k.target_id AND c.external_id = k.external_id"
)
"""The counted contacts of some person keys after a time (see :func:`pg_admit`)."""

Admission = tuple[list[str], tuple[str, ...]]
"""(the external ids the limit allows, in order; those it refuses)."""


def admit(
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
    recent: Iterable[tuple[int, int, str]],
) -> Admission:
    """Split a chunk by :func:`connectors.frequency.decide` over ``recent`` (person, target id,
    external id) rows."""
    found: dict[int, set[Event]] = {}
    for person, target, external_id in recent:
        found.setdefault(person, set()).add((target, external_id))
    return _split(target_id, external_ids, people, limit, found)


def _split(
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
    found: dict[int, set[Event]],
    *,
    keys: int | None = None,
) -> Admission:
    """As :func:`admit` over ``found`` (person key -> contacts). No contact found and no person
    twice in the chunk (``keys``: how many distinct keys it has): all allowed, without the walk."""
    if not found:
        if keys is None:
            keys = len({key for lead in people for key in lead})
        if sum(map(len, people)) == keys:
            return list(external_ids), ()
    verdicts = decide(target_id, external_ids, people, found, limit)
    allowed = [eid for eid, ok in zip(external_ids, verdicts, strict=True) if ok]
    return allowed, tuple(eid for eid, ok in zip(external_ids, verdicts, strict=True) if not ok)


def _distinct(people: Sequence[Sequence[int]]) -> list[int]:
    return sorted({key for keys in people for key in keys})


def _pairs(claimed: Iterable[str], people_of: dict[str, Sequence[int]]) -> list[tuple[str, int]]:
    return [(eid, key) for eid in claimed for key in people_of[eid]]


def _bigints(keys: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, for ``%s::bigint[]``: psycopg adapts a Python list
    element by element (270 us of client CPU for a chunk's 200 keys, against 72 for this)."""
    return "{" + ",".join(map(str, keys)) + "}"


# --- SQLite (inside the ledger's BEGIN IMMEDIATE) ---------------------------------------------
Sighting = tuple[int, str, float]
"""(target id, external id, time): one claim of a lead, as the contact memory keeps it."""


class ContactMemory:
    """One ledger object's copy of the SQLite contact log, from ``since`` on, up to log row
    ``seq``: person key -> its one sighting, or a list of them when it has several (most people
    have one: no container of their own to make; a lead claimed again is one sighting more)."""

    def __init__(self) -> None:
        self.seq = 0
        self.since = float("inf")
        self.by_person: dict[int, Sighting | list[Sighting]] = {}

    def catch_up(self, db: sqlite3.Connection, since: float) -> None:
        """Read the log rows appended since the last reading (all of the window at the first, or
        when a longer window is asked for than was read)."""
        if since < self.since:
            self.seq, self.since, self.by_person = 0, since, {}
            rows = db.execute(
                "SELECT seq, at, target_id, rows FROM contact_log WHERE at > ? ORDER BY seq", (since,)
            )
        else:
            rows = db.execute(
                "SELECT seq, at, target_id, rows FROM contact_log WHERE seq > ? ORDER BY seq", (self.seq,)
            )
        for seq, at, target_id, leads in rows:
            self.add(seq, at, target_id, orjson.loads(leads))

    def add(self, seq: int, at: float, target_id: int, leads: Iterable[Sequence[Any]]) -> None:
        """Log row ``seq``: ``leads`` ``[external_id, key, ...]`` claimed for ``target_id`` at ``at``."""
        self.seq = seq
        by_person = self.by_person
        get = by_person.get
        for lead in leads:
            sighting = (target_id, lead[0], at)
            for key in lead[1:]:
                known = get(key)
                if known is None:
                    by_person[key] = sighting
                elif isinstance(known, tuple):
                    by_person[key] = [known, sighting]
                else:
                    known.append(sighting)

    def candidates(self, keys: set[int], since: float) -> dict[int, set[Event]]:
        """The keys' contacts after ``since``: person key -> {(target id, external id)}. Only
        the keys with contacts are visited (a set intersection, in C)."""
        by_person = self.by_person
        found: dict[int, set[Event]] = {}
        for key in by_person.keys() & keys:
            known = by_person[key]
            if isinstance(known, tuple):
                if known[2] > since:
                    found[key] = {known[:2]}
                continue
            events = {(target, eid) for target, eid, at in known if at > since}
            if events:
                found[key] = events
        return found


def sqlite_admit(
    db: sqlite3.Connection,
    memory: ContactMemory,
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    *,
    limit: FrequencyLimit,
) -> Admission:
    """Decide over the memory's contacts of the chunk's people whose leads are still claimed.
    A released lead's contact only lowers a count, so when the chunk is all allowed with every
    contact counted, it is allowed as well without them: then the claims are not read. Else one
    lookup of the claims per target the contacts were sent to, and the decision again."""
    since = time.time() - limit.window_seconds
    memory.catch_up(db, since)
    keys = {key for lead in people for key in lead}
    found = memory.candidates(keys, since)
    allowed, limited = _split(target_id, external_ids, people, limit, found, keys=len(keys))
    if not limited:
        return allowed, limited
    by_target: dict[int, set[str]] = {}
    for events in found.values():
        for target, eid in events:
            by_target.setdefault(target, set()).add(eid)
    claimed: set[Event] = set()
    for target, eids in by_target.items():
        rows = db.execute(
            "SELECT external_id FROM claims WHERE target_id = ? "
            "AND external_id IN (SELECT value FROM json_each(?))",
            (target, orjson.dumps(sorted(eids)).decode()),
        )
        claimed.update((target, eid) for (eid,) in rows)
    found = {key: kept for key, events in found.items() if (kept := events & claimed)}
    return _split(target_id, external_ids, people, limit, found, keys=len(keys))


def sqlite_record(
    db: sqlite3.Connection, target_id: int, claimed: Iterable[str], people_of: dict[str, Sequence[int]]
) -> Callable[[ContactMemory], None]:
    """Append the claimed leads' contacts, dated now, as one log row. Returns what puts them in
    a ContactMemory without reading them back, to be called once the transaction committed: the
    memory has read every row before this one in this transaction, so its ``seq`` may advance."""
    leads = [[eid, *people_of[eid]] for eid in claimed]
    at = time.time()
    cursor = db.execute(
        "INSERT INTO contact_log (at, target_id, rows) VALUES (?, ?, ?)",
        (at, target_id, orjson.dumps(leads).decode()),
    )
    seq = cursor.lastrowid

    def remember(memory: ContactMemory) -> None:
        if seq is not None and memory.seq == seq - 1:
            memory.add(seq, at, target_id, leads)

    return remember


# --- PostgreSQL (inside one transaction of the claim's connection) ----------------------------
def pg_admit(
    db: psycopg.Connection[Any],
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
) -> Admission:
    """Lock the chunk's people (made on first sight; in key order, so two runs never deadlock),
    then read their contacts: whatever another run decided for them is committed by now. The
    read is a LATERAL lookup by person, fenced by ``OFFSET 0``: written as a join, psycopg's
    prepared (generic) plan on a ledger not yet analyzed hashed every contact for each chunk
    (7.7 ms a chunk at 40k contacts and growing, against 1.7 ms; see connectors.ledger_pg's
    ``_HELD``)."""
    keys = _bigints(_distinct(people))
    db.execute(
        "INSERT INTO ledger_people (person) SELECT x FROM unnest(%s::bigint[]) AS x ORDER BY x "
        "ON CONFLICT (person) DO UPDATE SET person = excluded.person WHERE false",
        (keys,),
    )
    recent = db.execute(PG_RECENT, (keys, time.time() - limit.window_seconds)).fetchall()
    return admit(target_id, external_ids, people, limit, recent)


def pg_record(
    db: psycopg.Connection[Any], target_id: int, claimed: Iterable[str], people_of: dict[str, Sequence[int]]
) -> None:
    """Record the claimed leads' contacts, dated now. The (external id, key) pairs go as one JSON
    text: psycopg adapts a list of strings element by element (250 us of client CPU for 200,
    against 43 as JSON)."""
    pairs = orjson.dumps(_pairs(claimed, people_of)).decode()
    db.execute(
        "INSERT INTO ledger_contacts (person, target_id, external_id, at) "
        "SELECT (x ->> 1)::bigint, %s, x ->> 0, %s FROM json_array_elements(%s::json) AS x "
        "ON CONFLICT (person, target_id, external_id) DO UPDATE SET at = excluded.at",
        (target_id, time.time(), pairs),
    )
