"""The sections of the run report, one function each, in page order.

Each takes what it shows (the summary dict, a frame, run.json) and returns escaped markup
built with flows.report.markup; charts come from flows.report.charts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from flows.report.charts import bar_chart, status_chart
from flows.report.markup import Cell, Markup, definition_list, esc, table, tiles
from flows.report.runs import RunMeta
from schemas.clean_leads import PHONE_SLOTS
from schemas.codes import GLOSSARY
from schemas.glossary import anchor, entries
from transforms.summary import ATTENTION_STATUSES, STATUS_ORDER, as_read

__all__ = [
    "ATTENTION_LIMIT",
    "SAMPLE_LIMIT",
    "attention_section",
    "dispositions_section",
    "glossary_section",
    "inputs_section",
    "leads_section",
    "reasons_section",
    "totals_section",
    "vendor_errors_section",
]

ATTENTION_LIMIT = 5_000
"""Rows shown in the attention table; the CSV export has them all."""
SAMPLE_LIMIT = 200

_ATTENTION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("source_row", "Row", "number"),
    ("target", "Target", "code"),
    ("status", "Status", "code"),
    ("reasons", "Reasons", "text"),
    ("as_read", "As read", "text"),
    ("vendor_status", "Vendor status", "code"),
    ("vendor_message", "Vendor message", "text"),
    ("name", "Name", "text"),
    ("phone1", "Phone", "code"),
    ("email", "Email", "text"),
    ("country", "Country", "code"),
    ("external_id", "External id", "code"),
    ("attempts", "Attempts", "number"),
)
"""(column, heading, kind): numbers sort numerically, codes never wrap, text wraps anywhere.
"As read" is each refused field's value as the file had it (transforms.summary.as_read): the
normalized Phone/Email/Country of a refused value are blank."""
_CSS_CLASS = {"number": "num", "code": "nowrap", "text": "text"}


def _section(anchor: str, title: str, body: str) -> Markup:
    return Markup(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>')


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption class="note">{esc(caption)}</figcaption></figure>'


def _name(row: Mapping[str, Any]) -> str:
    return " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)


def _code(kind: str, code: str) -> Markup:
    """A code linked to its entry in the glossary section; a code the glossary lacks stays text."""
    if code not in GLOSSARY[kind]:
        return esc(code)
    return Markup(f'<a href="#{esc(anchor(kind, code))}">{esc(code)}</a>')


def _status(code: str) -> Markup:
    return _code("Status", code)


def _codes(value: list[str] | None) -> Markup:
    return Markup(", ".join(_code("Issue", code) for code in value or []))


def inputs_section(meta: RunMeta | None, problem: str | None) -> Markup:
    if meta is None:
        unavailable = f'<p class="note">Run inputs unavailable: {esc(problem)}.</p>'
        return _section("inputs", "Run inputs", unavailable)
    items: dict[str, object] = {
        "Run": meta.run_id,
        "Source file": meta.source_file,
        "Fingerprint (sha256)": Markup(f"<code>{esc(meta.fingerprint)}</code>"),
        "Started": meta.started_at,
        "Finished": meta.finished_at,
        "Rows in file": meta.rows,
        "Dry run": "yes: nothing was sent" if meta.dry_run else "no",
        "Default country": (meta.default_country or "none")
        + (f" ({meta.region_inference})" if meta.region_inference else ""),
        "Targets": ", ".join(f"{t.name} ({t.kind})" for t in meta.targets),
        "Unmapped columns (kept as attributes)": ", ".join(meta.unmapped) or "none",
    }
    mapping = table(("Canonical column", "File header"), sorted(meta.mapping.items()), caption="Mapping")
    return _section("inputs", "Run inputs", definition_list(items) + mapping)


def totals_section(summary: Mapping[str, Any]) -> Markup:
    statuses: dict[str, int] = summary["statuses"]
    attention = {s.value for s in ATTENTION_STATUSES}
    big = tiles(
        [
            ("input rows", summary["rows"], False),
            ("result rows", summary["results"], False),
            *[(status, count, status in attention) for status, count in statuses.items()],
        ]
    )
    targets: dict[str, dict[str, Any]] = summary["targets"]
    shown = [s.value for s in STATUS_ORDER if s.value in statuses]
    rows = [[name, *[t["statuses"].get(s, 0) for s in shown], t["total"]] for name, t in targets.items()]
    counts = table(("Target", *[_status(s) for s in shown], "total"), rows)
    chart = _figure(status_chart(summary), "Result rows per target, by status.")
    charts = f'<div class="charts">{chart}<div>{counts}</div></div>'
    return _section("totals", "Totals per target", big + charts)


def reasons_section(summary: Mapping[str, Any], examples: pl.DataFrame) -> Markup:
    if examples.is_empty():
        return _section("reasons", "Reasons", '<p class="note">No row carries a reason code.</p>')
    rows = [
        [
            Cell(_code("Issue", row["reason"])),
            row["count"],
            ", ".join(row["targets"]),
            row["source_row"],
            row["target"],
            Cell(_status(row["status"]), f"status status-{row['status']}"),
            Cell(_name(row), "text"),
            row["phone1"] or row["email"],
            row["vendor_status"],
            Cell(row["vendor_message"], "text"),
        ]
        for row in examples.iter_rows(named=True)
    ]
    headers = ("Reason", "Result rows", "Targets", "Example row", "Target", "Status", "Name", "Contact")
    listing = table((*headers, "Vendor status", "Vendor message"), rows)
    chart = _figure(bar_chart(summary["reasons"], "Reasons (result rows)", "chart-reasons", "#e53935"), "")
    return _section("reasons", "Reasons", f'<div class="charts">{chart}</div>{listing}')


def vendor_errors_section(summary: Mapping[str, Any]) -> Markup:
    rows = [
        [target, error["vendor_status"], Cell(error["vendor_message"], "text"), error["count"]]
        for target, t in summary["targets"].items()
        for error in t["vendor_errors"]
    ]
    if not rows:
        return _section("vendor-errors", "Vendor errors", '<p class="note">No vendor errors.</p>')
    body = table(("Target", "Vendor status", "Vendor message", "Result rows"), rows)
    return _section("vendor-errors", "Vendor errors", body)


def leads_section(summary: Mapping[str, Any]) -> Markup:
    charts = [
        _figure(
            bar_chart(summary["phone_types"], "Phone types", "chart-phone-types", "#5e35b1"),
            "Valid phone numbers of distinct input rows, by type.",
        ),
        _figure(
            bar_chart(summary["countries"], "Countries", "chart-countries", "#00897b"),
            "Distinct input rows by country.",
        ),
    ]
    return _section("leads", "Phone types and countries", f'<div class="charts">{"".join(charts)}</div>')


def _matched_phone(row: Mapping[str, Any]) -> object:
    """The phone a duplicate matched on (``duplicate_on``), else the first phone."""
    on = row.get("duplicate_on")
    return row[on] if on in PHONE_SLOTS else row["phone1"]


def dispositions_section(summary: Mapping[str, Any], leads: pl.DataFrame) -> Markup:
    """``leads``: one result row per distinct input row that is a duplicate or suppressed.

    "Matched on" is the field of the row that matched the kept row (``duplicate_on``), and
    the Phone column shows that phone, so a duplicate on ``phone2`` does not show ``phone1``."""
    big = tiles([("duplicates", summary["duplicates"], False), ("suppressed", summary["suppressed"], False)])
    if leads.is_empty():
        return _section("dispositions", "Duplicates and suppressions", big)
    rows = [
        [
            row["source_row"],
            Cell(_status(row["status"]), "status"),
            _codes(row["reasons"]),
            row["duplicate_of"],
            Cell(row["duplicate_on"] or "", "nowrap"),
            Cell(_name(row), "text"),
            _matched_phone(row),
            row["email"],
        ]
        for row in leads.head(SAMPLE_LIMIT).iter_rows(named=True)
    ]
    note = (
        f'<p class="note">First {SAMPLE_LIMIT:,} of {leads.height:,} rows shown.</p>'
        if leads.height > SAMPLE_LIMIT
        else ""
    )
    headers = ("Row", "Status", "Reasons", "Duplicate of row", "Matched on", "Name", "Phone", "Email")
    listing = table(headers, rows)
    return _section("dispositions", "Duplicates and suppressions", big + listing + note)


def _options(element_id: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    select = f'<select id="{element_id}"><option value="">all</option>{options}</select>'
    return f"<label>{esc(label)} {select}</label>"


def attention_section(attention: pl.DataFrame, csv_hint: str) -> Markup:
    """Sortable, filterable table of failed, vendor-rejected and rejected rows (capped)."""
    if attention.is_empty():
        return _section("attention", "Rows needing attention", '<p class="note">Nothing needs attention.</p>')
    shown = attention.head(ATTENTION_LIMIT).with_columns(as_read())
    heads = "".join(
        f'<th data-key="{key}" data-type="{kind}" class="{_CSS_CLASS[kind]}">'
        f'<button type="button">{esc(label)}</button></th>'
        for key, label, kind in _ATTENTION_COLUMNS
    )
    body = []
    for row in shown.iter_rows(named=True):
        values = {
            **row,
            "name": _name(row),
            "status": _status(row["status"]),
            "reasons": _codes(row["reasons"]),
        }
        cells = "".join(
            f'<td class="{_CSS_CLASS[kind]}">{esc(values[key])}</td>' for key, _, kind in _ATTENTION_COLUMNS
        )
        body.append(f'<tr data-status="{esc(row["status"])}" data-target="{esc(row["target"])}">{cells}</tr>')
    statuses = [s.value for s in STATUS_ORDER if s in ATTENTION_STATUSES]
    controls = (
        '<div class="controls"><input id="attention-filter" type="search" placeholder="Filter rows…" '
        'aria-label="Filter rows">'
        + _options("attention-status", "Status", statuses)
        + _options("attention-target", "Target", sorted(attention["target"].unique().to_list()))
        + f'<span>showing <b id="attention-shown">{shown.height}</b> of {shown.height:,}</span></div>'
    )
    note = (
        f'<p class="note">Only the first {ATTENTION_LIMIT:,} of {attention.height:,} rows are shown here; '
        f"export them all with <code>{esc(csv_hint)}</code>.</p>"
        if attention.height > ATTENTION_LIMIT
        else f'<p class="note">Export these rows for a spreadsheet with <code>{esc(csv_hint)}</code>.</p>'
    )
    rows = "".join(body)
    grid = f'<table id="attention-table"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'
    return _section("attention", f"Rows needing attention ({attention.height:,})", controls + note + grid)


_BACKTICKS = re.compile(r"`([^`]+)`")


def _prose(text: str) -> Markup:
    """Escaped glossary text with its `column` names set as code (the README shows them so too)."""
    return Markup(_BACKTICKS.sub(r"<code>\1</code>", esc(text)))


def glossary_section(summary: Mapping[str, Any]) -> Markup:
    """What each status and reason code of this run means and what to do, from schemas.codes.GLOSSARY.

    Only the codes that occur in the run are listed (the README has them all); every code in
    the tables above links here by :func:`schemas.glossary.anchor`.
    """
    present = {"Status": set(summary["statuses"]), "Issue": set(summary["reasons"])}
    rows = [
        f'<tr id="{esc(anchor(kind, code))}"><td class="nowrap"><code>{esc(code)}</code></td>'
        f'<td class="nowrap">{esc("status" if kind == "Status" else "reason")}</td>'
        f'<td class="text">{_prose(help_.meaning)}</td><td class="text">{_prose(help_.action)}</td></tr>'
        for kind, code, help_ in entries(("Status", "Issue"))
        if code in present[kind]
    ]
    if not rows:
        return _section("codes", "What the codes mean", '<p class="note">This run has no result rows.</p>')
    head = "<thead><tr><th>Code</th><th>Column</th><th>Meaning</th><th>What to do</th></tr></thead>"
    return _section("codes", "What the codes mean", f"<table>{head}<tbody>{''.join(rows)}</tbody></table>")
