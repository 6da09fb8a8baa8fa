"""A US lead's zone from its address: ZIP code -> zone, state -> its zones.

A number says where its area code was assigned, not where the person is (numbers are kept
across moves), and a third of US states span two zones. A file's ZIP code or state is better
evidence, so transforms.timezones uses it before the number. The data is the ``zipcodes``
package's (every USPS ZIP code with its IANA zone, refreshed monthly by its maintainer, shipped
inside the package: nothing is fetched). We chose it over ``us`` (state metadata only: a
state's zones, not a ZIP's) because it answers both: a state's zones are the zones of its ZIP
codes, most ZIP codes first, so the first is the state's main zone.

The ZIP code and the state are read from the row's ``attributes`` (the file's unmapped
columns) by header: ``ZIP_HEADERS`` and ``STATE_HEADERS``, compared as transforms.aliases
compares headers. Only rows whose region is the US or a US territory with ZIP codes are read.
A ZIP code written by a spreadsheet as a number ("2134", "2134.0": Boston's 02134) gets its
leading zeros back; a ZIP+4 counts by its first five digits.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter
from typing import Final

import polars as pl
import pycountry

from transforms.aliases import header_key
from transforms.lists import long_from_lists

__all__ = [
    "STATE_HEADERS",
    "US_REGIONS",
    "ZIP_HEADERS",
    "address_values",
    "state_codes",
    "state_zones",
    "zip_zones",
]

US_REGIONS: Final[frozenset[str]] = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})
"""Regions whose addresses have USPS ZIP codes and states (territories count as states)."""

ZIP_HEADERS: Final[frozenset[str]] = frozenset(
    {
        "zip", "zipcode", "zip5", "zipplus4", "postalcode", "postcode", "postal", "mailingzip",
        "mailingzipcode", "mailingpostalcode", "billingzip", "billingpostalcode", "shippingpostalcode",
        "homezip", "workzip",
    }
)  # fmt: skip
STATE_HEADERS: Final[frozenset[str]] = frozenset(
    {
        "state", "statecode", "stateprovince", "stateorprovince", "province", "mailingstate",
        "billingstate", "shippingstate", "homestate", "usstate", "st",
    }
)  # fmt: skip

_ZIP_PATTERN: Final = r"^\s*([0-9]{3,5})(?:\.0+)?(?:\s*-\s*[0-9]{4})?\s*$"


@functools.cache
def _zip_table() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(ZIP -> zone, state -> zones most ZIP codes first), IANA names only (the data has a
    few misspelt zones, which are left out rather than passed on)."""
    import zipcodes  # 1 s for the whole list: only loaded when a file has US addresses

    known = zoneinfo.available_timezones()
    by_zip: dict[str, str] = {}
    by_state: dict[str, Counter[str]] = {}
    for entry in zipcodes.list_all():  # type: ignore[no-untyped-call]
        zone, state = entry.get("timezone"), entry.get("state")
        if zone in known:
            by_zip[entry["zip_code"]] = zone
            by_state.setdefault(state, Counter())[zone] += 1
    states = {state: tuple(zone for zone, _ in counts.most_common()) for state, counts in by_state.items()}
    return by_zip, states


def state_zones() -> dict[str, tuple[str, ...]]:
    """State code -> its zones, the state's main zone first."""
    return _zip_table()[1]


def zip_zones(values: pl.Expr) -> pl.Expr:
    """The zone of each ZIP code value, null when it is not a known ZIP code."""
    digits = values.str.extract(_ZIP_PATTERN, 1).str.zfill(5)
    return digits.replace_strict(_zip_table()[0], default=None, return_dtype=pl.String)


@functools.cache
def _state_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code="US") or []:  # type: ignore[no-untyped-call]
        code = subdivision.code.removeprefix("US-")
        keys[header_key(code)] = code
        keys[header_key(subdivision.name)] = code
    for region in US_REGIONS - {"US"}:
        country = pycountry.countries.get(alpha_2=region)
        keys[header_key(region)] = region
        if country is not None:
            keys[header_key(country.name)] = region
    keys[header_key("Washington DC")] = keys[header_key("Washington, D.C.")] = "DC"
    return keys


def state_codes(values: pl.Expr) -> pl.Expr:
    """The USPS code of each state value ("TX", "tx", "Texas", "Puerto Rico"), else null."""
    key = (
        values.str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", "")
    )
    return key.replace_strict(_state_keys(), default=None, return_dtype=pl.String)


def address_values(attributes: pl.Series, rows: pl.Series) -> pl.DataFrame:
    """Per row, the first ZIP code and the first state value among its ``attributes``
    (columns ``zip``, ``state``; null where none), read only on the rows where ``rows`` is true.

    The attributes are laid out long once (transforms.lists) and their names, a file's few
    headers, are compared once each."""
    height = attributes.len()
    empty = pl.DataFrame(
        {
            "zip": pl.repeat(None, height, dtype=pl.String, eager=True),
            "state": pl.repeat(None, height, dtype=pl.String, eager=True),
        }
    )
    if height == 0 or not rows.any() or not (attributes.list.len() > 0).any():
        return empty
    at, pairs = long_from_lists(attributes)
    names = pairs.struct.field("name")
    kinds = {
        name: ("zip" if key in ZIP_HEADERS else "state" if key in STATE_HEADERS else None)
        for name in names.unique().drop_nulls().to_list()
        if (key := header_key(name)) in ZIP_HEADERS | STATE_HEADERS
    }
    if not kinds:
        return empty
    long = (
        pl.DataFrame(
            {
                "_row": at,
                "kind": names.replace_strict(kinds, default=None, return_dtype=pl.String),
                "value": pairs.struct.field("value"),
            }
        )
        .filter(pl.col("kind").is_not_null())
        .filter(pl.col("_row").is_in(rows.arg_true().cast(pl.Int64).implode()))
        .unique(["_row", "kind"], keep="first", maintain_order=True)
    )
    columns = {}
    for kind in ("zip", "state"):
        found = long.filter(pl.col("kind") == kind)
        columns[kind] = pl.repeat(None, height, dtype=pl.String, eager=True).scatter(
            found.get_column("_row"), found.get_column("value")
        )
    return pl.DataFrame(columns)
