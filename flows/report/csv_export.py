"""The rows needing attention as CSV for people who live in spreadsheets.

Spreadsheet programs execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
through their import, a leading tab or carriage return) as a formula: a lead named
``=HYPERLINK(...)`` would become a live link. Every text cell starting with one of those
is prefixed with ``'`` (OWASP "CSV injection"), which spreadsheets show as text. E.164
phones start with ``+`` and are prefixed too, which also keeps them from becoming numbers.
Only the export is changed; the results Parquet keeps the raw values.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas.results import RAW_COLUMNS
from transforms.summary import attention_rows

__all__ = ["FORMULA_PREFIXES", "attention_csv_frame", "neutralise", "neutralise_frame", "write_attention_csv"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"
_GUARD = "'"


def neutralise(value: str | None) -> str | None:
    """One cell, as :func:`neutralise_frame` treats it."""
    if value is not None and value.startswith(FORMULA_PREFIXES):
        return _GUARD + value
    return value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix every text cell that a spreadsheet would read as a formula."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START))
        .then(pl.lit(_GUARD) + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def attention_csv_frame(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Attention rows with every result column, the values as read (``phone1_raw``..) right
    after ``reasons`` so the refused value sits beside its code, lists (reasons, zone
    candidates) joined by ``;``, cells neutralised."""
    rows = attention_rows(results).with_columns(pl.col("reasons", "timezone_candidates").list.join(";"))
    rest = [name for name in rows.columns if name not in RAW_COLUMNS]
    at = rest.index("reasons") + 1
    return neutralise_frame(rows.select(*rest[:at], *RAW_COLUMNS, *rest[at:]))


def write_attention_csv(results: pl.DataFrame | pl.LazyFrame, out: Path) -> int:
    """Write the attention rows to ``out`` (UTF-8 with BOM so Excel reads accents); returns rows written."""
    frame = attention_csv_frame(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(out, include_bom=True, datetime_format="%Y-%m-%dT%H:%M:%S%.fZ")
    return frame.height
