"""A spreadsheet's empty rows (``ROW_EMPTY``: Excel saves rows it once formatted as ``,,,``)
are rows of the file with one result per target, rejected, but nobody has anything to do about
them: the report counts them as their own outcome, "empty row", not as leads needing attention,
and leaves them out of the table (and CSV) of leads to look at. The tiles still add up to the
rows of the file."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from rich.console import Console

from flows.commands.validate import main as validate_main
from flows.report import leads
from schemas.codes import Issue, Status
from tests.report.runs import result_row, results_frame
from transforms.summary import summarize

_EMPTY = [Issue.NO_CHANNEL.value, Issue.ROW_EMPTY.value, Issue.PHONE_MISSING.value]


def _validated(tmp_path: Path) -> tuple[pl.LazyFrame, str]:
    file = tmp_path / "export.csv"
    file.write_text(
        "first_name,phone,country\nAnn,+14155552671,US\n,,\nBob,,US\n,,\nCid,+14155552672,US\n",
        encoding="utf-8",
    )
    buffer = io.StringIO()
    code = validate_main([str(file), "--out", str(tmp_path / "out")], Console(file=buffer, width=200))
    printed = buffer.getvalue()
    assert code == 0, printed
    [results] = (tmp_path / "out").glob("*/results")
    return pl.scan_parquet(results / "*" / "*.parquet"), printed


def test_empty_rows_of_a_validated_file_are_their_own_outcome_not_leads_to_look_at(tmp_path: Path) -> None:
    results, printed = _validated(tmp_path)

    view = leads.lead_view(results, ["validate"], limit=100)

    assert view.counts[leads.Outcome.EMPTY] == 2
    assert view.counts[leads.Outcome.ATTENTION] == 1  # Bob: a lead without a phone, to fix
    assert sum(view.counts.values()) == view.leads == 5
    assert view.shown["source_row"].to_list() == [3]
    assert view.missed == 1
    assert "1 leads need attention" in printed


def test_with_several_targets_an_empty_row_is_an_empty_row_at_each_and_not_attention() -> None:
    rows = [
        result_row(source_row=row, target=target, status=status, reasons=reasons, external_id=f"e{row}")
        for target in ("obi_main", "engage")
        for row, status, reasons in (
            (1, Status.ACCEPTED.value, []),
            (2, Status.REJECTED.value, _EMPTY),
            (3, Status.REJECTED.value, [Issue.PHONE_INVALID.value]),
        )
    ]
    frame = results_frame(rows)

    outcomes = leads.lead_outcomes(frame)
    view = leads.lead_view(frame, ["obi_main", "engage"], limit=10)
    order, _ = leads.missed_in_order(frame)

    assert dict(zip(outcomes["source_row"], outcomes["outcome"], strict=True)) == {
        1: leads.Outcome.DELIVERED_ALL,
        2: leads.Outcome.EMPTY,
        3: leads.Outcome.ATTENTION,
    }
    assert leads.not_delivered_everywhere(outcomes)["source_row"].to_list() == [3]
    assert view.shown["source_row"].to_list() == order.to_list() == [3]
    assert summarize(frame)["attention"] == 2  # result rows: row 3 at each of the two targets
    assert summarize(frame)["rejected"] == 2  # distinct rows rejected: the empty one included
