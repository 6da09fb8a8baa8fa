"""Clean leads: the normalized frame that dedupe, eligibility, payload mapping and results read.

One row per input data row, in file order. Phones are E.164 (null when missing or invalid,
the raw value stays in ``phoneN_raw``), ``issues`` accumulates every finding with its code,
and ``disposition`` is set by dedupe/suppress (``ready`` until then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from schemas.checks import Contract, Field, Rule
from schemas.codes import Disposition
from schemas.raw_leads import ATTRIBUTE, ISSUE

if TYPE_CHECKING:
    import pandera.polars as pa

__all__ = [
    "CLEAN_LEADS",
    "CLEAN_LEADS_CONTRACT",
    "DUPLICATE_FIELDS",
    "E164_DIGITS",
    "E164_PATTERN",
    "PHONE_SLOTS",
    "PHONE_TYPES",
    "TIMEZONE_SOURCES",
]

PHONE_SLOTS: tuple[str, ...] = ("phone1", "phone2", "phone3")

PHONE_TYPES: tuple[str, ...] = (
    "mobile",
    "fixed_line",
    "fixed_line_or_mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "unknown",
)
"""phonenumbers.PhoneNumberType names, lower-cased."""

TIMEZONE_SOURCES: tuple[str, ...] = ("row", "postal", "state", "number", "country", "guess", "none")
"""Where ``timezone`` came from: the file's zone column, the US ZIP code, the US state, the
number, the country (each of one clock), a guess (the most plausible of zones that differ:
the primary zone of the country), nowhere. ``timezone_candidates`` lists every zone the lead
may be in: a calling window is the intersection of theirs. transforms.timezones has the rules."""


DUPLICATE_FIELDS: tuple[str, ...] = ("external_id", *PHONE_SLOTS, "email")
"""What ``duplicate_on`` may name: the field of a duplicate row that matched an earlier row."""


def _phone_columns() -> dict[str, pl.DataType]:
    columns: dict[str, pl.DataType] = {}
    for slot in PHONE_SLOTS:
        columns[f"{slot}_raw"] = pl.String()
        columns[slot] = pl.String()
        columns[f"{slot}_type"] = pl.String()
        columns[f"{slot}_ext"] = pl.String()
    return columns


CLEAN_LEADS: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "external_id": pl.String(),  # deterministic: the file's id or a stable hash (never null)
    "external_id_origin": pl.String(),  # "file" or "hash"
    # a generated id whose first phone has an extension: the id versions before extensions
    # counted gave it (transforms.identity), so the ledger recognises its earlier deliveries
    "legacy_external_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    **_phone_columns(),
    "email_raw": pl.String(),
    "email": pl.String(),
    "country": pl.String(),  # ISO 3166-1 alpha-2 region used for the phones
    "timezone": pl.String(),
    "timezone_source": pl.String(),
    "timezone_candidates": pl.List(pl.String()),
    "attributes": pl.List(ATTRIBUTE),
    "issues": pl.List(ISSUE),
    "disposition": pl.String(),
    "duplicate_of": pl.Int64(),  # source_row of the kept row, for duplicates
    "duplicate_on": pl.String(),  # the field of this row that matched (transforms.dedupe)
}

E164_DIGITS: tuple[int, int] = (7, 15)
E164_PATTERN = rf"^\+[1-9][0-9]{{{E164_DIGITS[0] - 1},{E164_DIGITS[1] - 1}}}$"
"""What a ``phoneN`` may hold: "+" and 7 to 15 digits (ITU-T E.164 allows at most 15; fewer
than 7 is no full subscriber number, and the sandbox's Engage checks the same range).
libphonenumber calls some numbers outside it valid (Austrian short numbers, German numbers of
up to 17 digits): transforms.phones makes them ``PHONE_INVALID`` by ``E164_DIGITS``, so a value
never fails this check (which would end the whole file)."""


def _fields() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for name, dtype in CLEAN_LEADS.items():
        rules: tuple[Rule, ...] = ()
        nullable = True
        if name in PHONE_SLOTS:
            rules = (Rule("str_matches", E164_PATTERN),)
        elif name.endswith("_type"):
            rules = (Rule("isin", PHONE_TYPES),)
        elif name == "timezone_source":
            rules, nullable = (Rule("isin", TIMEZONE_SOURCES),), False
        elif name == "duplicate_on":
            rules = (Rule("isin", DUPLICATE_FIELDS),)
        elif name == "disposition":
            rules, nullable = (Rule("isin", tuple(d.value for d in Disposition)),), False
        elif name == "external_id_origin":
            rules, nullable = (Rule("isin", ("file", "hash")),), False
        elif name in ("source_row", "external_id", "attributes", "issues", "timezone_candidates"):
            nullable = False
        fields[name] = Field(dtype, nullable=nullable, rules=rules)
    return fields


CLEAN_LEADS_CONTRACT = Contract("CleanLeads", _fields(), unique=(("source_row",),))


def __getattr__(name: str) -> pa.DataFrameSchema:
    # CLEAN_LEADS_SCHEMA, pandera's form of the contract, made (and pandera imported) when asked for
    if name == "CLEAN_LEADS_SCHEMA":
        return CLEAN_LEADS_CONTRACT.schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
