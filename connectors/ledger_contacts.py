"""The ledger's record of contacts, for the frequency guardrail (connectors.frequency).

Its own tables, created beside the ledger's (``CREATE .. IF NOT EXISTS`` on every opening, no
version step: a ledger without them simply gets them, and an older leadflow ignores them).

A contact is a (person key, target, external id) claimed while a frequency limit was on, and
when. It counts while its lead is claimed: the ledger keeps a claim while the lead is in flight
and, once delivered, for good, and deletes it when the lead was not delivered (refused, failed),
so what the vendor did not take stops counting without a write of its own here. A lead claimed
again is dated again.

A chunk's people are arrays (transforms.people.People: the batch's keys, sliced; a caller's
per-lead sequences are converted), decided by connectors.frequency.decide_people.

SQLite: ``contact_chunks``, appended to (one row per claimed chunk: its time, target, its
leads' keys and key counts, binary, and the ``seq`` of the chunk's ``in_flight`` journal row,
which holds their external ids; rows an earlier leadflow wrote as JSON are read too:
connectors.contact_memory) in the claim's ``BEGIN IMMEDIATE``, which
serializes every claim, so its ``seq`` order is its commit order. Each ledger object reads the
log into memory (connectors.contact_memory.ContactMemory: the window's rows at its first use,
then the rows appended since, by any process; a filter of every key stops a chunk of people
never contacted in a few numpy operations, sorted runs find the others) and checks the claims
of the few contacts a chunk's people have. An index by person instead cost a random B-tree write
per key per lead, about twice the claim's own page writes (bench/frequency.py). A target's
plan is decided ahead, all its chunks at once (:func:`sqlite_plan`), and each chunk's claim
takes that verdict when it can confirm it (connectors.frequency_plan), else decides as above.

PostgreSQL (connectors.ledger_contacts_pg): ``ledger_contact_keys`` (one row per person key,
target and external id, indexed by person) and ``ledger_people`` (one row per person key, locked
``FOR UPDATE`` through an upsert by the transaction that decides for that person, so runs on
several machines decide for one person one after the other). A log read by ``seq`` would miss
rows committed out of ``seq`` order there. Its ``target_id`` has no foreign key, unlike the
ledger's other tables: PostgreSQL checks one row by row, and that was half of the insert of a
chunk's contacts (EXPLAIN ANALYZE: 1.0 of 2.1 ms for 200 rows); its target ids are those of the
claims it is written with, which have theirs.

Key versions (transforms.person_keys). ``contact_log`` (SQLite) and ``ledger_contacts``
(PostgreSQL) hold the contacts of leadflow before version 2 keys, under blake2b keys that cannot
be turned into the new ones. They are no longer written, but still read while their newest
contact is inside the window asked for: then the chunk's version 1 keys are computed too
(``legacy``, the old cost) and looked up there. Once the window has passed them nothing reads
them. An older leadflow running beside a newer one on one ledger is not supported: each would
miss the other's contacts.

Erasure requests remove a person's contacts and rows older than every window are pruned:
connectors.contact_retention.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain

import orjson

from connectors.contact_memory import (
    ContactMemory,
    Contacts,
    decode_chunk,
    encode_chunk,
    encode_journalled,
)
from connectors.frequency import Event, FrequencyLimit, decide_people
from connectors.frequency_plan import FrequencyPlan
from connectors.key_sorting import KeyOrder
from transforms.people import People, as_people

__all__ = [
    "SQLITE_SCHEMA",
    "Admission",
    "ContactMemory",
    "Contacts",
    "FrequencyPlan",
    "LegacyKeys",
    "Pending",
    "PeopleLike",
    "admit",
    "as_people",
    "decode_chunk",
    "encode_chunk",
    "sqlite_admit",
    "sqlite_plan",
    "sqlite_record",
]

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_log (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, target_id INTEGER NOT NULL REFERENCES targets (id),
    rows TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_log_by_time ON contact_log (at);
CREATE TABLE IF NOT EXISTS contact_chunks (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, target_id INTEGER NOT NULL REFERENCES targets (id),
    rows BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_chunks_by_time ON contact_chunks (at);
CREATE TABLE IF NOT EXISTS contact_meta (name TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID;
"""
"""``contact_meta``: ``generation`` (bumped when rows a memory may have read were rewritten or
deleted, by an erasure or a pruning that took the newest row, whose ``seq`` SQLite may then give
again: memories read anew), ``longest_window`` and ``pruned_at`` (connectors.contact_retention)."""

