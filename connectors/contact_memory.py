"""The SQLite contact log's rows, and one ledger object's copy of them in memory.

A ``contact_chunks`` row's ``rows`` is one claimed chunk's contacts, binary: a 24-byte head,
the keys as int64, each lead's key count, and the external ids, which are those of the chunk's
``in_flight`` journal row (:func:`encode_journalled`; read through :func:`journal_names` when a
decision needs them) or, in a row an erasure rewrote, a JSON array in the row
(:func:`encode_chunk`). Rows written by leadflow before are JSON ``[external ids, each one's key
count, keys]`` and are read alike (:func:`decode_chunk`; the first byte tells them apart). The
JSON was what SQL could read (``json_each``), but its keys were 19-digit decimals and its
external ids a second copy of the journal's: a 100-lead chunk's row was ~6.5 KB, more than a
page, written with every claim and parsed again by every other process; it is ~2 KB now. An
older leadflow meeting a binary row stops with a JSON error rather than miss the contacts in
it: processes sharing a ledger are upgraded together (connectors.ledger_contacts).

The memory (:class:`ContactMemory`) is arrays, not a dict per key: a dict entry per key, made
and probed with Python ints, was half of the guardrail's cost per contact (about 0.5 us with
the decision, issue 18's budget being 0.35 for all of it). What a chunk asks of it is, nearly
always, "none of these keys": :class:`KeyFilter`, a blocked Bloom filter, answers that for the
whole chunk in a few numpy operations, and puts the keys in at once (a chunk of people never
contacted is nearly always recorded whole; a key put in and not recorded only costs an exact
lookup later). Only keys it lets through (a contact, or a false positive: under one chunk of
200 keys in a hundred) are looked up exactly, in sorted runs of (key, contact number) pairs
(``np.searchsorted``, as transforms.dedupe_batches.SeenValues; a contact's number is its row's
``seq`` and its lead's place in the row, so what a chunk finds, with each row's time and
target, is decided in numpy with no row decoded: connectors.frequency.KeyEvents; a row's
external ids are read only when a decision needs one) and in the rows added since the
last sort (the *fresh* ones, kept unsorted in one buffer with a filter of their own, compared
by brute force while that is cheap, else sorted into a run: adding a row is a copy of its keys,
never a sort). The window read anew (a process's first chunk, a longer window) is a fresh buffer
too, sorted at the first chunk that finds contacts in it. A plan decided ahead
(connectors.frequency_plan) tests and adds all its keys in one pass (:meth:`ContactMemory.plan`),
so its chunks are added with no filter work (:attr:`ContactMemory.epoch`).
"""

from __future__ import annotations

import sqlite3
import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, count
from typing import Any

import numpy as np
import orjson
import polars as pl

from connectors.frequency import Event, KeyEvents
from connectors.key_sorting import distinct_keys, sort_order

__all__ = [
    "ContactMemory",
    "Contacts",
    "JournalNames",
    "KeyFilter",
    "LegacyMemory",
    "chunk_arrays",
    "chunk_keys",
    "chunk_names",
    "decode_chunk",
    "encode_chunk",
    "encode_journalled",
    "journal_names",
]

_EPOCHS = count()
"""Numbers for a memory's filters: a new one each time they are made anew or the fresh one
cleared (:attr:`ContactMemory.epoch`)."""

_READINGS = count()
"""Numbers for a memory's readings of the window (:attr:`ContactMemory.reading`)."""

_BLOCK = 16384
"""Keys a filter tests and adds at once (:meth:`KeyFilter.check_and_add_all`): 128 KB of each
temporary, their words' cache lines 1 MB."""

_PAIR = np.dtype([("all", np.uint64), ("fresh", np.uint64)])
"""A filter's two words of a key, side by side (:class:`KeyFilter`)."""

_ONE_PLACE = np.intp(1)

_CACHED_ROWS = 256
"""Rows whose external ids a memory keeps decoded (connectors.frequency.KeyEvents.named)."""

_FOLD_RATIO = 400
"""What a memory's lookups may spend searching its fresh keys one by one (summed since they
were last sorted, in units of some 0.25 ns a fresh key: :meth:`ContactMemory._search_cost`),
per fresh key, before the fresh keys are sorted into a run (some 100 ns a key: its contact
number, its place, the fresh filter's word cleared). So lookups pay at most about what the
sort costs before they pay for it (ski rental: never more than twice the cheaper choice,
whatever lookups come). A plan of 200,000 keys lets some ten through the filter by chance,
and a plan of a file whose people recur some hundreds that are among the fresh keys: an import
of 1M leads in plans of 100,000 leads now searches the fresh keys once a plan (some 10-40 ms
in all) and sorts none, where the rule before (a lookup's comparisons beyond 8M) sorted them
nearly every plan (15-25 ms each), most of them for a process that ends with the import."""

