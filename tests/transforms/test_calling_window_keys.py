"""Rows of the same zones, state and country share one window, found by a hash of the
combination (transforms.calling_windows): it must give every row exactly the window computed
for that row on its own, whatever the order or repetition of its zones, and the exact way
(the zones joined into one string) taken when the hashes collide must give the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.frames import clean_leads
from transforms.calling_rules import PROFILES, Profile
from transforms.calling_windows import (
    _windows_by_join,
    lead_rules,
    next_window,
    with_call_windows,
)
from transforms.us_zones import US_REGIONS

POOL = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Guam",
    "America/St_Johns",
    "Europe/Madrid",
    "Atlantic/Canary",
    "Europe/London",
    "Australia/Lord_Howe",
    "Nowhere/Atlantis",  # no such zone: no window
]
zone_lists = st.one_of(st.none(), st.lists(st.sampled_from(POOL), max_size=5))
places = st.sampled_from(
    [("US", "FL"), ("US", "TX"), ("US", None), ("PR", None), ("GB", None), ("ES", "FL"), (None, None)]
)


def _frame(rows: list[tuple[list[str] | None, tuple[str | None, str | None]]]) -> pl.DataFrame:
    leads: list[dict[str, Any]] = [
        {
            "country": country,
            "timezone_candidates": zones,
            "attributes": [] if state is None else [{"name": "state", "value": state}],
        }
        for zones, (country, state) in rows
    ]
    return clean_leads(leads)


def _by_row(
    rows: list[tuple[list[str] | None, tuple[str | None, str | None]]], profile: Profile, reference: datetime
) -> list[tuple[datetime, datetime] | None]:
    """Each row's window computed on its own (a state is read on US rows only)."""
    return [
        next_window(
            zones, lead_rules(profile, country, state if country in US_REGIONS else None, zones), reference
        )
        if zones
        else None
        for zones, (country, state) in rows
    ]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    zone_sets=st.lists(zone_lists, min_size=1, max_size=3),
    profile=st.sampled_from(list(PROFILES.values())),
    reference=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_rows_grouped_by_hash_get_the_window_of_their_own_zones(
    data: st.DataObject,
    zone_sets: list[list[str] | None],
    profile: Profile,
    reference: datetime,
) -> None:
    # many rows of a few zone lists, each row's in its own order, in several places (the same
    # zones in Florida and in Texas, in the US and in Spain)
    rows = [
        (None if zones is None else data.draw(st.permutations(zones)), data.draw(places))
        for zones in data.draw(st.lists(st.sampled_from(zone_sets), min_size=1, max_size=40))
    ]
    windows = with_call_windows(_frame(rows), profile, reference)
    assert windows.get_column("source_row").to_list() == list(range(1, len(rows) + 1))
    expected = _by_row(rows, profile, reference)
    assert list(windows.select("call_window_start", "call_window_end").iter_rows()) == [
        w if w else (None, None) for w in expected
    ]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(zone_lists, places), min_size=1, max_size=30),
    profile=st.sampled_from(list(PROFILES.values())),
)
def test_the_exact_way_taken_on_a_collision_gives_the_same_windows(
    rows: list[tuple[list[str] | None, tuple[str | None, str | None]]], profile: Profile
) -> None:
    reference = datetime(2026, 12, 4, 17, tzinfo=UTC)
    keys = pl.DataFrame(
        {
            "_zones": [zones for zones, _ in rows],
            "_state": [state if country in US_REGIONS else None for _, (country, state) in rows],
            "_country": [country for _, (country, _) in rows],
        },
        schema={"_zones": pl.List(pl.String), "_state": pl.String, "_country": pl.String},
    )
    exact = _windows_by_join(keys, profile, reference)
    expected = _by_row(rows, profile, reference)
    assert list(exact.iter_rows()) == [w if w else (None, None) for w in expected]
