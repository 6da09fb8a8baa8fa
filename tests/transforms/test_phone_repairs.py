"""The spreadsheet repairs of transforms.phones never turn one valid number into another."""

from __future__ import annotations

import phonenumbers
import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.transforms.test_phones_properties import frame
from transforms.phones import normalize_phones

_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _reference(digits: str, region: str) -> str | None:
    """E.164 of ``digits`` read by phonenumbers itself, when it is a valid number."""
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalized(values: list[str], region: str) -> list[str | None]:
    out = normalize_phones(frame([(value, None, None, region, None) for value in values]), None)
    return out.get_column("phone1").to_list()


def test_a_short_float_is_read_as_the_number_it_was_not_as_another_valid_one() -> None:
    # 7290 is a Tokelau number; "7290.0" read with its "." dropped is 72900, also valid there
    assert _reference("72900", "TK") == "+69072900"
    assert _normalized(["7290.0", "7290"], "TK") == ["+6907290", "+6907290"]


def _examples() -> list[tuple[str, str]]:
    """(region, national number) of phonenumbers' example numbers of every region and type."""
    found = []
    for region in _REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append((region, str(example.national_number)))
    return sorted(set(found))


@st.composite
def valid_digit_strings(draw: st.DrawFn) -> tuple[str, str]:
    """A region and a digit string valid there: an example number with its tail redrawn."""
    region, national = draw(st.sampled_from(_examples()))
    keep = draw(st.integers(0, len(national)))
    tail = draw(st.from_regex(rf"[0-9]{{{len(national) - keep}}}", fullmatch=True))
    return region, national[:keep] + tail


_SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much]


@settings(max_examples=80, deadline=None, suppress_health_check=_SLOW_OK)
@given(valid_digit_strings())
def test_a_valid_digit_string_and_its_float_keep_phonenumbers_own_e164(case: tuple[str, str]) -> None:
    region, digits = case
    expected = _reference(digits, region)
    assume(expected is not None and len(expected) - 1 >= 7)
    assert _normalized([digits, f"{digits}.0", f"{digits}.00"], region) == [expected] * 3


def test_valid_example_numbers_of_every_region_survive_the_float_repair() -> None:
    values, regions, expected = [], [], []
    for region in _REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = str(example.national_number)
            e164 = _reference(national, region)
            if e164 is None or len(e164) - 1 < 7:
                continue
            values.append(f"{national}.0")
            regions.append(region)
            expected.append(e164)
    out = normalize_phones(
        frame([(v, None, None, r, None) for v, r in zip(values, regions, strict=True)]), None
    )
    changed = out.select(pl.col("phone1"), value=pl.Series(values), want=pl.Series(expected)).filter(
        pl.col("phone1") != pl.col("want")
    )
    assert changed.height == 0, changed.head(10)
