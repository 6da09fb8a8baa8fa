"""Properties of normalize_phones for any text at all in the phone and country columns."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.raw_leads import RAW_LEADS
from transforms.phones import normalize_phones

E164 = re.compile(r"^\+[1-9]\d{6,14}$")

phone_text = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.from_regex(r"[+0(]?[0-9 ().\-xX#]{0,24}", fullmatch=True),
    st.builds(
        lambda digits, tail: f"{digits}{tail}",
        st.from_regex(r"\d{1,12}", fullmatch=True),
        st.sampled_from(["", ".0", "E9", ",5E+8", " ext. 12", "#7", " (0)"]),
    ),
)
country_text = st.one_of(
    st.none(), st.sampled_from(["US", "DE", "GB", "Brasil", "xx", "", "Atlantis"]), st.text(max_size=12)
)
row = st.tuples(phone_text, phone_text, phone_text, country_text, st.one_of(st.none(), st.text(max_size=20)))


def frame(rows: list[tuple[str | None, str | None, str | None, str | None, str | None]]) -> pl.DataFrame:
    n = len(rows)
    return pl.DataFrame(
        {
            "source_row": list(range(1, n + 1)),
            "external_id": [None] * n,
            "first_name": [None] * n,
            "last_name": [None] * n,
            "phone1": [r[0] for r in rows],
            "phone2": [r[1] for r in rows],
            "phone3": [r[2] for r in rows],
            "email": [None] * n,
            "country": [r[3] for r in rows],
            "timezone": [r[4] for r in rows],
            "attributes": [[] for _ in rows],
            "issues": [[] for _ in rows],
        },
        schema=RAW_LEADS,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=8), st.sampled_from([None, "US", "DE"]))
def test_any_text_gives_one_row_per_input_valid_e164_and_keeps_the_raw_value(
    rows: list[tuple[str | None, str | None, str | None, str | None, str | None]], default: str | None
) -> None:
    raw = frame(rows)
    out = normalize_phones(raw, default)

    assert out.height == raw.height
    assert out.get_column("source_row").to_list() == raw.get_column("source_row").to_list()
    for slot in ("phone1", "phone2", "phone3"):
        assert out.get_column(f"{slot}_raw").to_list() == raw.get_column(slot).to_list()
        for value in out.get_column(slot).drop_nulls().to_list():
            assert E164.match(value), value
    assert out.get_column("timezone_candidates").null_count() == 0
    assert out.get_column("timezone_source").null_count() == 0
