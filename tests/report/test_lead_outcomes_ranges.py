"""Lead outcomes grouped a range of source rows at a time (flows.report.leads._outcomes) are the
outcomes of one grouping of every lead: a lead's results all fall in one range, whatever the
range size, so cutting the leads into ranges changes memory, never an outcome. The same holds
for the whole lead view (flows.report.leads.lead_view), whose statuses of the leads not
delivered everywhere are joined to them a range at a time (flows.report.leads._in_lead_ranges)."""

from __future__ import annotations

from random import Random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report import leads
from schemas.codes import Status
from tests.report.runs import TARGETS, lead_targets, results_frame, status_rows


@st.composite
def results(draw: st.DrawFn) -> pl.DataFrame:
    pairs = draw(lead_targets(40, 60))
    statuses = st.sampled_from([status.value for status in Status])
    rows = [
        {
            "source_row": row,
            "target": target,
            "status": draw(statuses),
            "reasons": draw(st.sampled_from([[], ["PHONE_INVALID"]])),
        }
        for row, target in pairs
    ]
    return pl.DataFrame(
        rows,
        schema={
            "source_row": pl.Int64,
            "target": pl.String,
            "status": pl.String,
            "reasons": pl.List(pl.String),
        },
    )


@settings(max_examples=60, deadline=None)
@given(frame=results(), size=st.integers(1, 50))
def test_outcomes_grouped_in_ranges_of_leads_equal_one_grouping_of_them_all(
    frame: pl.DataFrame, size: int
) -> None:
    whole = leads._per_lead(frame.lazy(), reasons=False).collect().sort("source_row")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(leads, "LEAD_RANGE", size)
        ranged = leads._outcomes(frame.lazy()).sort("source_row")
    assert ranged["source_row"].to_list() == whole["source_row"].to_list()
    assert ranged["outcome"].cast(pl.String).to_list() == whole["outcome"].to_list()


@settings(max_examples=60, deadline=None)
@given(
    statuses=st.lists(
        st.lists(st.sampled_from([status.value for status in Status]), min_size=1, max_size=len(TARGETS)),
        min_size=1,
        max_size=30,
    ),
    order=st.randoms(use_true_random=False),
    size=st.integers(1, 31),
)
def test_the_lead_view_taken_a_range_of_leads_at_a_time_is_the_view_of_them_all(
    statuses: list[list[str]], order: Random, size: int
) -> None:
    # the view's statuses of the leads not delivered everywhere join the results to those leads
    # range by range: a lead's results in a range other than its outcome's would be missed
    targets = [name for name, _ in TARGETS]
    records = status_rows(statuses, targets)
    order.shuffle(records)
    frame = results_frame(records).lazy()
    whole = leads.lead_view(frame, targets, limit=len(statuses))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(leads, "LEAD_RANGE", size)
        ranged = leads.lead_view(frame, targets, limit=len(statuses))
    assert (ranged.leads, ranged.counts, ranged.missed) == (whole.leads, whole.counts, whole.missed)
    assert (ranged.missed_outcomes, ranged.missed_statuses) == (whole.missed_outcomes, whole.missed_statuses)
    assert ranged.shown.equals(whole.shown)
