"""Canonical raw leads: what column mapping hands to normalize.

All contact values are still strings exactly as the file had them (trimmed of nothing), so
that normalize can report the offending raw value. ``issues`` holds what ingest found
(ragged rows); ``attributes`` holds every unmapped column in file order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from schemas.checks import Contract, Field, Rule

if TYPE_CHECKING:
    import pandera.polars as pa

__all__ = ["ATTRIBUTE", "CANONICAL_COLUMNS", "ISSUE", "RAW_LEADS", "RAW_LEADS_CONTRACT"]

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

RAW_LEADS_CONTRACT = Contract(
    "RawLeads",
    {
        "source_row": Field(pl.Int64(), nullable=False, rules=(Rule("ge", 1),)),
        **{name: Field(pl.String()) for name in CANONICAL_COLUMNS},
        "attributes": Field(pl.List(ATTRIBUTE), nullable=False),
        "issues": Field(pl.List(ISSUE), nullable=False),
    },
    unique=(("source_row",),),
)


def __getattr__(name: str) -> pa.DataFrameSchema:
    # RAW_LEADS_SCHEMA, pandera's form of the contract, made (and pandera imported) when asked for
    if name == "RAW_LEADS_SCHEMA":
        return RAW_LEADS_CONTRACT.schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
