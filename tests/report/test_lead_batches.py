"""The report's lead figures taken a batch at a time as the results are written
(flows.report.lead_batches, ``leadflow validate``) are the lead view and the reasons by lead
of the written results; any run they cannot be taken from leaves them to the written results."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report import leads
from flows.report.lead_batches import RunningLeads
from tests.report.runs import result_row, results_frame
from tests.report.test_lead_outcomes_single import one_result_each


def _in_batches(frame: pl.DataFrame, cuts: list[int]) -> list[pl.DataFrame]:
    edges = sorted({0, frame.height, *(cut % (frame.height + 1) for cut in cuts)})
    return [frame.slice(start, end - start) for start, end in itertools.pairwise(edges)]


@settings(max_examples=60, deadline=None)
@given(
    records=one_result_each(),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    targets=st.sampled_from([["validate"], ["validate", "obi"]]),
    limit=st.integers(1, 45),
)
def test_the_lead_figures_taken_batch_by_batch_are_those_of_the_written_results(
    records: list[dict[str, Any]], cuts: list[int], targets: list[str], limit: int
) -> None:
    frame = results_frame(records)
    taken = RunningLeads(limit)
    for batch in _in_batches(frame, cuts):
        taken.add([batch])

    view, whole = taken.view(frame.lazy(), targets, limit), leads.lead_view(frame.lazy(), targets, limit)
    assert view is not None
    assert (view.leads, view.counts, view.missed) == (whole.leads, whole.counts, whole.missed)
    assert (view.missed_outcomes, view.missed_statuses) == (whole.missed_outcomes, whole.missed_statuses)
    assert view.shown.equals(whole.shown)
    reasons = taken.reasons(frame.lazy())
    assert reasons is not None
    assert reasons.equals(leads.reasons_by_lead(frame.lazy()))


def _rows(*source_rows: int, target: str = "validate") -> pl.DataFrame:
    return results_frame([result_row(source_row=row, target=target) for row in source_rows])


def test_results_not_in_file_order_or_of_several_targets_are_left_to_the_written_results() -> None:
    unordered = RunningLeads(10)
    unordered.add([_rows(1, 2, 3)])
    unordered.add([_rows(3, 4)])  # a lead seen again
    several = RunningLeads(10)
    several.add([_rows(1, 2), _rows(1, 2, target="obi")])
    nothing = RunningLeads(10)
    nothing.add([_rows()])
    wider = RunningLeads(10)
    wider.add([_rows(1, 2)])

    for taken in (unordered, several, nothing):
        assert taken.view(_rows(1).lazy(), ["validate"], 10) is None
        assert taken.reasons(_rows(1).lazy()) is None
    assert wider.view(_rows(1, 2).lazy(), ["validate"], 11) is None  # more leads than were kept
    assert wider.view(_rows(1, 2).lazy(), ["validate"], 10) is not None


def test_a_target_with_windows_has_its_window_columns_in_the_leads_taken_batch_by_batch() -> None:
    start = datetime(2026, 12, 5, 13, tzinfo=UTC)
    held = {"status": "ineligible", "reasons": ["OUTSIDE_CALLING_WINDOW"], "call_window_start": start}
    frame = results_frame([result_row(source_row=row, target="obi", **held) for row in range(1, 7)])
    taken = RunningLeads(10)
    for batch in _in_batches(frame, [2, 4]):
        taken.add([batch])

    view, whole = taken.view(frame.lazy(), ["obi"], 10), leads.lead_view(frame.lazy(), ["obi"], 10)

    assert view is not None
    assert view.shown.equals(whole.shown)
    assert view.shown["obi call_window_start"].to_list() == [start] * 6
