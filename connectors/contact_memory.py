"""The SQLite contact log's rows, and one ledger object's copy of them in memory.

A ``contact_chunks`` row's ``rows`` is one claimed chunk's contacts as JSON ``[external ids,
each one's key count, keys]`` (:func:`encode_chunk`, orjson: about 0.1 us a contact). A binary
packing (numpy ``tobytes`` of the keys) was tried: it saves less than half of that, and the JSON
is what SQL reads (``json_each``, ``json_array_length``: the tests and anyone querying the file),
so it stays; a change of format would need every process on a ledger upgraded together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

import orjson

from connectors.frequency import Event

__all__ = ["ContactMemory", "Contacts", "LegacyMemory", "chunk_keys", "decode_chunk", "encode_chunk"]

_CACHED_ROWS = 256
"""Rows a memory keeps decoded (key -> external ids) for the lookups that find contacts."""


def encode_chunk(eids: Sequence[str], counts: Sequence[int], keys: Sequence[int]) -> bytes:
    """A ``contact_chunks`` row's ``rows``: ``[external ids, each one's key count, keys]``."""
    return orjson.dumps([eids, counts, keys])


def decode_chunk(stored: str | bytes) -> tuple[list[str], list[int], list[int]]:
    """The (external ids, key counts, keys) of a ``contact_chunks`` row."""
    eids, counts, keys = orjson.loads(stored)
    return eids, counts, keys


def chunk_keys(stored: str | bytes) -> list[int]:
    """The keys of a ``contact_chunks`` row."""
    keys: list[int] = orjson.loads(stored)[2]
    return keys


_READ = {
    table: (
        f"SELECT seq, at, target_id, rows FROM {table} WHERE at > ? ORDER BY seq",  # noqa: S608
        f"SELECT seq, at, target_id, rows FROM {table} WHERE seq > ? ORDER BY seq",  # noqa: S608
    )
    for table in ("contact_chunks", "contact_log")
}
"""A memory's readings of its table: the window's rows, the rows after a ``seq``."""

_NEWER = (
    "SELECT -1, value, 0, NULL FROM contact_meta WHERE name = 'generation' UNION ALL "
    "SELECT seq, at, target_id, rows FROM contact_chunks WHERE seq > ? ORDER BY 1"
)
"""The rows after a ``seq``, after the ``generation`` (as row -1): one query a chunk."""


class ContactMemory:
    """One ledger object's copy of ``contact_chunks`` from ``since`` on, up to row ``seq``:
    person key -> the ``seq`` of the row it is in (an int), or a tuple of them when several rows
    have it; and each row as stored, with its time and target. Adding a row is one
    ``dict.update`` of its keys, all with the row's one ``seq`` object (no sighting per lead or
    key is made, and ints leave the garbage collector's tracking); a row is decoded only when a
    chunk asks about one of its keys (:meth:`candidates`, the few rows found, kept decoded for a
    while). The memory holds a dict entry per key and the stored rows (about 20 bytes a key
    more)."""

    def __init__(self) -> None:
        self.seq = 0
        self.since = float("inf")
        self.by_person: dict[int, Any] = {}
        """key -> the seq of its row, or a tuple of seqs (told apart by type)."""
        self.rows: dict[int, tuple[float, int, bytes | str]] = {}
        self._decoded: dict[int, tuple[int, list[str], dict[int, Any]]] = {}
        self.disjoint_at: int | None = None
        """The ``seq`` at which the last :meth:`candidates` found none of its keys at all (the
        chunk then recorded goes in without that check again: a dict lookup a key fewer)."""

    def read_window(self, db: sqlite3.Connection, since: float) -> None:
        """Read the window's rows anew (the first reading, or a longer window than was read)."""
        self.seq, self.since, self.by_person, self.rows, self._decoded = 0, since, {}, {}, {}
        self.disjoint_at = None
        for seq, at, target_id, stored in db.execute(_READ["contact_chunks"][0], (since,)):
            self.add(seq, at, target_id, stored)

    def add(
        self,
        seq: int,
        at: float,
        target_id: int,
        stored: bytes | str,
        keys: Sequence[int] | None = None,
        *,
        new: bool = False,
    ) -> None:
        """Row ``seq`` (``keys``: its keys, when the caller has them already; ``new``: none of
        them is in the memory, as :attr:`disjoint_at` told for the chunk it was made from)."""
        if keys is None:
            keys = chunk_keys(stored)
        self.seq = seq
        self.rows[seq] = (at, target_id, stored)
        by_person = self.by_person
        if new or by_person.keys().isdisjoint(keys):
            by_person.update(zip(keys, repeat(seq)))
            return
        get = by_person.get
        for key in keys:
            known = get(key)
            if known is None:
                by_person[key] = seq
            elif type(known) is int:
                if known != seq:
                    by_person[key] = (known, seq)
            elif seq not in known:
                by_person[key] = (*known, seq)

    def _leads(self, seq: int) -> tuple[int, list[str], dict[int, Any]]:
        """Row ``seq`` decoded: (target id, external ids, key -> the index of its lead, or a
        tuple of them). Ints and strings only: nothing the garbage collector must follow (a
        set per key made its full collections, over every row kept decoded, most of the cost)."""
        decoded = self._decoded.get(seq)
        if decoded is None:
            if len(self._decoded) >= _CACHED_ROWS:
                self._decoded.clear()
            eids, counts, keys = decode_chunk(self.rows[seq][2])
            lead_of: dict[int, Any] = {}
            if len(set(keys)) == len(keys):
                lead_of.update(
                    zip(keys, chain.from_iterable(map(repeat, range(len(eids)), counts)), strict=True)
                )
            else:
                for key, lead in zip(
                    keys, chain.from_iterable(map(repeat, range(len(eids)), counts)), strict=True
                ):
                    known = lead_of.get(key)
                    lead_of[key] = (
                        lead if known is None else (*(known if type(known) is tuple else (known,)), lead)
                    )
            decoded = self._decoded[seq] = (self.rows[seq][1], eids, lead_of)
        return decoded

    def _events(self, seq: int, key: int) -> set[Event]:
        target_id, eids, lead_of = self._leads(seq)
        lead = lead_of[key]
        if type(lead) is int:
            return {(target_id, eids[lead])}
        return {(target_id, eids[i]) for i in lead}

    def candidates(self, keys: set[int], since: float) -> dict[int, set[Event]]:
        """The keys' contacts after ``since``: person key -> {(target id, external id)}. Only
        the keys with contacts are visited: none, as a rule, which one ``isdisjoint`` (in C)
        tells."""
        by_person, rows = self.by_person, self.rows
        found: dict[int, set[Event]] = {}
        if by_person.keys().isdisjoint(keys):
            self.disjoint_at = self.seq
            return found
        self.disjoint_at = None
        cache, leads = self._decoded, self._leads
        for key in by_person.keys() & keys:
            known = by_person[key]
            if type(known) is not int:
                got = [self._events(seq, key) for seq in known if rows[seq][0] > since]
                if got:
                    found[key] = got[0].union(*got[1:])
            elif rows[known][0] > since:
                target_id, eids, lead_of = cache.get(known) or leads(known)
                lead = lead_of[key]
                found[key] = (
                    {(target_id, eids[lead])} if type(lead) is int else {(target_id, eids[i]) for i in lead}
                )
        return found


