"""The terminal view of a run or of a trend: rich tables of the summary.

Values from lead files and vendors are wrapped in ``rich.text.Text`` so that a vendor message
like ``[red]...[/red]`` prints as written instead of being read as console markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flows.report.figures import RunFigures
from flows.report.leads import CALLABLE, DELIVERED, Outcome, target_column, with_callable
from flows.report.runs import AppliedList, Run, RunMeta
from transforms.summary import ATTENTION_STATUSES, STATUS_ORDER

if TYPE_CHECKING:
    from flows.report.run_folders import Skipped

__all__ = ["print_run", "print_trend"]

TOP_REASONS = 15
TOP_LEADS = 15
"""Leads listed in the terminal's lead table; the HTML report and the CSV export have them all."""
_ATTENTION = {status.value for status in ATTENTION_STATUSES}
_DELIVERED = {status.value for status in DELIVERED}


def _text(value: object) -> Text:
    return Text("" if value is None else str(value))


def _number(value: int, bad: bool = False) -> Text:
    return Text(f"{value:,}", style="bold red" if bad and value else "")


def _identifier_column(table: Table, header: str, values: list[str]) -> None:
    """A column of names a reader looks up or greps (reason codes, target names): never cut
    short with an ellipsis nor wrapped mid-name, however narrow the terminal or pipe; the
    count columns beside it give way instead (their headers fold)."""
    widest = max((len(value) for value in [header, *values]), default=len(header))
    table.add_column(header, no_wrap=True, min_width=widest)


_COUNT_WIDTH = 4
"""The narrowest a count column is let be (its header folds into it), never narrower than its
widest count: a count folded over lines reads as another number ("32" over "3" for 323)."""


def _fits(widths: Sequence[int], width: int) -> bool:
    """Whether a table of columns this wide (their content, without padding) fits ``width``:
    a cell takes its width, a space either side and a border."""
    return sum(widths) + 3 * len(widths) + 1 <= width


def _count_width(values: Sequence[int]) -> int:
    return max([_COUNT_WIDTH, *(len(f"{value:,}") for value in values)])


def _listing(title: str, names: Sequence[str]) -> Table:
    """A table's narrow form, under its title: a row per name, what the table's row said beside
    it, a count with its label on a line of their own (wrapped, a line could end between them)."""
    listing = Table.grid(padding=(0, 1))
    listing.title, listing.title_justify = title, "left"
    _identifier_column(listing, "", list(names))
    listing.add_column(overflow="fold")
    return listing


def _header(name: str) -> Text:
    """A count column's header: folded over lines when the column is narrow, never cut."""
    return Text(name, overflow="fold")


def _applied(applied: AppliedList) -> str:
    """A suppression list as one line: path, entries and the sha256's first 12 digits (enough
    to tell versions apart; the HTML report has it whole)."""
    entries = "? entries" if applied.entries is None else f"{applied.entries:,} entries"
    digest = f", sha256 {applied.sha256[:12]}" if applied.sha256 else ""
    unread = applied.unread_numbers or 0
    not_read = (
        f"; {unread:,} national number{'s' if unread > 1 else ''} not read (no country: give --country)"
        if unread
        else ""
    )
    return f"{applied.path} ({entries}{digest}{not_read})"


def _managed(meta: RunMeta) -> str:
    """The managed store's lists as one line: name and entries each."""
    lists = [
        f"{m.name} (? entries)"
        if m.entries is None
        else f"{m.name} ({m.entries:,} entr{'y' if m.entries == 1 else 'ies'})"
        for m in meta.dnc_lists
    ]
    return "; ".join(lists) or "no list in force"


