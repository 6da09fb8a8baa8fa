"""flows.report.html_page: a self-contained report in which lead values can only ever be text."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from flows.report.html_page import render_run_html, write_html_report
from flows.report.lead_sections import LEAD_LIMIT
from flows.report.runs import load_run
from tests.report.runs import (
    FORMULA,
    HOSTILE_VENDOR_MESSAGE,
    XSS_IMG,
    XSS_SCRIPT,
    result_row,
    results_frame,
    run_meta,
    write_run,
)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.csp = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.csp = values.get("content") or ""
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run_dir = write_run(tmp_path_factory.mktemp("html") / "out")
    return run_dir, write_html_report(run_dir)


@pytest.fixture(scope="module")
def page(written: tuple[Path, Path]) -> str:
    return written[1].read_text(encoding="utf-8")


def test_report_is_written_next_to_the_results(written: tuple[Path, Path]) -> None:
    run_dir, report = written

    assert report == run_dir / "report.html"
    assert not list(run_dir.glob(".report.html.*"))


@pytest.mark.parametrize("hostile", [XSS_SCRIPT, XSS_IMG, HOSTILE_VENDOR_MESSAGE, "<i>Notiz</i>"])
def test_values_from_leads_vendors_and_run_json_appear_only_escaped(page: str, hostile: str) -> None:
    assert hostile not in page
    assert (
        hostile.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
        in page
    )


def test_the_only_script_is_ours_and_the_policy_allows_only_it(page: str) -> None:
    elements = _parse(page)

    assert elements.tags.count("script") == 1
    digest = base64.b64encode(hashlib.sha256(elements.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in elements.csp
    assert "default-src 'none'" in elements.csp
    assert "<img" not in page


def test_report_needs_no_network(page: str) -> None:
    elements = _parse(page)

    assert not {"link", "iframe", "object", "embed", "img"} & set(elements.tags)
    assert all(url.startswith(("#", "data:")) for url in elements.urls), elements.urls


_SECTIONS = (
    "leads",
    "lead-table",
    "reasons",
    "totals",
    "vendor-errors",
    "phones",
    "dispositions",
    "inputs",
    "codes",
)


def test_report_shows_charts_as_inline_svg_and_every_section_leads_first(page: str) -> None:
    assert page.count("<svg") == 5
    at = [page.index(f'<section id="{anchor}">') for anchor in _SECTIONS]
    assert at == sorted(at)


def test_lead_table_lists_each_lead_not_delivered_everywhere_once_with_its_reasons(page: str) -> None:
    body = page.split('<table id="attention-table">', 1)[1].split("</table>", 1)[0]

    assert body.count("<tr data-outcome=") == 25  # of 40 leads, 15 reached all four targets
    assert (
        '<tr data-outcome="needs attention" data-status="accepted failed submitted" data-target="engage_eu">'
        in body
    )
    assert 'data-status="accepted ineligible submitted" data-target="sms_promo"' in body
    assert "TRANSPORT_FAILED" in body
    assert "=HYPERLINK(&quot;" in body
    assert FORMULA not in page


def test_same_results_render_the_same_bytes(written: tuple[Path, Path], page: str) -> None:
    assert render_run_html(load_run(written[0])) == page


def test_run_inputs_show_documented_keys_only(tmp_path: Path) -> None:
    meta = {**run_meta(), "api_password": "hunter2-very-secret", "dry_run": True}
    page = render_run_html(load_run(write_run(tmp_path, meta=meta)))

    assert "hunter2-very-secret" not in page
    assert "Dry run: payloads were built, nothing was sent" in page
    assert "9f2c1e0b7a4d3c2b1a09f8e7d6c5b4a3" in page
    assert "Vorname" in page


def test_missing_run_json_still_gives_a_report(run_dir: Path) -> None:
    (run_dir / "run.json").unlink()

    page = render_run_html(load_run(run_dir))

    assert "Run inputs unavailable: run.json not found." in page
    assert page.count("<svg") == 5


def test_lead_table_is_capped_with_a_pointer_to_the_csv(tmp_path: Path) -> None:
    rows = LEAD_LIMIT + 1
    frame = pl.DataFrame(
        [result_row(source_row=1, status="rejected", reasons=["NO_CHANNEL"])] * rows
    ).with_columns(pl.int_range(1, rows + 1, dtype=pl.Int64).alias("source_row"))
    run_dir = write_run(tmp_path, results=results_frame(frame.to_dicts()), meta={**run_meta(), "rows": rows})

    page = write_html_report(run_dir).read_text(encoding="utf-8")

    assert page.count("<tr data-outcome=") == LEAD_LIMIT
    assert f"Only the first {LEAD_LIMIT:,} of {rows:,} leads are shown" in page
    assert "--csv leads.csv" in page


def test_title_names_the_run(written: tuple[Path, Path], page: str) -> None:
    assert not (written[0] / "summary.json").exists()
    assert "<title>Leadflow run 20261124T012233Z-ab12cd</title>" in page


def test_a_clean_run_says_nothing_needs_attention(tmp_path: Path) -> None:
    rows = [result_row(source_row=row, external_id=f"e{row}") for row in (1, 2, 3)]

    page = render_run_html(load_run(write_run(tmp_path, results=results_frame(rows))))

    assert "Every lead was delivered to every target." in page
    assert "No lead carries a reason code." in page
    assert "No vendor errors." in page
    assert 'id="attention-table"' not in page