Sighting = tuple[int, str, float]
"""(target id, external id, time): one claim of a version 1 lead."""


class LegacyMemory:
    """The same for ``contact_log`` (version 1 keys, JSON ``[[external id, key, ...], ...]``,
    no longer written): person key -> its sightings, read while any is within a window."""

    def __init__(self) -> None:
        self.seq = 0
        self.since = float("inf")
        self.by_person: dict[int, list[Sighting]] = {}

    def catch_up(self, db: sqlite3.Connection, since: float) -> None:
        reading = _READ["contact_log"]
        if since < self.since:
            self.seq, self.since, self.by_person = 0, since, {}
            found = db.execute(reading[0], (since,))
        else:
            found = db.execute(reading[1], (self.seq,))
        for seq, at, target_id, text in found:
            self.add(seq, at, target_id, orjson.loads(text))

    def add(self, seq: int, at: float, target_id: int, leads: Iterable[Sequence[Any]]) -> None:
        self.seq = seq
        for lead in leads:
            for key in lead[1:]:
                self.by_person.setdefault(key, []).append((target_id, lead[0], at))

    def candidates(self, keys: set[int], since: float) -> dict[int, set[Event]]:
        found: dict[int, set[Event]] = {}
        for key in self.by_person.keys() & keys:
            events = {(target, eid) for target, eid, at in self.by_person[key] if at > since}
            if events:
                found[key] = events
        return found


class Contacts:
    """A SQLite ledger's contact memories: ``current`` over ``contact_chunks`` (version 2 keys)
    and, while ``contact_log`` (version 1, written by leadflow before transforms.person_keys)
    has a row inside the window asked for, ``legacy`` over it."""

    def __init__(self) -> None:
        self.current = ContactMemory()
        self.legacy = LegacyMemory()
        self.legacy_last: float | None = None
        """The newest version 1 contact's time (read once: nothing writes that table now)."""
        self.generation = 0.0
        """``contact_meta.generation`` when the memories were read: another means rows were
        rewritten or deleted since (connectors.contact_retention), so both are read anew."""

    def catch_up(self, db: sqlite3.Connection, since: float) -> None:
        """Bring ``current`` up to the log's end, in one query with the generation (its row comes
        first, as seq -1); forget both memories after rows were rewritten."""
        current = self.current
        if since >= current.since:
            found = db.execute(_NEWER, (current.seq,))
            first = found.fetchone()
            generation = first[1] if first is not None and first[0] == -1 else 0.0
            if generation == self.generation:
                rows = chain(found, ()) if first is None or first[0] == -1 else chain((first,), found)
                for seq, at, target_id, stored in rows:
                    current.add(seq, at, target_id, stored)
                return
            found.close()
        else:
            row = db.execute("SELECT value FROM contact_meta WHERE name = 'generation'").fetchone()
            generation = row[0] if row else 0.0
        if generation != self.generation:
            self.current, self.legacy = ContactMemory(), LegacyMemory()
            self.legacy_last, self.generation = None, generation
        self.current.read_window(db, since)

    def legacy_needed(self, db: sqlite3.Connection, since: float) -> bool:
        if self.legacy_last is None:
            self.legacy_last = db.execute("SELECT coalesce(max(at), 0) FROM contact_log").fetchone()[0]
        return bool(self.legacy_last and self.legacy_last > since)
