"""Normalization property: whatever a file's cells hold, the clean leads meet their contract.

A contract check that fails ends the whole file, so no value may reach one: phones of any
length and spelling, in any country (both parse paths: 200 distinct German and Austrian
numbers ride along in every example, enough for the columnar path), odd countries, time zones,
ids, names and emails. Every row ends with one disposition; phones are E.164 or null.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.clean_leads import CLEAN_LEADS_SCHEMA
from schemas.raw_leads import RAW_LEADS
from transforms.normalize import clean_leads

_DIGITS = st.from_regex(r"\A(\+|00|0)?[0-9]{1,20}\Z")
_SPELLED = st.text(alphabet="0123456789+ ()-./xX#;:tel ٠١٢３４mobilehomeWORK", max_size=28)
_PHONES = st.none() | _DIGITS | _SPELLED | st.text(max_size=6)
_COUNTRIES = (
    st.sampled_from(
        [
            "DE",
            "AT",
            "US",
            "GB",
            "JP",
            "ID",
            "KR",
            "UY",
            "IR",
            "NG",
            "BR",
            "AR",
            "IT",
            "",
            "ZZ",
            "Deutschland",
        ]
    )
    | st.none()
    | st.text(max_size=4)
)
_ROW = st.fixed_dictionaries(
    {
        "external_id": st.none() | st.text(max_size=4),
        "first_name": st.none() | st.text(max_size=6),
        "phone1": _PHONES,
        "phone2": _PHONES,
        "phone3": _PHONES,
        "email": st.none() | st.emails() | st.text(max_size=8),
        "country": _COUNTRIES,
        "timezone": st.none() | st.sampled_from(["Europe/Berlin", "utc", "US/Pacific", "Mars/Base"]),
    }
)
_AT_EDGE = st.tuples(st.from_regex(r"\A01[0-9]{2,4}\Z"), st.just("AT"))
_DE_EDGE = st.tuples(st.from_regex(r"\A0[1-9]{2,4}[0-9]{8,14}\Z"), st.just("DE"))
_AT_THE_EDGES = (_AT_EDGE | _DE_EDGE).map(lambda pair: {"phone1": pair[0], "country": pair[1]})
"""Where libphonenumber's valid numbers leave E.164's 7-15 digits: Austrian short numbers,
German numbers of up to 17 digits."""
_RIDE_ALONG = [{"phone1": f"030 1234{n:03d}", "country": "DE"} for n in range(200)] + [
    {"phone1": f"01 234{n:03d}", "country": "AT"} for n in range(200)
]


def _raw(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [
        {name: row.get(name) for name in RAW_LEADS} | {"source_row": n, "attributes": [], "issues": []}
        for n, row in enumerate(rows, start=1)
    ]
    return pl.DataFrame(full, schema=RAW_LEADS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_ROW | _AT_THE_EDGES, max_size=12), default=st.sampled_from([None, "DE", "US", "AT"]))
def test_any_cell_values_give_clean_leads_that_meet_the_contract(
    rows: list[dict[str, Any]], default: str | None
) -> None:
    clean = clean_leads(_raw(rows + _RIDE_ALONG), default_region=default, source="property")
    CLEAN_LEADS_SCHEMA.validate(clean)
    assert clean.height == len(rows) + len(_RIDE_ALONG)
    assert clean["source_row"].to_list() == list(range(1, clean.height + 1))
