"""Numbers libphonenumber calls valid but E.164 cannot carry (fewer than 7 or more than 15
digits) are that row's ``PHONE_INVALID``, on both parse paths, and never reach the clean-leads
contract, whose refusal would end the whole file."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from schemas.clean_leads import CLEAN_LEADS_SCHEMA
from tests.transforms.test_phones import codes, raw_leads
from transforms.normalize import clean_leads
from transforms.phone_columnar import parse_columns
from transforms.phones import normalize_phones

OUT_OF_RANGE = [
    # (raw, country): phonenumbers.is_valid_number says yes, E.164 says no
    ("01110", "AT"),  # +431110: 6 digits
    ("030 123456789012", "DE"),  # +4930123456789012: 16 digits
    ("0301234567890123", "DE"),  # 17 digits
    ("033203 1234567890", "DE"),  # 17 digits
    ("+49 30 123456 MOBILE", "DE"),  # vanity letters make it +4930123456662453: 16 digits
    ("001803 1234567890", "ID"),  # +620018031234567890: 18 digits, toll free
    ("0037 1234 5678 9012", "JP"),  # +810037123456789012: 18 digits
]
FILLERS = [(f"030 1234{n:03d}", "DE") for n in range(300)] + [(f"01 234{n:03d}", "AT") for n in range(300)]
"""Valid numbers, 300 distinct ones per region: read as columns with ``min_group=200`` (by cost,
a region needs thousands of values to be worth a plan: transforms.phone_columnar)."""


def _rows(values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"phone1": raw, "country": country} for raw, country in values]


@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "per-value"])
def test_numbers_too_short_or_too_long_for_e164_are_phone_invalid(columnar: bool) -> None:
    rows = _rows(OUT_OF_RANGE) + _rows(FILLERS)
    frame = normalize_phones(raw_leads(*rows), None, columnar=columnar, min_group=200)
    head = frame.head(len(OUT_OF_RANGE))
    assert head["phone1"].to_list() == [None] * len(OUT_OF_RANGE)
    assert head["phone1_type"].to_list() == [None] * len(OUT_OF_RANGE)
    assert [codes(issues) for issues in head["issues"]] == [["PHONE_INVALID"]] * len(OUT_OF_RANGE)
    assert [issues[0]["value"] for issues in head["issues"]] == [raw for raw, _ in OUT_OF_RANGE]
    assert frame["phone1"].tail(len(FILLERS)).is_not_null().all()
    assert frame["phone1"].drop_nulls().str.contains(r"^\+[1-9][0-9]{6,14}$").all()


def test_the_columnar_path_decides_the_plain_out_of_range_values_itself() -> None:
    """The premise of the columnar case above: it does not hand these values on."""
    pairs = pl.DataFrame(
        [
            (raw, cc)
            for raw, cc in OUT_OF_RANGE + FILLERS
            if not any(char.isalpha() for char in raw) and cc in ("AT", "DE")
        ],
        schema={"clean": pl.String, "region": pl.String},
        orient="row",
    )
    assert parse_columns(pairs, min_group=200)["decided"].all()


def test_a_file_with_out_of_range_numbers_meets_the_clean_leads_contract() -> None:
    rows = [*_rows(OUT_OF_RANGE), {"phone1": "0151 12345678", "country": "DE", "email": "a@example.com"}]
    clean = clean_leads(raw_leads(*rows), default_region=None, source="test")
    CLEAN_LEADS_SCHEMA.validate(clean)
    assert clean["disposition"].to_list() == ["rejected"] * len(OUT_OF_RANGE) + ["ready"]
    assert clean.filter(pl.col("phone1").is_null()).height == len(OUT_OF_RANGE)