def _inputs(console: Console, run: Run) -> None:
    meta = run.meta
    if meta is None:
        console.print(Text(f"Run inputs unavailable: {run.meta_problem}", style="dim"))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")  # a long path wraps whole, not cut to "…"
    rows: list[tuple[str, object]] = [
        ("source file", meta.source_file),
        *([("dropped as", meta.dropped_as)] if meta.dropped_as else []),
        ("fingerprint", meta.fingerprint),
        ("finished", meta.finished_at),
        ("rows", meta.rows),
        ("dry run", "yes (nothing sent)" if meta.dry_run else "no"),
        ("targets", ", ".join(f"{t.name} ({t.kind})" for t in meta.targets)),
        ("mapping", ", ".join(f"{k} <- {v}" for k, v in sorted(meta.mapping.items()))),
        (
            "suppression lists",
            "; ".join(_applied(applied) for applied in meta.suppression_lists) or "none",
        ),
        *(
            [("do-not-contact store", f"{meta.dnc_store}: {_managed(meta)}")]
            if meta.dnc_store is not None
            else []
        ),
    ]
    for label, value in rows:
        grid.add_row(label, _text(value))
    console.print(grid)


def _status_table(summary: Mapping[str, Any], width: int) -> Table:
    """A column per status and a row per target; where that does not fit ``width``, a line
    per target of its leads and their statuses."""
    targets: dict[str, dict[str, Any]] = summary["targets"]
    shown = [s.value for s in STATUS_ORDER if s.value in summary["statuses"]]
    title = "Results by target and status (leads at each target)"
    by_status = [[t["statuses"].get(status, 0) for t in targets.values()] for status in shown]
    totals = [t["total"] for t in targets.values()]
    widths = [max(map(len, ["target", *targets])), *map(_count_width, [*by_status, totals])]
    if not _fits(widths, width):
        listing = _listing(title, list(targets))
        for name, target in targets.items():
            said = Text(_leads(target["total"]))
            for status in shown:
                count = target["statuses"].get(status, 0)
                if count:
                    said.append(f"\n{status} {count:,}", style="red" if status in _ATTENTION else "")
            listing.add_row(_text(name), said)
        return listing
    table = Table(title=title, title_justify="left")
    _identifier_column(table, "target", list(targets))
    for status in shown:
        table.add_column(
            _header(status), justify="right", style="red" if status in _ATTENTION else "", overflow="fold"
        )
    table.add_column(_header("leads"), justify="right", style="bold", overflow="fold")
    for name, target in targets.items():
        counts = [_number(target["statuses"].get(status, 0), status in _ATTENTION) for status in shown]
        table.add_row(_text(name), *counts, _number(target["total"]))
    return table


def _reasons_table(summary: Mapping[str, Any], reasons: pl.DataFrame, width: int) -> Table:
    """Reasons in leads: all targets (a lead counts once), then the leads at each target; where
    that does not fit ``width``, a line per reason: its leads, and at which targets how many
    ("every target" when all have them all)."""
    targets: dict[str, dict[str, Any]] = summary["targets"]
    top = reasons.head(TOP_REASONS).select("reason", "leads").rows()
    title = f"Top reasons (leads, top {TOP_REASONS})"
    at = [[t["reasons"].get(reason, 0) for t in targets.values()] for reason, _ in top]
    columns = [list(column) for column in zip(*at, strict=True)] if at else [[] for _ in targets]
    widths = [max(map(len, ["reason", *(r for r, _ in top)])), _count_width([c for _, c in top])]
    if not _fits([*widths, *map(_count_width, columns)], width):
        listing = _listing(title, [reason for reason, _ in top])
        for (reason, count), counts in zip(top, at, strict=True):
            having = {name: c for name, c in zip(targets, counts, strict=True) if c}
            if len(targets) > 1 and len(having) == len(targets) and set(having.values()) == {count}:
                said = f"{_leads(count)} at every target"
            elif set(having.values()) == {count}:  # the names wrap between them, never a count
                said = f"{_leads(count)} at {', '.join(having)}"
            else:
                said = "\n".join([_leads(count), *(f"{name} {c:,}" for name, c in having.items())])
            listing.add_row(_text(reason), Text(said))
        return listing
    table = Table(title=title, title_justify="left")
    _identifier_column(table, "reason", [reason for reason, _ in top])
    table.add_column(_header("leads"), justify="right", style="bold", overflow="fold")
    for name in targets:
        table.add_column(_header(name), justify="right", overflow="fold")
    for reason, count in top:
        per_target = [_number(t["reasons"].get(reason, 0)) for t in targets.values()]
        table.add_row(_text(reason), _number(count), *per_target)
    return table


