"""Lead outcomes grouped a range of source rows at a time (flows.report.leads._outcomes) are the
outcomes of one grouping of every lead: a lead's results all fall in one range, whatever the
range size, so cutting the leads into ranges changes memory, never an outcome."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report import leads
from schemas.codes import Status


@st.composite
def results(draw: st.DrawFn) -> pl.DataFrame:
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, 40), st.sampled_from(("obi", "onc", "engage"))),
            min_size=1,
            max_size=60,
            unique=True,
        )
    )
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
        patch.setattr(leads, "OUTCOME_RANGE", size)
        ranged = leads._outcomes(frame.lazy()).sort("source_row")
    assert ranged["source_row"].to_list() == whole["source_row"].to_list()
    assert ranged["outcome"].cast(pl.String).to_list() == whole["outcome"].to_list()
