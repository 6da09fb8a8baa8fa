"""The distinct values of several columns at once, and each row's way back to its value.

Why: the phone stage parses each distinct (value, region) pair once, whichever of the three
phone columns it came from. Finding the pairs with ``unique`` and joining the answers back
with one join per phone column hashed every string four times (0.9 s for a million-row file).
Here each string is hashed once, to find its first occurrence, and the answers go back by
position: a gather, a tenth of the cost.
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
    long = (
        pl.concat(
            frame.lazy()
            .select(
                pl.col(name).alias("value"),
                *along,
                _at=pl.int_range(k * rows, (k + 1) * rows, dtype=pl.Int32),
            )
            .drop_nulls("value")
            for k, name in enumerate(columns)
        )
        .collect()
        # over() on the collected frame: in the lazy plan polars 2.1 took four times as long
        .with_columns(_first=pl.col("_at").first().over(keys))
    )
    first = long.filter(pl.col("_at") == pl.col("_first"))
    value_of_first = np.empty(len(columns) * rows, dtype=np.int32)
    value_of_first[first.get_column("_at").to_numpy()] = np.arange(first.height, dtype=np.int32)
    positions = np.full(len(columns) * rows, -1, dtype=np.int32)
    positions[long.get_column("_at").to_numpy()] = value_of_first[long.get_column("_first").to_numpy()]
    del long, value_of_first
    return DistinctValues(first.select(keys), positions, rows)
