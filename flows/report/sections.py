"""The per-target and run sections of the run report (the lead-first ones are in
flows.report.lead_sections), one function each, and the helpers both use.

Each takes what it shows (the summary dict, a frame, run.json) and returns escaped markup
built with flows.report.markup; charts come from flows.report.charts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from flows.report.charts import bar_chart, status_chart
from flows.report.leads import first_contact
from flows.report.markup import Cell, Markup, definition_list, esc, table, tiles
from flows.report.runs import RunMeta
from schemas.clean_leads import PHONE_SLOTS
from schemas.codes import GLOSSARY
from schemas.glossary import anchor, entries
from transforms.summary import STATUS_ORDER

__all__ = [
    "SAMPLE_LIMIT",
    "code_link",
    "dispositions_section",
    "figure",
    "glossary_section",
    "inputs_section",
    "name_of",
    "phones_section",
    "section",
    "totals_section",
    "vendor_errors_section",
]

SAMPLE_LIMIT = 200


def section(anchor: str, title: str, body: str) -> Markup:
    return Markup(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>')


def figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption class="note">{esc(caption)}</figcaption></figure>'


def name_of(row: Mapping[str, Any]) -> str:
    return " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)


@functools.lru_cache(maxsize=512)
def code_link(kind: str, code: str) -> Markup:
    """A code linked to its entry in the glossary section; a code the glossary lacks stays text.
    Cached: the lead table links a few codes thousands of times."""
    if code not in GLOSSARY[kind]:
        return esc(code)
    return Markup(f'<a href="#{esc(anchor(kind, code))}">{esc(code)}</a>')


def _status(code: str) -> Markup:
    return code_link("Status", code)


def _codes(value: list[str] | None) -> Markup:
    return Markup(", ".join(code_link("Issue", code) for code in value or []))


def inputs_section(meta: RunMeta | None, problem: str | None) -> Markup:
    if meta is None:
        unavailable = f'<p class="note">Run inputs unavailable: {esc(problem)}.</p>'
        return section("inputs", "Run inputs", unavailable)
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
        "Targets": ", ".join(t.describe() for t in meta.targets),
        "Unmapped columns (kept as attributes)": ", ".join(meta.unmapped) or "none",
        "Suppression lists applied": len(meta.suppression_lists),
        "Do-not-contact store": meta.dnc_store or "none read",
    }
    mapping = table(("Canonical column", "File header"), sorted(meta.mapping.items()), caption="Mapping")
    return section(
        "inputs", "Run inputs", definition_list(items) + mapping + _suppression_lists(meta) + _dnc_lists(meta)
    )


def _count(value: int | None) -> Cell:
    return Cell("" if value is None else f"{value:,}", "num")


def _suppression_lists(meta: RunMeta) -> str:
    """The do-not-contact lists the run applied, as run.json records them (an audit question:
    "was this person on the list we used?"); none applied is said, not left blank."""
    if not meta.suppression_lists:
        return '<p class="note">Suppression lists applied: none.</p>'
    rows = [
        (
            Cell(applied.path, "text"),
            *[_count(n) for n in (applied.entries, applied.phones, applied.emails, applied.unread_numbers)],
            applied.modified_at,
            Markup(f"<code>{esc(applied.sha256)}</code>"),
        )
        for applied in meta.suppression_lists
    ]
    headers = (
        "File",
        "Entries",
        "Phones",
        "Emails",
        "National numbers not read (no country)",
        "Modified (UTC)",
        "sha256",
    )
    return table(headers, rows, caption="Suppression lists applied")


def _dnc_lists(meta: RunMeta) -> str:
    """The managed do-not-contact store's lists in force when the run started (``leadflow dnc``):
    the same audit question as the files, for the lists kept in the ledger's database."""
    if meta.dnc_store is None:
        return ""
    if not meta.dnc_lists:
        return '<p class="note">Do-not-contact store: no list in force.</p>'
    rows = [
        (Cell(listed.name, "text"), _count(listed.entries), listed.newest_added or "")
        for listed in meta.dnc_lists
    ]
    return table(("List", "Entries", "Newest entry added (UTC)"), rows, caption="Do-not-contact store")


