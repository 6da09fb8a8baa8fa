"""Sorting person keys (int64) for the frequency guardrail: numpy for a chunk's few, polars for
a plan's many.

The contact memory and a target's plan sort hundreds of thousands of keys at a time (a plan's
200,000, a fold of the fresh keys into a run, a merge of runs). On the 2-core test machine
polars sorts them in about half numpy's CPU on one thread: 1M random keys' order 33 ms of CPU
against numpy's ``argsort`` 72 (its AVX-512 quicksort); two sorted runs one after the other
(1M and 600,000) 9-12 ms against 31-62 for numpy's stable sort (its timsort finds and merges
them); 200,000 keys sorted 5.6 ms against 9.2. Below :data:`POLARS_FROM` keys a Series' making
(some 10-20 us) is more than the sort, so numpy sorts those (a chunk's 200 keys).

The orders are not stable: equal keys' order is no matter to any caller (a key's contacts are
a set: connectors.frequency.KeyEvents).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["POLARS_FROM", "KeyOrder", "distinct_keys", "distinct_sorted", "sort_order", "sorted_keys"]

POLARS_FROM = 16384
"""Keys from which polars sorts them."""


def sort_order(keys: np.ndarray) -> np.ndarray:
    """The positions of ``keys`` (int64) in sorted order (uint32 from polars, intp from numpy)."""
    if len(keys) < POLARS_FROM:
        return np.argsort(keys)
    order: np.ndarray = pl.Series(keys).arg_sort().to_numpy()
    return order


def sorted_keys(keys: np.ndarray) -> np.ndarray:
    """``keys`` (int64) sorted, as a new array."""
    if len(keys) < POLARS_FROM:
        return np.sort(keys)
    ordered: np.ndarray = pl.Series(keys).sort().to_numpy()
    return ordered


def distinct_sorted(ordered: np.ndarray) -> np.ndarray:
    """Keys already in sorted order, each once (``np.unique`` hashes in numpy 2.4: several times
    slower on a chunk's 200 keys than a comparison of neighbours)."""
    if len(ordered) < 2:
        return ordered
    distinct: np.ndarray = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    return distinct


def distinct_keys(keys: np.ndarray) -> np.ndarray:
    """``keys`` (int64) sorted, each once, as a new array."""
    return distinct_sorted(sorted_keys(keys))


@dataclass(frozen=True, slots=True)
class KeyOrder:
    """A plan's keys sorted once, for everything that needs them in order: whether some are
    there twice, which, and where each one's contacts are (connectors.frequency ``_bounds``).
    A plan of 200,000 keys sorted them three times (5-10 ms each)."""

    order: np.ndarray
    """The positions of the keys in sorted order."""
    ordered: np.ndarray
    """The keys in sorted order."""

    @classmethod
    def of(cls, keys: np.ndarray) -> KeyOrder:
        order = sort_order(keys)
        return cls(order, keys[order])

    def repeated(self) -> np.ndarray:
        """Which of the keys are there more than once (a bool for each, in their order)."""
        order, ordered = self.order, self.ordered
        same = ordered[1:] == ordered[:-1]
        twice = np.zeros(len(order), dtype=bool)
        twice[order[1:][same]] = True
        twice[order[:-1][same]] = True
        return twice
