"""Country values as CRMs write them -> ISO 3166-1 alpha-2 region codes, as one vectorized lookup.

Lead files name the country every way there is: "DE", "DEU", "Germany", "Deutschland",
"ALEMANIA", "U.S.A.", "España"/"Espana", "Republic of Poland", "Korea, Republic of",
"Virgin Islands, British", "Eswatini", "The Netherlands". The phone parser needs the ISO-2
region, so this module folds a value to a key (Unicode NFKD, combining marks dropped, lower
case, "&" read as "and", "St." as "Saint", a leading "the" or trailing ", the" dropped, then
letters and digits only) and looks the key up in a table built once, on first use, from:

* pycountry (the ISO 3166 database, kept up to date with the standard): every country's
  alpha-2 and alpha-3 code, ISO short name, official name and common name, each also with
  its comma inverted ("Korea, Republic of" -> "Republic of Korea") and its bracket dropped or
  moved ("Bolivia (Plurinational State of)"); ISO 3166-3's withdrawn names where the
  standard names one successor ("Zaire" -> CD, "East Timor" -> TL, "Burma" -> MM);
  and the names in the languages of ``_LANGUAGES`` from the translations pycountry ships;
* the country names phonenumbers ships for its geocoder (``phonenumbers.geodata.locale``:
  English and about 30 other languages, so "Deutschland", "Allemagne", "Suiza", "Polska"),
* the codes phonenumbers knows beyond ISO 3166 (XK Kosovo, AC Ascension, TA Tristan da Cunha),
* ``_ALIASES``: the colloquial names, former names and abbreviations CRMs use ("UK", "Great
  Britain", "USA", "Holland", "Swaziland", "Macedonia"), which win over everything else.

"N/A" (with any punctuation between the letters) is no country, not Namibia's "NA".

A name that two sources give to different countries is dropped, not guessed: "Congo" alone,
"Guinea" spelled in some language as another's name. Codes win over names.

The lookup is a ``replace_strict`` on the distinct values of the column (a hash join against
the table): no Python per row. Building the table costs about 0.1 s, once per process.
"""

from __future__ import annotations

import functools
import gettext
import importlib.util
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import phonenumbers
import polars as pl
import pycountry

__all__ = ["country_key", "country_keys", "resolve_countries", "resolve_country", "resolve_country_values"]

_LANGUAGES: Final = ("de", "es", "fr", "it", "pt", "nl", "pl")
"""Languages whose pycountry translations are read: the languages of the markets our lead
files come from (phonenumbers' geocoder names cover about 30 more, short names only)."""

_NON_ISO_CODES: Final[dict[str, str]] = {"XK": "XK", "XKX": "XK", "AC": "AC", "TA": "TA"}
"""Regions phonenumbers supports that ISO 3166-1 does not list (Kosovo's user-assigned code)."""

