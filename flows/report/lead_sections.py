"""The report's lead-first sections: headline counts in leads, the table of leads (one row per
lead, its outcome at each target as columns) and the reasons counted in leads.

They come first in the page because an analyst reads a run in rows of the file; the
per-target sections (flows.report.sections) follow. Values pass through flows.report.markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from flows.report.charts import bar_chart, row_chart
from flows.report.leads import (
    CALLABLE,
    CONTACT_COLUMNS,
    DELIVERED,
    OUTCOMES,
    LeadView,
    Outcome,
    first_contact,
    target_column,
    with_callable,
)
from flows.report.markup import Cell, Markup, esc, table, tiles
from flows.report.sections import code_link, figure, name_of, section
from transforms.summary import STATUS_ORDER, as_read

__all__ = ["LEAD_LIMIT", "lead_table_section", "leads_headline_section", "reasons_section"]

LEAD_LIMIT = 5_000
"""Leads shown in the lead table; the CSV export has them all."""

_BAD = {Outcome.ATTENTION}
_OUTCOME_COLORS = {
    Outcome.DELIVERED_ALL: "#2e7d32",
    Outcome.DELIVERED_SOME: "#66bb6a",
    Outcome.WOULD_SEND: "#1e88e5",
    Outcome.WOULD_SEND_SOME: "#64b5f6",
    Outcome.ATTENTION: "#e53935",
    Outcome.DUPLICATE: "#9575cd",
    Outcome.SUPPRESSED: "#ffb74d",
    Outcome.NOT_DELIVERED: "#bdbdbd",
    Outcome.EMPTY: "#e0e0e0",
}
_DELIVERED = {status.value for status in DELIVERED}


def leads_headline_section(view: LeadView, targets: Sequence[str]) -> Markup:
    """Leads (rows of the file) by their one outcome across targets: the tiles add up to the rows."""
    counts = view.counts
    shown = [(outcome, n, outcome in _BAD) for outcome, n in counts.items() if n or outcome in _BAD]
    big = tiles([("leads (rows of the file)", view.leads, False), *shown])
    per_target = (
        f"Each lead was meant for {len(targets)} target{'s' if len(targets) != 1 else ''} "
        f"({', '.join(targets)}); the per-target section below counts leads at each target."
        if targets
        else "This run has no targets."
    )
    note = (
        '<p class="note">Every lead is counted once, under the first outcome that applies: '
        f"needs attention (rejected, vendor-rejected or failed at a target), duplicate, suppressed, "
        f"delivered to every target, to some (ineligible at the others), would be sent to every or "
        f"some targets (dry run or validate), "
        f"delivered nowhere; a row of the file with no value in it is an empty row, left out of "
        f"the table of leads to look at. {esc(per_target)}</p>"
    )
    bars = [(outcome, [(n, _OUTCOME_COLORS[outcome], None)]) for outcome, n in counts.items() if n]
    chart = figure(row_chart(bars, "Leads by outcome", "chart-outcomes"), "")
    return section("leads", "Leads", big + note + f'<div class="charts">{chart}</div>')


def _target_cell(row: Mapping[str, Any], target: str) -> str:
    status = row[target_column(target, "status")]
    if status is None:
        return '<td class="lead-target note">no result</td>'
    reasons = row[target_column(target, "reasons")] or []
    vendor = " ".join(
        str(part)
        for part in (
            row[target_column(target, "vendor_status")],
            row[target_column(target, "vendor_message")],
        )
        if part
    )
    parts = [f'<span class="status status-{esc(status)}">{code_link("Status", status)}</span>']
    if reasons:
        parts.append(f'<span class="reasons">{", ".join(code_link("Issue", r) for r in reasons)}</span>')
    callable_ = row.get(target_column(target, CALLABLE))
    if callable_:
        parts.append(f'<span class="window">{esc(callable_)}</span>')
    if vendor and status not in _DELIVERED:
        parts.append(f'<span class="vendor">{esc(vendor)}</span>')
    return f'<td class="lead-target">{"<br>".join(parts)}</td>'


def _options(element_id: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    select = f'<select id="{element_id}"><option value="">all</option>{options}</select>'
    return f"<label>{esc(label)} {select}</label>"


def lead_table_section(view: LeadView, targets: Sequence[str], csv_hint: str) -> Markup:
    """One row per lead not delivered to every target (flows.report.leads.not_delivered_everywhere):
    needs attention first, then ineligible somewhere, duplicates, suppressed. A column per
    target holds the lead's status there, its reasons, when a lead held for its calling window
    may be called (flows.report.leads.with_callable) and the vendor's answer; the filters
    (outcome, a status at any target, a target it did not reach) and sorting are our script's.
    ``view`` holds the first :data:`LEAD_LIMIT` of them (flows.report.leads.lead_view)."""
    title = f"Leads to look at: not delivered to every target, or marked ({view.missed:,})"
    if not view.missed:
        return section("lead-table", title, '<p class="note">Every lead was delivered to every target.</p>')
    shown = with_callable(view.shown.head(LEAD_LIMIT).with_columns(as_read()), targets)
    heads = [
        ("source_row", "Row", "number"),
        ("outcome", "Outcome", "code"),
        ("name", "Name", "text"),
        ("contact", "Phone / email", "text"),
        ("as_read", "As read", "text"),
        *[(f"target:{t}", t, "target") for t in targets],
    ]
    css = {"number": "num", "code": "nowrap", "text": "text", "target": "nowrap"}
    head = "".join(
        f'<th data-key="{esc(key)}" data-type="{kind}" class="{css[kind]}"><button type="button">'
        f"{esc(label)}</button></th>"
        for key, label, kind in heads
    )
    body = []
    for row in shown.iter_rows(named=True):
        statuses = {row[target_column(t, "status")] for t in targets} - {None}
        missed = [t for t in targets if row[target_column(t, "status")] not in _DELIVERED]
        contact = "<br>".join(esc(row[name]) for name in CONTACT_COLUMNS if row.get(name))
        outcome_css = "outcome outcome-bad" if row["outcome"] in _BAD else "outcome"
        cells = (
            f'<td class="num">{esc(row["source_row"])}</td>'
            f'<td class="nowrap"><span class="{outcome_css}">{esc(row["outcome"])}</span></td>'
            f'<td class="text">{esc(name_of(row))}</td><td class="nowrap">{contact}</td>'
            f'<td class="text">{esc(row["as_read"])}</td>' + "".join(_target_cell(row, t) for t in targets)
        )
        body.append(
            f'<tr data-outcome="{esc(row["outcome"])}" data-status="{esc(" ".join(sorted(statuses)))}" '
            f'data-target="{esc(" ".join(missed))}">{cells}</tr>'
        )
    present = view.missed_outcomes
    all_statuses = view.missed_statuses - _DELIVERED
    controls = (
        '<div class="controls"><input id="attention-filter" type="search" placeholder="Filter leads…" '
        'aria-label="Filter leads">'
        + _options("attention-outcome", "Outcome", [o for o in OUTCOMES if o in present])
        + _options(
            "attention-status", "Status at a target", [s.value for s in STATUS_ORDER if s in all_statuses]
        )
        + _options("attention-target", "Not delivered to", list(targets))
        + f'<span>showing <b id="attention-shown">{shown.height}</b> of {shown.height:,}</span></div>'
    )
    note = (
        f'<p class="note">Only the first {LEAD_LIMIT:,} of {view.missed:,} leads are shown here; '
        f"export them all, one row per lead with a column per target, with <code>{esc(csv_hint)}</code>.</p>"
        if view.missed > LEAD_LIMIT
        else '<p class="note">One row per lead, its outcome at each target in the target columns. '
        f"Export them (one row per lead, a column per target) with <code>{esc(csv_hint)}</code>.</p>"
    )
    grid = f'<table id="attention-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    return section("lead-table", title, controls + note + grid)


def reasons_section(reasons: pl.DataFrame) -> Markup:
    """Per reason code: the leads carrying it (at any target), where, and a first example."""
    if reasons.is_empty():
        return section("reasons", "Reasons", '<p class="note">No lead carries a reason code.</p>')
    rows = [
        [
            Cell(code_link("Issue", row["reason"])),
            row["leads"],
            ", ".join(row["targets"]),
            row["source_row"],
            Cell(name_of(row), "text"),
            first_contact(row),
            row["vendor_status"],
            Cell(row["vendor_message"], "text"),
        ]
        for row in reasons.iter_rows(named=True)
    ]
    headers = (
        "Reason",
        "Leads",
        "At targets",
        "Example row",
        "Name",
        "Contact",
        "Vendor status",
        "Vendor message",
    )
    counts = {row["reason"]: int(row["leads"]) for row in reasons.iter_rows(named=True)}
    chart = figure(bar_chart(counts, "Reasons (leads)", "chart-reasons", "#e53935"), "")
    note = '<p class="note">A lead refused at every target for one reason counts once.</p>'
    return section(
        "reasons", "Reasons (in leads)", f'<div class="charts">{chart}</div>{note}{table(headers, rows)}'
    )
