"""IANA time zones for leads: the row's own, else its address's (US ZIP code, state), else the
number's, else the country's; a guess is marked as one, and every zone the lead may be in is kept.

A dialer must not call outside the lead's local calling hours, so a wrong zone is worse than
none, and a zone picked from several must say so. Each row gets ``timezone`` (the one zone a
vendor field can take), ``timezone_source`` and ``timezone_candidates`` (every zone the lead may
be in: a calling window is the intersection of the candidates' windows, so a lead is never
called outside legal hours in any of them). :func:`choose_zone` decides, in this order:

* ``row``: the row's ``timezone`` when it is an IANA name of a place, not a fixed offset such
  as EST or UTC (matched case-insensitively, written back in its canonical spelling); the only
  candidate;
* ``postal``: a US row's ZIP code's zone (transforms.us_zones);
* ``state``: a US row's state, when its zones (those the number also has, where the number
  agrees) keep one clock: TX with a 512 number is America/Chicago;
  an address and a number that disagree (a number kept after a move) make both candidates,
  the address's zone first and chosen;
* ``number``: the zones libphonenumber's time-zone mapper gives the first valid phone
  (``phonenumbers.timezone.time_zones_for_number``, reimplemented here as vectorized
  longest-prefix lookups; tests compare it with the original), when they keep one clock
  (a GB mobile: London, Guernsey, Jersey, Man);
* ``country``: the country's zone when all its zones in ``zone.tab`` keep one clock;
* ``guess``: the zones of the number, state or country do not keep one clock (a Spanish
  mobile: Madrid or the Canaries; a US toll-free number: all of NANP): the chosen zone is the
  most plausible one, the country's primary zone (``PRIMARY_ZONES``: its capital's or most
  populous zone) when it is among them, never the alphabetically first;
* ``none``: nothing to go by.

"One clock": the same UTC offsets in January and in July (Berlin and Busingen are one; Madrid
and the Canaries are not).
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Final, NamedTuple

import phonenumbers
import polars as pl
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from transforms.blanks import EDGE_JUNK

__all__ = [
    "PRIMARY_ZONES",
    "ZONE_LISTS",
    "ZoneChoice",
    "canonical_timezones",
    "choose_zone",
    "country_zones",
    "linked_zone",
    "phone_zone_ids",
    "zone_lists",
]

PRIMARY_ZONES: Final[dict[str, str]] = {
    # the zone of the capital, or of most of the people where that is another (US, CA, BR, AU, EC)
    "AQ": "Antarctica/McMurdo",
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UM": "Pacific/Midway",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}
"""The primary zone of every country with several zones in ``zone.tab`` (a test keeps this
complete); a country with one zone has that one."""

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


@functools.cache
def _zone_of_prefix(lengths: tuple[int, ...]) -> pl.Expr:
    """``zone_id`` of geographic numbers (column ``e164``) by their longest known prefix of
    ``lengths``. Built once per set of lengths: the prefix tables (1,600 entries at 7 digits)
    would otherwise be converted to polars' for every batch of a file."""
    return _by_prefix(pl.col("e164"), lengths).alias("zone_id")


@functools.cache
def _zone_of_code() -> pl.Expr:
    """``zone_id`` of the other valid numbers: by calling code (built once, as above)."""
    ids = pl.col("cc").replace_strict(_CALLING_CODE_IDS, default=None, return_dtype=pl.UInt32)
    return ids.alias("zone_id")


