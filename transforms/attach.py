"""Set another frame's columns beside a frame's rows, matched on a key, without copying the frame.

Why: a left join of a wide million-row frame gathers every one of its columns into a new frame,
a full copy per join (build_results joined the clean leads to what each target's sender said).
Joining the key column alone and setting the result beside the untouched frame copies only
what is new.
"""

from __future__ import annotations

import polars as pl

__all__ = ["attach"]


def attach(frame: pl.DataFrame, other: pl.DataFrame, *, on: str) -> pl.DataFrame:
    """``frame`` plus ``other``'s other columns, row for row (a left join on ``on``).

    ``other`` must have at most one row per key: a key found twice would change the row count,
    which is refused (every input row keeps exactly one row)."""
    keys = frame.select(on)
    matched = keys.join(other, on=on, how="left", maintain_order="left")
    if matched.height != frame.height:
        raise ValueError(f"attach: {matched.height - frame.height} keys of {on!r} match more than one row")
    return pl.concat([frame, matched.drop(on)], how="horizontal")