_ONE_BY_ONE = 8
"""Keys from which the fresh keys are searched by hashing them (polars ``is_in``: some 4 ns a
fresh key, however many keys are asked) rather than compared with each key in turn
(``np.isin``: some 0.25 ns a fresh key and key asked; beyond some 70 keys in 1M it sorts both
instead, some 100 ns a fresh key)."""

_MAX_RUNS = 8
"""Sorted runs kept apart before all are merged into one. A lookup of a few keys (a chunk's,
or a plan's false positives) searches each run, a few microseconds each; merging a new run of a
plan's 200,000 keys into the older ones at each fold cost 10-35 ms (timsort's merge and the
gather of the pairs), which most of those lookups never needed. Before a lookup of many keys
the runs are compacted as they were merged before (:data:`_MANY_KEYS`)."""

_SMALL_RUN = 16
"""A new run this many times smaller than the one before is merged into it at once (a chunk's
few keys, sorted by a lookup: they would make runs of their own)."""

_MANY_KEYS = 4096
"""A lookup of at least this many keys (a plan whose people were contacted) searches each run
for all of them: the runs are compacted first (:meth:`ContactMemory._compact`), so they are
O(log n), as when each new run was merged as soon as it was half the one before."""

_FIRST_WORDS = 1 << 16
"""The filter of a memory's first keys (1 MB, room for 32,768 keys); none before them (a ledger
without a frequency limit holds none)."""

_LARGE_WORDS = 1 << 20
"""The filter once there are more: room for 524,288 keys (a window of 260,000 contacts of a
phone and an email) before it is made anew, larger: four words a key then, up to two a key
before the next (rehashing every key, a cache miss each: about 0.4 us a contact of the window
at 400,000 keys). Eight words a key halved the steps but doubled the memory and the pages
touched (a page fault each): with the binary rows, a 1M-contact plan's guardrail cost 0.79 us
a contact before both, 0.58 with both (bench/frequency.py). Its 16 MB are zeros from ``calloc``: the
system gives a page of them only once a key is written there."""


_MOST_WORDS = 1 << 23
"""The largest filter: 8M words (128 MB with the fresh keys' words), reached at some 2M
contacts of a phone and an email. Beyond that it is not made anew but fills, and lets more
keys through to the exact lookup: a key not added passes with a probability of 1.6e-4 at 4M
keys, 5e-4 at 10M, 2e-3 at 20M (ten million such leads; then a chunk of 200 keys in three is
looked up exactly, some tens of microseconds, and a plan's lookup sorts the fresh keys each
time), where growing on would have taken 2.1 GB. The sorted runs (16 bytes a key) still grow
with the window."""


_NAMED = 1
"""A binary row's first byte when its external ids are in it (a JSON row's is ``[``)."""

_JOURNALLED = 2
"""A binary row's first byte when its external ids are its claim's ``in_flight`` journal row's."""

_HEAD = struct.Struct("<BxxxIIqxxxx")
"""A binary row's head, 24 bytes: the format byte, its leads, its keys and (journalled) the
journal row's ``seq``."""

_COUNT = np.dtype("<u4")
_KEY = np.dtype("<i8")

JournalNames = Callable[[int], list[str]]
"""The external ids of a journal row, by its ``seq`` (:func:`journal_names`)."""


def encode_chunk(
    eids: Sequence[str], counts: Sequence[int] | np.ndarray, keys: Sequence[int] | np.ndarray
) -> bytes:
    """A ``contact_chunks`` row's ``rows`` with its external ids in it: :data:`_HEAD`, the keys
    (int64, little-endian, 8-byte aligned, so they are read in place), each lead's key count
    (uint32) and the external ids as a JSON array. What an erasure rewrites a row as
    (connectors.contact_retention); a claim writes :func:`encode_journalled`."""
    counted = np.asarray(counts, dtype=_COUNT)
    flat = np.asarray(keys, dtype=_KEY)
    if len(counted) != len(eids):
        raise ValueError("a contact row needs one key count per lead")
    names = orjson.dumps(eids if isinstance(eids, list | tuple) else list(eids))
    return b"".join(
        (_HEAD.pack(_NAMED, len(counted), len(flat), 0), flat.tobytes(), counted.tobytes(), names)
    )


def encode_journalled(
    journal_seq: int, counts: Sequence[int] | np.ndarray, keys: Sequence[int] | np.ndarray
) -> bytes:
    """A claimed chunk's row: as :func:`encode_chunk`, but its external ids are those of journal
    row ``journal_seq`` (the chunk's ``in_flight`` row, written in the same transaction with the
    same leads in the same order; the journal is never rewritten), not a copy. Why (issue 18's
    budget): a row is written with every claim, and each page it adds to the claim's commit is
    a WAL frame written, and later checkpointed, by system calls. A chunk of 100 leads with a
    phone and an email was ~6.5 KB of JSON (the keys' 19-digit decimals 4 KB of it): more than a
    page. It is now ~2 KB (1.6 KB of keys), two to a page."""
    counted = np.asarray(counts, dtype=_COUNT)
    flat = np.asarray(keys, dtype=_KEY)
    return b"".join(
        (_HEAD.pack(_JOURNALLED, len(counted), len(flat), journal_seq), flat.tobytes(), counted.tobytes())
    )


