"""The report's "Vendor errors" (HTML and terminal): a refusal that names its lead is one line
with its result rows and an example as written, however many leads it refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from flows.report.command import run_report
from flows.report.html_page import render_run_html
from flows.report.runs import load_run
from flows.report.sections import vendor_errors_section
from schemas.codes import Issue, Status
from tests.report.runs import result_row, results_frame, run_meta, write_run

REFUSED = 40
EXAMPLE = "Lead already exists in list 3: PhoneNum +447700900001 (LeadId 1)"
PATTERN = "Lead already exists in list 3: PhoneNum +&lt;id&gt; (LeadId &lt;id&gt;)"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [
        result_row(
            source_row=row,
            external_id=f"CRM-{10_000 + row}",
            target="obi_main",
            status=Status.VENDOR_REJECTED.value,
            reasons=[Issue.VENDOR_ID_CONFLICT.value],
            vendor_status="Error",
            vendor_message=f"Lead already exists in list 3: PhoneNum +44770090{row:04d} (LeadId {row})",
        )
        for row in range(1, REFUSED + 1)
    ]
    meta = {**run_meta(rows=REFUSED), "targets": [{"name": "obi_main", "kind": "sinch_obi"}]}
    return write_run(tmp_path_factory.mktemp("vendor") / "out", results=results_frame(rows), meta=meta)


def test_the_html_report_shows_one_line_per_kind_of_refusal_with_its_rows_and_an_example(
    run_dir: Path,
) -> None:
    page = render_run_html(load_run(run_dir))

    errors = page[page.index('<section id="vendor-errors">') :]
    errors = errors[: errors.index("</section>")]
    assert errors.count("<tr>") == 2  # the header and one line
    assert PATTERN in errors
    assert f"e.g. {EXAMPLE}" in errors
    assert '<td class="num">40</td>' in errors


def test_the_terminal_shows_one_line_per_kind_of_refusal_with_its_rows_and_an_example(run_dir: Path) -> None:
    console = Console(record=True, width=200, color_system=None)

    assert run_report(run_dir, None, None, console) == 0

    text = console.export_text()
    errors = text[text.index("Vendor errors") :]
    assert errors.count("Lead already exists") == 2  # the line and its example
    assert "PhoneNum +<id> (LeadId <id>)" in errors
    assert f"e.g. {EXAMPLE}" in errors
    assert " 40 " in errors


def test_a_summary_written_before_errors_were_grouped_is_shown_without_an_example() -> None:
    older = {
        "targets": {"obi": {"vendor_errors": [{"vendor_status": "400", "vendor_message": "bad", "count": 2}]}}
    }

    shown = vendor_errors_section(older)

    assert "bad" in shown and "e.g." not in shown
