"""IANA time zones for leads: the row's own value, else the phone number's, else the country's.

A dialer must not call outside the lead's local calling hours, so a wrong zone is worse than
none. The rules, applied by transforms.phones:

* a row's ``timezone`` is kept when it is an IANA name (matched case-insensitively, written back
  in its canonical spelling);
* else the zones libphonenumber's time-zone mapper gives the first valid phone
  (``phonenumbers.timezone.time_zones_for_number``, reimplemented here as vectorized
  longest-prefix lookups so that it runs on a million numbers; tests compare it with the
  original). One zone: ``phone``. Several (a US toll-free number maps to all of NANP, a GB
  mobile to London, Guernsey, Jersey and Man, some area codes span two zones): marked
  ``phone_ambiguous`` with all of them as candidates, and the chosen one is the country's own
  zone (below) when it is among them, else the first;
* else the country's zone, only when all of the country's zones in ``zone.tab`` keep the same
  UTC offsets in January and July (Germany: Berlin and Busingen are one; Spain: Madrid and
  Canary are not), because "the first of several" is a guess a dialer should not act on.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Final

import phonenumbers
import polars as pl
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

__all__ = [
    "ZONE_LISTS",
    "canonical_timezones",
    "country_zone",
    "country_zone_codes",
    "iana_codes",
    "phone_zone_ids",
    "zone_lists",
]

_UNKNOWN_ZONE: Final = "Etc/Unknown"
_GEO_MOBILE_COUNTRIES: Final[frozenset[int]] = frozenset(phonenumbers.phonenumberutil._GEO_MOBILE_COUNTRIES)


def _zone_lists() -> tuple[list[tuple[str, ...]], dict[tuple[str, ...], int]]:
    lists = sorted({zones for zones in TIMEZONE_DATA.values() if zones != (_UNKNOWN_ZONE,)})
    return lists, {zones: index for index, zones in enumerate(lists)}


_LISTS_AND_IDS = _zone_lists()
ZONE_LISTS: Final[list[tuple[str, ...]]] = _LISTS_AND_IDS[0]
_ZONE_IDS: Final[dict[tuple[str, ...], int]] = _LISTS_AND_IDS[1]
"""Every distinct zone list of the phone mapper; a zone id is an index into it."""

_PREFIX_IDS: Final[dict[int, dict[str, int]]] = {
    length: {
        prefix: _ZONE_IDS[zones]
        for prefix, zones in TIMEZONE_DATA.items()
        if len(prefix) == length and zones in _ZONE_IDS
    }
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1)
}


def _country_level_id(calling_code: int) -> int | None:
    code = str(calling_code)
    # phonenumbers' _country_level_time_zones_for_number tries code[:1 + n] for n = longest..1
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(code[: 1 + length])
        if zones is not None:
            return _ZONE_IDS.get(zones)
    return None


_CALLING_CODE_IDS: Final[dict[int, int]] = {
    code: zone_id
    for code in phonenumbers.supported_calling_codes()
    if (zone_id := _country_level_id(code)) is not None
}


@functools.cache
def _prefix_lengths(calling_code: int) -> tuple[int, ...]:
    """The prefix lengths, longest first, that can match a number of ``calling_code``: the
    prefixes that start with the code or that the code starts with (codes are prefix-free)."""
    code = str(calling_code)
    return tuple(
        length
        for length, ids in _PREFIX_IDS.items()
        if any(prefix.startswith(code) or code.startswith(prefix) for prefix in ids)
    )


def _by_prefix(digits: pl.Expr, lengths: tuple[int, ...]) -> pl.Expr:
    if not lengths:
        return pl.lit(None, dtype=pl.UInt32)
    return pl.coalesce(
        [
            digits.str.slice(0, length).replace_strict(
                _PREFIX_IDS[length], default=None, return_dtype=pl.UInt32
            )
            for length in lengths
        ]
    )


def phone_zone_ids(numbers: pl.DataFrame) -> pl.Series:
    """Zone id (index into ZONE_LISTS) of each valid number of ``numbers`` (columns ``e164``,
    ``type``, ``cc``; null e164 for none), null when the mapper knows none.

    Same answer as ``time_zones_for_number``: geographic numbers (fixed line, fixed line or
    mobile, and mobiles of the countries whose mobiles are geographic) by the longest known
    prefix of the E.164 digits, other valid numbers by their calling code. The prefixes are
    looked up per calling code, only at the lengths that code's prefixes have (one length
    for +33 or +49, five for +1, rather than nine for every number).
    """
    kind, code = pl.col("type"), pl.col("cc")
    geographic = kind.is_in(["fixed_line", "fixed_line_or_mobile"]) | (
        (kind == "mobile") & code.is_in(list(_GEO_MOBILE_COUNTRIES))
    )
    rows = (
        numbers.lazy()
        .select("e164", "cc", _geo=geographic)
        .with_row_index("_row")
        .filter(pl.col("e164").is_not_null())
    )
    geo = rows.filter(pl.col("_geo")).select("_row", "e164", "cc").collect()
    digits = pl.col("e164").str.slice(1)
    plans = [
        group.lazy().select("_row", zone_id=_by_prefix(digits, _prefix_lengths(calling_code)))
        for (calling_code,), group in geo.partition_by("cc", as_dict=True).items()
        if isinstance(calling_code, int)
    ]
    plans.append(
        rows.filter(~pl.col("_geo")).select(
            "_row", zone_id=code.replace_strict(_CALLING_CODE_IDS, default=None, return_dtype=pl.UInt32)
        )
    )
    found = pl.concat(pl.collect_all(plans))
    return pl.repeat(None, numbers.height, dtype=pl.UInt32, eager=True).scatter(
        found.get_column("_row"), found.get_column("zone_id")
    )


def zone_lists() -> pl.Series:
    """The zone lists as a column: the list of zone id ``i`` is at position ``i``."""
    return pl.Series("zones", [list(zones) for zones in ZONE_LISTS], dtype=pl.List(pl.String))


@functools.cache
def _iana_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def canonical_timezones(values: pl.Expr) -> pl.Expr:
    """The canonical IANA spelling of each value, null when it is not an IANA zone name."""
    return values.str.strip_chars().str.to_lowercase().replace_strict(_iana_names(), default=None)


def _zone_tab() -> str:
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text("utf-8")
    return ""


def _same_clock(zones: list[str]) -> bool:
    probes = (datetime(2025, 1, 15, 12), datetime(2025, 7, 15, 12))
    offsets = {
        tuple(probe.replace(tzinfo=zoneinfo.ZoneInfo(zone)).utcoffset() for probe in probes) for zone in zones
    }
    return len(offsets) == 1


@functools.cache
def _country_zones() -> dict[str, str]:
    by_country: dict[str, list[str]] = {}
    for line in _zone_tab().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            by_country.setdefault(fields[0], []).append(fields[2])
    return {country: zones[0] for country, zones in by_country.items() if _same_clock(zones)}


@functools.cache
def iana_codes() -> dict[str, int]:
    """A small integer for every canonical IANA zone name ``canonical_timezones`` can give."""
    return {name: code for code, name in enumerate(sorted(set(_iana_names().values())))}


@functools.cache
def country_zone_codes() -> dict[str, int]:
    """A small integer for every zone ``country_zone`` can give."""
    return {name: code for code, name in enumerate(sorted(set(_country_zones().values())))}


def country_zone(regions: pl.Expr) -> pl.Expr:
    """The country's one effective zone (see module docstring), else null."""
    return regions.replace_strict(_country_zones(), default=None, return_dtype=pl.String)