Pending = Mapping[int, Iterable[str]]
"""A dry run's leads of one target it would send, by person key (they are not in the ledger)."""

LegacyKeys = Callable[[], Sequence[Sequence[int]]]
"""The chunk's version 1 keys (transforms.person_keys.legacy_people), computed when asked."""

Admission = tuple[list[str], tuple[str, ...]]
"""(the external ids the limit allows, in order; those it refuses)."""

PeopleLike = People | Sequence[Sequence[int]]
"""A chunk's person keys: arrays (the engine's), or one sequence per lead (resends, tests)."""


def admit(
    target_id: int,
    external_ids: Sequence[str],
    people: PeopleLike,
    limit: FrequencyLimit,
    recent: Iterable[tuple[int, int, str]],
    *,
    pending: Pending | None = None,
) -> Admission:
    """Split a chunk by :func:`connectors.frequency.decide_people` over ``recent`` (person,
    target id, external id) rows and ``pending``."""
    people = as_people(people)
    found: dict[int, set[Event]] = {}
    for person, target, external_id in recent:
        found.setdefault(person, set()).add((target, external_id))
    return _split(target_id, external_ids, people, limit, _with_pending(found, pending, target_id, people))


def _with_pending(
    found: Mapping[int, set[Event]], pending: Pending | None, target_id: int, people: People
) -> Mapping[int, set[Event]]:
    """``found`` with a dry run's own earlier leads of this target (person key -> external ids)."""
    if not pending:
        return found
    found = dict(found)
    for key in pending.keys() & set(people.flat.tolist()):
        found[key] = found.get(key, set()) | {(target_id, eid) for eid in pending[key]}
    return found


def _split(
    target_id: int,
    external_ids: Sequence[str],
    people: People,
    limit: FrequencyLimit,
    found: Mapping[int, set[Event]],
    *,
    distinct: bool | None = None,
) -> Admission:
    """As :func:`admit` over ``found`` (person key -> contacts); ``distinct``: the keys are
    known to be all different (connectors.frequency.decide_people)."""
    flags = decide_people(target_id, external_ids, people, found, limit, distinct=distinct)
    if flags is None:
        return list(external_ids), ()
    allowed = [eid for eid, ok in zip(external_ids, flags, strict=True) if ok]
    return allowed, tuple(eid for eid, ok in zip(external_ids, flags, strict=True) if not ok)


# --- SQLite (inside the ledger's BEGIN IMMEDIATE) ---------------------------------------------
def sqlite_admit(
    db: sqlite3.Connection,
    memory: Contacts,
    target_id: int,
    external_ids: Sequence[str],
    people: PeopleLike,
    *,
    limit: FrequencyLimit,
    legacy: LegacyKeys | None = None,
    pending: Pending | None = None,
    plan: FrequencyPlan | None = None,
) -> Admission:
    """Decide over the memory's contacts of the chunk's people whose leads are still claimed.
    A released lead's contact only lowers a count, so when the chunk is all allowed with every
    contact counted, it is allowed as well without them: then the claims are not read. Else one
    lookup of the claims per target the contacts were sent to, and the decision again.
    ``legacy``: the chunk's version 1 keys, asked for only while version 1 contacts count.
    ``pending``: a dry run's earlier leads (:meth:`connectors.ledger.Ledger.preview_limit`).
    ``plan``: the plan the chunk is part of (:func:`sqlite_plan`), whose verdict it takes when
    that is confirmed (connectors.frequency_plan)."""
    people = as_people(people)
    since = time.time() - limit.window_seconds
    memory.catch_up(db, since)
    found: Mapping[int, set[Event]] | None = None
    distinct: bool | None = None
    if plan is not None:
        if plan.confirm(memory, people):
            return list(external_ids), ()
        found, distinct = plan.contacts(memory, people, since), plan.distinct
    if found is None:
        fresh = None if plan is None else plan.maybe_fresh(memory, people)
        found = memory.current.found(people.flat, since, fresh)
        distinct = memory.current.distinct
    if legacy is not None and memory.legacy_needed(db, since):
        memory.legacy.catch_up(db, since)
        old = legacy()
        both = [(*new, *before) for new, before in zip(people.to_lists(), old, strict=True)]
        people, distinct = People.from_lists(both), None
        found = {**found, **memory.legacy.candidates(set(chain.from_iterable(old)), since)}
    found = _with_pending(found, pending, target_id, people)
    allowed, limited = _split(target_id, external_ids, people, limit, found, distinct=distinct)
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
    return _split(target_id, external_ids, people, limit, _with_pending(found, pending, target_id, people))


