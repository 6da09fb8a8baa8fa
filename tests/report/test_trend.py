"""The trend over a folder of runs (issue 16, item 4): rates per run over time, lines that stay
apart, each run linked to its report, nested folders found and skipped folders named."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from flows.report.command import run_report
from flows.report.html_page import write_html_report
from flows.report.run_folders import scan_runs, trend
from flows.report.trend_chart import trend_chart
from tests.report.runs import run_meta, write_run


def _meta(run_id: str, rows: int, started: str) -> dict[str, Any]:
    return {**run_meta(run_id, rows), "started_at": started}


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """runs/: a run at the top, two in a month folder (one started earlier than its id sorts),
    a copy of the first run elsewhere, a folder of notes, and a link to a folder outside."""
    root = tmp_path / "runs"
    write_run(
        root, "20261120T010000Z-aa0001", meta=_meta("20261120T010000Z-aa0001", 30, "2026-11-20T01:00:00Z")
    )
    month = root / "2026-11"
    write_run(
        month, "20261122T010000Z-aa0003", meta=_meta("20261122T010000Z-aa0003", 50, "2026-11-22T01:00:00Z")
    )
    write_run(
        month, "20261121T010000Z-aa0002", meta=_meta("20261121T010000Z-aa0002", 40, "2026-11-21T01:00:00Z")
    )
    write_run(
        root / "copy",
        "20261120T010000Z-aa0001",
        meta=_meta("20261120T010000Z-aa0001", 30, "2026-11-20T01:00:00Z"),
    )
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a run", encoding="utf-8")
    outside = write_run(tmp_path / "elsewhere", "20261123T010000Z-bb0001")
    (root / "linked").symlink_to(outside.parent, target_is_directory=True)
    for run_dir in (root / "20261120T010000Z-aa0001", month / "20261121T010000Z-aa0002"):
        write_html_report(run_dir)
    return root


def test_runs_are_found_at_any_depth_oldest_first_and_skipped_folders_say_why(nested: Path) -> None:
    found = scan_runs(nested)

    assert [found.folder(run) for run in found.runs] == [
        "20261120T010000Z-aa0001",
        "copy/20261120T010000Z-aa0001",
        "2026-11/20261121T010000Z-aa0002",
        "2026-11/20261122T010000Z-aa0003",
    ]
    assert {(skipped.folder, skipped.reason) for skipped in found.skipped} == {
        ("notes", "no run folder inside (no results/ folder)"),
        ("linked", "a link to another folder: not followed"),
    }


def test_trend_gives_shares_of_each_targets_leads_per_run_and_keeps_copies_apart(nested: Path) -> None:
    found = scan_runs(nested)

    table = trend(found.runs, nested)

    assert table["folder"].n_unique() == 4  # the copy of a run is its own row, not merged
    row = table.filter(pl.col("folder") == "2026-11/20261121T010000Z-aa0002", pl.col("target") == "obi_main")
    counts = row.row(0, named=True)
    assert counts["rows"] == 40
    delivered = counts["accepted"] + counts["submitted"] + counts["already_sent"]
    assert counts["delivered_share"] == pytest.approx(delivered / 40)
    assert counts["rejected_share"] == pytest.approx((counts["rejected"] + counts["vendor_rejected"]) / 40)
    assert counts["failed_share"] == pytest.approx(counts["failed"] / 40)
    assert str(counts["started"]) == "2026-11-21 01:00:00"


def test_the_chart_plots_percentages_over_time_and_each_target_has_its_own_style(nested: Path) -> None:
    found = scan_runs(nested)

    svg = trend_chart(trend(found.runs, nested))

    assert "20261121T010000Z" not in svg  # dates on the x axis, not run ids
    assert "100%" in svg
    assert "Nov" in svg
    labels = re.findall(r"(obi_main|engage_eu|sms_promo|mail_promo) \(latest (\d+)%\)", svg)
    assert len(labels) == 4 * 3  # a legend with the latest value in each of the three panels
    dashes = set(re.findall(r"stroke-dasharray: ([\d.,]+)", svg))
    assert len(dashes) >= 3  # one solid target and three dash patterns: coinciding lines stay apart


def test_the_trend_page_links_each_run_to_its_report_relatively(nested: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "pages" / "trend.html"
    console = Console(record=True, width=200, color_system=None)

    assert run_report(nested, page_path, None, console) == 0

    page = page_path.read_text(encoding="utf-8")
    links = [html.unescape(href) for href in re.findall(r'<a class="run-link" href="([^"]+)"', page)]
    assert len(links) == 2  # the two runs with a report.html
    for link in links:
        assert not link.startswith(("/", "file:"))
        assert (page_path.parent / link).resolve().is_file()
    assert os.path.relpath(nested / "2026-11/20261121T010000Z-aa0002/report.html", page_path.parent) in links
    assert "no report.html" in page  # the others say how to write one
    assert "copy/20261120T010000Z-aa0001" in page
    assert "not followed" in page
    text = console.export_text()
    assert "skipped notes: no run folder inside" in text
    assert "2026-11/20261122T010000Z-aa0003" in text


def test_a_folder_whose_runs_are_all_nested_is_a_folder_of_runs(tmp_path: Path) -> None:
    write_run(tmp_path / "out" / "2026" / "11", "20261121T010000Z-aa0002")
    console = Console(record=True, width=200, color_system=None)

    assert run_report(tmp_path / "out", None, None, console) == 0

    text = console.export_text()
    assert "Trend per run and target" in text
    assert "2026/11/20261121T010000Z-aa0002" in text


def test_a_rerun_of_a_delivered_file_is_delivered_in_the_trend_not_at_zero(tmp_path: Path) -> None:
    from tests.report.runs import results_frame, status_rows

    root = tmp_path / "runs"
    for run_id, status, started in (
        ("20261120T010000Z-aa0001", "accepted", "2026-11-20T01:00:00Z"),
        ("20261121T010000Z-aa0002", "already_sent", "2026-11-21T01:00:00Z"),
    ):
        rows = results_frame(status_rows([[status]] * 3 + [["rejected"]], ["obi"]))
        write_run(
            root, run_id, results=rows.with_columns(run_id=pl.lit(run_id)), meta=_meta(run_id, 4, started)
        )

    found = scan_runs(root)
    shares = (
        trend(found.runs, root)
        .filter(pl.col("target") == "obi")
        .select("run_id", "already_sent", "delivered_share", "rejected_share")
    )

    assert shares.rows() == [
        ("20261120T010000Z-aa0001", 0, 0.75, 0.25),
        ("20261121T010000Z-aa0002", 3, 0.75, 0.25),
    ]
