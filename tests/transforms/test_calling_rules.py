"""The shipped calling-hours rules say what their sources say, and a targets-file table reads as written."""

from __future__ import annotations

from datetime import date

import pytest

from transforms.calling_rules import PROFILES, UNVERIFIED_US_STATES, US_STATE_RULES, holiday_dates, profile_of


def _hours(span: tuple[int, int] | None) -> str | None:
    return (
        None if span is None else f"{span[0] // 60:02}:{span[0] % 60:02}-{span[1] // 60:02}:{span[1] % 60:02}"
    )


def test_the_federal_rule_is_8_to_21_every_day_per_tcpa_and_tsr() -> None:
    (rule,) = PROFILES["us-tcpa"].rules
    assert [_hours(day) for day in rule.days] == ["08:00-21:00"] * 7
    assert "64.1200(c)(1)" in rule.source and "310.4(c)" in rule.source
    assert rule.holidays is None


@pytest.mark.parametrize(
    ("state", "weekday", "sunday", "source"),
    [
        ("FL", "08:00-20:00", "08:00-20:00", "501.616(6)(a)"),
        ("WA", "08:00-20:00", "08:00-20:00", "80.36.390"),
        ("TX", "09:00-21:00", "12:00-21:00", "301.051"),
    ],
)
def test_stricter_state_hours_follow_their_statute(
    state: str, weekday: str, sunday: str, source: str
) -> None:
    rule = US_STATE_RULES[state]
    assert _hours(rule.days[0]) == weekday and _hours(rule.days[6]) == sunday
    assert source in rule.source
    assert PROFILES["us-tcpa"].by_state[state] == (rule,)


def test_every_rule_names_its_source_and_unverified_ones_apply_only_in_the_strict_profile() -> None:
    for rule in [*US_STATE_RULES.values(), *UNVERIFIED_US_STATES.values()]:
        assert rule.source
    for state in UNVERIFIED_US_STATES:
        assert "unverified" in UNVERIFIED_US_STATES[state].source
        assert state not in PROFILES["us-tcpa"].by_state
        assert state in PROFILES["us-tcpa-strict"].by_state


def test_uk_and_germany_close_on_sundays_and_on_every_regions_holidays() -> None:
    uk, de = PROFILES["uk"].rules[0], PROFILES["de"].rules[0]
    assert uk.days[6] is None and de.days[6] is None
    assert _hours(uk.days[5]) == "09:00-17:00" and _hours(de.days[0]) == "09:00-20:00"
    assert date(2026, 11, 30) in holiday_dates("GB", "*", 2026)  # St Andrew's Day, Scotland only
    assert date(2026, 1, 6) in holiday_dates("DE", "*", 2026)  # Epiphany, three Laender only
    assert date(2026, 1, 6) not in holiday_dates("DE", (), 2026)


def test_a_table_adds_hours_state_and_country_rules_to_a_named_base() -> None:
    profile = profile_of(
        {
            "base": "us-tcpa",
            "hours": {"mon": "09:00-19:00", "sat": "10:00-14:00"},
            "holidays": "us",
            "states": {"ny": {"hours": "10:00-18:00", "source": "house rule"}},
            "countries": {"GB": {"hours": "09:00-17:00"}},
            "unknown_state": "ignore",
        }
    )
    table_rule = profile.rules[-1]
    assert [_hours(day) for day in table_rule.days] == [
        "09:00-19:00",
        None,
        None,
        None,
        None,
        "10:00-14:00",
        None,
    ]
    assert table_rule.holidays == "US" and table_rule.holiday_hours is None
    assert _hours(profile.by_state["NY"][0].days[3]) == "10:00-18:00"
    assert profile.by_state["FL"] == PROFILES["us-tcpa"].by_state["FL"]
    assert "GB" in profile.by_country and profile.unknown_state == "ignore"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("us", "unknown compliance profile"),
        ({"hours": "8-21"}, "HH:MM-HH:MM"),
        ({"hours": "21:00-08:00"}, "start must be before end"),
        ({"hours": {"monday": "08:00-21:00"}}, "unknown day"),
        ({"holidays": "XX"}, "not a country"),
        ({"hourz": "08:00-21:00"}, "unknown key"),
        ({"base": "nope"}, "unknown compliance profile"),
        ({"unknown_state": "maybe"}, "unknown_state"),
    ],
)
def test_a_wrong_table_is_refused_naming_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        profile_of(value)  # type: ignore[arg-type]