def sqlite_plan(
    db: sqlite3.Connection,
    memory: Contacts,
    target_id: int,
    external_ids: Sequence[str],
    people: People,
    *,
    limit: FrequencyLimit,
) -> FrequencyPlan | None:
    """Decide a target's whole plan ahead (connectors.frequency_plan): the memory's contacts of
    every key of the plan's leads (``people``, in the plan's order, the chunks' people being
    slices of them), one decision over them all, every key put in the memory's filter. None
    while version 1 contacts count (each chunk then decides as before)."""
    since = time.time() - limit.window_seconds
    memory.catch_up(db, since)
    if memory.legacy_needed(db, since):
        return None
    keys = people.flat
    found, epoch, fresh = memory.current.plan(keys, since)
    ordered = KeyOrder.of(keys)
    shared = ordered.repeated()  # its chunks record them for each other: fresh for the later ones
    distinct = not shared.any()
    allowed = decide_people(
        target_id, external_ids, people, found, limit, distinct=distinct, ordered=ordered, shared=shared
    )
    return FrequencyPlan(
        memory,
        epoch,
        people,
        allowed=allowed,
        limit=limit,
        found=found,
        distinct=distinct,
        fresh=(fresh, shared),
    )


def sqlite_record(
    db: sqlite3.Connection,
    target_id: int,
    claimed: Sequence[str],
    external_ids: Sequence[str],
    people: PeopleLike,
    *,
    journal_seq: int,
    plan: FrequencyPlan | None = None,
) -> Callable[[Contacts], None]:
    """Append the claimed leads' contacts, dated now, as one log row of their keys and key
    counts (the arrays' bytes, no Python step per lead when the chunk was claimed whole) and
    their external ids by reference to ``journal_seq``, the chunk's ``in_flight`` journal row
    written in this transaction with the same leads in the same order (the claimed ones, or
    all of ``external_ids`` when all were claimed: connectors.contact_memory.encode_journalled).
    Returns what puts them in the memory without reading them back, to be called once the
    transaction committed: the memory has read every row before this one in this transaction,
    so its ``seq`` may advance. ``plan``: the plan the
    chunk is part of, told of the row (connectors.frequency_plan)."""
    people = as_people(people)
    if len(claimed) == len(external_ids):
        mine = people
    else:
        position = {eid: at for at, eid in enumerate(external_ids)}
        mine = people.take([position[eid] for eid in claimed])
    counts, keys = mine.counts(), mine.flat
    at = time.time()
    stored = encode_journalled(journal_seq, counts, keys)
    insert = "INSERT INTO contact_chunks (at, target_id, rows) VALUES (?, ?, ?)"
    cursor = db.execute(insert, (at, target_id, stored))
    seq = cursor.lastrowid

    epoch = None if plan is None else plan.epoch

    def remember(memory: Contacts) -> None:
        if seq is not None and memory.current.seq == seq - 1:
            memory.current.add(seq, at, target_id, stored, keys, counts=counts, epoch=epoch)
        if plan is not None and seq is not None:
            plan.recorded(seq, people, external_ids, claimed)

    return remember
