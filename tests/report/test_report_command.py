"""The ``leadflow report`` command the HTML report suggests works from wherever the analyst is,
and ``leadflow report`` takes a run id as well as a run folder's path (issue 16, item 8: the
suggested ``leadflow report <run_id> --csv`` failed from the repository root)."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import pytest
from rich.console import Console

from flows.report.command import main, report_finished_run
from flows.report.html_page import render_run_html
from flows.report.runs import load_run, write_summary
from tests.report.runs import run_meta, write_run

RUN_ID = "20261124T012233Z-ab12cd"


def _console() -> Console:
    return Console(record=True, width=200, color_system=None)


def _suggested(run_dir: Path) -> list[str]:
    page = render_run_html(load_run(run_dir))
    [command] = {html.unescape(found) for found in re.findall(r"<code>(leadflow report [^<]*)</code>", page)}
    return shlex.split(command)


def test_the_suggested_csv_command_works_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = write_run(tmp_path / "inbox root" / "runs", run_id=RUN_ID)
    elsewhere = tmp_path / "repository"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    command = _suggested(run_dir)
    console = _console()

    assert command[:2] == ["leadflow", "report"]
    assert main(command[2:], console=console) == 0, console.export_text()

    assert (elsewhere / "leads.csv").read_text(encoding="utf-8-sig").startswith("run_id,source_row,outcome,")


def test_a_run_id_is_looked_up_in_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(tmp_path / "runs", run_id=RUN_ID)
    monkeypatch.chdir(tmp_path)
    console = _console()

    assert main([RUN_ID, "--out", "runs"], console=console) == 0

    assert f"Leadflow run {RUN_ID}" in console.export_text()


def test_a_run_id_is_looked_up_in_leadflow_out_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(tmp_path / "leadflow-out", run_id=RUN_ID)
    monkeypatch.chdir(tmp_path)
    console = _console()

    assert main([RUN_ID], console=console) == 0

    assert f"Leadflow run {RUN_ID}" in console.export_text()


def test_an_unknown_run_id_names_the_folder_searched_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    console = _console()

    assert main([RUN_ID, "--out", "runs"], console=console) == 1

    [line] = console.export_text().strip().splitlines()
    assert line.startswith(f"Error: {RUN_ID}: no run with this id in {tmp_path / 'runs'}")
    assert "--out" in line


def test_a_watched_folder_run_shows_the_name_its_file_was_dropped_as(tmp_path: Path) -> None:
    dropped = {"source_file": "/srv/w/archive/20261124T012233Z-7@0123abcd-0beef-leads.csv"}
    meta = run_meta(RUN_ID) | dropped | {"dropped_as": "/srv/w/inbox/leads.csv"}
    run_dir = write_run(tmp_path / "runs", run_id=RUN_ID, meta=meta)
    console = _console()

    assert main([str(run_dir)], console=console) == 0

    text = console.export_text()
    assert re.search(r"source file +/srv/w/archive/20261124T012233Z-7@0123abcd-0beef-leads\.csv", text)
    assert re.search(r"dropped as +/srv/w/inbox/leads\.csv", text)


def test_the_report_of_a_finished_run_is_the_page_and_the_terminal_report_of_leadflow_report(
    tmp_path: Path,
) -> None:
    """``leadflow validate`` shows its run from one computation of the figures (and the summary
    it wrote): the same page and the same terminal lines as the report commands make on their own."""
    run_dir = write_run(tmp_path / "runs", run_id=RUN_ID)
    write_summary(run_dir)
    finished, alone = _console(), _console()

    assert report_finished_run(run_dir, finished) == 0
    assert main([str(run_dir)], console=alone) == 0

    assert (run_dir / "report.html").read_text(encoding="utf-8") == render_run_html(load_run(run_dir))
    assert finished.export_text() == alone.export_text()
