"""A lead a target held for its calling window (``OUTSIDE_CALLING_WINDOW``) says when it may be
called: the CSV export has the window of each target that gave any lead one, the HTML and
terminal lead tables say "callable from ..." under the held status. Results without windows
(no compliance profile, older runs, validate) keep the columns they had."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from flows.report.command import run_report
from flows.report.csv_export import export_lead_csv, lead_csv_frame, write_lead_csv
from flows.report.html_page import render_run_html
from flows.report.leads import lead_view
from flows.report.runs import load_run
from schemas.codes import Issue, Status
from schemas.results import WINDOW_COLUMNS
from tests.report.runs import build_results, result_row, results_frame, run_meta, write_run

STARTED = datetime(2026, 12, 5, 1, 30, 27, tzinfo=UTC)
SATURDAY_8AM_EST = datetime(2026, 12, 5, 13, tzinfo=UTC)
SATURDAY_8PM_EST = datetime(2026, 12, 6, 1, tzinfo=UTC)
TARGETS = (("engage_us", "engage"), ("mail_promo", "ucontact_email"))
HELD = [Issue.OUTSIDE_CALLING_WINDOW.value]


def _lead(row: int, engage: dict[str, Any], mail: dict[str, Any]) -> list[dict[str, Any]]:
    lead = {
        "source_row": row,
        "external_id": f"crm-{row}",
        "first_name": f"Lead{row}",
        "phone1": f"+1305555{row:04d}",
    }
    return [
        result_row(**lead, target="engage_us", **engage),
        result_row(**lead, target="mail_promo", email=f"lead{row}@example.com", **mail),
    ]


def _results() -> pl.DataFrame:
    accepted = {"status": Status.ACCEPTED.value}
    held = {"status": Status.INELIGIBLE.value, "reasons": HELD}
    no_email = {"status": Status.INELIGIBLE.value, "reasons": [Issue.NEEDS_EMAIL.value]}
    window = {"call_window_start": SATURDAY_8AM_EST, "call_window_end": SATURDAY_8PM_EST}
    rows = [
        *_lead(1, {**held, **window}, accepted),  # Florida after 20:00: held until Saturday 08:00
        *_lead(2, {**accepted, "call_window_start": STARTED, "call_window_end": SATURDAY_8PM_EST}, no_email),
        *_lead(3, held, accepted),  # held with no window at all (no zone)
        *_lead(4, {**held, "call_window_start": STARTED, "call_window_end": SATURDAY_8PM_EST}, accepted),
        *_lead(5, accepted, accepted),  # delivered everywhere: not listed
    ]
    return results_frame(rows)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    meta = {**run_meta(rows=5), "targets": [{"name": name, "kind": kind} for name, kind in TARGETS]}
    return write_run(tmp_path_factory.mktemp("windows") / "out", results=_results(), meta=meta, rows=5)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.parametrize("chunk", [1, 50_000])
def test_the_csv_has_the_window_of_each_target_that_gave_one_and_no_other_window_columns(
    run_dir: Path, tmp_path: Path, chunk: int
) -> None:
    run = load_run(run_dir)
    whole = tmp_path / "whole.csv"
    write_lead_csv(lead_csv_frame(run.results, run.target_names), whole)

    assert export_lead_csv(run.results, run.target_names, tmp_path / "sliced.csv", chunk=chunk) == 4
    assert (tmp_path / "sliced.csv").read_bytes() == whole.read_bytes()
    rows = {row["source_row"]: row for row in _read(whole)}
    assert [name for name in rows["1"] if "call_window" in name] == [
        "engage_us call_window_start",
        "engage_us call_window_end",
    ]
    assert rows["1"]["engage_us call_window_start"] == "2026-12-05T13:00:00Z"
    assert rows["1"]["engage_us call_window_end"] == "2026-12-06T01:00:00Z"
    assert rows["2"]["engage_us call_window_start"] == "2026-12-05T01:30:27Z"  # accepted: its window as is
    assert rows["3"]["engage_us call_window_start"] == rows["3"]["engage_us call_window_end"] == ""


def test_the_html_lead_table_says_when_a_held_lead_may_be_called(run_dir: Path) -> None:
    page = render_run_html(load_run(run_dir))

    table = page[page.index('<table id="attention-table">') :]
    rows = {row.split("</td>", 1)[0].rsplit(">", 1)[-1]: row for row in table.split("<tr ")[1:]}
    assert '<span class="window">callable from 2026-12-05 13:00 UTC</span>' in rows["1"]
    assert '<span class="window">no calling window</span>' in rows["3"]
    # a window that starts at the run's start, 01:30:27, is callable from the next minute
    assert "callable from 2026-12-05 01:31 UTC" in rows["4"]
    assert "callable" not in rows["2"]  # accepted at engage_us: not held


@pytest.mark.parametrize("width", [200, 80, 76])
def test_the_terminal_lead_table_says_when_a_held_lead_may_be_called(run_dir: Path, width: int) -> None:
    console = Console(record=True, width=width, color_system=None)

    assert run_report(run_dir, None, None, console) == 0

    text = console.export_text()
    table = text[text.index("Leads to look at") : text.index("Results by target")]
    # "callable from" over the time, below the status: as narrow as the code it explains
    assert table.count("callable from") == 2
    assert "2026-12-05 13:00 UTC" in table and "2026-12-05 01:31 UTC" in table
    assert "no calling window" in table
    assert table.count("OUTSIDE_CALLING_WINDOW") == 3 and "…" not in table


def test_a_run_without_windows_gets_no_window_columns_nor_callable_text(tmp_path: Path) -> None:
    results = build_results(rows=12)

    assert not [name for name in lead_csv_frame(results).columns if "call_window" in name]
    assert not [name for name in lead_view(results, ["obi_main"], 50).shown.columns if "call_window" in name]


def test_results_without_the_window_columns_are_exported_and_shown(tmp_path: Path) -> None:
    older = _results().drop(WINDOW_COLUMNS)

    exported = lead_csv_frame(older, ["engage_us", "mail_promo"])
    view = lead_view(older.lazy(), ["engage_us", "mail_promo"], 50)

    assert exported.height == view.shown.height == 4
    assert not [name for name in exported.columns if "call_window" in name]
    meta = {**run_meta(rows=5), "targets": [{"name": name, "kind": kind} for name, kind in TARGETS]}
    run_dir = write_run(tmp_path / "out", results=older, meta=meta, rows=5)
    console = Console(record=True, width=200, color_system=None)
    assert run_report(run_dir, None, tmp_path / "leads.csv", console) == 0
    assert "callable from" not in console.export_text() + render_run_html(load_run(run_dir))
