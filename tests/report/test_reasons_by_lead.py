"""The report's reasons table (flows.report.leads.reasons_by_lead) against a plain definition.

Its aggregation was rewritten for memory (a min per code, not a sort of every coded row), so a
property test pins what it means: per reason code, the leads carrying it at any target, the
targets it occurred at, and the example, the result with the lowest source row, then target.
Its distinct leads per code are counted a range of leads (source rows) at a time and added up,
which is exact only while every result of a lead falls in one range: a second property test
pins that any range size gives the table of one count over every lead.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flows.report import leads
from flows.report.leads import _EXAMPLE_COLUMNS, reasons_by_lead
from tests.report.runs import lead_targets

CODES = ("PHONE_INVALID", "EMAIL_INVALID", "DUPLICATE", "VENDOR_REJECTED")


@st.composite
def results(draw: st.DrawFn) -> pl.DataFrame:
    pairs = draw(lead_targets(12, 30))
    rows: list[dict[str, Any]] = []
    for source_row, target in pairs:
        codes = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=3))
        row = {name: f"{name}-{source_row}-{target}" for name in _EXAMPLE_COLUMNS}
        rows.append({"source_row": source_row, "target": target, "reasons": codes or None, **row})
    schema = {"source_row": pl.Int64, "target": pl.String, "reasons": pl.List(pl.String)}
    return pl.DataFrame(rows, schema_overrides=schema)


def plainly(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dicts():
        for code in row["reasons"] or []:
            found.setdefault(code, []).append(row)
    table = []
    for code, rows in found.items():
        example = min(rows, key=lambda row: (row["source_row"], row["target"]))
        leads = len({row["source_row"] for row in rows})
        targets = sorted({row["target"] for row in rows})
        table.append((code, leads, targets, example["source_row"], example["target"], example["status"]))
    return sorted(table, key=lambda entry: (-entry[1], entry[0]))


@settings(max_examples=80, deadline=None)
@given(frame=results())
def test_each_code_counts_its_leads_and_targets_and_shows_its_lowest_row_as_the_example(
    frame: pl.DataFrame,
) -> None:
    table = reasons_by_lead(frame)
    got = [
        (row["reason"], row["leads"], row["targets"], row["source_row"], row["target"], row["status"])
        for row in table.to_dicts()
    ]
    assert got == plainly(frame)


@settings(max_examples=80, deadline=None)
@given(frame=results(), size=st.integers(1, 13))
def test_reasons_counted_a_range_of_leads_at_a_time_equal_one_count_over_every_lead(
    frame: pl.DataFrame, size: int
) -> None:
    # the results come in no order, a lead's (up to three) results apart: a range that took
    # rows rather than source rows, or ranges that overlapped, would count a lead twice
    whole = reasons_by_lead(frame)  # source rows 1..12: one range of LEAD_RANGE
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(leads, "LEAD_RANGE", size)
        ranged = reasons_by_lead(frame)
    assert_frame_equal(ranged, whole)
