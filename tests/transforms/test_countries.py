"""Country values as CRMs write them resolve to the ISO-2 region, in bulk and without guessing."""

from __future__ import annotations

import phonenumbers
import polars as pl
import pytest

from transforms.countries import resolve_countries, resolve_country

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


def test_every_region_phonenumbers_supports_resolves_from_its_own_code() -> None:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    resolved = pl.DataFrame({"country": regions}).select(resolve_countries(pl.col("country")))
    assert resolved.to_series().to_list() == regions


def test_resolution_is_a_column_operation_that_keeps_nulls_and_order() -> None:
    values = pl.Series("country", ["Deutschland", None, "usa", "Atlantis", "BRA"])
    out = pl.DataFrame(values).select(resolve_countries(pl.col("country")))
    assert out.to_series().to_list() == ["DE", None, "US", None, "BR"]
