"""The Prefect artifacts carry the report's content, lead first, with lead values escaped.

Prefect's UI renders the summary and every text cell of a table artifact as markdown: a value
read from a lead file must show as typed, never as markup, a link or a script.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from flows.artifacts import (
    ATTENTION_LIMIT,
    CELL_LIMIT,
    attention_table,
    lead_outcomes,
    md_escape,
    summary_markdown,
)
from flows.verdict import send_facts
from schemas.raw_leads import RAW_LEADS
from transforms.normalize import clean_leads
from transforms.results import build_results
from transforms.summary import summarize

HOSTILE = "Ann | <script>alert(1)</script> [x](javascript:alert(1)) **b**"


def md_unescape(text: str) -> str:
    """What a CommonMark renderer shows for escaped text (backslash before punctuation dropped)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def _results(rows: list[dict[str, Any]], targets: tuple[str, ...] = ("obi", "onc")) -> pl.DataFrame:
    raw = pl.DataFrame(
        [
            dict.fromkeys(RAW_LEADS) | {"source_row": i, "attributes": [], "issues": []} | row
            for i, row in enumerate(rows, start=1)
        ],
        schema=RAW_LEADS,
    )
    clean = clean_leads(raw, default_region="US", source="leads.csv")
    return pl.concat(
        [build_results(clean, run_id="r1", source_file="leads.csv", target=target) for target in targets]
    )


ROWS: list[dict[str, Any]] = [
    {"first_name": HOSTILE, "phone1": "555-CALL-NOW", "email": "bob@@example"},
    {"first_name": "Bea", "phone1": "+1 415 555 0101"},
    {"first_name": "Cy", "phone1": "+1 415 555 0102"},
    {"first_name": "Cy", "phone1": "+1 415 555 0102"},
]


def _summary(results: pl.DataFrame) -> dict[str, Any]:
    return {**summarize(results, ["obi", "onc"]), "send": send_facts(results)}


def test_leads_are_counted_once_whatever_the_number_of_targets() -> None:
    outcomes = lead_outcomes(_results(ROWS))

    assert outcomes["leads"] == 4
    assert outcomes["rejected"] == 1 and outcomes["attention"] == 1
    assert outcomes["duplicate"] == 1


def test_the_attention_table_has_one_row_per_lead_with_its_status_at_each_target() -> None:
    rows, description = attention_table(_results(ROWS))

    assert [row["source_row"] for row in rows] == [1]
    assert (md_unescape(rows[0]["obi"]), md_unescape(rows[0]["onc"])) == ("rejected", "rejected")
    assert md_unescape(rows[0]["as_read"]) == "phone1: 555-CALL-NOW; email: bob@@example"
    assert description.startswith("1 leads need attention")


def test_a_hostile_lead_name_shows_as_typed_in_the_table_and_the_summary() -> None:
    results = _results(ROWS)
    rows, _ = attention_table(results)
    markdown = summary_markdown(
        _summary(results), run_dir="out/r1", source="leads.csv", dry_run=False, results=results
    )

    assert md_unescape(rows[0]["name"]) == HOSTILE
    assert "<script>" not in rows[0]["name"] and "<script>" not in markdown
    assert "](" not in rows[0]["name"] and "](javascript" not in markdown
    preview = [line for line in markdown.splitlines() if line.startswith("| 1 |")]
    assert len(preview) == 1
    header = next(line for line in markdown.splitlines() if line.startswith("| row |"))
    assert len(re.split(r"(?<!\\)\|", preview[0])) == len(re.split(r"(?<!\\)\|", header))
    cells = re.split(r"(?<!\\)\|", preview[0])[1:-1]
    assert [md_unescape(c.strip()) for c in cells][:2] == ["1", HOSTILE]


def test_a_long_attention_list_is_cut_and_says_how_many_were_left_out() -> None:
    many = [{"phone1": f"bad-{i}"} for i in range(ATTENTION_LIMIT + 7)]
    results = _results(many, targets=("obi",))
    rows, description = attention_table(results)
    markdown = summary_markdown(
        {**summarize(results, ["obi"]), "send": send_facts(results)},
        run_dir="out/r1",
        source="leads.csv",
        dry_run=False,
        results=results,
    )

    assert len(rows) == ATTENTION_LIMIT
    assert f"{ATTENTION_LIMIT + 7:,} leads need attention" in description
    assert "7 left out" in description
    assert f"and {ATTENTION_LIMIT + 7 - 20:,} more" in markdown


def test_a_long_value_is_cut_in_the_table() -> None:
    rows, _ = attention_table(
        _results([{"first_name": "Maximilian" * 500, "phone1": "nope"}], targets=("obi",))
    )

    assert len(md_unescape(rows[0]["name"])) == CELL_LIMIT


def test_the_summary_links_the_served_report_and_no_file_url() -> None:
    results = _results(ROWS)
    url = "http://127.0.0.1:4201/runs/r1/report.html"
    markdown = summary_markdown(
        _summary(results),
        run_dir="/srv/runs/r1",
        source="leads.csv",
        dry_run=False,
        results=results,
        report_url=url,
    )

    assert f"[HTML report]({url})" in markdown
    assert "file://" not in markdown


@given(st.text(max_size=60))
def test_any_text_escaped_renders_back_to_itself_on_one_line(text: str) -> None:
    escaped = md_escape(text)

    assert "\n" not in escaped and "\r" not in escaped
    assert md_unescape(escaped) == re.sub(r"\s+", " ", text)
    assert re.search(r"(?<!\\)[|<>\[\]`*_]", escaped) is None