_ALIASES: Final[dict[str, str]] = {
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "United Kingdom of Great Britain and Northern Ireland": "GB",
    "Großbritannien": "GB",
    "Vereinigtes Königreich": "GB",
    "Reino Unido": "GB",
    "Royaume-Uni": "GB",
    "USA": "US",
    "U.S.": "US",
    "United States of America": "US",
    "America": "US",
    "Vereinigte Staaten": "US",
    "Estados Unidos": "US",
    "EEUU": "US",
    "EE.UU.": "US",
    "États-Unis": "US",
    "Deutschland": "DE",
    "BRD": "DE",
    "Federal Republic of Germany": "DE",
    "España": "ES",
    "Spanien": "ES",
    "México": "MX",
    "Mexiko": "MX",
    "Brasil": "BR",
    "Brasilien": "BR",
    "Österreich": "AT",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Svizzera": "CH",
    "Switzerland": "CH",
    "Italia": "IT",
    "Italien": "IT",
    "Nederland": "NL",
    "Niederlande": "NL",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Países Bajos": "NL",
    "Frankreich": "FR",
    "Francia": "FR",
    "Belgique": "BE",
    "België": "BE",
    "Belgien": "BE",
    "Polska": "PL",
    "Polen": "PL",
    "Czech Republic": "CZ",
    "Czechia": "CZ",
    "Tschechien": "CZ",
    "Russia": "RU",
    "Russian Federation": "RU",
    "South Korea": "KR",
    "Korea": "KR",
    "Republic of Korea": "KR",
    "North Korea": "KP",
    "Türkiye": "TR",
    "Turkey": "TR",
    "Ivory Coast": "CI",
    "UAE": "AE",
    "Emirates": "AE",
    "KSA": "SA",
    "Indien": "IN",
    "Bharat": "IN",
    "Australien": "AU",
    "Oz": "AU",
    "Irland": "IE",
    "Éire": "IE",
    "Portugal": "PT",
    "Argentinien": "AR",
    "Kolumbien": "CO",
    "Perú": "PE",
    "Vietnam": "VN",
    "Hong Kong SAR": "HK",
    "Macau": "MO",
    "Taiwan": "TW",
    "Kosovo": "XK",
    "Swaziland": "SZ",
    "Macedonia": "MK",
    "FYROM": "MK",
    "Former Yugoslav Republic of Macedonia": "MK",
    "Cape Verde": "CV",
    "Burma": "MM",
    "Zaire": "CD",
    "DR Congo": "CD",
    "DRC": "CD",
    "Congo-Kinshasa": "CD",
    "Congo-Brazzaville": "CG",
    "Vatican": "VA",
    "Vatican City": "VA",
    "East Timor": "TL",
    "Laos": "LA",
    "Syria": "SY",
    "Brunei": "BN",
    "Palestine": "PS",
    "Micronesia": "FM",
    "St Kitts": "KN",
    "St Kitts & Nevis": "KN",
    "St Vincent": "VC",
    "St Maarten": "SX",
    "St Martin": "MF",
    "St Barts": "BL",
    "St Barths": "BL",
    "USVI": "VI",
    "BVI": "VG",
    "Curacao": "CW",
    "Ascension Island": "AC",
    "Tristan da Cunha": "TA",
}


def _locale_data() -> dict[str, dict[str, str]]:
    """phonenumbers' ``geodata.locale`` table, loaded alone: importing it as usual would first run
    ``phonenumbers.geodata/__init__``, which loads 19 MB of geocoder data we never use."""
    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    if spec is None or spec.loader is None:
        return {}
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data: dict[str, dict[str, str]] = module.LOCALE_DATA
    return data


_NOT_AVAILABLE: Final = r"(?i)^[^\p{L}\p{N}]*n[^\p{L}\p{N}]+a[^\p{L}\p{N}]*$"
""""N/A" and its spellings: an "n" and an "a" apart. Folded to letters alone they were "na",
Namibia's code, so a spreadsheet's placeholder read every national number of its rows as
Namibian (all PHONE_INVALID) and put the lead in Africa/Windhoek. A bare "NA" stays Namibia."""


def country_key(values: pl.Expr) -> pl.Expr:
    """Fold a country value to its lookup key (see the module docstring); a "not available"
    placeholder ("N/A", "n.a.", Excel's "#N/A") folds to the blank key, not to Namibia's "na"."""
    return (
        values.str.replace(_NOT_AVAILABLE, "")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.to_lowercase()
        .str.replace_all("&", " and ")
        .str.replace_all(r"\bst\b\.?\s*(\p{L})", "saint $${1}")
        .str.replace(r"^[^\p{L}\p{N}]*the\b", "")
        .str.replace(r",\s*the[^\p{L}\p{N}]*$", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", "")
    )


def _fold(texts: list[str]) -> list[str | None]:
    return (
        pl.Series(texts, dtype=pl.String).to_frame("v").select(country_key(pl.col("v"))).to_series().to_list()
    )


_BRACKET: Final = re.compile(r"^(.*?)\s*\((.*)\)\s*$")


def _spellings(name: str) -> Iterator[str]:
    """A library name and the ways people write it: "Korea, Republic of" also as "Republic of
    Korea", "Bolivia (Plurinational State of)" also as "Bolivia" and "Plurinational State of Bolivia"."""
    yield name
    bracket = _BRACKET.match(name)
    if bracket:
        outside, inside = bracket.groups()
        yield outside
        yield f"{inside} {outside}"
        name = outside
    if ", " in name:
        head, tail = name.split(", ", 1)
        yield head
        yield f"{tail} {head}"


def _pycountry_names() -> Iterator[tuple[str, str]]:
    """(name, ISO-2) from pycountry: current names, their translations, withdrawn names."""
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
        for language in _LANGUAGES
    ]
    for country in pycountry.countries:
        region = country.alpha_2
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if not name:
                continue
            for translation in [None, *translations]:
                text = name if translation is None else translation.gettext(name)
                yield from ((spelling, region) for spelling in _spellings(text))
    current = {country.alpha_2 for country in pycountry.countries}
    for withdrawn in pycountry.historic_countries:
        code = getattr(withdrawn, "alpha_4", "")
        successor = code[:2] if code[2:] == "AA" else code[2:]
        if successor in current:  # "HH"/"XX": no single successor, and no guess
            yield from ((spelling, successor) for spelling in _spellings(withdrawn.name))


