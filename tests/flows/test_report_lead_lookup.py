"""``leadflow report PATH --lead VALUE``: an analyst with a phone number, an email or a CRM id
finds every result of that lead in every run under a folder (nested run folders included),
oldest run first, read as the leads were read (national numbers with ``--country``), and can
export them as spreadsheet-safe CSV. Real runs: ``leadflow import`` against the sandbox
vendors on 127.0.0.1 and ``leadflow validate``, then the real ``leadflow report`` command."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from flows.commands.validate import main as validate_main
from flows.report.command import main as report_main
from tests.flows.conftest import Vendors, write_targets

_FILE = (
    "Record ID,First Name,Phone,Email,Country\n"
    "A1,Ann,(415) 555-2671,Ann.Lee@Example.COM,US\n"
    "A2,Bob,555-CALL-NOW,bob@example.com,US\n"
    "A3,=HYPERLINK(1),+1 415 555 2672,,US\n"
)


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=250), buffer


def _report(*argv: str) -> tuple[int, str]:
    console, buffer = _console()
    return report_main(list(argv), console), buffer.getvalue()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Two runs of one file, in folders a month apart: a validate, then an import to OBI."""
    file = tmp_path / "leads.csv"
    file.write_text(_FILE, encoding="utf-8")
    console, buffer = _console()
    assert validate_main([str(file), "--out", str(tmp_path / "runs" / "2026-11")], console) == 0, (
        buffer.getvalue()
    )
    return file


@pytest.mark.slow
def test_a_lead_is_found_in_every_run_by_its_phone_as_typed_oldest_run_first(
    runs: Path, vendors: Vendors, tmp_path: Path
) -> None:
    console, buffer = _console()
    targets = write_targets(tmp_path / "t.toml", only=["obi"])
    code = import_main(
        [str(runs), "--targets", str(targets), "--out", str(tmp_path / "runs" / "2026-12")], console
    )
    assert code == 0, buffer.getvalue()

    code, printed = _report(str(tmp_path / "runs"), "--lead", "415.555.2671", "--country", "US")

    assert code == 0, printed
    assert (
        "Lead +14155552671 (phone; as given: 415.555.2671): 2 results in 2 of the 2 runs searched." in printed
    )
    validate_line, import_line = [line for line in printed.splitlines() if "1 of leads.csv" in line]
    assert "2026-11/" in validate_line and "validate" in validate_line and "ready" in validate_line
    assert "2026-12/" in import_line and "obi" in import_line and "accepted" in import_line
    assert "sent 20" in import_line  # when it was sent, from the result's sent_at


def test_an_email_is_matched_whatever_its_case_and_an_external_id_as_given(
    runs: Path, tmp_path: Path
) -> None:
    folder = str(tmp_path / "runs")

    by_email = _report(folder, "--lead", "ANN.LEE@example.com")
    by_id = _report(folder, "--lead", "A1")

    assert by_email[0] == by_id[0] == 0
    assert (
        "Lead ann.lee@example.com (email; as given: ANN.LEE@example.com): 1 result in 1 of the 1 run"
        in by_email[1]
    )
    assert "Lead A1 (external id or value as read): 1 result" in by_id[1]


def test_a_refused_number_is_found_by_the_value_as_read(runs: Path, tmp_path: Path) -> None:
    code, printed = _report(str(tmp_path / "runs"), "--lead", "555-CALL-NOW")

    assert code == 0, printed
    assert "1 result in 1 of the 1 run searched" in printed
    assert "PHONE_INVALID" in printed  # Bob is still reached by his email: ready, his phone refused


def test_a_national_number_without_a_country_finds_nothing_and_says_why(runs: Path, tmp_path: Path) -> None:
    code, printed = _report(str(tmp_path / "runs"), "--lead", "(415) 555-2671")

    assert code == 0, printed
    assert "no result in the 1 run searched" in printed
    assert "a national number needs --country" in printed


def test_the_csv_of_a_leads_results_is_spreadsheet_safe(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "lead.csv"

    code, printed = _report(str(tmp_path / "runs"), "--lead", "+14155552672", "--csv", str(out))

    assert code == 0, printed
    [row] = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert row["phone1"] == "'+14155552672" and row["status"] == "ready"
    assert row["external_id"] == "A3"


def test_html_with_a_lead_and_a_country_without_one_are_one_error_line(runs: Path, tmp_path: Path) -> None:
    folder = str(tmp_path / "runs")

    html = _report(folder, "--lead", "A1", "--html", str(tmp_path / "x.html"))
    country = _report(folder, "--country", "US")
    unknown = _report(folder, "--lead", "4155552671", "--country", "Atlantis")

    assert [html[0], country[0], unknown[0]] == [1, 1, 1]
    assert html[1].strip() == "Error: --html draws a run or a trend, not one lead: use --csv with --lead"
    assert country[1].strip() == "Error: --country reads the value of --lead: give --lead too"
    assert "--country 'Atlantis' is not a country Leadflow knows" in unknown[1]
    assert not (tmp_path / "x.html").exists()