def _outcome_table(counts: Mapping[str, int]) -> Table:
    table = Table(title="Leads by outcome (each lead once)", title_justify="left")
    table.add_column("outcome", no_wrap=True)
    table.add_column("leads", justify="right")
    for outcome, count in counts.items():
        if count or outcome == Outcome.ATTENTION:
            table.add_row(_text(outcome), _number(count, outcome == Outcome.ATTENTION))
    return table


def _lead_table(leads: pl.DataFrame, total: int, targets: list[str], width: int) -> Table:
    """The first :data:`TOP_LEADS` leads not delivered everywhere: a row per lead, a column per
    target with the lead's status there (and, for a lead held for its calling window, when it
    may be called: flows.report.leads.with_callable), and the lead's reason codes (one a line).
    Statuses and codes are never cut nor wrapped mid-name: when the columns do not fit
    ``width``, the table lists one line per lead and target it did not reach instead (same
    facts, long form)."""
    shown = with_callable(leads.head(TOP_LEADS), targets)
    title = f"Leads to look at: not delivered to every target, or marked ({total:,}; first {shown.height})"
    statuses = {name: shown[target_column(name, "status")].fill_null("").to_list() for name in targets}
    held = {name: _callable(shown, name) for name in targets}
    codes = [code for row in shown["reasons"].to_list() for code in row or []]
    lines = {name: [line for text in held[name] if text for line in text.split("\n")] for name in targets}
    cells = {name: [*statuses[name], *lines[name]] for name in targets}
    widths = [len("row"), len("attention"), *[max(map(len, [t, *cells[t]])) for t in targets]]
    widths.append(max(map(len, ["reasons", *codes])))
    if not _fits(widths, width):
        long = [max(map(len, [name, *values])) for name, values in _long_columns(shown, targets).items()]
        if _fits([len("row"), len("attention"), *long], width):
            return _lead_table_long(shown, targets, title)
        return _lead_lines(shown, targets, title)
    table = Table(title=title, title_justify="left")
    table.add_column("row", justify="right", no_wrap=True)
    table.add_column("outcome", overflow="fold", min_width=len("attention"))
    for name in targets:
        _identifier_column(table, name, cells[name])
    _identifier_column(table, "reasons", codes)
    for index, row in enumerate(shown.iter_rows(named=True)):
        status = [_with_callable(row[target_column(name, "status")], held[name][index]) for name in targets]
        reasons = _text("\n".join(row["reasons"] or []))
        table.add_row(_text(row["source_row"]), _text(row["outcome"]), *status, reasons)
    return table


def _callable(shown: pl.DataFrame, target: str) -> list[str | None]:
    """Per lead shown: when it may be called at ``target`` if held there for its window, over
    two lines ("callable from" and the time): no wider than its ``OUTSIDE_CALLING_WINDOW``."""
    name = target_column(target, CALLABLE)
    if name not in shown.columns:
        return [None] * shown.height
    return shown[name].str.replace("callable from ", "callable from\n", literal=True).to_list()


def _with_callable(status: str | None, callable_: str | None) -> Text:
    text = _status_text(status)
    if callable_:
        text.append(f"\n{callable_}", style="dim")
    return text


def _status_text(status: str | None) -> Text:
    return Text(status or "", style="red" if status in _ATTENTION else "")


def _lead_table_long(shown: pl.DataFrame, targets: list[str], title: str) -> Table:
    """:func:`_lead_table`'s long form: per lead, a line per outcome at the targets it did not
    reach, the targets with the same status, reasons and calling time on one line ("every
    target" when that is all of them): a lead rejected by its own values, the commonest case,
    is one line, not one per target."""
    table = Table(title=title, title_justify="left")
    table.add_column("row", justify="right", no_wrap=True)
    table.add_column("outcome", overflow="fold", min_width=len("attention"))
    for name, values in _long_columns(shown, targets).items():
        _identifier_column(table, name, values)
    held = {name: _callable(shown, name) for name in targets}
    for lead, row in enumerate(shown.iter_rows(named=True)):
        missed = _missed(row, targets, [held[name][lead] for name in targets])
        for index, ((status, reasons, callable_), names) in enumerate(missed.items()):
            first = (_text(row["source_row"]), _text(row["outcome"])) if index == 0 else (Text(""), Text(""))
            said = _text("\n".join(reasons))
            if callable_:
                said.append(f"\n{callable_}", style="dim")
            where = _EVERY_TARGET if len(names) == len(targets) > 1 else "\n".join(names)
            table.add_row(*first, _text(where), _status_text(status), said)
        table.add_section()
    return table


