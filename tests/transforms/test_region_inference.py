"""A file's default region is inferred from its own international numbers only when they
clearly agree, and never silently."""

from __future__ import annotations

from typing import Any

from tests.transforms.test_phones import raw_leads
from transforms.region_inference import MIN_NUMBERS, infer_region

US = [f"+1 415 555 {1000 + i}" for i in range(40)]
CANADA = [f"+1 416 555 {1000 + i}" for i in range(40)]
GERMANY = [f"+49 30 1234{i:03d}" for i in range(40)]


def _rows(*phones: str | None, country: str | None = None) -> list[dict[str, Any]]:
    return [{"phone1": phone, "country": country, "source_row": i + 1} for i, phone in enumerate(phones)]


def test_a_file_whose_international_numbers_are_us_ones_is_inferred_us_and_says_from_what() -> None:
    rows = _rows(*US[:38], *GERMANY[:2], *["(415) 555-2671"] * 100)
    found = infer_region(raw_leads(*rows))
    assert found is not None and found.region == "US"
    assert found.note == "region inferred: US from 38 of 40 international numbers"


def test_nanp_numbers_count_for_the_one_region_that_accepts_them_only() -> None:
    toll_free = [f"+1 800 555 {1000 + i}" for i in range(40)]
    found = infer_region(raw_leads(*_rows(*toll_free)))
    assert found is not None and found.region is None  # valid in every NANP region: no evidence
    found = infer_region(raw_leads(*_rows(*CANADA[:25])))
    assert found is not None and found.region == "CA"


def test_a_minority_or_too_few_numbers_infer_nothing_and_the_note_says_why() -> None:
    split = infer_region(raw_leads(*_rows(*US[:30], *GERMANY[:10])))
    assert split is not None and split.region is None
    assert split.note == (
        "region not inferred: 30 of 40 international numbers are US "
        "(needs 90% of at least 20); give --country"
    )
    few = infer_region(raw_leads(*_rows(*US[: MIN_NUMBERS - 1])))
    assert few is not None and few.region is None


def test_the_same_number_repeated_is_one_piece_of_evidence() -> None:
    found = infer_region(raw_leads(*_rows(*[US[0]] * 500)))
    assert found is not None and (found.region, found.international) == (None, 1)


def test_rows_with_a_country_are_not_evidence_and_a_file_all_with_countries_infers_nothing() -> None:
    assert infer_region(raw_leads(*_rows(*US, country="US"))) is None
    rows = _rows(*GERMANY, country="Deutschland") + _rows(*US[:25])
    found = infer_region(raw_leads(*[{**row, "source_row": i + 1} for i, row in enumerate(rows)]))
    assert found is not None and found.region == "US"


def test_junk_and_national_values_are_no_evidence() -> None:
    found = infer_region(raw_leads(*_rows("+", "+1 abc", "00", "0151 1234567", None)))
    assert found is not None and (found.region, found.international) == (None, 0)
    assert found.note.startswith("region not inferred")
