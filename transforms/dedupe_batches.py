"""Dedupe across a file read in batches, holding compact keys rather than the file.

The rules are transforms.dedupe's (read its docstring): a row that shares a key value with an
earlier ``ready`` row is a duplicate of the earliest such row, chains followed to a kept
row, ``duplicate_on`` and the ``DUPLICATE_*`` issues as there; a phone's value is its E.164
number with its extension (``+12125550100;ext=12``), hashed as any other value. What one batch needs from the
batches before it is, per key, "the first row that had this value" and, per duplicate row,
"the kept row it points at". Both are kept as numpy arrays in sorted runs merged as they
grow, like a log-structured merge: the 64-bit hash of each key value with its first row (12
bytes a value), and the (row, kept row) pairs of the duplicates (8 bytes a pair). Within a
batch values are compared exactly, across batches by their hash (two different values sharing
a 64-bit hash: about one chance in 10^5 for a file of 30 million values).

Batches must come in ``source_row`` order, each after the one before.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import polars as pl

from schemas.codes import Disposition
from transforms.dedupe import (
    _KEY_ISSUE,
    DEDUPE_KEYS,
    KEY_COLUMNS,
    DedupeKey,
    _key_values,
    mark_duplicates,
    resolve_chains,
)
from transforms.issues import append_issue_rows, issue

__all__ = ["BatchDedupe", "KeptRows", "SeenValues"]

_READY = Disposition.READY.value
_NONE = np.int64(-1)
_MERGED_AT_MOST = 1 << 21
"""Values of the largest merged run (24 MB): a file of 35 million values (10M rows) is ~20 runs
to search. A merge needs about twice its run beside it while a batch is written (flows.run.
write_behind); at 1 << 22 the 10M-row peak was ~35 MB over issue 17's 1.2 GB, and the extra
runs cost about 2 s of CPU over the 10M-row file (bench/normalize.py)."""


_PACKED_AT_LEAST = _MERGED_AT_MOST // 2
"""Values of a merged run from which it is kept packed (:class:`_Packed`) and merged no more."""


class SeenValues:
    """Hash -> first row, for the values of earlier batches (sorted runs, merged as they grow;
    the largest packed, 10 bytes a value rather than 12)."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._packed: list[_Packed] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._runs) + sum(len(run) for run in self._packed)

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The first row of each hash seen before, -1 where none."""
        found = np.full(len(hashes), _NONE, dtype=np.int64)
        if not self._runs or not len(hashes):
            return found
        order = np.argsort(hashes)
        found[order] = self.lookup_sorted(hashes[order])
        return found

    def lookup_sorted(self, wanted: np.ndarray) -> np.ndarray:
        """:meth:`lookup` of hashes in ascending order: the searches then walk each run
        forwards (4x faster than random probes into a few hundred MB of keys)."""
        found = np.full(len(wanted), _NONE, dtype=np.int64)
        if not len(wanted):
            return found
        for packed in self._packed:
            packed.lookup_sorted(wanted, found)
        for keys, rows in self._runs:
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[at] == wanted
            found[hit] = rows[at[hit]]
        return found

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Record new (hash, first row) pairs, none of them seen before."""
        order = np.argsort(hashes, kind="stable")
        self.add_sorted(hashes[order], rows[order])

    def add_sorted(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """:meth:`add` of distinct hashes in ascending order (no sort here)."""
        if not len(hashes):
            return
        self._runs.append((hashes, rows.astype(np.uint32)))
        while _merge_due(self._runs):
            _merge_last_two(self._runs)
        if len(self._runs[-1][0]) >= _PACKED_AT_LEAST:
            self._packed.append(_Packed(*self._runs.pop()))


def _merge_due(runs: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    """Whether the last two runs are merged now: while the newest is at least half the one
    before (O(log n) runs in all), up to runs of :data:`_MERGED_AT_MOST` values (a merge's
    transient memory stays bounded). :class:`SeenValues` and :class:`KeptRows` keep the same
    policy."""
    return (
        len(runs) > 1
        and len(runs[-1][0]) * 2 >= len(runs[-2][0])
        and len(runs[-1][0]) + len(runs[-2][0]) <= _MERGED_AT_MOST
    )


def _merge_last_two(runs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """The last two sorted runs of ``runs`` as one: the newer's values placed among the
    older's by binary search (no sort of the whole, no index array of its size).

    The largest merges come late in a big file, beside a batch being written: the runs are
    taken out of ``runs`` here so that the two old key arrays go as soon as the new one is
    made, before the rows are (their caller held them through the whole merge: 10 MiB more
    at a merge of 2M values)."""
    keys_b, rows_b = runs.pop()
    keys_a, rows_a = runs.pop()
    at = np.searchsorted(keys_a, keys_b)
    at += np.arange(len(keys_b), dtype=at.dtype)
    ours = np.ones(len(keys_a) + len(keys_b), dtype=bool)
    ours[at] = False
    keys = np.empty(len(ours), dtype=np.uint64)
    keys[at] = keys_b
    keys[ours] = keys_a
    del keys_a, keys_b
    rows = np.empty(len(ours), dtype=np.uint32)
    rows[at] = rows_b
    rows[ours] = rows_a
    runs.append((keys, rows))


_HIGHS = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
_MID, _LOW = (2, 0) if sys.byteorder == "little" else (1, 1)
"""Where bits 32-47 and 0-31 of a uint64 are among its uint16s and uint32s."""


class _Packed:
    """A sorted run of hashes and their first rows in 10 bytes a value rather than 12.

    The hashes are spread evenly, so a run of a million holds every value of their top 16
    bits: those are not stored but where a hash sits (``starts``: the first place of each of
    the 65,536 top-16-bit values, 256 kB), only the next 16 bits (``mid``) and the low 32
    (``low``). A search puts the top 32 bits back together (4 bytes a value, for the time
    of the search) and compares the low ones where they match; two values of a run that
    share their top 32 bits lie side by side and are tried in turn. At 10M rows, 24M of the
    file's 26M values end in packed runs: 252 MiB held rather than 293, a search of 10 runs
    of 2M about a sixth slower (843 ms against 729 for 250k values, loaded machine). No run
    is packed below 1M values of a key (files of 1M rows and less are not concerned)."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray) -> None:
        self.starts = np.empty((1 << 16) + 1, dtype=np.uint32)
        self.starts[:-1] = np.searchsorted(keys, np.arange(1 << 16, dtype=np.uint64) << np.uint64(48))
        self.starts[-1] = len(keys)
        self.mid = np.ascontiguousarray(keys.view(np.uint16)[_MID::4])
        self.low = np.ascontiguousarray(keys.view(np.uint32)[_LOW::2])
        self.rows = rows

    def __len__(self) -> int:
        return len(self.low)

    def lookup_sorted(self, wanted: np.ndarray, found: np.ndarray) -> None:
        """Set ``found`` to the first row of each of ``wanted`` (ascending) that is in the run."""
        high = np.repeat(_HIGHS, np.diff(self.starts))
        high |= self.mid
        wanted_high = (wanted >> np.uint64(32)).astype(np.uint32)
        wanted_low = wanted.astype(np.uint32)
        at = np.searchsorted(high, wanted_high)
        index = np.arange(len(wanted))
        while len(index):
            inside = at < len(high)
            index, at = index[inside], at[inside]
            same = high[at] == wanted_high[index]
            index, at = index[same], at[same]
            hit = self.low[at] == wanted_low[index]
            found[index[hit]] = self.rows[at[hit]]
            index, at = index[~hit], at[~hit] + 1


class KeptRows:
    """Duplicate row -> its kept row, for the duplicates of earlier batches.

    Rows come in order, each batch's after the one before: a run is a batch's pairs, and two
    runs merge by concatenation (the newest while it is at least half the one before, as
    :class:`SeenValues`). Why not one array grown by a concatenation a batch: at 10M rows that
    copied 2.7M pairs (41 MiB as int64) every batch, the old array and the new one side by side
    in the writer's thread, and left the allocator a hole of the old size each time."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(rows) for rows, _ in self._runs)

    def add(self, rows: np.ndarray, kept: np.ndarray) -> None:
        """Record duplicate rows (ascending, after every row recorded before) and their kept rows."""
        if not len(rows):
            return
        self._runs.append((rows.astype(np.uint32), kept.astype(np.uint32)))
        while _merge_due(self._runs):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append((np.concatenate([older[0], newer[0]]), np.concatenate([older[1], newer[1]])))

    def resolved(self, pointers: np.ndarray) -> np.ndarray:
        """``pointers`` (rows), each that is a recorded duplicate replaced by its kept row."""
        if not self._runs or not len(pointers):
            return pointers
        # the runs' own type: a search of uint32 runs for int64 values copies each run to int64
        wanted = pointers.astype(np.uint32)
        found = pointers.copy()
        for rows, kept in self._runs:
            at = np.minimum(np.searchsorted(rows, wanted), len(rows) - 1)
            hit = rows[at] == wanted
            found[hit] = kept[at[hit]]
        return found


class BatchDedupe:
    """Marks the duplicates of each clean batch (disposition, duplicate_of, duplicate_on and the
    ``DUPLICATE_*`` issues), as transforms.dedupe would over the whole file."""

    def __init__(self, keys: Sequence[DedupeKey] = DEDUPE_KEYS) -> None:
        self.keys = tuple(keys)
        self._seen = {key: SeenValues() for key in self.keys}
        self._kept = KeptRows()

    @property
    def held(self) -> int:
        """Values and duplicate pairs held: what the file's dedupe costs in memory (x 12 and 8 bytes)."""
        return sum(len(seen) for seen in self._seen.values()) + len(self._kept)

    def apply(self, clean: pl.DataFrame) -> pl.DataFrame:
        """``clean`` (normalized, disposition decided but for duplicates) with its duplicates marked."""
        numbered = clean.lazy().with_row_index("_row")
        candidates = numbered.filter(pl.col("disposition") == _READY).select(KEY_COLUMNS).collect()
        plans = [
            _key_values(candidates, key).drop_nulls("value").with_columns(_hash=pl.col("value").hash())
            for key in self.keys
        ]
        firsts: list[pl.DataFrame] = []
        per_key: dict[str, pl.DataFrame] = {}
        for key, found in zip(self.keys, pl.collect_all(plans), strict=True):
            # one sort of the batch's hashes serves the lookup, the new values' first rows and
            # the run they join (each had a sort or a group-by of its own: a third of the stage)
            hashes = found.get_column("_hash").to_numpy()
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
            known_ordered = self._seen[key].lookup_sorted(ordered)
            known = np.empty_like(known_ordered)
            known[order] = known_ordered
            values = found.with_columns(_known=pl.Series(known, dtype=pl.Int64))
            del found
            seen_before = values.filter(pl.col("_known") >= 0).with_columns(first_row=pl.col("_known"))
            fresh = order[known_ordered < 0]  # rows of the new values, grouped by hash
            fresh_hashes = ordered[known_ordered < 0]
            starts = np.flatnonzero(np.diff(fresh_hashes, prepend=~fresh_hashes[:1]) != 0)
            source_rows = values.get_column("source_row").to_numpy()
            if len(starts):
                first_rows = np.minimum.reduceat(source_rows[fresh], starts)
                self._seen[key].add_sorted(fresh_hashes[starts], first_rows)
            # a value met once in the batch is its own first row: only repeated hashes are
            # grouped, by the value itself (as transforms.dedupe does)
            sizes = np.diff(np.append(starts, len(fresh)))
            again = np.sort(fresh[np.repeat(sizes > 1, sizes)])
            repeated = values[again].with_columns(first_row=pl.col("source_row").min().over("value"))
            values = pl.concat([seen_before, repeated.filter(pl.col("first_row") < pl.col("source_row"))])
            later = values.sort("source_row", "column")
            firsts.append(later.select("source_row", "_row", "first_row", "column"))
            per_key[key] = later.group_by("source_row").agg(
                issue(_KEY_ISSUE[key].value, pl.col("column"), pl.col("value")).first().alias(f"_dup_{key}")
            )
        dups = self._resolve(firsts, per_key)
        return self._marked(clean, dups)

    def _resolve(self, firsts: list[pl.DataFrame], per_key: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """source_row, _row, duplicate_of (a kept row), duplicate_on and the issues, per duplicate."""
        resolved = pl.DataFrame(
            schema={
                "source_row": pl.Int64,
                "_row": pl.UInt32,
                "duplicate_of": pl.Int64,
                "duplicate_on": pl.String,
            }
        )
        if firsts:
            # chains inside the batch first (as transforms.dedupe follows them) ...
            resolved = resolve_chains(firsts)
            # ... then a pointer at an earlier batch's duplicate goes on to that one's kept row
            if len(self._kept):
                pointers = self._kept.resolved(resolved.get_column("duplicate_of").to_numpy())
                resolved = resolved.with_columns(duplicate_of=pl.Series(pointers, dtype=pl.Int64))
            ordered = resolved.sort("source_row")
            self._kept.add(
                ordered.get_column("source_row").to_numpy(), ordered.get_column("duplicate_of").to_numpy()
            )
        for key in self.keys:
            resolved = resolved.join(per_key[key], on="source_row", how="left")
        return resolved

    def _marked(self, clean: pl.DataFrame, dups: pl.DataFrame) -> pl.DataFrame:
        frame, found = mark_duplicates(clean, dups, self.keys)
        return append_issue_rows(frame, pl.collect_all(found))