_EVERY_TARGET = "every target"


def _long_columns(shown: pl.DataFrame, targets: list[str]) -> dict[str, list[str]]:
    """:func:`_lead_table_long`'s columns of names beside row and outcome, each with every value
    it may hold (its width; "callable from" lines are narrower than a reason code)."""
    codes = [
        code
        for name in targets
        for row in shown[target_column(name, "reasons")].to_list()
        for code in row or []
    ]
    return {
        "target": [*targets, _EVERY_TARGET],
        "status": [s.value for s in STATUS_ORDER],
        "reasons": codes,
    }


_Missed = dict[tuple[str | None, tuple[str, ...], str | None], list[str]]
"""A lead's outcomes at the targets it did not reach: (status, reasons, callable) -> targets."""


def _missed(row: Mapping[str, Any], targets: list[str], held: list[str | None]) -> _Missed:
    """The lead's outcomes at the targets it did not reach, each with the targets that share it
    (``held``: when it may be called at each target, aligned with ``targets``)."""
    missed: _Missed = {}
    for name, callable_ in zip(targets, held, strict=True):
        status = row[target_column(name, "status")]
        if status not in _DELIVERED:
            outcome = (status, tuple(row[target_column(name, "reasons")] or ()), callable_)
            missed.setdefault(outcome, []).append(name)
    return missed


def _lead_lines(shown: pl.DataFrame, targets: list[str], title: str) -> Table:
    """:func:`_lead_table`'s narrowest form, where even its long form does not fit: a lead per
    row, its number beside its outcome and then, per outcome at the targets it did not reach, a
    line of the targets and the status and a line of the reasons, which wrap between codes."""
    listing = _listing(title, [str(row) for row in shown["source_row"].to_list()])
    held = {name: _callable(shown, name) for name in targets}
    for lead, row in enumerate(shown.iter_rows(named=True)):
        said = Text(str(row["outcome"]))
        missed = _missed(row, targets, [held[name][lead] for name in targets])
        for (status, reasons, callable_), names in missed.items():
            where = _EVERY_TARGET if len(names) == len(targets) > 1 else ", ".join(names)
            said.append(f"\n{where}: ")
            said.append_text(_status_text(status))
            if reasons:
                said.append("\n" + ", ".join(reasons))
            if callable_:
                said.append("\n" + callable_.replace("\n", " "), style="dim")
        listing.add_row(_text(row["source_row"]), said)
    return listing


def _vendor_table(summary: Mapping[str, Any]) -> Table | None:
    """One line per kind of vendor error (transforms.summary masks the lead's ids, phones and
    emails in the message), one message as written under it in dim."""
    table = Table(title="Vendor errors", title_justify="left")
    for column in ("target", "vendor status", "vendor message"):
        table.add_column(column, overflow="fold")
    table.add_column("rows", justify="right")
    for name, target in summary["targets"].items():
        for error in target["vendor_errors"]:
            status, message = _text(error["vendor_status"]), _text(error["vendor_message"])
            example = error.get("example")
            if example and example != error["vendor_message"]:
                message.append(f"\ne.g. {example}", style="dim")
            table.add_row(_text(name), status, message, _number(error["count"]))
    return table if table.row_count else None