def totals_section(summary: Mapping[str, Any]) -> Markup:
    """Per target: its leads by status. Each target has one result per lead, so a row of the
    table counts leads at that target; the rows are not added up across targets (a lead sent
    to four targets is one lead, see the Leads section)."""
    statuses: dict[str, int] = summary["statuses"]
    targets: dict[str, dict[str, Any]] = summary["targets"]
    shown = [s.value for s in STATUS_ORDER if s.value in statuses]
    rows = [[name, *[t["statuses"].get(s, 0) for s in shown], t["total"]] for name, t in targets.items()]
    counts = table(("Target", *[_status(s) for s in shown], "leads"), rows)
    chart = figure(status_chart(summary), "Leads at each target, by their status there.")
    charts = f'<div class="charts">{chart}<div>{counts}</div></div>'
    note = (
        '<p class="note">Each row counts the leads at one target (one result per lead and target); '
        "a lead sent to several targets appears in several rows.</p>"
    )
    return section("totals", "Per target", note + charts)


def _vendor_message(error: Mapping[str, Any]) -> Markup:
    """The message as counted (the lead's ids, phones and emails masked: transforms.summary),
    with one as the vendor wrote it when that differs; a summary.json written before errors
    were grouped has no example."""
    message, example = error["vendor_message"], error.get("example")
    if not example or example == message:
        return esc(message)
    return Markup(f'{esc(message)}<br><span class="note">e.g. {esc(example)}</span>')


def vendor_errors_section(summary: Mapping[str, Any]) -> Markup:
    """Per target, its most frequent vendor errors: one line per kind of refusal (messages
    that differ only in the lead's ids, phones or emails are one), with its result rows."""
    rows = [
        [target, error["vendor_status"], Cell(_vendor_message(error), "text"), error["count"]]
        for target, t in summary["targets"].items()
        for error in t["vendor_errors"]
    ]
    if not rows:
        return section("vendor-errors", "Vendor errors", '<p class="note">No vendor errors.</p>')
    note = (
        '<p class="note">Messages that differ only in the lead they name are one line: its ids and '
        "numbers read <code>&lt;id&gt;</code>, its emails <code>&lt;email&gt;</code>, with one "
        "message as the vendor wrote it.</p>"
    )
    body = table(("Target", "Vendor status", "Vendor message", "Result rows"), rows)
    return section("vendor-errors", "Vendor errors", note + body)


def phones_section(summary: Mapping[str, Any]) -> Markup:
    charts = [
        figure(
            bar_chart(summary["phone_types"], "Phone types", "chart-phone-types", "#5e35b1"),
            "Valid phone numbers of distinct input rows, by type.",
        ),
        figure(
            bar_chart(summary["countries"], "Countries", "chart-countries", "#00897b"),
            "Distinct input rows by country.",
        ),
    ]
    return section("phones", "Phone types and countries", f'<div class="charts">{"".join(charts)}</div>')


def _matched_phone(row: Mapping[str, Any]) -> object:
    """The phone a duplicate matched on (``duplicate_on``), else its first contact."""
    on = row.get("duplicate_on")
    return row[on] if on in PHONE_SLOTS and row.get(on) else first_contact(row)


def dispositions_section(summary: Mapping[str, Any], leads: pl.DataFrame, total: int) -> Markup:
    """``leads``: one result row per distinct input row that is a duplicate or suppressed (the
    first :data:`SAMPLE_LIMIT` at least), ``total`` such input rows.

    "Matched on" is the field of the row that matched the kept row (``duplicate_on``), and
    the Phone column shows that phone, so a duplicate on ``phone2`` does not show ``phone1``."""
    big = tiles([("duplicates", summary["duplicates"], False), ("suppressed", summary["suppressed"], False)])
    if leads.is_empty():
        return section("dispositions", "Duplicates and suppressions", big)
    rows = [
        [
            row["source_row"],
            Cell(_status(row["status"]), "status"),
            _codes(row["reasons"]),
            row["duplicate_of"],
            Cell(row["duplicate_on"] or "", "nowrap"),
            Cell(name_of(row), "text"),
            _matched_phone(row),
            row["email"],
        ]
        for row in leads.head(SAMPLE_LIMIT).iter_rows(named=True)
    ]
    note = (
        f'<p class="note">First {SAMPLE_LIMIT:,} of {total:,} rows shown.</p>' if total > SAMPLE_LIMIT else ""
    )
    headers = ("Row", "Status", "Reasons", "Duplicate of row", "Matched on", "Name", "Phone", "Email")
    listing = table(headers, rows)
    return section("dispositions", "Duplicates and suppressions", big + listing + note)


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
        return section("codes", "What the codes mean", '<p class="note">This run has no result rows.</p>')
    head = "<thead><tr><th>Code</th><th>Column</th><th>Meaning</th><th>What to do</th></tr></thead>"
    return section("codes", "What the codes mean", f"<table>{head}<tbody>{''.join(rows)}</tbody></table>")