def _geocoder_names() -> Iterator[tuple[str, str]]:
    for region, by_language in _locale_data().items():
        if len(region) == 2 and region.isalpha():
            yield from ((name, region) for name in by_language.values() if not name.startswith("*"))


def _unambiguous(names: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Folded name -> region, without the keys two names give to different regions."""
    pairs = sorted(set(names))
    candidates: dict[str, set[str]] = {}
    for key, (_, region) in zip(_fold([name for name, _ in pairs]), pairs, strict=True):
        if key:
            candidates.setdefault(key, set()).add(region)
    return {key: next(iter(regions)) for key, regions in candidates.items() if len(regions) == 1}


@functools.cache
def _code_keys() -> dict[str, str]:
    """The keys of :func:`country_keys` that a code or an alias gives (folded -> ISO-2): they win
    over every name, so where a key is one of these, this small table answers as the whole one
    does (built in ~10 ms, where the names cost ~0.1 s)."""
    codes: dict[str, str] = dict(_NON_ISO_CODES)
    for country in pycountry.countries:
        codes |= {country.alpha_2: country.alpha_2, country.alpha_3: country.alpha_2}
    codes |= {region: region for region in phonenumbers.SUPPORTED_REGIONS}
    table: dict[str, str] = {}
    for given in (codes, _ALIASES):
        table |= {key: region for key, region in zip(_fold(list(given)), given.values(), strict=True) if key}
    return table


@functools.cache
def country_keys() -> dict[str, str]:
    """Folded country key -> ISO-2 region (built once per process)."""
    return _unambiguous([*_pycountry_names(), *_geocoder_names()]) | _code_keys()


def _as_columns(table: dict[str, str]) -> tuple[pl.Series, pl.Series]:
    return pl.Series(list(table), dtype=pl.String), pl.Series(list(table.values()), dtype=pl.String)


@functools.cache
def _country_table() -> tuple[pl.Series, pl.Series]:
    """:func:`country_keys` as two columns, converted once: as a dict, its 5,600 entries were
    turned into polars' columns again by every call (2 ms per batch of a file)."""
    return _as_columns(country_keys())


@functools.cache
def _code_table() -> tuple[pl.Series, pl.Series]:
    """:func:`_code_keys` as two columns (as :func:`_country_table`)."""
    return _as_columns(_code_keys())


def resolve_countries(values: pl.Expr) -> pl.Expr:
    """ISO-2 region for each country value; null when the value is null, blank or not recognised."""
    keys, regions = _country_table()
    return country_key(values).replace_strict(keys, regions, default=None, return_dtype=pl.String)


def resolve_country_values(values: pl.Series) -> pl.Series:
    """``resolve_countries`` of ``values`` (a column's distinct values), named as they are.

    When none is given (no country column, or an empty one) every answer is null without a
    table: a file without countries does not pay its 0.3 s. When every value given is a code
    or an alias ("US", "DEU", "UK"; blank ones aside) the small table of those answers
    (:func:`_code_keys`): a file that writes its countries as codes does not build the names."""
    if values.null_count() == values.len():
        return pl.Series(values.name, [None] * values.len(), dtype=pl.String)
    keys = values.to_frame().select(country_key(pl.col(values.name))).to_series()
    known, regions = _code_table()
    given = keys.filter(keys.str.len_bytes() > 0)
    if not given.is_in(known.implode()).all():
        known, regions = _country_table()
    return keys.replace_strict(known, regions, default=None, return_dtype=pl.String)


def resolve_country(value: str | None) -> str | None:
    """The scalar form of ``resolve_countries`` (for a run's default region)."""
    if value is None:
        return None
    return resolve_country_values(pl.Series("country", [value], dtype=pl.String)).item()  # type: ignore[no-any-return]
