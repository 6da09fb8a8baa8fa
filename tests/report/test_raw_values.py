"""The analyst sees what the file said: a refused phone, email, country or zone shows its raw
text beside the reason (report, CSV export, Prefect artifact), and a duplicate says which of
its fields matched the kept row."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import polars as pl

from flows.artifacts import attention_table
from flows.report.csv_export import lead_csv_frame, write_lead_csv
from flows.report.html_page import render_run_html
from flows.report.runs import load_run
from schemas.raw_leads import RAW_LEADS
from schemas.results import ADDED_COLUMNS
from tests.report.runs import build_results as report_results
from tests.report.runs import write_run
from transforms.normalize import clean_leads
from transforms.results import build_results

RUN_ID = "20261204T150000Z-raw016"
RAW_COLUMNS = ("phone1_raw", "phone2_raw", "phone3_raw", "email_raw", "country_raw", "timezone_raw")
_ROWS: list[dict[str, Any]] = [
    {"phone1": "555-CALL-NOW", "email": "bob@@example", "country": "Narnia", "timezone": "Mars/Base"},
    {"phone1": "+1 415 555 0101", "email": "ann@example.com"},
    {"phone1": "+1 415 555 0102", "phone2": "(415) 555-0101"},
]


def _run_dir(tmp_path: Path) -> Path:
    """A run folder written from leads that went through normalization and dedupe."""
    raw = pl.DataFrame(
        [
            dict.fromkeys(RAW_LEADS) | {"source_row": i, "attributes": [], "issues": []} | row
            for i, row in enumerate(_ROWS, start=1)
        ],
        schema=RAW_LEADS,
    )
    clean = clean_leads(raw, default_region="US", source="leads.csv")
    results = build_results(clean, run_id=RUN_ID, source_file="leads.csv", target="obi_main")
    return write_run(tmp_path / "out", RUN_ID, results=results, rows=len(_ROWS))


def _section(page: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">.*?</section>', page, re.S)
    assert found, anchor
    return found.group(0)


def _cells(section: str, first: str) -> list[str]:
    """The text of the cells of the table row whose first cell is ``first``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first}")


def test_the_lead_table_shows_each_refused_value_as_read_beside_the_reasons(tmp_path: Path) -> None:
    page = render_run_html(load_run(_run_dir(tmp_path)))

    cells = _cells(_section(page, "lead-table"), "1")
    as_read = cells.index("phone1: 555-CALL-NOW; email: bob@@example; country: Narnia; timezone: Mars/Base")
    # then a column per target: the run's one target with results, obi_main, holds the codes
    targets = cells[as_read + 1 :]
    reasons = "NO_CHANNEL, COUNTRY_UNKNOWN, PHONE_INVALID, TIMEZONE_INVALID, EMAIL_INVALID"
    assert f"rejected{reasons}" in targets


def test_the_csv_export_has_the_raw_values_right_after_the_reasons(tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    write_lead_csv(lead_csv_frame(load_run(_run_dir(tmp_path)).results), out)

    with out.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    at = header.index("reasons")
    assert header[at + 1 : at + 1 + len(RAW_COLUMNS)] == list(RAW_COLUMNS)
    assert [row["source_row"] for row in rows] == ["1", "3"]  # rejected, duplicate
    assert rows[0]["phone1"] == ""
    assert {name: rows[0][name] for name in RAW_COLUMNS} == {
        "phone1_raw": "555-CALL-NOW",
        "phone2_raw": "",
        "phone3_raw": "",
        "email_raw": "bob@@example",
        "country_raw": "Narnia",
        "timezone_raw": "Mars/Base",
    }


def test_the_prefect_attention_artifact_shows_the_values_as_read(tmp_path: Path) -> None:
    rows, _ = attention_table(load_run(_run_dir(tmp_path)).results.collect())

    shown = [(row["source_row"], re.sub(r"\\(.)", r"\1", row["as_read"])) for row in rows]
    assert shown == [(1, "phone1: 555-CALL-NOW; email: bob@@example; country: Narnia; timezone: Mars/Base")]
    assert list(rows[0]).index("as_read") == list(rows[0]).index("reasons") - 1 == 2


def test_the_duplicates_table_names_the_matched_field_and_shows_that_phone(tmp_path: Path) -> None:
    page = render_run_html(load_run(_run_dir(tmp_path)))

    section = _section(page, "dispositions")
    assert re.search(r"<th[^>]*>Matched on</th>", section)
    cells = _cells(section, "3")
    assert cells[3:5] == ["2", "phone2"]
    assert "+14155550101" in cells  # the phone that matched, not phone1 (+14155550102)
    assert "+14155550102" not in cells


def test_a_run_written_before_raw_values_and_duplicate_on_still_renders_and_exports(tmp_path: Path) -> None:
    older = report_results(RUN_ID, 12).drop(ADDED_COLUMNS)
    run = load_run(write_run(tmp_path / "out", RUN_ID, results=older, rows=12))

    page = render_run_html(run)
    out = tmp_path / "leads.csv"
    written = write_lead_csv(lead_csv_frame(run.results, run.target_names), out)

    assert "Matched on" in _section(page, "dispositions")
    assert written > 0
    with out.open(encoding="utf-8-sig", newline="") as stream:
        assert all(row["phone1_raw"] == "" for row in csv.DictReader(stream))
