"""Result rows: exactly one per (input row, target), the analyst's answer to "what happened?".

The invariant every test checks: ``len(results) == rows_in_file * len(targets)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from schemas.checks import Contract, Field, Rule
from schemas.clean_leads import DUPLICATE_FIELDS, TIMEZONE_SOURCES
from schemas.codes import Issue, Status

if TYPE_CHECKING:
    import pandera.polars as pa

__all__ = [
    "ADDED_COLUMNS",
    "CONTACT_COLUMNS",
    "RAW_COLUMNS",
    "REFUSED_CODES",
    "RESULTS",
    "RESULTS_CONTRACT",
    "WINDOW_COLUMNS",
]

CONTACT_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "phone1",
    "phone1_type",
    "phone1_ext",
    "phone2",
    "phone2_type",
    "phone2_ext",
    "phone3",
    "phone3_type",
    "phone3_ext",
    "email",
    "country",
    "timezone",
    "timezone_source",
    "timezone_candidates",
    "duplicate_of",
    "duplicate_on",
)
"""Normalized contact fields copied from the clean leads into every result row.

``timezone_candidates`` lists every zone the lead may be in (one when the zone is known):
a calling window for the lead is the intersection of the candidates' windows."""

RAW_COLUMNS: dict[str, str] = {
    "phone1_raw": "phone1",
    "phone2_raw": "phone2",
    "phone3_raw": "phone3",
    "email_raw": "email",
    "country_raw": "country",
    "timezone_raw": "timezone",
}
"""``<field>_raw`` -> field: the value as read from the file where that field was refused
(one of REFUSED_CODES), null where it was accepted or empty. The normalized column is then
null (or, for country and time zone, a fallback), so without it an analyst sees a blank."""

REFUSED_CODES: frozenset[str] = frozenset(
    code.value
    for code in (
        Issue.PHONE_UNPARSEABLE,
        Issue.PHONE_NO_REGION,
        Issue.PHONE_INVALID,
        Issue.EMAIL_INVALID,
        Issue.COUNTRY_UNKNOWN,
        Issue.TIMEZONE_INVALID,
    )
)
"""The issue codes that refuse a field's value; their issue carries the raw value."""

WINDOW_COLUMNS: tuple[str, ...] = ("call_window_start", "call_window_end")
"""The lead's next calling window in UTC under the target's compliance profile
(transforms.calling_windows): inside the legal hours of every zone in ``timezone_candidates``,
from the run's start; null for a target without a profile, an email target, or a lead with no
window."""

ADDED_COLUMNS: tuple[str, ...] = (
    "phone1_ext",
    "phone2_ext",
    "phone3_ext",
    "timezone_source",
    "timezone_candidates",
    "duplicate_on",
    *RAW_COLUMNS,
    *WINDOW_COLUMNS,
)
"""Columns added to the contract after runs were written without them: a reader of an older
run folder (the report) fills them with nulls rather than refusing the run."""

RESULTS: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "external_id": pl.String(),
    "target": pl.String(),
    "status": pl.String(),
    "reasons": pl.List(pl.String()),
    "vendor_id": pl.String(),
    "vendor_status": pl.String(),
    "vendor_message": pl.String(),
    "batch_id": pl.String(),
    "attempts": pl.Int32(),
    "sent_at": pl.Datetime("us", "UTC"),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "phone1": pl.String(),
    "phone1_type": pl.String(),
    "phone1_ext": pl.String(),
    "phone2": pl.String(),
    "phone2_type": pl.String(),
    "phone2_ext": pl.String(),
    "phone3": pl.String(),
    "phone3_type": pl.String(),
    "phone3_ext": pl.String(),
    "email": pl.String(),
    "country": pl.String(),
    "timezone": pl.String(),
    "timezone_source": pl.String(),
    "timezone_candidates": pl.List(pl.String()),
    "duplicate_of": pl.Int64(),
    "duplicate_on": pl.String(),
    "call_window_start": pl.Datetime("us", "UTC"),
    "call_window_end": pl.Datetime("us", "UTC"),
    **dict.fromkeys(RAW_COLUMNS, pl.String()),
}

_NOT_NULL = {"run_id", "source_file", "source_row", "external_id", "target", "status", "reasons", "attempts"}


def _fields() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for name, dtype in RESULTS.items():
        rules: tuple[Rule, ...] = ()
        if name == "status":
            rules = (Rule("isin", tuple(s.value for s in Status)),)
        if name == "timezone_source":
            rules = (Rule("isin", TIMEZONE_SOURCES),)
        if name == "duplicate_on":
            rules = (Rule("isin", DUPLICATE_FIELDS),)
        if name == "attempts":
            rules = (Rule("ge", 0),)
        fields[name] = Field(dtype, nullable=name not in _NOT_NULL, rules=rules)
    return fields


RESULTS_CONTRACT = Contract("ResultRows", _fields(), unique=(("source_row", "target"),))


def __getattr__(name: str) -> pa.DataFrameSchema:
    # RESULTS_SCHEMA, pandera's form of the contract, made (and pandera imported) when asked for
    if name == "RESULTS_SCHEMA":
        return RESULTS_CONTRACT.schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
