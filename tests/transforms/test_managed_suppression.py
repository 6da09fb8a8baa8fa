"""Managed do-not-contact entries and erasures in clean_leads: whoever is listed or erased is
suppressed on every row, whichever phone slot or email case carries them; no one else is."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dnc import erased_matcher
from connectors.dnc_erasure import erasure_hash
from schemas.raw_leads import RAW_LEADS
from transforms.normalize import clean_leads

KEY = b"k" * 32
NUMBERS = [f"+1415555{n:04d}" for n in range(100, 130)]
EMAILS = [f"p{n}@example.com" for n in range(10)]


def raw(rows: list[tuple[str | None, str | None, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "source_row": list(range(1, len(rows) + 1)),
            "phone1": [r[0] for r in rows],
            "phone2": [r[1] for r in rows],
            "email": [r[2] for r in rows],
        },
        schema={"source_row": pl.Int64, "phone1": pl.String, "phone2": pl.String, "email": pl.String},
    )
    missing = {name: pl.lit(None, dtype) for name, dtype in RAW_LEADS.items() if name not in frame.columns}
    return (
        frame.with_columns(**missing)
        .with_columns(attributes=pl.lit([], RAW_LEADS["attributes"]), issues=pl.lit([], RAW_LEADS["issues"]))
        .select(list(RAW_LEADS))
    )


row = st.tuples(
    st.sampled_from([None, *NUMBERS]),
    st.sampled_from([None, *NUMBERS]),
    st.sampled_from([None, *EMAILS, *(e.upper() for e in EMAILS)]),
)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(row, min_size=1, max_size=25),
    st.sets(st.sampled_from(NUMBERS + EMAILS), max_size=8),
    st.sets(st.sampled_from(NUMBERS + EMAILS), max_size=4),
)
def test_a_row_is_suppressed_exactly_when_a_contact_of_it_is_listed_or_erased(
    rows: list[tuple[str | None, str | None, str | None]], listed: set[str], erased: set[str]
) -> None:
    phones = pl.Series([v for v in listed if "@" not in v], dtype=pl.String)
    emails = pl.Series([v.upper() for v in listed if "@" in v], dtype=pl.String)  # case does not matter
    hashes = pl.Series([erasure_hash(KEY, v) for v in erased], dtype=pl.String)

    cleaned = clean_leads(
        raw(rows),
        default_region="US",
        source="t",
        suppression=(phones, emails),
        erased=erased_matcher(KEY, hashes),
    )

    barred = listed | erased
    expected = [any(v is not None and v.lower() in barred for v in contacts) for contacts in rows]
    assert (cleaned["disposition"] == "suppressed").to_list() == expected
