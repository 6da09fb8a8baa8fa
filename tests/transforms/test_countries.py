"""Country values as CRMs write them resolve to the ISO-2 region, in bulk and without guessing."""

from __future__ import annotations

import phonenumbers
import polars as pl
import pycountry
import pytest

from transforms.countries import resolve_countries, resolve_country, resolve_country_values

COUNTRIES = [
    ("DE", "DE"),
    ("de", "DE"),
    ("DEU", "DE"),
    ("Germany", "DE"),
    ("Deutschland", "DE"),
    ("ALEMANIA", "DE"),
    ("Allemagne", "DE"),
    ("España", "ES"),
    ("Espana", "ES"),
    ("ESP", "ES"),
    ("Spain", "ES"),
    ("UK", "GB"),
    ("U.K.", "GB"),
    ("Great Britain", "GB"),
    ("United Kingdom", "GB"),
    ("GBR", "GB"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("United States", "US"),
    ("United States of America", "US"),
    ("Estados Unidos", "US"),
    ("México", "MX"),
    ("mexico", "MX"),
    ("Brasil", "BR"),
    ("Brazil", "BR"),
    ("Österreich", "AT"),
    ("Osterreich", "AT"),
    ("AUT", "AT"),
    ("Schweiz", "CH"),
    ("Suisse", "CH"),
    ("Svizzera", "CH"),
    ("Italia", "IT"),
    ("Nederland", "NL"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("France", "FR"),
    ("  fRaNcE  ", "FR"),
    ("Australia", "AU"),
    ("India", "IN"),
    ("IND", "IN"),
    ("Polska", "PL"),
    ("Türkiye", "TR"),
    ("Côte d'Ivoire", "CI"),
]


@pytest.mark.parametrize(("value", "region"), COUNTRIES)
def test_codes_names_and_local_names_resolve_to_iso2(value: str, region: str) -> None:
    assert resolve_country(value) == region


@pytest.mark.parametrize("value", ["Atlantis", "", "   ", "--", "Europe", "XX", "ZZZ"])
def test_values_that_are_not_a_country_resolve_to_nothing(value: str) -> None:
    assert resolve_country(value) is None


@pytest.mark.parametrize("value", ["N/A", "n/a", "#N/A", "n.a.", " N / A ", "(n/a)", "N-A"])
def test_a_not_available_placeholder_is_no_country_not_namibia(value: str) -> None:
    assert resolve_country(value) is None
    column = pl.DataFrame({"country": [value, "NA", "Namibia"]}).select(resolve_countries(pl.col("country")))
    assert column.to_series().to_list() == [None, "NA", "NA"]


def test_every_region_phonenumbers_supports_resolves_from_its_own_code() -> None:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    resolved = pl.DataFrame({"country": regions}).select(resolve_countries(pl.col("country")))
    assert resolved.to_series().to_list() == regions


def test_resolution_is_a_column_operation_that_keeps_nulls_and_order() -> None:
    values = pl.Series("country", ["Deutschland", None, "usa", "Atlantis", "BRA"])
    out = pl.DataFrame(values).select(resolve_countries(pl.col("country")))
    assert out.to_series().to_list() == ["DE", None, "US", None, "BR"]


ISO_AND_OFFICIAL_SPELLINGS = [
    ("Republic of Poland", "PL"),
    ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"),
    ("Korea, Democratic People's Republic of", "KP"),
    ("Virgin Islands, British", "VG"),
    ("British Virgin Islands", "VG"),
    ("Virgin Islands, U.S.", "VI"),
    ("US Virgin Islands", "VI"),
    ("Eswatini", "SZ"),
    ("Swaziland", "SZ"),
    ("North Macedonia", "MK"),
    ("Republic of North Macedonia", "MK"),
    ("Bolivia (Plurinational State of)", "BO"),
    ("Plurinational State of Bolivia", "BO"),
    ("Iran, Islamic Republic of", "IR"),
    ("Congo, The Democratic Republic of the", "CD"),
    ("Democratic Republic of the Congo", "CD"),
    ("Tanzania, United Republic of", "TZ"),
    ("Micronesia, Federated States of", "FM"),
    ("Falkland Islands (Malvinas)", "FK"),
    ("Netherlands, The", "NL"),
    ("the Gambia", "GM"),
    ("St. Lucia", "LC"),
    ("St Kitts & Nevis", "KN"),
    ("Kingdom of Spain", "ES"),
    ("Zaire", "CD"),
    ("East Timor", "TL"),
    ("Cabo Verde", "CV"),
    ("Viet Nam", "VN"),
    ("Rzeczpospolita Polska", "PL"),
    ("Bundesrepublik Deutschland", "DE"),
]


@pytest.mark.parametrize(("value", "region"), ISO_AND_OFFICIAL_SPELLINGS)
def test_official_iso_inverted_bracketed_and_current_names_resolve(value: str, region: str) -> None:
    assert resolve_country(value) == region


def test_every_iso_short_official_and_common_name_resolves_to_its_country() -> None:
    # "Congo" is ISO's short name of CG, and how people shorten CD ("Congo, The Democratic
    # Republic of the"): not guessed
    names = [
        (name, country.alpha_2)
        for country in pycountry.countries
        for attribute in ("name", "official_name", "common_name")
        if (name := getattr(country, attribute, None)) and name != "Congo"
    ]
    out = pl.DataFrame({"value": [n for n, _ in names], "want": [r for _, r in names]}).with_columns(
        got=resolve_countries(pl.col("value"))
    )
    wrong = out.filter(pl.col("got").ne_missing(pl.col("want")))
    assert wrong.height == 0, wrong


@pytest.mark.parametrize("value", ["Congo", "ST", "The", "Saint"])
def test_ambiguous_names_are_not_guessed_and_codes_stay_codes(value: str) -> None:
    assert resolve_country(value) == {"Congo": None, "ST": "ST", "The": None, "Saint": None}[value]


def test_values_given_as_codes_or_aliases_resolve_as_the_whole_table_resolves_them() -> None:
    """resolve_country_values answers a column of codes and aliases from the small table of
    those (transforms.countries._code_keys, no names built): the same regions as the whole
    table, for every code and alias, alone, with blanks and nulls, and mixed with names."""
    codes = [code for country in pycountry.countries for code in (country.alpha_2, country.alpha_3)]
    aliases = [
        "UK",
        "U.K.",
        "usa",
        "EE.UU.",
        "Holland",
        "Kosovo",
        "XKX",
        "AC",
        "TA",
        *sorted(phonenumbers.SUPPORTED_REGIONS),
    ]
    for given in (
        codes,
        aliases,
        [*aliases, "", "  ", None],
        ["DE", "Deutschland", None, "Narnia"],
        ["Narnia"],
    ):
        values = pl.Series("country", given, dtype=pl.String)
        whole = values.to_frame().select(resolve_countries(pl.col("country"))).to_series()
        assert resolve_country_values(values).to_list() == whole.to_list()
        assert resolve_country_values(values).name == "country"
