"""The report counts leads (rows of the file), not lead x target results: headline, lead table,
reasons, terminal and the run's suppression lists (issue 16, item 3)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from flows.report.command import run_report
from flows.report.html_page import render_run_html
from flows.report.leads import (
    DELIVERED,
    OUTCOMES,
    Outcome,
    lead_outcomes,
    lead_view,
    not_delivered_everywhere,
    outcome_counts,
)
from flows.report.runs import load_run
from schemas.codes import Status
from tests.report.runs import (
    TARGETS,
    build_results,
    result_row,
    results_frame,
    run_meta,
    status_rows,
    write_run,
)
from transforms.summary import ATTENTION_STATUSES


def _section(page: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">.*?</section>', page, re.S)
    assert found, anchor
    return found.group(0)


def _tiles(section: str) -> dict[str, int]:
    return {
        label: int(value.replace(",", ""))
        for value, label in re.findall(r'<div class="tile[^"]*"><b>([\d,]+)</b><span>([^<]+)</span>', section)
    }


def test_headline_counts_leads_once_and_adds_up_to_the_rows_of_the_file(run_dir: Path) -> None:
    page = render_run_html(load_run(run_dir))

    tiles = _tiles(_section(page, "leads"))
    rows = tiles.pop("leads (rows of the file)")
    assert rows == 40
    assert sum(tiles.values()) == rows  # 160 results for 4 targets, but 40 leads
    assert tiles == {
        "delivered to every target": 15,
        "delivered to some targets": 10,
        "needs attention": 10,
        "duplicate": 4,
        "suppressed": 1,
    }
    assert "result rows" not in page.split('<section id="totals">', 1)[0]


def test_reasons_count_the_leads_carrying_them_not_their_results(run_dir: Path) -> None:
    page = render_run_html(load_run(run_dir))

    section = _section(page, "reasons")
    # 4 leads with an invalid phone are rejected at each of 4 targets: 16 results, 4 leads
    row = re.search(
        r"PHONE_INVALID</a></td><td class=\"num\">(\d+)</td><td>([^<]*)</td><td class=\"num\">(\d+)</td>",
        section,
    )
    assert row is not None
    assert row.groups() == (
        "4",
        "engage_eu, mail_promo, obi_main, sms_promo",
        "3",
    )  # leads, where, first lead
    assert "<th>Leads</th>" in section
    assert "Noah Meyer" in section  # the example lead of VENDOR_REJECTED (row 5) is named


def test_the_lead_table_lists_ineligible_leads_with_their_status_at_each_target(run_dir: Path) -> None:
    page = render_run_html(load_run(run_dir))

    table = _section(page, "lead-table")
    rows = re.findall(r'<tr data-outcome="[^"]*"[^>]*><td class="num">(\d+)</td>', table)
    assert len(rows) == len(set(rows)) == 25
    assert "6" in rows  # a fixed-line lead: ineligible at sms_promo, delivered elsewhere
    assert re.search(r'<th data-key="target:sms_promo"', table)


def test_run_inputs_show_the_suppression_lists_applied(tmp_path: Path) -> None:
    applied = {
        "path": "/srv/lists/<dnc>.csv",
        "entries": 1234,
        "phones": 1200,
        "emails": 34,
        "sha256": "ab" * 32,
        "modified_at": "2026-11-20T08:00:00+00:00",
    }
    run_dir = write_run(tmp_path / "out", meta={**run_meta(), "suppression_lists": [applied]})

    page = render_run_html(load_run(run_dir))
    console = Console(record=True, width=200, color_system=None)
    assert run_report(run_dir, None, None, console) == 0

    inputs = _section(page, "inputs")
    assert "Suppression lists applied" in inputs
    assert "/srv/lists/&lt;dnc&gt;.csv" in inputs
    assert "ab" * 32 in inputs
    assert "1,234" in inputs
    assert "/srv/lists/<dnc>.csv (1,234 entries" in console.export_text()


def test_run_inputs_show_the_managed_do_not_contact_lists_in_force(tmp_path: Path) -> None:
    lists = [
        {"name": "us-<national>", "entries": 250_000, "newest_added": "2026-12-01T09:00:00+00:00"},
        {"name": "erasure-requests", "entries": 1, "newest_added": None},
    ]
    meta = {**run_meta(), "dnc_store": "/srv/leadflow/ledger.sqlite", "dnc_lists": lists}
    run_dir = write_run(tmp_path / "out", meta=meta)

    inputs = _section(render_run_html(load_run(run_dir)), "inputs")
    console = Console(record=True, width=200, color_system=None)
    assert run_report(run_dir, None, None, console) == 0

    assert "/srv/leadflow/ledger.sqlite" in inputs
    assert "us-&lt;national&gt;" in inputs and "250,000" in inputs and "2026-12-01T09:00:00+00:00" in inputs
    assert "erasure-requests" in inputs
    printed = console.export_text()
    lists_line = "/srv/leadflow/ledger.sqlite: us-<national> (250,000 entries); erasure-requests (1 entry)"
    assert lists_line in printed


def test_a_run_that_read_no_do_not_contact_store_shows_no_store_lists(run_dir: Path) -> None:
    inputs = _section(render_run_html(load_run(run_dir)), "inputs")
    assert "none read" in inputs and "Do-not-contact store</caption>" not in inputs


def test_a_run_without_suppression_lists_says_none(run_dir: Path) -> None:
    assert "Suppression lists applied: none." in render_run_html(load_run(run_dir))


_STATUSES = st.sampled_from([status.value for status in Status])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_STATUSES, min_size=1, max_size=4), min_size=1, max_size=12))
def test_every_lead_has_exactly_one_outcome_and_the_worst_wins(statuses: list[list[str]]) -> None:
    targets = [name for name, _ in TARGETS]
    records = status_rows(statuses, targets)

    leads = lead_outcomes(results_frame(records))

    assert leads["source_row"].to_list() == list(range(1, len(statuses) + 1))
    assert sum(outcome_counts(leads).values()) == len(statuses)
    assert set(leads["outcome"]) <= set(OUTCOMES)
    attention = {s.value for s in ATTENTION_STATUSES}
    delivered = {s.value for s in DELIVERED}
    for per_target, outcome in zip(statuses, leads["outcome"], strict=True):
        assert (outcome == Outcome.ATTENTION) == bool(attention & set(per_target))
        if outcome != Outcome.ATTENTION and set(per_target) <= delivered:
            assert outcome == Outcome.DELIVERED_ALL


def test_lead_outcomes_keep_each_targets_status_and_reasons_in_its_columns() -> None:
    leads = lead_outcomes(build_results(rows=4), [name for name, _ in TARGETS])

    lead = leads.filter(pl.col("source_row") == 4).row(0, named=True)
    assert lead["engage_eu status"] == "failed"
    assert lead["engage_eu reasons"] == ["TRANSPORT_FAILED"]
    assert lead["engage_eu vendor_message"] == "Service Unavailable"
    assert lead["obi_main status"] == "accepted"
    assert lead["outcome"] == Outcome.ATTENTION


def test_in_a_dry_run_a_lead_ineligible_at_a_target_is_still_listed() -> None:
    def result(row: int, target: str, status: str) -> dict[str, object]:
        return result_row(source_row=row, external_id=f"e{row}", target=target, status=status)

    frame = results_frame(
        [
            result(1, "obi_main", "dry_run"),
            result(1, "sms_promo", "dry_run"),
            result(2, "obi_main", "dry_run"),
            result(2, "sms_promo", "ineligible"),
        ]
    )

    leads = lead_outcomes(frame)

    assert leads["outcome"].to_list() == [Outcome.WOULD_SEND, Outcome.WOULD_SEND_SOME]
    assert not_delivered_everywhere(leads)["source_row"].to_list() == [2]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(_STATUSES, min_size=1, max_size=4), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=14),
)
def test_the_bounded_lead_view_shows_the_first_leads_and_counts_them_all(
    statuses: list[list[str]], limit: int
) -> None:
    targets = [name for name, _ in TARGETS]
    records = status_rows(statuses, targets)
    frame = results_frame(records)
    every = not_delivered_everywhere(lead_outcomes(frame, targets))

    view = lead_view(frame.lazy(), targets, limit)

    assert view.leads == len(statuses)
    assert view.counts == outcome_counts(lead_outcomes(frame, targets))
    assert view.missed == every.height
    assert view.shown.equals(every.head(limit))
    assert view.missed_outcomes == set(every["outcome"])
    shown_statuses = {s for t in targets for s in every[f"{t} status"].drop_nulls()}
    assert view.missed_statuses == shown_statuses


def test_a_lead_reached_on_its_second_phone_shows_that_phone_in_the_lead_table_and_the_reasons(
    tmp_path: Path,
) -> None:
    refused_first = result_row(
        source_row=1,
        status=Status.VENDOR_REJECTED.value,
        reasons=["PHONE_INVALID"],
        phone1=None,
        phone1_raw="555-CALL-NOW",
        phone2="+4989000000077",
    )
    run_dir = write_run(tmp_path / "out", results=results_frame([refused_first]), meta=run_meta(rows=1))

    page = render_run_html(load_run(run_dir))

    assert "+4989000000077" in _section(page, "lead-table")
    assert "+4989000000077" in _section(page, "reasons")
