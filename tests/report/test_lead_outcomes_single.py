"""A run whose every lead has one result (``leadflow validate``: one target) gets its lead
outcomes from each result alone, without grouping by lead (flows.report.leads._row_outcome):
the same outcomes, lead view and reasons as the grouping gives. The same results in another
order (not in source-row order: grouped, as before) are the reference. The example rows and
the leads shown are read from the parts' row groups within their span only: the same rows
as reading them all (the report's duplicates and suppressions too)."""

from __future__ import annotations

from pathlib import Path
from random import Random
from typing import Any

import polars as pl
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report import html_page, leads
from schemas.codes import Issue, Status
from tests.report.runs import result_row, results_frame

_REASONS: tuple[list[str], ...] = (
    [],
    [Issue.POSSIBLY_DUPLICATED.value],
    ["PHONE_INVALID"],
    ["PHONE_INVALID", "EMAIL_INVALID"],
    [Issue.NO_CHANNEL.value, Issue.ROW_EMPTY.value, Issue.PHONE_MISSING.value],
)


@st.composite
def one_result_each(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Result rows of one target, one a lead, in source-row order (gaps between leads)."""
    gaps = draw(st.lists(st.integers(1, 3), min_size=2, max_size=40))
    statuses = st.sampled_from([status.value for status in Status])
    rows, row = [], 0
    for gap in gaps:
        row += gap
        reasons = draw(st.sampled_from(_REASONS))
        rows.append(
            result_row(
                source_row=row,
                target="validate",
                status=draw(statuses),
                reasons=reasons,
                external_id=f"e{row}",
            )
        )
    return rows


@settings(max_examples=80, deadline=None)
@given(records=one_result_each())
def test_the_outcome_of_a_lead_with_one_result_is_the_grouped_outcome(records: list[dict[str, Any]]) -> None:
    frame = results_frame(records).lazy()
    assert leads._one_result_each(frame)
    grouped = leads._per_lead(frame, reasons=False).collect().sort("source_row")
    single = leads._outcomes(frame)
    assert single["source_row"].to_list() == grouped["source_row"].to_list()
    assert single["outcome"].cast(pl.String).to_list() == grouped["outcome"].to_list()


@settings(max_examples=60, deadline=None)
@given(
    records=one_result_each(),
    order=st.randoms(use_true_random=False),
    targets=st.sampled_from([["validate"], ["validate", "obi"], ["obi"]]),
    limit=st.integers(1, 45),
)
def test_the_lead_view_of_one_result_each_is_the_grouped_view(
    records: list[dict[str, Any]], order: Random, targets: list[str], limit: int
) -> None:
    in_order = results_frame(records).lazy()
    shuffled = list(records)
    order.shuffle(shuffled)
    if shuffled == records:
        shuffled.reverse()
    reference = results_frame(shuffled).lazy()
    assert not leads._one_result_each(reference)  # out of source-row order: grouped by lead
    single = leads.lead_view(in_order, targets, limit)
    grouped = leads.lead_view(reference, targets, limit)
    assert (single.leads, single.counts, single.missed) == (grouped.leads, grouped.counts, grouped.missed)
    assert (single.missed_outcomes, single.missed_statuses) == (
        grouped.missed_outcomes,
        grouped.missed_statuses,
    )
    assert single.shown.equals(grouped.shown)
    assert leads.missed_in_order(in_order)[0].equals(leads.missed_in_order(reference)[0])


def test_several_results_of_a_lead_in_source_row_order_are_grouped(tmp_path: Path) -> None:
    # two targets, each lead's results next to each other: source rows repeat, so not one each
    rows = [
        result_row(source_row=1, target="obi", status=Status.ACCEPTED.value),
        result_row(source_row=1, target="onc", status=Status.REJECTED.value, reasons=["PHONE_INVALID"]),
        result_row(source_row=2, target="obi", status=Status.ACCEPTED.value),
        result_row(source_row=2, target="onc", status=Status.ACCEPTED.value),
    ]
    frame = results_frame(rows).lazy()
    assert not leads._one_result_each(frame)
    view = leads.lead_view(frame, ["obi", "onc"], 10)
    assert view.counts[leads.Outcome.ATTENTION] == 1
    assert view.counts[leads.Outcome.DELIVERED_ALL] == 1
    assert view.missed_statuses == {Status.ACCEPTED.value, Status.REJECTED.value}


def test_rows_read_from_their_row_groups_only_are_the_rows_read_from_all(tmp_path: Path) -> None:
    statuses = [Status.READY.value, Status.REJECTED.value, Status.DUPLICATE.value, Status.READY.value]
    reasons: list[list[str]] = [[], ["PHONE_INVALID"], [], ["EMAIL_INVALID", "PHONE_INVALID"]]
    records = [
        result_row(
            source_row=row,
            target="validate",
            status=statuses[row % 4] if row > 300 else Status.READY.value,
            reasons=reasons[row % 4] if row > 300 else [],
            external_id=f"e{row}",
            first_name=f"n{row}",
        )
        for row in range(1, 1001)
    ]
    frame = results_frame(records)
    path = tmp_path / "part-0.parquet"
    pq.write_table(frame.to_arrow(), path, row_group_size=64)
    assert pq.ParquetFile(path).metadata.num_row_groups > 10
    parts = pl.scan_parquet(path)
    assert leads.reasons_by_lead(parts).equals(leads.reasons_by_lead(frame))
    from_parts, in_memory = leads.lead_view(parts, ["validate"], 50), leads.lead_view(frame, ["validate"], 50)
    assert from_parts.shown.equals(in_memory.shown)
    assert from_parts.shown.height == 50
    shown, held = html_page._dispositions(parts)
    assert (shown.equals(html_page._dispositions(frame.lazy())[0]), held) == (True, 175)
    wanted = pl.Series([990, 305, 998, 306])
    assert leads.lead_rows(parts, wanted, ["validate"]).equals(leads.lead_rows(frame, wanted, ["validate"]))
