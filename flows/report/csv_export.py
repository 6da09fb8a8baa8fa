"""The leads not delivered to every target as CSV for people who live in spreadsheets: one
row per lead (a row of the file), its outcome at each target in columns named
``<target> status``, ``<target> reasons``, ``<target> vendor_status``, ``<target> vendor_message``
(flows.report.leads), like the report's lead table; leads needing attention come first. A
target that gave any lead of the run a calling window (a compliance profile) has
``<target> call_window_start`` and ``<target> call_window_end`` too (UTC, ISO 8601 with ``Z``):
when a lead it held (``OUTSIDE_CALLING_WINDOW``) may be imported again.

Spreadsheet programs execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
through their import, a leading tab or carriage return) as a formula: a lead named
``=HYPERLINK(...)`` would become a live link. Every text cell starting with one of those
is prefixed with ``'`` (OWASP "CSV injection"), which spreadsheets show as text. E.164
phones start with ``+`` and are prefixed too, which also keeps them from becoming numbers.
Only the export is changed; the results Parquet keeps the raw values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from flows.report.leads import (
    LEAD_COLUMNS,
    lead_outcomes,
    lead_rows,
    missed_in_order,
    not_delivered_everywhere,
    windowed_targets,
)
from schemas.results import RAW_COLUMNS

__all__ = [
    "FORMULA_PREFIXES",
    "export_lead_csv",
    "lead_csv_frame",
    "neutralise",
    "neutralise_frame",
    "spreadsheet_cells",
    "write_lead_csv",
]

CHUNK_LEADS = 50_000
"""Leads built and written at a time by :func:`export_lead_csv`."""

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


def lead_csv_frame(results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str] = ()) -> pl.DataFrame:
    """One row per lead not delivered to every target: ``run_id``, ``source_row``, ``outcome``,
    the lead's fields, ``reasons`` (every code at any target) with the values as read
    (``phone1_raw``..) right after it, then the per-target columns (the window columns of the
    targets with windows, flows.report.leads.windowed_targets); lists joined by ``;``; cells
    and headers neutralised (a target's name is a header)."""
    return _csv_rows(not_delivered_everywhere(lead_outcomes(results, targets)))


def _csv_rows(leads: pl.DataFrame) -> pl.DataFrame:
    fields = [name for name in LEAD_COLUMNS if name != "source_row" and name not in RAW_COLUMNS]
    first = ["run_id", "source_row", "outcome", *fields, "reasons", *RAW_COLUMNS]
    ordered = leads.select(*first, *[name for name in leads.columns if name not in first])
    return spreadsheet_cells(ordered).rename(lambda name: neutralise(name) or name)


def spreadsheet_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame``'s cells as a spreadsheet should get them: lists joined by ``;``, times (UTC) as
    ISO 8601 with a Z (polars writes "+0000" and microseconds), text neutralised."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    times = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)]
    return neutralise_frame(
        frame.with_columns(
            pl.col(lists).list.join(";"),
            pl.col(times).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )


def write_lead_csv(frame: pl.DataFrame, out: Path) -> int:
    """Write :func:`lead_csv_frame` rows (of one run, or of several concatenated) to ``out``
    (UTF-8 with BOM so Excel reads accents); returns the leads written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(out, include_bom=True)
    return frame.height


def export_lead_csv(
    results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str], out: Path, chunk: int = CHUNK_LEADS
) -> int:
    """Write what ``write_lead_csv(lead_csv_frame(results, targets), out)`` writes (the same
    bytes) a ``chunk`` of leads at a time, so that a run of millions of leads is never held
    whole: the leads' order comes from their outcomes (a few bytes a lead), each slice's
    rows from its own results. Returns the leads written."""
    order, found = missed_in_order(results)
    names = sorted({*found, *targets})
    windowed = windowed_targets(results)  # the same columns in every slice
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as stream:
        stream.write("\ufeff".encode())
        for start in range(0, max(order.len(), 1), chunk):
            rows = _csv_rows(lead_rows(results, order.slice(start, chunk), names, windowed))
            rows.write_csv(stream, include_header=start == 0)
    return order.len()
