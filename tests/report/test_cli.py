"""flows.report.command: the `leadflow report` command over a run, bare results and a folder of runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from flows.report.command import main, run_report
from tests.report.runs import HOSTILE_VENDOR_MESSAGE, write_run


def _console() -> Console:
    return Console(record=True, width=200, color_system=None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "out"
    write_run(out, run_id="20261124T012233Z-ab12cd", rows=40)
    write_run(out, run_id="20261125T080000Z-cd34ef", rows=20)
    return out


def test_run_folder_prints_counts_reasons_and_vendor_errors(runs: Path) -> None:
    console = _console()

    assert run_report(runs / "20261124T012233Z-ab12cd", None, None, console) == 0

    text = console.export_text()
    assert "Leadflow run 20261124T012233Z-ab12cd" in text
    assert "40 leads (rows of the file), 4 targets, 10 leads need attention" in text
    for expected in ("obi_main", "vendor_rejected", "NEEDS_MOBILE", "Service Unavailable", "leads_november"):
        assert expected in text
    lead_first = [
        text.index(title) for title in ("Leads by outcome", "Leads to look at", "Results by target")
    ]
    assert lead_first == sorted(lead_first)


def test_vendor_text_is_printed_as_written_not_as_console_markup(runs: Path) -> None:
    console = _console()

    run_report(runs / "20261124T012233Z-ab12cd", None, None, console)

    text = console.export_text()
    assert "[red]rich markup[/red]" in text
    assert HOSTILE_VENDOR_MESSAGE.split("</td>")[0].strip() in text


def test_html_and_csv_are_written_where_asked(runs: Path, tmp_path: Path) -> None:
    html, csv = tmp_path / "r" / "report.html", tmp_path / "leads.csv"
    console = _console()

    assert main([str(runs / "20261124T012233Z-ab12cd"), "--html", str(html), "--csv", str(csv)], console) == 0

    assert html.read_text(encoding="utf-8").count("<svg") == 5
    assert len(csv.read_text(encoding="utf-8-sig").splitlines()) == 1 + 25
    assert (
        f"CSV: 25 leads to look at (not delivered to every target, or marked; one row per lead) -> {csv}"
        in console.export_text()
    )


def test_bare_results_parquet_is_reported_without_run_inputs(runs: Path) -> None:
    part = runs / "20261125T080000Z-cd34ef" / "results" / "target=engage_eu" / "part-0.parquet"
    console = _console()

    assert run_report(part, None, None, console) == 0

    text = console.export_text()
    assert "Run inputs unavailable: results given without a run folder" in text
    assert "20 leads (rows of the file), 1 target," in text


def test_folder_of_runs_gives_the_trend_per_run_and_target(runs: Path, tmp_path: Path) -> None:
    console = _console()
    html, csv = tmp_path / "trend.html", tmp_path / "all.csv"

    assert run_report(runs, html, csv, console) == 0

    text = console.export_text()
    lines = [line for line in text.splitlines() if "obi_main" in line]
    folders = [word for line in lines for word in line.split() if word.startswith("2026112")]
    assert folders == ["20261124T012233Z-ab12cd", "20261125T080000Z-cd34ef"]
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 1
    assert "20261125T080000Z-cd34ef" in page
    assert "CSV: 38 leads to look at (not delivered to every target, or marked) across 2 runs" in text


def test_a_path_without_results_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    console = _console()

    assert run_report(tmp_path / "nowhere", None, None, console) == 1

    assert console.export_text().strip() == f"Error: {tmp_path / 'nowhere'}: no such file or folder"
