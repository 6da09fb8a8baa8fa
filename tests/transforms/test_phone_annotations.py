"""A phone cell an export annotated is read as the number it holds: a label in brackets after
it ("(mobile)", "(home)") and an extension marker with nothing after it ("ext.", "x") are no
part of the number, while vanity numbers and area codes in brackets read as before."""

from __future__ import annotations

import phonenumbers
import pytest

from tests.transforms.test_phones_properties import frame
from transforms.phones import normalize_phones


def _read(value: str, region: str) -> tuple[str | None, str | None, list[str]]:
    """(E.164, extension, issue codes) of ``value`` in ``phone1``."""
    out = normalize_phones(frame([(value, None, None, region, None)]), None)
    codes = [found["code"] for found in out.get_column("issues")[0]]
    return out.get_column("phone1")[0], out.get_column("phone1_ext")[0], codes


@pytest.mark.parametrize(
    ("value", "region", "e164"),
    [
        ("415-555-2671 ext.", "US", "+14155552671"),
        ("415-555-2671 ext", "US", "+14155552671"),
        ("415-555-2671 Ext:", "US", "+14155552671"),
        ("415-555-2671 extension", "US", "+14155552671"),
        ("415-555-2671, EXT. #", "US", "+14155552671"),
        ("415-555-2671 X.", "US", "+14155552671"),
        ("415-555-2671 x", "US", "+14155552671"),
    ],
)
def test_an_extension_marker_with_no_digits_is_the_number_without_an_extension(
    value: str, region: str, e164: str
) -> None:
    assert _read(value, region) == (e164, None, [])


@pytest.mark.parametrize(
    ("value", "region", "e164"),
    [
        ("+1 415 555 2671 (mobile)", "US", "+14155552671"),
        ("0612345678 (home)", "NL", "+31612345678"),
        ("0612345678(home)", "NL", "+31612345678"),
        ("030 1234567 (Büro)", "DE", "+49301234567"),
        ("415 555 2671 [Work]", "US", "+14155552671"),
        ("415 555 2671 (cell phone)", "US", "+14155552671"),
        ("(cell) 415 555 2671", "US", "+14155552671"),
        ("1-800-FLOWERS (toll free)", "US", "+18003569377"),
    ],
)
def test_a_label_in_brackets_is_dropped_and_the_number_read(value: str, region: str, e164: str) -> None:
    assert _read(value, region) == (e164, None, [])


def test_a_label_after_an_extension_leaves_the_extension() -> None:
    assert _read("415 555 2671 ext. 12 (work)", "US") == ("+14155552671", "12", [])


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("1-800-FLOWERS", "+18003569377"),
        ("1-800-(FLOWERS)", "+18003569377"),
        ("1 800 (FLOWERS)", "+18003569377"),
        ("1-800-639-8EXT", "+18006398398"),
        ("(415) 555-2671", "+14155552671"),
        ("415 555 2671 (ext 12)", "+14155552671"),
    ],
)
def test_vanity_letters_and_area_codes_in_brackets_read_as_before(value: str, e164: str) -> None:
    number = phonenumbers.parse(value, "US")
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164
    assert _read(value, "US")[0] == e164


def test_a_label_does_not_make_a_wrong_number_right() -> None:
    assert _read("415 555 267 (mobile)", "US")[0] is None
    assert "PHONE_INVALID" in _read("415 555 267 (mobile)", "US")[2]


def test_every_regions_example_numbers_read_the_same_with_a_label_or_an_empty_extension() -> None:
    # a label after a number of 4 digits (Niue, Tokelau) stays refused, as vanity letters in
    # brackets after "1-800-" stay a vanity number's: never another number
    values: list[str] = []
    regions: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            for written in (national, f"{national} (mobile)", f"{national} [Home]", f"{national} ext."):
                values.append(written)
                regions.append(region)
    rows = [(value, None, None, region, None) for value, region in zip(values, regions, strict=True)]
    read = normalize_phones(frame(rows), None).get_column("phone1").to_list()

    for at in range(0, len(values), 4):
        short = sum(char.isdigit() for char in values[at]) < 5
        labelled = [None, None] if short else [read[at]] * 2
        assert read[at + 1 : at + 4] == [*labelled, read[at]], (regions[at], values[at : at + 4])
