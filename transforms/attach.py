"""Set another frame's columns beside a frame's rows, matched on keys, without copying the frame.

Why: a left join of a wide million-row frame gathers every one of its columns into a new frame,
a full copy per join (the phone stage joined three times, dedupe and ids once each). Joining the
key columns alone and setting the result beside the untouched frame copies only what is new.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["attach"]


def attach(
    frame: pl.DataFrame,
    other: pl.DataFrame,
    *,
    left_on: str | Sequence[str],
    right_on: str | Sequence[str] | None = None,
    nulls_equal: bool = False,
) -> pl.DataFrame:
    """``frame`` plus ``other``'s non-key columns, row for row (a left join on the keys).

    ``other`` must have at most one row per key: a key found twice would change the row count,
    which is refused (every input row keeps exactly one row)."""
    left = [left_on] if isinstance(left_on, str) else list(left_on)
    right = left if right_on is None else ([right_on] if isinstance(right_on, str) else list(right_on))
    keys = frame.select(pl.col(name).alias(f"__key{i}") for i, name in enumerate(left))
    matched = keys.join(
        other.rename({name: f"__key{i}" for i, name in enumerate(right)}),
        on=[f"__key{i}" for i in range(len(left))],
        how="left",
        maintain_order="left",
        nulls_equal=nulls_equal,
    )
    if matched.height != frame.height:
        raise ValueError(f"attach: {matched.height - frame.height} keys of {left} match more than one row")
    return pl.concat([frame, matched.drop(keys.columns)], how="horizontal")