def _by_prefix(e164: pl.Expr, lengths: tuple[int, ...]) -> pl.Expr:
    """The zone id of the longest of ``lengths`` digits after the "+" that is a known prefix.
    Each prefix is one slice of ``e164``: a slice of the digits taken first made polars cut
    the "+" off again for every length (3.5 of 19 CPU-ms per 100k-row batch)."""
    if not lengths:
        return pl.lit(None, dtype=pl.UInt32)
    return pl.coalesce(
        [
            e164.str.slice(1, length).replace_strict(
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
    looked up only at the lengths the present calling codes' prefixes have (seven for the
    six countries of bench/normalize.py, rather than nine), for all numbers at once: a length
    no prefix of a number's code has never matches its digits (a matching prefix would start
    with the code, or the code with it), so each number gets its code's answer. Looked up
    per calling code instead, a batch paid one plan and 1-1.5 ms per table lookup for each
    code, about 25 ms per batch whatever its rows (bench/normalize.py).
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
    codes = geo.get_column("cc").drop_nulls().unique().to_list()
    lengths = sorted({length for calling_code in codes for length in _prefix_lengths(calling_code)})
    plans = [
        geo.lazy().select("_row", _zone_of_prefix(tuple(reversed(lengths)))),
        rows.filter(~pl.col("_geo")).select("_row", _zone_of_code()),
    ]
    found = pl.concat(pl.collect_all(plans))
    return pl.repeat(None, numbers.height, dtype=pl.UInt32, eager=True).scatter(
        found.get_column("_row"), found.get_column("zone_id")
    )


def zone_lists() -> pl.Series:
    """The zone lists as a column: the list of zone id ``i`` is at position ``i``."""
    return pl.Series("zones", [list(zones) for zones in ZONE_LISTS], dtype=pl.List(pl.String))


_NOT_A_PLACE: Final = frozenset(
    {
        "EST",
        "MST",
        "HST",
        "UTC",
        "UCT",
        "GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Greenwich",
        "Universal",
        "Zulu",
        "Factory",
    }
)
"""IANA names of a fixed offset, not of a place's clock (with every ``Etc/`` name): a CRM's
"EST" means New York, but the IANA EST is UTC-5 all year, so a summer lead taken to be in it
would be called until 22:00 local (and "UTC", a system's default, puts a US lead's hours in the
night). Such a value is ``TIMEZONE_INVALID``, and the address, number or country gives the zone.
EST5EDT and the like follow daylight saving time and stay accepted."""


@functools.cache
def _iana_names() -> dict[str, str]:
    return {
        name.lower(): name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_A_PLACE and not name.startswith("Etc/")
    }


def canonical_timezones(values: pl.Expr) -> pl.Expr:
    """The canonical IANA spelling of each value, null when it is not an IANA zone name of a
    place (a fixed offset such as EST or UTC is none, see ``_NOT_A_PLACE``)."""
    return values.str.strip_chars(EDGE_JUNK).str.to_lowercase().replace_strict(_iana_names(), default=None)


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
def country_zones() -> dict[str, tuple[str, ...]]:
    """Region -> its zones in ``zone.tab``, the primary zone first."""
    by_country: dict[str, list[str]] = {}
    for line in _zone_tab().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            by_country.setdefault(fields[0], []).append(fields[2])
    ordered: dict[str, tuple[str, ...]] = {}
    for country, zones in by_country.items():
        primary = PRIMARY_ZONES.get(country, zones[0])
        ordered[country] = (primary, *(zone for zone in zones if zone != primary))
    return ordered


@functools.cache
def _one_clock(zones: tuple[str, ...]) -> bool:
    return _same_clock(list(zones))


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone -> the country ``zone.tab`` lists it for."""
    return {zone: country for country, zones in country_zones().items() for zone in zones}


@functools.cache
def _links() -> dict[str, str]:
    """Old or alias zone name -> the zone it is a link to (tzdata's ``L`` lines): the phone
    mapper still says America/Godthab where ``zone.tab`` says America/Nuuk."""
    try:
        text = importlib.resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    return {
        fields[2]: fields[1]
        for line in text.splitlines()
        if len(fields := line.split()) == 3 and fields[0] == "L"
    }


_POSIX_US_ZONES: Final = {
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
}
"""The US zones tzdata keeps under POSIX-style names, with the US rules of the city named here."""


def linked_zone(zone: str) -> str:
    """The zone of a place that ``zone`` keeps time with: the zone an old or alias name links to
    (US/Eastern: America/New_York, Asia/Calcutta: Asia/Kolkata), the US city whose rules a
    POSIX-style name follows (EST5EDT), else ``zone`` itself. A row's own zone is kept as
    written; what is looked up by place (a US state's zones) is compared through this."""
    return _POSIX_US_ZONES.get(zone) or _links().get(zone, zone)


def _most_plausible(zones: tuple[str, ...], region: str | None) -> str:
    """The zone to use of several: the region's primary zone when among them, else that of the
    country most of them belong to; failing both, the one that country lists first
    (``zone.tab`` order: Anchorage before Adak for an Alaskan number). Zones are compared
    through their links, so an old name counts as the zone it now is."""
    links = _links()
    first_linked = {links.get(zone, zone): zone for zone in reversed(zones)}

    def among(zone: str) -> str | None:
        """``zone`` as the candidates name it: by its own name, else by one linked to it."""
        return zone if zone in zones else first_linked.get(links.get(zone, zone))

    ordered = country_zones()
    if region in ordered and (primary := among(ordered[region][0])) is not None:
        return primary
    owners = _zone_countries()
    countries = Counter(owners.get(zone) or owners.get(links.get(zone, zone)) for zone in zones)
    for country, _ in countries.most_common():
        for zone in ordered.get(country or "", ()):
            if (listed := among(zone)) is not None:
                return listed
    return zones[0]


class ZoneChoice(NamedTuple):
    zone: str | None
    source: str
    candidates: tuple[str, ...]


def _agreeing(address: tuple[str, ...], number: tuple[str, ...]) -> tuple[str, ...]:
    """The address's zones the number also has; both, address first, when they share none."""
    if not number:
        return address
    shared = tuple(zone for zone in address if zone in number)
    return shared or (*address, *(zone for zone in number if zone not in address))


def choose_zone(
    row: str | None,
    postal: str | None,
    state: tuple[str, ...],
    number: tuple[str, ...],
    region: str | None,
) -> ZoneChoice:
    """One lead's zone, its source and its candidates (rules: the module docstring).

    ``row``: the row's canonical zone; ``postal``: its ZIP code's zone; ``state``: its state's
    zones, main first; ``number``: the zones of its first valid number; ``region``: its
    region (the row's country, else the number's)."""
    if row is not None:
        return ZoneChoice(row, "row", (row,))
    if postal is not None:
        return ZoneChoice(postal, "postal", _agreeing((postal,), number))
    if state:
        candidates = _agreeing(state, number)
        shared = tuple(zone for zone in state if zone in number) or state
        return ZoneChoice(candidates[0], "state" if _one_clock(shared) else "guess", candidates)
    if number:
        zone = _most_plausible(number, region)
        return ZoneChoice(zone, "number" if _one_clock(number) else "guess", number)
    zones = country_zones().get(region or "", ())
    if not zones:
        return ZoneChoice(None, "none", ())
    if _one_clock(zones):
        return ZoneChoice(zones[0], "country", zones[:1])
    return ZoneChoice(zones[0], "guess", zones)
