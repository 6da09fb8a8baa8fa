"""The run report explains the codes of the run ("What the codes mean"), and every code in its
tables links to that explanation, from schemas.codes.GLOSSARY."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from flows.report.html_page import render_run_html, write_html_report
from flows.report.runs import load_run
from flows.report.sections import glossary_section
from schemas.codes import GLOSSARY
from schemas.glossary import anchor
from schemas.results import RESULTS
from tests.report.runs import result_row, results_frame, write_run


class _Links(HTMLParser):
    """ids and in-page links of a page, and the section each link sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "section":
            self._section = values.get("id") or ""
        if tag == "a" and (values.get("href") or "").startswith("#code-"):
            self.links.append((self._section, (values.get("href") or "")[1:]))


def _links(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def _glossary(page: str) -> str:
    return page.split('<section id="codes">', 1)[1].split("</section>", 1)[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = write_run(tmp_path_factory.mktemp("glossary") / "out")
    return run_dir, write_html_report(run_dir).read_text(encoding="utf-8")


def _present(run_dir: Path) -> dict[str, set[str]]:
    results = load_run(run_dir).results.collect()
    reasons = set(results["reasons"].explode().drop_nulls().to_list())
    return {"Status": set(results["status"].to_list()), "Issue": reasons}


def test_glossary_section_lists_each_code_of_the_run_with_meaning_and_action(run: tuple[Path, str]) -> None:
    run_dir, page = run
    section = _glossary(page)
    present = _present(run_dir)

    assert "<h2>What the codes mean</h2>" in section
    assert '<a href="#codes">What the codes mean</a>' in page
    assert len(present["Issue"]) >= 3
    for kind, codes in present.items():
        for code in codes:
            help_ = GLOSSARY[kind][code]
            assert f'<tr id="{anchor(kind, code)}">' in section
            entry = section.split(f'<tr id="{anchor(kind, code)}">', 1)[1].split("</tr>", 1)[0]
            text = html.unescape(re.sub(r"<[^>]+>", "", entry))
            assert help_.meaning.replace("`", "") in text
            assert help_.action.replace("`", "") in text


def test_glossary_section_leaves_out_codes_the_run_does_not_have(run: tuple[Path, str]) -> None:
    run_dir, page = run
    present = _present(run_dir)
    ids = _links(_glossary(page)).ids
    shown = {code_id for code_id in ids if code_id.startswith("code-")}

    expected = {anchor(kind, code) for kind, codes in present.items() for code in codes}
    assert shown == expected


def test_every_code_in_the_tables_links_to_its_glossary_entry(run: tuple[Path, str]) -> None:
    page = run[1]
    parsed = _links(page)
    sections = {section for section, _ in parsed.links}

    assert parsed.links
    assert {target for _, target in parsed.links} <= parsed.ids
    assert {"totals", "reasons", "lead-table"} <= sections
    attention = page.split('<table id="attention-table">', 1)[1].split("</table>", 1)[0]
    assert '<a href="#code-issue-TRANSPORT_FAILED">TRANSPORT_FAILED</a>' in attention
    assert '<a href="#code-status-failed">failed</a>' in attention


def test_duplicate_rows_link_their_status_and_reason(tmp_path: Path) -> None:
    rows = [
        result_row(source_row=1, status="accepted"),
        result_row(source_row=2, status="duplicate", reasons=["DUPLICATE_PHONE"], duplicate_of=1),
    ]
    page = render_run_html(load_run(write_run(tmp_path, results=results_frame(rows))))
    dispositions = page.split('<section id="dispositions">', 1)[1].split("</section>", 1)[0]

    assert '<a href="#code-issue-DUPLICATE_PHONE">DUPLICATE_PHONE</a>' in dispositions
    assert '<a href="#code-status-duplicate">duplicate</a>' in dispositions
    assert f'<tr id="{anchor("Issue", "DUPLICATE_PHONE")}">' in _glossary(page)
    assert f'<tr id="{anchor("Status", "accepted")}">' in _glossary(page)
    assert "<code>duplicate_of</code> names it" in _glossary(page)
    assert anchor("Issue", "TRANSPORT_FAILED") not in page


def test_a_run_of_no_rows_says_so_instead_of_an_empty_glossary() -> None:
    section = glossary_section({"statuses": {}, "reasons": {}})

    assert "This run has no result rows." in section
    assert "<table>" not in section


def test_a_code_the_glossary_lacks_stays_plain_text_without_a_dangling_link(tmp_path: Path) -> None:
    rows = [result_row(source_row=1, status="rejected", reasons=["NO_CHANNEL", "RETIRED_CODE"])]
    page = render_run_html(
        load_run(write_run(tmp_path, results=pl.DataFrame(rows, schema=RESULTS, orient="row")))
    )
    parsed = _links(page)

    assert "RETIRED_CODE" in page
    assert "#code-issue-RETIRED_CODE" not in page
    assert {target for _, target in parsed.links} <= parsed.ids
