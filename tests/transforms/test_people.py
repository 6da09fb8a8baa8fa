"""Person keys as arrays (transforms.people): a batch's keys computed from its columns are each
lead's keys as the per-lead path reads them off its Lead (``Lead.from_row``, the target's phone
first, the email's key), and slicing, taking and converting them loses nothing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import Lead
from connectors.engine import prefer_phone
from connectors.frequency import leads_people
from transforms.people import People, batch_people
from transforms.person_keys import email_key_column

numbers = st.sampled_from(["+4930123456", "+14155550100", "+447700900123", "+33612345678"])
phone = st.one_of(st.none(), st.just(""), numbers)
email = st.one_of(st.none(), st.sampled_from(["", "  ", "Ann@Example.com", " bo@x.org ", "ann@example.com"]))
rows = st.lists(st.tuples(phone, phone, phone, email, st.integers(0, 3)), max_size=12)


def _frame(drawn: list[tuple[str | None, str | None, str | None, str | None, int]]) -> pl.DataFrame:
    """Clean rows as a target's eligible frame: ``channel_phone`` one of the row's phones, or
    none, or a number the row does not have."""
    channel = []
    for p1, p2, p3, _, pick in drawn:
        choices = [p1, p2, p3, "+4930999999"]
        channel.append(choices[pick] or None)
    return pl.DataFrame(
        {
            "source_row": list(range(1, len(drawn) + 1)),
            "external_id": [f"e{n}" for n in range(len(drawn))],
            "phone1": [r[0] for r in drawn],
            "phone2": [r[1] for r in drawn],
            "phone3": [r[2] for r in drawn],
            "email": [r[3] for r in drawn],
            "channel_phone": channel,
        },
        schema={
            "source_row": pl.Int64,
            "external_id": pl.String,
            "phone1": pl.String,
            "phone2": pl.String,
            "phone3": pl.String,
            "email": pl.String,
            "channel_phone": pl.String,
        },
    )


@settings(max_examples=300, deadline=None)
@given(drawn=rows, per=st.sampled_from(["person", "phone", "email"]), keyed=st.booleans())
def test_the_keys_computed_from_the_batch_are_each_leads_person_keys(
    drawn: list[tuple[str | None, str | None, str | None, str | None, int]], per: str, keyed: bool
) -> None:
    frame = _frame(drawn)
    if keyed:
        frame = frame.with_columns(email_key_column(frame["email"]))
    leads = [prefer_phone(Lead.from_row(row), row["channel_phone"]) for row in frame.iter_rows(named=True)]
    people = batch_people(frame, per)
    assert people is not None
    assert people.to_lists() == leads_people(leads, per)


@pytest.mark.parametrize("column", ["phone1", "phone3", "channel_phone"])
@pytest.mark.parametrize("value", ["+49 30 1", "++4930123456", "+-5", "-5", "x"])
def test_a_phone_that_is_not_plain_e164_leaves_the_keys_to_each_lead(column: str, value: str) -> None:
    frame = pl.DataFrame(
        {
            "phone1": ["+4930123456", None],
            "phone3": [None, None],
            "email": [None, None],
            "channel_phone": [None] * 2,
        }
    ).with_columns(pl.Series(column, [None, value], dtype=pl.String))
    assert batch_people(frame, "person") is None
    assert batch_people(frame, "email") is not None


def test_an_empty_phone_is_no_phone() -> None:
    frame = pl.DataFrame({"phone1": ["", "+4930123456"], "phone2": ["", ""], "channel_phone": ["", None]})
    people = batch_people(frame, "person")
    assert people is not None
    assert people.to_lists() == [(), (4930123456,)]


@settings(max_examples=200, deadline=None)
@given(
    people=st.lists(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4).map(tuple), max_size=10),
    data=st.data(),
)
def test_slices_and_takes_are_the_leads_they_name(people: list[tuple[int, ...]], data: st.DataObject) -> None:
    arrays = People.from_lists(people)
    assert arrays.to_lists() == people
    start = data.draw(st.integers(0, len(people)))
    stop = data.draw(st.integers(start, len(people)))
    part = arrays.slice(start, stop)
    assert part.to_lists() == people[start:stop]
    assert part.flat.tolist() == [key for lead in people[start:stop] for key in lead]
    assert part.counts().tolist() == [len(lead) for lead in people[start:stop]]
    positions = data.draw(st.lists(st.integers(0, max(len(people) - 1, 0)), max_size=6)) if people else []
    assert arrays.take(positions).to_lists() == [people[i] for i in positions]
    assert part.take(np.arange(len(part))).to_lists() == people[start:stop]
