"""Zones of leads: the row's, then the US address's, then the number's; guesses marked as such,
the primary zone of the country rather than the alphabetically first, every candidate kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.transforms.test_phones import raw_leads
from transforms.phones import normalize_phones
from transforms.timezones import PRIMARY_ZONES, choose_zone, country_zones


def _zone(row: dict[str, Any]) -> tuple[str | None, str, list[str]]:
    out = normalize_phones(raw_leads(row), None).row(0, named=True)
    return out["timezone"], out["timezone_source"], out["timezone_candidates"]


MOBILES_OF_SEVERAL_ZONES = [
    # (number, the zone chosen, a candidate that must stay listed)
    ("+34 612 345 678", "Europe/Madrid", "Atlantic/Canary"),
    ("+351 912 345 678", "Europe/Lisbon", "Atlantic/Azores"),
    ("+61 412 345 678", "Australia/Sydney", "Australia/Perth"),
    ("+1 800 356 9377", "America/New_York", "America/Adak"),
]


@pytest.mark.parametrize(("number", "chosen", "candidate"), MOBILES_OF_SEVERAL_ZONES)
def test_a_number_of_several_zones_is_a_guess_of_the_primary_zone_with_every_candidate(
    number: str, chosen: str, candidate: str
) -> None:
    zone, source, candidates = _zone({"phone1": number})
    assert (zone, source) == (chosen, "guess")
    assert chosen in candidates and candidate in candidates


def test_the_rows_own_zone_wins_over_address_and_number() -> None:
    zone = _zone(
        {
            "phone1": "+1 212 555 0123",
            "country": "US",
            "timezone": "america/denver",
            "attributes": [{"name": "ZIP", "value": "77429"}],
        }
    )
    assert zone == ("America/Denver", "row", ["America/Denver"])


def test_a_us_zip_code_gives_the_zone_and_a_disagreeing_number_stays_a_candidate() -> None:
    zone = _zone(
        {"phone1": "+1 212 555 0123", "country": "US", "attributes": [{"name": "Zip Code", "value": "77429"}]}
    )
    assert zone == ("America/Chicago", "postal", ["America/Chicago", "America/New_York"])


@pytest.mark.parametrize("written", ["2134", "02134", "2134.0", "02134-1234"])
def test_a_zip_code_a_spreadsheet_damaged_or_extended_still_counts(written: str) -> None:
    zone = _zone(
        {"phone1": "+1 415 555 2671", "country": "US", "attributes": [{"name": "zip", "value": written}]}
    )
    assert zone == ("America/New_York", "postal", ["America/New_York", "America/Los_Angeles"])


def test_a_state_of_two_zones_is_narrowed_by_the_number_it_agrees_with() -> None:
    zone = _zone(
        {"phone1": "+1 512 555 0123", "country": "US", "attributes": [{"name": "State", "value": "Texas"}]}
    )
    assert zone == ("America/Chicago", "state", ["America/Chicago"])


def test_a_state_of_one_zone_decides_and_a_state_that_disagrees_keeps_all_candidates() -> None:
    california = _zone(
        {"phone1": "+1 212 555 0123", "country": "US", "attributes": [{"name": "st", "value": "ca"}]}
    )
    assert california == ("America/Los_Angeles", "state", ["America/Los_Angeles", "America/New_York"])
    texas, source, candidates = _zone(
        {"phone1": "+1 212 555 0123", "country": "US", "attributes": [{"name": "State", "value": "TX"}]}
    )
    assert (texas, source) == ("America/Chicago", "guess")
    assert set(candidates) == {"America/Chicago", "America/Denver", "America/New_York"}


def test_an_unknown_zip_code_or_state_is_a_row_issue_and_the_number_decides() -> None:
    out = normalize_phones(
        raw_leads(
            {
                "phone1": "+1 212 555 0123",
                "country": "US",
                "attributes": [{"name": "ZIP", "value": "99999"}, {"name": "State", "value": "Narnia"}],
            }
        ),
        None,
    ).row(0, named=True)
    assert (out["timezone"], out["timezone_source"]) == ("America/New_York", "number")
    assert [issue["code"] for issue in out["issues"]] == ["POSTAL_CODE_UNKNOWN", "STATE_UNKNOWN"]
    assert out["issues"][0]["value"] == "99999"


def test_a_german_postcode_is_not_read_as_a_us_zip_code() -> None:
    zone = _zone(
        {"phone1": "+49 30 1234567", "country": "DE", "attributes": [{"name": "PLZ", "value": "10115"}]}
    )
    assert zone == ("Europe/Berlin", "number", ["Europe/Berlin"])
    zone = _zone(
        {
            "phone1": "+49 30 1234567",
            "country": "DE",
            "attributes": [{"name": "Postal Code", "value": "77429"}],
        }
    )
    assert zone == ("Europe/Berlin", "number", ["Europe/Berlin"])


def test_every_country_of_several_zones_has_a_primary_zone_among_its_own() -> None:
    several = {country for country, zones in country_zones().items() if len(zones) > 1}
    assert several == set(PRIMARY_ZONES)
    assert all(PRIMARY_ZONES[country] in country_zones()[country] for country in several)


def test_a_guess_is_never_the_alphabetically_first_zone_when_the_primary_is_a_candidate() -> None:
    for country, primary in PRIMARY_ZONES.items():
        zones = tuple(sorted(country_zones()[country]))
        choice = choose_zone(None, None, (), zones, None)
        assert choice.zone == primary, country
        assert choice.candidates == zones


def test_an_old_zone_name_counts_as_the_primary_zone_it_now_links_to() -> None:
    # the phone mapper says America/Godthab, zone.tab America/Nuuk: one zone
    choice = choose_zone(
        None, None, (), ("America/Danmarkshavn", "America/Godthab", "America/Scoresbysund"), None
    )
    assert choice.zone == "America/Godthab"


def test_a_caribbean_number_without_a_country_prefers_its_own_islands_zone() -> None:
    zone, source, candidates = _zone({"phone1": "+1 473 403 1021"})
    assert (zone, source) == ("America/Grenada", "guess")
    assert "America/Adak" in candidates


def test_a_toll_free_number_every_nanp_region_accepts_prefers_the_rows_country() -> None:
    assert _zone({"phone1": "+1 800 212 3554", "country": "Canada"})[:2] == ("America/Toronto", "guess")
    assert _zone({"phone1": "+1 800 212 3554"})[:2] == ("America/New_York", "guess")
