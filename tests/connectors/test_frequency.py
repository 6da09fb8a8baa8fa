"""The frequency guardrail's decision and its setting: no person over the limit, nobody held back
without cause, and a targets file that says what it means (or says where it is wrong)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.config import ConfigError, load_targets
from connectors.frequency import Event, FrequencyLimit, decide, person_keys

TARGET = """
[targets.{name}]
kind = "sinch_obi"
base_url = "http://127.0.0.1:8765/obi"
campaign = "{name}"
"""

leads = st.lists(
    st.tuples(
        st.integers(1, 3),  # target id
        st.integers(0, 12),  # lead number (its external id)
        st.lists(st.integers(0, 5), max_size=3, unique=True),  # person keys
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(sends=leads, maximum=st.integers(1, 3), by_targets=st.booleans(), chunk=st.integers(1, 7))
def test_no_person_is_sent_over_the_limit_and_none_is_held_back_below_it(
    sends: list[tuple[int, int, list[int]]], maximum: int, by_targets: bool, chunk: int
) -> None:
    limit = FrequencyLimit(
        max_contacts=maximum, within_hours=24, count="targets" if by_targets else "contacts"
    )
    recorded: dict[int, set[Event]] = defaultdict(set)
    for start in range(0, len(sends), chunk):
        part = sends[start : start + chunk]
        for target in {t for t, _, _ in part}:  # a chunk is one target's
            mine = [(f"lead-{n}", keys) for t, n, keys in part if t == target]
            verdicts = decide(target, [e for e, _ in mine], [k for _, k in mine], recorded, limit)
            for (external_id, keys), ok in zip(mine, verdicts, strict=True):
                before = set().union(*(recorded[k] for k in keys)) - {(target, external_id)}
                reached = (
                    len({t for t, _ in before} | {target}) > maximum if by_targets else len(before) >= maximum
                )
                assert ok != reached, (external_id, keys, before)
                if ok:
                    for key in keys:
                        recorded[key].add((target, external_id))
    for events in recorded.values():
        counted = {t for t, _ in events} if by_targets else events
        assert len(counted) <= maximum


def test_two_leads_of_one_chunk_sharing_a_person_count_each_other() -> None:
    limit = FrequencyLimit(max_contacts=1, within_days=1)
    assert decide(1, ["a", "b", "c"], [(7,), (8, 7), (9,)], {}, limit) == [True, False, True]


def test_the_same_lead_again_at_the_same_target_is_no_new_contact() -> None:
    limit = FrequencyLimit(max_contacts=1, within_hours=24)
    assert decide(1, ["a"], [(7,)], {7: {(1, "a")}}, limit) == [True]
    assert decide(2, ["a"], [(7,)], {7: {(1, "a")}}, limit) == [False]


def test_counting_targets_lets_a_person_go_again_to_a_target_it_already_got() -> None:
    limit = FrequencyLimit(max_contacts=2, within_hours=24, count="targets")
    recent = {7: {(1, "a"), (2, "b")}}
    assert decide(1, ["c"], [(7,)], recent, limit) == [True]
    assert decide(3, ["c"], [(7,)], recent, limit) == [False]


def test_a_person_is_any_of_its_phones_or_its_email_unless_per_says_otherwise() -> None:
    both = person_keys(["+4930123456", "+4915112345678"], "Ann@Example.com", "person")
    assert len(both) == 3
    assert person_keys([], "ann@example.COM", "person") == (both[2],), "email case does not matter"
    assert person_keys(["+4930123456"], "ann@example.com", "phone") == (both[0],)
    assert person_keys(["+4930123456"], "ann@example.com", "email") == (both[2],)
    assert person_keys(["+4930123456", "+4930123456"], None, "person") == (both[0],)
    assert all(-(2**63) <= key < 2**63 for key in both), "a signed 64-bit integer for both ledgers"


def test_a_limit_has_exactly_one_window() -> None:
    with pytest.raises(ValueError, match="exactly one of within_hours and within_days"):
        FrequencyLimit(max_contacts=3)
    with pytest.raises(ValueError, match="exactly one"):
        FrequencyLimit(max_contacts=3, within_hours=24, within_days=1)
    assert FrequencyLimit(max_contacts=3, within_days=2).window_seconds == 2 * 86400
    assert FrequencyLimit(max_contacts=3, within_hours=24).describe() == "3 contacts per 24 h"


def test_the_run_level_limit_applies_to_every_target_without_its_own(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        "[frequency]\nmax_contacts = 3\nwithin_hours = 24\n"
        + TARGET.format(name="a")
        + TARGET.format(name="b")
        + 'frequency = { max_contacts = 1, within_days = 7, count = "targets" }\n',
        encoding="utf-8",
    )
    a, b = load_targets(path)
    assert a.frequency == FrequencyLimit(max_contacts=3, within_hours=24)
    assert b.frequency == FrequencyLimit(max_contacts=1, within_days=7, count="targets")


def test_no_frequency_setting_means_no_limit(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(TARGET.format(name="a"), encoding="utf-8")
    assert load_targets(path)[0].frequency is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[frequency]\nmax_contact = 3\nwithin_hours = 24\n", "did you mean 'max_contacts'?"),
        ("[frequncy]\nmax_contacts = 3\n", "frequncy: unknown table; did you mean 'frequency'?"),
        ("[frequency]\nmax_contacts = 3\n", "frequency: give exactly one of within_hours and within_days"),
        ("[frequency]\nmax_contacts = 0\nwithin_days = 1\n", "max_contacts: Input should be greater"),
        ("[frequency]\nmax_contacts = 1\nwithin_days = 1\nper = \"household\"\n", "frequency.per:"),
    ],
)  # fmt: skip
def test_a_wrong_frequency_setting_is_an_error_that_says_where(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text + TARGET.format(name="a"), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_targets(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert said in str(raised.value)


def test_a_targets_own_misspelt_frequency_key_is_named_with_the_likely_one(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(TARGET.format(name="a") + "frequency = { max_contacts = 1, within_hour = 2 }\n")
    with pytest.raises(
        ConfigError, match=r"target 'a': .*frequency.within_hour: unknown key; did you mean 'within_hours'"
    ):
        load_targets(path)
