"""The distinct values of several columns at once, and each row's way back to its value.

Why: the phone stage parses each distinct (value, region) pair once, whichever of the three
phone columns it came from. Finding the pairs with ``unique`` and joining the answers back
with one join per phone column hashed every string four times (0.9 s for a million-row file).
Here each (value, region) is hashed once to 64 bits, the hashes are sorted, and equal hashes
name the first occurrence; the answers go back by position, a gather. Grouping the strings
themselves (``unique``, ``over``) needs 300 MB more for a million rows, the budget's margin. A
64-bit hash may collide (about once in 10^7 million-row files): every row is checked against
the value its hash named, and on a mismatch the strings are grouped after all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["DistinctValues", "distinct_values"]


@dataclass(frozen=True)
class DistinctValues:
    values: pl.DataFrame
    """One row per distinct (``value``, *along*), in order of first appearance (column by column)."""
    positions: np.ndarray
    """For column k and row i, at ``k * rows + i``: the row of ``values`` it holds, -1 for null."""
    rows: int

    def reordered(self, order: np.ndarray) -> DistinctValues:
        """The same, for answers that come in another order: ``order[j]`` is the row of
        ``values`` that answer j is for (a permutation). Answers put back in order by a sort
        would be gathered twice (the sort, then :meth:`gather`); this way, once."""
        inverse = np.empty(len(order), dtype=np.int32)
        inverse[order] = np.arange(len(order), dtype=np.int32)
        found = self.positions >= 0
        positions = np.full(len(self.positions), -1, dtype=np.int32)
        positions[found] = inverse[self.positions[found]]
        return DistinctValues(self.values, positions, self.rows)

    def gather(self, answers: pl.DataFrame, column: int) -> pl.DataFrame:
        """``answers`` (one row per row of ``values``) laid out along the frame's rows for the
        ``column``-th column: row i gets the answer for its value, nulls where it had none."""
        at = pl.Series(self.positions[column * self.rows : (column + 1) * self.rows])
        index = pl.select(pl.when(at >= 0).then(at)).to_series()
        return answers.select(pl.all().gather(index))


def distinct_values(
    frame: pl.DataFrame, columns: Sequence[str], *, along: Sequence[str] = ()
) -> DistinctValues:
    """The distinct non-null values of ``columns`` taken together, each paired with the same
    row's ``along`` columns (so a value is distinct per region, say); null ``along`` values are
    a key like any other."""
    rows = frame.height
    keys = ["value", *along]
    long = pl.concat(
        frame.lazy()
        .select(
            pl.col(name).alias("value"),
            *along,
            _at=pl.int_range(k * rows, (k + 1) * rows, dtype=pl.Int32),
        )
        .drop_nulls("value")
        for k, name in enumerate(columns)
    ).collect()
    first = _first_by_hash(long, keys)
    if not _names_equal_keys(long, keys, first):  # two keys shared a hash
        first = _first_by_value(long, keys)
    is_first = first == np.arange(long.height)
    value_of_long = np.cumsum(is_first, dtype=np.int64).astype(np.int32) - 1
    positions = np.full(len(columns) * rows, -1, dtype=np.int32)
    positions[long.get_column("_at").to_numpy()] = value_of_long[first]
    return DistinctValues(long.filter(pl.Series(is_first)).select(keys), positions, rows)


def _first_by_hash(long: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """For each row of ``long``, the first row with the same hash of its ``keys``."""
    hashed = long.select(pl.struct(keys).hash().alias("hash"))
    # stable: equal hashes stay in row order, so the first of a run is the first occurrence
    order = hashed.select(pl.arg_sort_by("hash", maintain_order=True)).to_series().to_numpy()
    ordered = hashed.to_series().to_numpy()[order]
    run_start = np.empty(len(order), dtype=bool)
    run_start[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=run_start[1:])
    # each sorted row's run starts at the last run start at or before it
    start_at = np.maximum.accumulate(np.where(run_start, np.arange(len(order)), 0))
    first = np.empty(long.height, dtype=np.int64)
    first[order] = order[start_at]
    return first


def _names_equal_keys(long: pl.DataFrame, keys: list[str], first: np.ndarray) -> bool:
    """Whether every row's ``keys`` equal those of the row ``first`` names for it."""
    later = np.flatnonzero(first != np.arange(long.height))
    if later.size == 0:
        return True
    key_columns = long.select(keys)
    own = key_columns[pl.Series(later)]
    named = key_columns[pl.Series(first[later])]
    return all(own.get_column(key).eq_missing(named.get_column(key)).all() for key in keys)


def _first_by_value(long: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """``_first_by_hash``'s answer from the values themselves: exact, heavier on memory."""
    numbered = long.select(*keys, _i=pl.int_range(pl.len(), dtype=pl.Int64))
    result: np.ndarray = numbered.select(pl.col("_i").first().over(keys)).to_series().to_numpy()
    return result
