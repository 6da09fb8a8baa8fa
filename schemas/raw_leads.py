"""Canonical raw leads: what column mapping hands to normalize.

All contact values are still strings exactly as the file had them (trimmed of nothing), so
that normalize can report the offending raw value. ``issues`` holds what ingest found
(ragged rows); ``attributes`` holds every unmapped column in file order.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.checks import FastContract, unique_together

__all__ = ["ATTRIBUTE", "CANONICAL_COLUMNS", "ISSUE", "RAW_LEADS", "RAW_LEADS_CONTRACT", "RAW_LEADS_SCHEMA"]

ISSUE = pl.Struct({"code": pl.String, "column": pl.String, "value": pl.String})
"""One row-level finding: a code from schemas.codes.Issue, the column it concerns, the raw value."""

ATTRIBUTE = pl.Struct({"name": pl.String, "value": pl.String})
"""One unmapped column of the input row, kept for vendors' custom fields."""

CANONICAL_COLUMNS: tuple[str, ...] = (
    "external_id",
    "first_name",
    "last_name",
    "phone1",
    "phone2",
    "phone3",
    "email",
    "country",
    "timezone",
)

RAW_LEADS: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    **{name: pl.String() for name in CANONICAL_COLUMNS},
    "attributes": pl.List(ATTRIBUTE),
    "issues": pl.List(ISSUE),
}

RAW_LEADS_SCHEMA = pa.DataFrameSchema(
    {
        "source_row": pa.Column(pl.Int64, pa.Check.ge(1), nullable=False),
        **{name: pa.Column(pl.String, nullable=True) for name in CANONICAL_COLUMNS},
        "attributes": pa.Column(pl.List(ATTRIBUTE), nullable=False),
        "issues": pa.Column(pl.List(ISSUE), nullable=False),
    },
    checks=[unique_together("source_row")],
    strict=True,
    ordered=True,
    name="RawLeads",
)

RAW_LEADS_CONTRACT = FastContract.of(RAW_LEADS_SCHEMA)
"""RAW_LEADS_SCHEMA checked in one pass (schemas.checks.FastContract): what each batch meets."""