def journal_names(db: sqlite3.Connection) -> JournalNames:
    """What reads a journal row's external ids from ``db`` (the ledger's file)."""

    def names(seq: int) -> list[str]:
        row = db.execute("SELECT rows FROM journal WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise LookupError(f"a contact row names its leads by journal row {seq}, which the ledger lacks")
        eids: list[str] = orjson.loads(row[0])
        return eids

    return names


def _parts(stored: str | bytes) -> tuple[int, int, int, int] | None:
    """A binary row's (format, leads, keys, journal seq); None for a JSON row."""
    if isinstance(stored, str) or not stored or stored[0] not in (_NAMED, _JOURNALLED):
        return None
    kind, leads, keys, journal_seq = _HEAD.unpack_from(stored)
    return kind, leads, keys, journal_seq


def chunk_arrays(stored: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    """The (key counts, keys) of a ``contact_chunks`` row as int64 arrays (a binary row's
    keys are a view of it, no copy)."""
    parts = _parts(stored)
    if parts is None or isinstance(stored, str):
        _, counts, keys = orjson.loads(stored)
        return np.asarray(counts, dtype=np.int64), np.asarray(keys, dtype=np.int64)
    _, leads, keys, _ = parts
    flat = np.frombuffer(stored, dtype=_KEY, count=keys, offset=_HEAD.size)
    counted = np.frombuffer(stored, dtype=_COUNT, count=leads, offset=_HEAD.size + 8 * keys)
    return counted.astype(np.int64), flat


def chunk_names(stored: str | bytes, journal: JournalNames | None = None) -> list[str]:
    """The external ids of a ``contact_chunks`` row (only they are decoded); a journalled row's
    are read through ``journal``."""
    parts = _parts(stored)
    if parts is None or isinstance(stored, str):
        names: list[str] = orjson.loads(stored)[0]
        return names
    kind, leads, keys, journal_seq = parts
    if kind == _JOURNALLED:
        if journal is None:
            raise ValueError("this contact row's external ids are in the journal: pass journal_names(db)")
        return journal(journal_seq)
    eids: list[str] = orjson.loads(memoryview(stored)[_HEAD.size + 8 * keys + 4 * leads :])
    return eids


def decode_chunk(
    stored: str | bytes, journal: JournalNames | None = None
) -> tuple[list[str], list[int], list[int]]:
    """The (external ids, key counts, keys) of a ``contact_chunks`` row, binary (:func:`encode_chunk`,
    :func:`encode_journalled`, whose ids are read through ``journal``) or JSON ``[external ids,
    key counts, keys]`` (as leadflow wrote them before)."""
    if _parts(stored) is None:
        eids, counts, keys = orjson.loads(stored)
        return eids, counts, keys
    counts_array, keys_array = chunk_arrays(stored)
    return chunk_names(stored, journal), counts_array.tolist(), keys_array.tolist()


def chunk_keys(stored: str | bytes) -> np.ndarray:
    """The keys of a ``contact_chunks`` row (int64)."""
    return chunk_arrays(stored)[1]


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

_H = np.uint64(0x9E3779B97F4A7C15)
_ONE = np.uint64(1)
_TABLE = np.uint64(4095)
_MASKS = np.bitwise_or.reduce(
    np.left_shift(np.uint64(1), np.random.default_rng(18).integers(0, 64, (4096, 4)).astype(np.uint64)),
    axis=1,
)
"""Up to four bits of a word: one set of them per value of the low 12 bits of a key's hash (a
table of 32 KB, which stays in the processor's first cache). Those bits are the key's own
low 12 bits times an odd number: keys that share them share their bits, but are in the same
word only by chance (one in a few million), so the filter's error rate is unchanged."""


class KeyFilter:
    """Two blocked Bloom filters of int64 keys side by side: every key's (even words) and the
    fresh keys' (odd words, cleared when they are sorted into a run). One 64-bit word per key
    and filter (the top bits of a multiplicative hash, Knuth's), up to four bits in it (a fixed
    random table indexed by the low 12 bits of the same hash). A key's two words are adjacent,
    so adding it to both costs one cache miss, not two: with a filter larger than the cache that
    miss is most of a key's cost, as a dict's probe was. One flat array, indexed by ``2 * word``
    and ``2 * word + 1``: numpy's fancy indexing of a 2-D array by rows took 14 us for a chunk's
    200 keys, against 2 for a 1-D one. Kept at most half full (a key per two words, 32 bytes a
    key for both): a key not added passes with a probability of about 1e-4, so a chunk's 200
    keys all stop at it about 98 times in 100. No false negatives: what was added passes."""

    def __init__(self, words: int) -> None:
        self.words = np.zeros(2 * words, dtype=np.uint64)
        self._shift = np.uint64(64 - (words.bit_length() - 1))

    def __len__(self) -> int:
        return len(self.words) // 2

    def probe(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each key's (even) word and bits (for :meth:`passes` and :meth:`add`)."""
        hashed = keys.view(np.uint64) * _H
        return ((hashed >> self._shift) << _ONE).view(np.intp), _MASKS[(hashed & _TABLE).view(np.intp)]

    def passes(self, probed: tuple[np.ndarray, np.ndarray], fresh: bool = False) -> np.ndarray:
        """Which keys may have been added, or (``fresh``) added since the fresh keys' last sort."""
        at, bits = probed
        passed: np.ndarray = (self.words[at | 1 if fresh else at] & bits) == bits
        return passed

    def check_and_add(self, probed: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray | None, bool]:
        """Which keys pass (None when none does, nearly always), and whether their words are
        all different (then so are the keys). When none passes the keys are added at once,
        while their words are in the cache: a chunk of fresh people is nearly always recorded
        whole, and a key added that is not (a lead refused, a claim given up) only makes the
        filter let it through later, to the exact lookup."""
        at, bits = probed
        words = self.words
        found = words[at]
        passed = (found & bits) == bits
        ordered = np.sort(at)
        distinct = not (ordered[1:] == ordered[:-1]).any()
        if passed.any():
            return passed, distinct
        if distinct:
            words[at] = found | bits
            words[at | 1] |= bits
        else:
            self._add_each(at, bits)
        return None, distinct

    def _add_each(self, at: np.ndarray, bits: np.ndarray) -> None:
        np.bitwise_or.at(self.words, at, bits)
        np.bitwise_or.at(self.words, at | 1, bits)

    def check_and_add_all(self, keys: np.ndarray, *, check: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`check_and_add` for many keys (a plan's): which pass, and which pass the fresh
        filter, before they were added (None: not ``check``ed), then every one added to both
        filters. A key's two words are read and written as one
        16-byte item (:data:`_PAIR`: one fancy index each way, not four), by blocks of
        :data:`_BLOCK` keys, so that the words a block reads stay in the cache for its writes
        and its temporaries are small (over all 200,000 keys at once each pass missed the cache
        again: twice the time). Among so many keys some always share a word: the write keeps
        one key's bits a word, so the keys whose bits it lost (a few) are set by
        ``np.bitwise_or.at``, rather than sorting every block's words."""
        words = self.words
        pairs = words.view(_PAIR)
        passed = np.empty(len(keys), dtype=bool) if check else None
        fresh = np.empty(len(keys), dtype=bool) if check else None
        for start in range(0, len(keys), _BLOCK):
            at, bits = self.probe(keys[start : start + _BLOCK])
            row = at >> _ONE_PLACE
            found = pairs[row]
            both = found.view(np.uint64).reshape(-1, 2)
            if passed is not None and fresh is not None:
                np.equal(both[:, 0] & bits, bits, out=passed[start : start + len(at)])
                np.equal(both[:, 1] & bits, bits, out=fresh[start : start + len(at)])
            both |= bits[:, None]
            pairs[row] = found
            lost = (words[at] & bits) != bits
            if lost.any():
                self._add_each(at[lost], bits[lost])
        return None if passed is None or fresh is None else (passed, fresh)

    def add(self, probed: tuple[np.ndarray, np.ndarray]) -> None:
        """Set the keys' bits in both filters by fancy index (``np.bitwise_or.at`` takes
        several times as long), unless two keys share a word: the ``|=`` would then keep one
        key's bits, so ``at`` does it."""
        at, bits = probed
        words = self.words
        ordered = np.sort(at)
        if (ordered[1:] == ordered[:-1]).any():
            self._add_each(at, bits)
        else:
            words[at] |= bits
            words[at | 1] |= bits

    def fill(self, keys: np.ndarray, fresh: bool) -> None:
        """Add ``keys`` to one filter (a filter made anew), by blocks of :data:`_BLOCK` keys: a
        fancy ``|=`` keeps one key's bits of a word two keys share, so the few whose bits it
        lost are set again by ``np.bitwise_or.at`` (over every key, that took twice as long:
        122 against 63 ms for 2M keys)."""
        words = self.words
        for start in range(0, len(keys), _BLOCK):
            at, bits = self.probe(keys[start : start + _BLOCK])
            if fresh:
                at |= _ONE_PLACE
            words[at] |= bits
            lost = (words[at] & bits) != bits
            if lost.any():
                self._add_one_filter(at[lost], bits[lost])

    def _add_one_filter(self, at: np.ndarray, bits: np.ndarray) -> None:
        np.bitwise_or.at(self.words, at, bits)

    def clear_fresh(self, keys: np.ndarray) -> None:
        """Empty the fresh filter, whose keys are ``keys``: their words only (no page of the
        filter that holds none is touched)."""
        self.words[self.probe(keys)[0] | 1] = 0


class ContactMemory:
    """One ledger object's copy of ``contact_chunks`` from ``since`` on, up to row ``seq``
    (module docstring): each row as stored, with its time and target; a filter of every key
    and of the fresh keys (``_filter``); the sorted runs of (key, contact number); the fresh
    keys in one buffer, with where each row's end and its leads' key counts. A row's external
    ids are decoded only when a decision needs one (kept decoded for a while). About
    50-150 bytes a key up to some 4M keys (the filters 32-128 as they fill: four words a key
    rounded up to a power of two when made anew, two at most; then at most 128 MB in all:
    :data:`_MOST_WORDS`; the runs or the buffer 16; the filter's
    pages only as keys land in them) and the stored rows."""

    def __init__(self) -> None:
        self.since = float("inf")
        self.journal: JournalNames | None = None
        """What reads the external ids of journalled rows (:class:`Contacts` sets it)."""
        self._reset()

    def _reset(self) -> None:
        self.reading = next(_READINGS)
        """Changes when the window is read anew (every key the memory held then forgotten)."""
        self.folds = 0
        """How many times the fresh keys were sorted into a run (none is fresh just after)."""
        self.seq = 0
        self.rows: dict[int, tuple[float, int, bytes | str]] = {}
        self._decoded: dict[int, list[str]] = {}
        self._filter = KeyFilter(1)
        """Made by the first keys added (:meth:`_resize`)."""
        self.epoch = next(_EPOCHS)
        """Changes when the filters lose keys put in them ahead (:meth:`plan`): made anew, or the
        fresh one cleared. Keys put in at this epoch need not be put in again as they are added."""
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        """Sorted keys and the contact number of each (:meth:`_numbers`), oldest (and, as merged,
        largest) first."""
        self._buffer = np.empty(1 << 12, dtype=np.int64)
        self._size = 0
        """Fresh keys in ``_buffer[:_size]``, in the order added."""
        self._searched = 0
        """What searches of the fresh keys cost since they were last sorted
        (:meth:`_search_cost`, :data:`_FOLD_RATIO`)."""
        self._fresh_ends: list[int] = []
        self._fresh_seqs: list[int] = []
        self._fresh_counts: list[np.ndarray] = []
        """Each fresh row's leads' numbers of keys (for the contacts' numbers: :meth:`_numbers`)."""
        self._keys = 0
        self._probed: tuple[np.ndarray, int, tuple[np.ndarray, np.ndarray], bool] | None = None
        """The keys last looked up, the filters' size then, their probe and whether they were
        added to the filters then: the same keys recorded next (a chunk allowed whole) are
        added without hashing them again, or not at all."""
        self.distinct: bool | None = None
        """Whether the keys last looked up were all different (None: not known)."""

    def read_window(self, db: sqlite3.Connection, since: float) -> None:
        """Read the window's rows anew (the first reading, or a longer window than was read)."""
        self._reset()
        self.since = since
        for seq, at, target_id, stored in db.execute(_READ["contact_chunks"][0], (since,)):
            self.add(seq, at, target_id, stored)

    def add(
        self,
        seq: int,
        at: float,
        target_id: int,
        stored: bytes | str,
        keys: Sequence[int] | np.ndarray | None = None,
        *,
        counts: Sequence[int] | np.ndarray | None = None,
        epoch: int | None = None,
    ) -> None:
        """Row ``seq`` (``keys`` and ``counts``, its leads' numbers of keys: when the caller has
        them already; ``epoch``: the keys were put in the filters ahead then, by :meth:`plan`)."""
        if keys is None or counts is None:
            counts, read = chunk_arrays(stored)
            keys = read if keys is None else keys
        found = np.asarray(keys, dtype=np.int64)
        self.seq = seq
        self.rows[seq] = (at, target_id, stored)
        if not len(found):
            return
        self._fresh_counts.append(np.asarray(counts, dtype=np.int64))
        size, end = self._size, self._size + len(found)
        if end > len(self._buffer):
            self._buffer = np.concatenate([self._buffer[:size], np.empty(max(end, 2 * size), np.int64)])
        self._buffer[size:end] = found
        self._size = end
        self._fresh_ends.append(end)
        self._fresh_seqs.append(seq)
        self._keys += len(found)
        if self._outgrown():
            self._resize()
            return
        if epoch == self.epoch:
            return
        probed = self._probed
        if probed is not None and probed[0] is keys and probed[1] == len(self._filter):
            if not probed[3]:
                self._filter.add(probed[2])
        else:
            self._filter.add(self._filter.probe(found))

    def _outgrown(self, coming: int = 0) -> bool:
        """Whether the filter holds more than a key per two words with ``coming`` more keys, and
        may still be made larger (:data:`_MOST_WORDS`)."""
        words = len(self._filter)
        return (self._keys + coming) * 2 > words and words < _MOST_WORDS

    def _resize(self, coming: int = 0) -> None:
        """A filter for the keys there are now (and ``coming`` more), filled anew:
        ``_FIRST_WORDS`` for a few, then at least ``_LARGE_WORDS`` and four words a key (it is
        made anew at two: :data:`_LARGE_WORDS`), at most :data:`_MOST_WORDS`."""
        total = self._keys + coming
        if total * 2 <= _FIRST_WORDS:
            words = _FIRST_WORDS
        else:
            words = 1 << max(_LARGE_WORDS.bit_length() - 1, (total * 4 - 1).bit_length())
            words = min(words, max(_MOST_WORDS, _LARGE_WORDS))
        self._filter = KeyFilter(words)
        self.epoch = next(_EPOCHS)
        fresh = self._buffer[: self._size]
        self._filter.fill(fresh, fresh=True)
        for keys in chain((fresh,), (run for run, _ in self._runs)):
            self._filter.fill(keys, fresh=False)
        self._probed = None

    def _fold(self) -> None:
        """Sort the fresh keys into a run: merged into the one before when it is much smaller
        (:data:`_SMALL_RUN`), all runs merged when there are more than :data:`_MAX_RUNS` (each
        key merged about once per eight folds, against O(log n) times when each new run was
        merged as soon as it was half the one before)."""
        if not self._size:
            return
        keys = self._buffer[: self._size]
        numbers = self._numbers()
        order = sort_order(keys)
        self._runs.append((keys[order], numbers[order]))
        self._size = self._searched = 0
        self.folds += 1
        self._fresh_ends, self._fresh_seqs, self._fresh_counts = [], [], []
        self._filter.clear_fresh(keys)
        self.epoch = next(_EPOCHS)
        runs = self._runs
        if len(runs) > 1 and len(runs[-1][0]) * _SMALL_RUN < len(runs[-2][0]):
            runs.append(_merged([runs.pop(-2), runs.pop()]))
        if len(runs) > _MAX_RUNS:
            self._runs = [_merged(runs)]

    def _compact(self) -> None:
        """Before a lookup of many keys (one search of them a run): merge the newest run into
        the one before while it is at least half its size (O(log n) runs, each key merged
        O(log n) times)."""
        runs = self._runs
        while len(runs) > 1 and len(runs[-1][0]) * 2 >= len(runs[-2][0]):
            runs.append(_merged([runs.pop(-2), runs.pop()]))

    def _numbers(self) -> np.ndarray:
        """The contact number of each fresh key (connectors.frequency.KeyEvents: its row's
        ``seq`` in the high 32 bits, its lead's place in the row in the low ones)."""
        sizes = np.diff(self._fresh_ends, prepend=0)
        seqs = np.asarray(self._fresh_seqs, dtype=np.int64).repeat(sizes)
        counts = self._fresh_counts
        leads = np.fromiter(map(len, counts), dtype=np.int64, count=len(counts))
        lead = np.arange(int(leads.sum()), dtype=np.int64).repeat(np.concatenate(counts))
        return (seqs << 32) | (lead - (leads.cumsum() - leads).repeat(sizes))

    def _numbers_at(self, at: np.ndarray) -> np.ndarray:
        """:meth:`_numbers` of the fresh keys at ``at`` only (a lookup finds a few: the fresh
        keys' numbers all made were some 25 ns a fresh key, more than the search)."""
        ends = np.asarray(self._fresh_ends, dtype=np.int64)
        rows = np.searchsorted(ends, at, "right")
        offsets = at - np.concatenate(([0], ends))[rows]
        numbers = np.empty(len(at), dtype=np.int64)
        distinct, firsts = np.unique(rows, return_index=True)  # ``at`` ascending: rows too
        for row, first, last in zip(
            distinct.tolist(), firsts.tolist(), [*firsts[1:].tolist(), len(at)], strict=True
        ):
            leads = np.searchsorted(np.cumsum(self._fresh_counts[row]), offsets[first:last], "right")
            numbers[first:last] = (self._fresh_seqs[row] << 32) | leads
        return numbers

    def _search_cost(self, keys: int) -> int:
        """A search of the fresh keys for ``keys`` keys, in units of some 0.25 ns
        (:data:`_FOLD_RATIO`): one by one, or hashed (16 units a fresh key and a key asked)."""
        if keys <= _ONE_BY_ONE:
            return keys * self._size
        return 16 * (self._size + keys)

    def _pairs(self, keys: np.ndarray, fresh: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every (key, contact number) of ``keys`` (sorted, distinct), exactly (``fresh``: which
        of them may be among the fresh keys, when known; else the fresh filter says)."""
        if not self._size:
            fresh = keys[:0]
        elif fresh is None:
            fresh = keys[self._filter.passes(self._filter.probe(keys), fresh=True)]
        self._searched += self._search_cost(len(fresh))
        if self._searched > _FOLD_RATIO * self._size:
            self._fold()
            fresh = keys[:0]
        if len(keys) >= _MANY_KEYS:
            self._compact()
        found_keys: list[np.ndarray] = []
        found_numbers: list[np.ndarray] = []
        for run, seqs in self._runs:
            # where each key starts in the run; whether it is there, and there again after
            # (the next place, in the same cache line): a second search only for such keys
            low = run.searchsorted(keys)
            last = len(run) - 1
            there = run[np.minimum(low, last)] == keys
            if not there.any():
                continue
            if there.all() and not (run[np.minimum(low + 1, last)] == keys)[low < last].any():
                found_keys.append(keys)  # each key once (nearly always, when any is)
                found_numbers.append(seqs[low])
                continue
            count = run.searchsorted(keys, "right") - low
            total = int(count.sum())
            if total:
                starts = (low - count.cumsum() + count).repeat(count)
                found_keys.append(keys.repeat(count))
                found_numbers.append(seqs[starts + np.arange(total)])
        if len(fresh):
            buffer = self._buffer[: self._size]
            at = _positions(buffer, fresh)
            if len(at):
                found_keys.append(buffer[at])
                found_numbers.append(self._numbers_at(at))
        if not found_keys:
            return keys[:0], keys[:0]
        return np.concatenate(found_keys), np.concatenate(found_numbers)

    def _names(self) -> Callable[[int], list[str]]:
        """What gives a row's external ids by its ``seq``, decoding it when first asked (the
        few rows a decision needs them of: a lead's own earlier contact at its target, a
        lead claimed in two rows, a chunk refused in part)."""
        rows, decoded, journal = self.rows, self._decoded, self.journal
        if len(decoded) >= _CACHED_ROWS:
            decoded.clear()

        def names(seq: int) -> list[str]:
            eids = decoded.get(seq)
            if eids is None:
                eids = decoded[seq] = chunk_names(rows[seq][2], journal)
            return eids

        return names

    def found(
        self, keys: np.ndarray, since: float, fresh: np.ndarray | None = None
    ) -> Mapping[int, set[Event]]:
        """The contacts after ``since`` of ``keys`` (a chunk's, int64, in any order, repeats
        allowed): person key -> {(target id, external id)}, only for keys that have one, as
        arrays (connectors.frequency.KeyEvents; an empty dict when none has). The filter stops
        nearly every chunk of fresh people at once; what passes is looked up. ``fresh``: the
        keys that may be among the fresh keys, when the caller knows better than the fresh
        filter (a plan's chunk: connectors.frequency_plan.FrequencyPlan.maybe_fresh)."""
        self.distinct = None
        if not self._keys or not len(keys):
            return {}
        probed = self._filter.probe(keys)
        passed, self.distinct = self._filter.check_and_add(probed)
        self._probed = (keys, len(self._filter), probed, passed is None)
        if passed is None:
            return {}
        return self._lookup(keys[passed], since, fresh)

    def plan(self, keys: np.ndarray, since: float) -> tuple[Mapping[int, set[Event]], int, np.ndarray]:
        """:meth:`found` for every key of a plan (connectors.frequency_plan), the epoch at
        which they were all put in the filters (sized first to hold them too): the plan's
        chunks, added as they are claimed, need not be put in again (:meth:`add`), and which
        keys may have been among the fresh keys then (the fresh filter's verdict before they
        went in: after, every one passes it, and a chunk's lookup would search the fresh keys
        for all of its keys). A key put in and never added only lets itself through to the
        exact lookup later."""
        self.distinct = None
        if self._outgrown(len(keys)):
            self._resize(len(keys))
        checked = self._filter.check_and_add_all(keys, check=bool(self._keys))
        if checked is None:
            return {}, self.epoch, np.zeros(len(keys), dtype=bool)
        passed, fresh = checked
        if not passed.any():
            return {}, self.epoch, fresh
        epoch = self.epoch
        # which may be among the fresh keys: as the fresh filter was before the plan's keys
        # were put in it (after, every key of the plan passes it, and a plan of people
        # contacted before sorted the fresh keys into a run each time: 15 ms a plan)
        found = self._lookup(keys[passed], since, fresh=keys[fresh])
        if self.epoch != epoch:
            # the lookup sorted the fresh keys into a run, clearing their words: put the plan's
            # in again now (10 ms for 200,000 keys; as each chunk is added, the filter's calls
            # took 50 us a chunk on the loaded test machine); none of its keys is fresh now
            self._filter.check_and_add_all(keys, check=False)
            fresh = np.zeros(len(keys), dtype=bool)
        return found, self.epoch, fresh

    def _lookup(
        self, passed: np.ndarray, since: float, fresh: np.ndarray | None = None
    ) -> Mapping[int, set[Event]]:
        """The contacts after ``since`` of keys the filter let through, looked up exactly
        (``fresh``: those of them that may be among the fresh keys, when the caller knows)."""
        return self._events(*self._pairs(distinct_keys(passed), fresh), since)

    def found_after(self, keys: np.ndarray, since: float, after: int) -> Mapping[int, set[Event]]:
        """The contacts after ``since`` of ``keys`` in the rows after row ``after`` only, every
        one of which the caller knows to be among the fresh keys (no sort of them since: a
        plan's chunk asking for what its plan's own rows and others' since may add,
        connectors.frequency_plan.FrequencyPlan.contacts). A search of those rows' keys alone
        (a plan's), not of every fresh key (an import's)."""
        if not len(keys) or self.seq <= after or not self._size:
            return {}
        start = bisect_right(self._fresh_seqs, after)
        first = self._fresh_ends[start - 1] if start else 0
        at = _positions(self._buffer[first : self._size], keys)
        if not len(at):
            return {}
        at += first
        return self._events(self._buffer[at], self._numbers_at(at), since)

    def _events(
        self, found_keys: np.ndarray, found_numbers: np.ndarray, since: float
    ) -> Mapping[int, set[Event]]:
        """Contacts found (their keys and numbers) as :class:`KeyEvents`, but those before ``since``."""
        if not len(found_keys):
            return {}
        # each contact's row: its time (in the window or not) and target
        seqs = found_numbers >> 32
        distinct = distinct_keys(seqs)
        rows = self.rows
        if len(distinct) == 1:
            at, target_id, _ = rows[int(distinct[0])]
            if at <= since:
                return {}
            targets = np.full(len(found_keys), target_id, dtype=np.int64)
        else:
            known = [rows[seq] for seq in distinct.tolist()]
            where = distinct.searchsorted(seqs)
            live = np.fromiter((row[0] > since for row in known), dtype=bool, count=len(known))[where]
            targets = np.fromiter((row[1] for row in known), dtype=np.int64, count=len(known))[where]
            if not live.all():
                found_keys, found_numbers, targets = found_keys[live], found_numbers[live], targets[live]
                if not len(found_keys):
                    return {}
        if len(found_keys) > 1 and not (found_keys[1:] >= found_keys[:-1]).all():  # one run: sorted
            order = sort_order(found_keys)
            found_keys, targets, found_numbers = found_keys[order], targets[order], found_numbers[order]
        return KeyEvents(found_keys, targets, found_numbers, self._names())

    def candidates(self, keys: Iterable[int], since: float) -> Mapping[int, set[Event]]:
        """:meth:`found` of some keys given as Python ints."""
        return self.found(np.fromiter(keys, dtype=np.int64), since)


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
        self._db: sqlite3.Connection | None = None

    def catch_up(self, db: sqlite3.Connection, since: float) -> None:
        """Bring ``current`` up to the log's end, in one query with the generation (its row comes
        first, as seq -1); forget both memories after rows were rewritten. ``db`` is also where
        the memory reads journalled rows' external ids from."""
        current = self.current
        if self._db is not db:
            self._db, current.journal = db, journal_names(db)
        if since >= current.since:
            found = db.execute(_NEWER, (current.seq,)).fetchall()  # one call: nearly always one row
            meta = bool(found) and found[0][0] == -1
            generation = found[0][1] if meta else 0.0
            if generation == self.generation:
                for seq, at, target_id, stored in found[1:] if meta else found:
                    current.add(seq, at, target_id, stored)
                return
        else:
            row = db.execute("SELECT value FROM contact_meta WHERE name = 'generation'").fetchone()
            generation = row[0] if row else 0.0
        if generation != self.generation:
            self.current, self.legacy = ContactMemory(), LegacyMemory()
            self.legacy_last, self.generation = None, generation
            self.current.journal = journal_names(db)
        self.current.read_window(db, since)

    def legacy_needed(self, db: sqlite3.Connection, since: float) -> bool:
        if self.legacy_last is None:
            self.legacy_last = db.execute("SELECT coalesce(max(at), 0) FROM contact_log").fetchone()[0]
        return bool(self.legacy_last and self.legacy_last > since)


def _positions(fresh: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Where ``keys`` are among ``fresh`` (unsorted), ascending: compared one by one for a few
    keys, hashed for more (:data:`_ONE_BY_ONE`)."""
    if len(keys) <= _ONE_BY_ONE:
        return np.flatnonzero(np.isin(fresh, keys))
    return np.flatnonzero(pl.Series(fresh).is_in(pl.Series(keys).implode()).to_numpy())


def _merged(runs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted runs of (key, contact number), oldest first, as one: one sort of them all."""
    keys = np.concatenate([run for run, _ in runs])
    order = sort_order(keys)
    return keys[order], np.concatenate([numbers for _, numbers in runs])[order]
