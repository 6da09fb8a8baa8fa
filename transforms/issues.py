"""Appending findings to the ``issues`` list column, fast.

Every normalize step adds issue structs to a row's ``issues``. The obvious polars spelling,
``pl.col("issues").list.concat(pl.concat_list(...))``, assembles lists row by row: polars 2.1
takes about 9 s per million rows for it. Here the existing and the new issues are laid out
long (one row per issue, tagged with its row and order), sorted, and turned back into lists
through Arrow (transforms.lists), which costs a fraction of a second per million rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from schemas.raw_leads import ISSUE
from transforms.lists import lists_from_long, long_from_lists

__all__ = ["append_issue_rows", "append_issues", "issue"]


def issue(code: str | pl.Expr, column: str | pl.Expr, value: pl.Expr) -> pl.Expr:
    """One issue struct; ``code`` and ``column`` may be literals or expressions."""
    code_expr = pl.lit(code) if isinstance(code, str) else code
    column_expr = pl.lit(column) if isinstance(column, str) else column
    return pl.struct(code=code_expr, column=column_expr, value=value).cast(ISSUE)


def append_issues(frame: pl.DataFrame, new: Sequence[pl.Expr]) -> pl.DataFrame:
    """``frame`` with each row's ``issues`` extended by the non-null structs of ``new``, in order.

    Each expression of ``new`` evaluates to an ISSUE struct or null per row (typically
    ``pl.when(condition).then(issue(...))``).
    """
    row = pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")
    return append_issue_rows(
        frame, [frame.select(row, expr.cast(ISSUE).alias("_issue")).drop_nulls("_issue") for expr in new]
    )


def append_issue_rows(frame: pl.DataFrame, found: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """``frame`` with each row's ``issues`` extended by the issues of ``found``, in order.

    Each frame of ``found`` has ``_row`` (a 0-based row of ``frame``) and ``_issue`` (an ISSUE
    struct), only for the rows that have one: findings built on the few rows they concern
    cost no million-row struct column.
    """
    if not found or frame.height == 0:
        return frame
    rows, earlier = long_from_lists(frame.get_column("issues"))
    parts = [
        pl.DataFrame([rows, earlier.alias("_issue")]).select(
            "_row", pl.lit(0, pl.Int32).alias("_k"), pl.col("_issue").cast(ISSUE)
        )
    ]
    parts += [
        part.select(
            pl.col("_row").cast(pl.Int64), pl.lit(k, pl.Int32).alias("_k"), pl.col("_issue").cast(ISSUE)
        )
        for k, part in enumerate(found, start=1)
    ]
    long = pl.concat(parts).sort("_row", "_k", maintain_order=True)
    lists = lists_from_long(long.get_column("_row"), long.get_column("_issue"), frame.height, name="issues")
    return frame.with_columns(lists.cast(pl.List(ISSUE)))
