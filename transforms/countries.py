"""Country values as CRMs write them -> ISO 3166-1 alpha-2 region codes, as one vectorized lookup.

Lead files name the country every way there is: "DE", "DEU", "Germany", "Deutschland",
"ALEMANIA", "U.S.A.", "España"/"Espana". The phone parser needs the ISO-2 region, so this module
folds a value to a key (Unicode NFKD, combining marks dropped, lower case, letters and digits
only) and looks the key up in a table built once at import from:

* the ISO-2 and ISO-3 codes (ISO-3 table below; every region phonenumbers supports is covered),
* the country names phonenumbers ships for its geocoder (``phonenumbers.geodata.locale``:
  English and about 30 other languages, so "Deutschland", "Allemagne", "Suiza", "Polska"),
  minus any key that two languages give to different countries,
* ``_ALIASES``: the colloquial names and abbreviations CRMs use ("UK", "Great Britain", "USA",
  "Holland", "Brasil"), which win over everything else.

The lookup is a ``replace_strict`` on the distinct values of the column: no Python per row.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

import phonenumbers
import polars as pl

__all__ = ["COUNTRY_KEYS", "country_key", "resolve_countries", "resolve_country"]

_ISO3: Final = (
    "AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AO AGO AQ ATA AR ARG AS ASM AT AUT AU AUS "
    "AW ABW AX ALA AZ AZE BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI BJ BEN BL BLM "
    "BM BMU BN BRN BO BOL BQ BES BR BRA BS BHS BT BTN BV BVT BW BWA BY BLR BZ BLZ CA CAN CC CCK "
    "CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM CMR CN CHN CO COL CR CRI CU CUB CV CPV "
    "CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA DO DOM DZ DZA EC ECU EE EST EG EGY "
    "EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK FM FSM FO FRO FR FRA GA GAB GB GBR GD GRD "
    "GE GEO GF GUF GG GGY GH GHA GI GIB GL GRL GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS GT GTM "
    "GU GUM GW GNB GY GUY HK HKG HM HMD HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR IM IMN "
    "IN IND IO IOT IQ IRQ IR IRN IS ISL IT ITA JE JEY JM JAM JO JOR JP JPN KE KEN KG KGZ KH KHM "
    "KI KIR KM COM KN KNA KP PRK KR KOR KW KWT KY CYM KZ KAZ LA LAO LB LBN LC LCA LI LIE LK LKA "
    "LR LBR LS LSO LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME MNE MF MAF MG MDG MH MHL "
    "MK MKD ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV MW MWI "
    "MX MEX MY MYS MZ MOZ NA NAM NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL NR NRU "
    "NU NIU NZ NZL OM OMN PA PAN PE PER PF PYF PG PNG PH PHL PK PAK PL POL PM SPM PN PCN PR PRI "
    "PS PSE PT PRT PW PLW PY PRY QA QAT RE REU RO ROU RS SRB RU RUS RW RWA SA SAU SB SLB SC SYC "
    "SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK SVK SL SLE SM SMR SN SEN SO SOM SR SUR SS SSD "
    "ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF TG TGO TH THA TJ TJK TK TKL TL TLS "
    "TM TKM TN TUN TO TON TR TUR TT TTO TV TUV TW TWN TZ TZA UA UKR UG UGA UM UMI US USA UY URY "
    "UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR VN VNM VU VUT WF WLF WS WSM XK XKX YE YEM YT MYT "
    "ZA ZAF ZM ZMB ZW ZWE"
)

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


def country_key(values: pl.Expr) -> pl.Expr:
    """Fold a country value to its lookup key: accents dropped, lower case, letters/digits only."""
    return (
        values.str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", "")
    )


def _fold(texts: list[str]) -> list[str | None]:
    return (
        pl.Series(texts, dtype=pl.String).to_frame("v").select(country_key(pl.col("v"))).to_series().to_list()
    )


def _build_table() -> dict[str, str]:
    locale_data = _locale_data()
    iso3 = _ISO3.split()
    codes: dict[str, str] = {iso3[i]: iso3[i] for i in range(0, len(iso3), 2)}
    codes |= {iso3[i + 1]: iso3[i] for i in range(0, len(iso3), 2)}
    codes |= {region: region for region in locale_data if len(region) == 2 and region.isalpha()}
    codes |= {region: region for region in phonenumbers.SUPPORTED_REGIONS}

    names: list[tuple[str, str]] = []
    for region, by_language in locale_data.items():
        if len(region) != 2 or not region.isalpha():
            continue
        names += [(name, region) for name in by_language.values() if not name.startswith("*")]
    name_keys = _fold([name for name, _ in names])
    candidates: dict[str, set[str]] = {}
    for key, (_, region) in zip(name_keys, names, strict=True):
        if key:
            candidates.setdefault(key, set()).add(region)
    table = {key: next(iter(regions)) for key, regions in candidates.items() if len(regions) == 1}

    code_keys = _fold(list(codes))
    table |= {key: region for key, region in zip(code_keys, codes.values(), strict=True) if key}
    alias_keys = _fold(list(_ALIASES))
    table |= {key: region for key, region in zip(alias_keys, _ALIASES.values(), strict=True) if key}
    return table


COUNTRY_KEYS: Final[dict[str, str]] = _build_table()
"""Folded country key -> ISO-2 region."""


def resolve_countries(values: pl.Expr) -> pl.Expr:
    """ISO-2 region for each country value; null when the value is null, blank or not recognised."""
    return country_key(values).replace_strict(COUNTRY_KEYS, default=None, return_dtype=pl.String)


def resolve_country(value: str | None) -> str | None:
    """The scalar form of ``resolve_countries`` (for a run's default region)."""
    if value is None:
        return None
    return pl.select(resolve_countries(pl.lit(value, dtype=pl.String))).item()  # type: ignore[no-any-return]
