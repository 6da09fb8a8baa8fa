"""The terminal view of a run or of a trend: rich tables of the summary.

Values from lead files and vendors are wrapped in ``rich.text.Text`` so that a vendor message
like ``[red]...[/red]`` prints as written instead of being read as console markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flows.report.runs import Run
from transforms.summary import ATTENTION_STATUSES, STATUS_ORDER

__all__ = ["print_run", "print_trend"]

TOP_REASONS = 15
_ATTENTION = {status.value for status in ATTENTION_STATUSES}


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


def _header(name: str) -> Text:
    """A count column's header: folded over lines when the column is narrow, never cut."""
    return Text(name, overflow="fold")


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
    ]
    for label, value in rows:
        grid.add_row(label, _text(value))
    console.print(grid)


def _status_table(summary: Mapping[str, Any]) -> Table:
    targets: dict[str, dict[str, Any]] = summary["targets"]
    shown = [s.value for s in STATUS_ORDER if s.value in summary["statuses"]]
    table = Table(title="Results by target and status", title_justify="left")
    _identifier_column(table, "target", list(targets))
    for status in shown:
        table.add_column(
            _header(status), justify="right", style="red" if status in _ATTENTION else "", overflow="fold"
        )
    table.add_column(_header("total"), justify="right", style="bold", overflow="fold")
    for name, target in targets.items():
        counts = [_number(target["statuses"].get(status, 0), status in _ATTENTION) for status in shown]
        table.add_row(_text(name), *counts, _number(target["total"]))
    return table


def _reasons_table(summary: Mapping[str, Any]) -> Table:
    targets: dict[str, dict[str, Any]] = summary["targets"]
    top = list(summary["reasons"].items())[:TOP_REASONS]
    table = Table(title=f"Top reasons (result rows, top {TOP_REASONS})", title_justify="left")
    _identifier_column(table, "reason", [reason for reason, _ in top])
    table.add_column(_header("all"), justify="right", style="bold", overflow="fold")
    for name in targets:
        table.add_column(_header(name), justify="right", overflow="fold")
    for reason, count in top:
        per_target = [_number(t["reasons"].get(reason, 0)) for t in targets.values()]
        table.add_row(_text(reason), _number(count), *per_target)
    return table


def _vendor_table(summary: Mapping[str, Any]) -> Table | None:
    table = Table(title="Vendor errors", title_justify="left")
    for column in ("target", "vendor status", "vendor message"):
        table.add_column(column, overflow="fold")
    table.add_column("rows", justify="right")
    for name, target in summary["targets"].items():
        for error in target["vendor_errors"]:
            status, message = _text(error["vendor_status"]), _text(error["vendor_message"])
            table.add_row(_text(name), status, message, _number(error["count"]))
    return table if table.row_count else None


def print_run(console: Console, run: Run, summary: Mapping[str, Any]) -> None:
    """Inputs, counts per target and status, top reasons, vendor errors."""
    console.rule(Text(f"Leadflow run {run.run_id}"))
    _inputs(console, run)
    attention = summary["attention"]
    console.print(
        Text(f"{summary['rows']:,} input rows, {summary['results']:,} result rows, "),
        Text(f"{attention:,} need attention", style="bold red" if attention else "green"),
        sep="",
    )
    console.print(_status_table(summary))
    if summary["reasons"]:
        console.print(_reasons_table(summary))
    vendor = _vendor_table(summary)
    console.print(vendor if vendor else Text("No vendor errors.", style="dim"))


def print_trend(console: Console, trend: pl.DataFrame) -> None:
    """One line per run and target: rows and the trend statuses."""
    table = Table(title="Trend per run and target", title_justify="left")
    for column in trend.columns:
        numeric = trend.schema[column].is_numeric()
        table.add_column(_header(column), justify="right" if numeric else "left", overflow="fold")
    for row in trend.iter_rows():
        table.add_row(*[_number(v) if isinstance(v, int) else _text(v) for v in row])
    console.print(table)
