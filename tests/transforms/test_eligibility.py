"""Channel eligibility per target: who can be called, texted or mailed, and on which number."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codes import Issue
from transforms.eligibility import eligibility

TYPES = [None, "mobile", "fixed_line", "fixed_line_or_mobile", "unknown", "voip"]


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    columns: dict[str, pl.DataType] = {
        "source_row": pl.Int64(),
        "email": pl.String(),
        "disposition": pl.String(),
    }
    for slot in ("phone1", "phone2", "phone3"):
        columns[slot] = pl.String()
        columns[f"{slot}_type"] = pl.String()
    full = [{"disposition": "ready", **row} for row in rows]
    return pl.DataFrame(full, schema=columns)


ROWS = [
    {"source_row": 1, "phone1": "+4930111", "phone1_type": "fixed_line",
     "phone2": "+4915222", "phone2_type": "mobile"},
    {"source_row": 2, "phone1": "+4930111", "phone1_type": "fixed_line"},
    {"source_row": 3, "phone2": "+1202555", "phone2_type": "fixed_line_or_mobile", "phone3": "+4915333",
     "phone3_type": "mobile"},
    {"source_row": 4, "phone1": "+1202555", "phone1_type": "fixed_line_or_mobile"},
    {"source_row": 5, "email": "a@example.org"},
    {"source_row": 6, "phone1": "+4915222", "phone1_type": "mobile", "disposition": "duplicate"},
]  # fmt: skip


def outcome(result: pl.DataFrame) -> list[tuple[bool, str | None, str | None]]:
    return list(zip(result["eligible"], result["ineligible_reason"], result["channel_phone"], strict=True))


def test_voice_needs_any_valid_phone_and_dials_the_first() -> None:
    assert outcome(eligibility(frame(ROWS), "voice", sms_allow_unknown_type=False)) == [
        (True, None, "+4930111"),
        (True, None, "+4930111"),
        (True, None, "+1202555"),
        (True, None, "+1202555"),
        (False, Issue.NEEDS_PHONE.value, None),
        (False, None, None),
    ]


def test_sms_texts_the_first_mobile_and_unknown_types_only_when_allowed() -> None:
    strict = outcome(eligibility(frame(ROWS), "sms", sms_allow_unknown_type=False))
    assert strict == [
        (True, None, "+4915222"),
        (False, Issue.NEEDS_MOBILE.value, None),
        (True, None, "+4915333"),
        (False, Issue.NEEDS_MOBILE.value, None),
        (False, Issue.NEEDS_MOBILE.value, None),
        (False, None, None),
    ]
    lenient = outcome(eligibility(frame(ROWS), "sms", sms_allow_unknown_type=True))
    assert lenient[2] == (True, None, "+4915333")
    assert lenient[3] == (True, None, "+1202555")
    assert lenient[1] == (False, Issue.NEEDS_MOBILE.value, None)


def test_email_needs_a_valid_email() -> None:
    result = outcome(eligibility(frame(ROWS), "email", sms_allow_unknown_type=False))
    assert [r[:2] for r in result] == [(False, Issue.NEEDS_EMAIL.value)] * 4 + [(True, None), (False, None)]
    assert {r[2] for r in result} == {None}


def test_the_input_columns_and_rows_are_kept() -> None:
    source = frame(ROWS)
    result = eligibility(source, "voice", sms_allow_unknown_type=True)
    assert result.select(source.columns).equals(source)
    assert result.schema["eligible"] == pl.Boolean
    assert result.schema["ineligible_reason"] == pl.String


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        eligibility(frame(ROWS), "fax", sms_allow_unknown_type=True)


slot = st.tuples(st.one_of(st.none(), st.just("+4930123")), st.sampled_from(TYPES))


@given(
    st.lists(
        st.tuples(slot, slot, slot, st.sampled_from(["ready", "rejected", "duplicate", "suppressed"])),
        max_size=30,
    ),
    st.sampled_from(["voice", "sms", "email"]),
    st.booleans(),
)
def test_only_ready_rows_are_eligible_and_only_ready_rows_get_a_reason(
    rows: list[Any], channel: str, allow_unknown: bool
) -> None:
    data = [
        {"source_row": i, "disposition": d,
         **{f"phone{n}": p for n, (p, _) in enumerate(slots, 1)},
         **{f"phone{n}_type": t for n, (_, t) in enumerate(slots, 1)}}
        for i, (*slots, d) in enumerate(rows)
    ]  # fmt: skip
    result = eligibility(frame(data), channel, sms_allow_unknown_type=allow_unknown)
    for row in result.iter_rows(named=True):
        ready = row["disposition"] == "ready"
        assert not (row["eligible"] and not ready)
        assert (row["ineligible_reason"] is not None) == (ready and not row["eligible"])
        assert (row["channel_phone"] is not None) == (row["eligible"] and channel != "email")
        if channel == "sms" and row["eligible"] and not allow_unknown:
            types = [row[f"phone{n}_type"] for n in (1, 2, 3) if row[f"phone{n}"]]
            assert "mobile" in types