def print_run(console: Console, run: Run, figures: RunFigures) -> None:
    """Leads first (outcomes, reasons in leads, the leads not delivered everywhere), then per
    target (statuses, vendor errors); ``figures`` are the run's (flows.report.figures)."""
    console.rule(Text(f"Leadflow run {run.run_id}"))
    _inputs(console, run)
    summary = figures.summary
    targets = list(summary["targets"])
    leads = figures.leads
    counts = leads.counts
    attention = counts[Outcome.ATTENTION]
    console.print(
        Text(f"{leads.leads:,} leads (rows of the file), {len(targets)} target{_plural(len(targets))}, "),
        Text(f"{attention:,} leads need attention", style="bold red" if attention else "green"),
        sep="",
    )
    console.print(_outcome_table(counts))
    reasons = figures.reasons
    if not reasons.is_empty():
        console.print(_reasons_table(summary, reasons, console.width))
    if leads.missed:
        console.print(_lead_table(leads.shown, leads.missed, targets, console.width))
    console.print(_status_table(summary, console.width))
    vendor = _vendor_table(summary)
    console.print(vendor if vendor else Text("No vendor errors.", style="dim"))


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _leads(count: int) -> str:
    return f"{count:,} lead{_plural(count)}"


def _percent(value: float | None) -> Text:
    return Text("" if value is None else f"{100 * value:.1f}%")


def print_trend(console: Console, trend: pl.DataFrame, skipped: Sequence[Skipped] = ()) -> None:
    """One line per run and target, oldest run first: its folder (relative to the folder of
    runs), the target's leads and the shares delivered (accepted, submitted or already sent),
    rejected and failed; then every folder that was not read, with why."""
    title = (
        "Trend per run and target (share of the target's leads; "
        "delivered = accepted, submitted or already sent)"
    )
    console.print(_trend_table(trend, title, console.width))
    for folder in skipped:
        console.print(Text(f"skipped {folder.folder}: {folder.reason}", style="yellow"), soft_wrap=True)


_SHARES = (("delivered", "delivered_share"), ("rejected", "rejected_share"), ("failed", "failed_share"))


def _started(row: Mapping[str, Any]) -> str:
    return row["started"].strftime("%Y-%m-%d %H:%M") if row["started"] else "unknown"


def _trend_table(trend: pl.DataFrame, title: str, width: int) -> Table:
    """A row per run and target; where that does not fit ``width`` (a run's folder kept whole),
    a listing: each run's start and folder, then a line per target of its leads and shares."""
    counts = [f"{n:,}" for n in trend["rows"].to_list()]
    folders = [str(folder) for folder in trend["folder"].to_list()]
    widths = [10, max(map(len, ["folder", *folders])), max(map(len, ["target", *trend["target"].to_list()]))]
    widths += [max(map(len, ["leads", *counts])), *(len(header) for header, _ in _SHARES)]
    if not _fits(widths, width):
        return _trend_listing(trend, title)
    table = Table(title=title, title_justify="left")
    table.add_column(_header("started (UTC)"), overflow="fold", min_width=10)
    table.add_column("folder", overflow="fold")  # a path: folded whole over lines when narrow
    _identifier_column(table, "target", trend["target"].to_list())
    leads = max((len(f"{n:,}") for n in trend["rows"].to_list()), default=1)
    table.add_column(_header("leads"), justify="right", no_wrap=True, min_width=max(leads, 5))
    for header, _ in _SHARES:
        table.add_column(_header(header), justify="right", no_wrap=True, min_width=6)
    for row in trend.iter_rows(named=True):
        rates = [_percent(row[name]) for _, name in _SHARES]
        table.add_row(
            _text(_started(row)), _text(row["folder"]), _text(row["target"]), _number(row["rows"]), *rates
        )
    return table


def _trend_listing(trend: pl.DataFrame, title: str) -> Table:
    """:func:`_trend_table`'s narrow form: a line per run (its start, its folder), then a line
    per target: its leads and shares, words that wrap between them."""
    rows = list(trend.iter_rows(named=True))
    starts = [f"{_started(row)} UTC" if row["started"] else "start unknown" for row in rows]
    listing = _listing(title, [*trend["target"].to_list(), *starts])
    folder = None
    for row, start in zip(rows, starts, strict=True):
        if row["folder"] != folder:
            folder = row["folder"]
            listing.add_row(Text(start, style="bold"), Text(str(folder), style="bold"))
        shares = ", ".join(f"{label} {_percent(row[name]).plain or 'unknown'}" for label, name in _SHARES)
        listing.add_row(_text(row["target"]), Text(f"{_leads(row['rows'])}: {shares}"))
    return listing
