"""Self-contained HTML reports: one run (written next to its results after every run) and the
trend over a folder of runs.

A report is one file that opens with no network: style, charts (inline SVG) and our small
script are inline, and its Content-Security-Policy lets nothing else load or run. Every value
from a lead file, a vendor or run.json is HTML-escaped (flows.report.markup); no data is
embedded in script. The same results render to the same bytes (no generation timestamp).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

from flows.report.assets import CSP, SCRIPT, STYLE
from flows.report.markup import Markup, esc, table
from flows.report.runs import REPORT_FILE, Run, load_run, rerun_command
from flows.report.sections import (
    attention_section,
    dispositions_section,
    glossary_section,
    inputs_section,
    leads_section,
    reasons_section,
    totals_section,
    vendor_errors_section,
)
from schemas.codes import Status
from transforms.summary import attention_rows, reason_examples, summarize

__all__ = ["render_run_html", "render_trend_html", "write_html_report", "write_text_atomically"]

_RUN_NAV = (
    ("inputs", "Inputs"),
    ("totals", "Totals"),
    ("reasons", "Reasons"),
    ("vendor-errors", "Vendor errors"),
    ("leads", "Phones & countries"),
    ("dispositions", "Duplicates & suppressions"),
    ("attention", "Needs attention"),
    ("codes", "What the codes mean"),
)


def _page(title: str, subtitle: str, nav: tuple[tuple[str, str], ...], body: str, banner: str = "") -> str:
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    banner_html = f'<p class="banner">{esc(banner)}</p>' if banner else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p>{banner_html}</header>"
        f"<nav>{links}</nav><main>{body}</main><script>{SCRIPT}</script></body></html>\n"
    )


def _dispositions(results: pl.LazyFrame) -> pl.DataFrame:
    return (
        results.filter(pl.col("status").is_in([Status.DUPLICATE.value, Status.SUPPRESSED.value]))
        .sort("source_row", "target")
        .unique("source_row", keep="first", maintain_order=True)
        .collect()
    )


def render_run_html(run: Run) -> str:
    """The analyst report of one run as a complete HTML document."""
    summary = summarize(run.results, run.target_names)
    meta = run.meta
    source = meta.source_file if meta else "results"
    subtitle = f"{source}: {summary['rows']:,} input rows, {len(summary['targets'])} targets"
    banner = "Dry run: payloads were built, nothing was sent to any vendor." if meta and meta.dry_run else ""
    csv_hint = rerun_command(run.path, "--csv", "attention.csv")
    body = "".join(
        [
            inputs_section(meta, run.meta_problem),
            totals_section(summary),
            reasons_section(summary, reason_examples(run.results)),
            vendor_errors_section(summary),
            leads_section(summary),
            dispositions_section(summary, _dispositions(run.results)),
            attention_section(attention_rows(run.results), csv_hint),
            glossary_section(summary),
        ]
    )
    return _page(f"Leadflow run {run.run_id}", subtitle, _RUN_NAV, body, banner)


def render_trend_html(runs: list[Run], trend: pl.DataFrame) -> str:
    """Accepted/rejected per run and target over a folder of runs (``trend`` from report_runs.trend)."""
    from flows.report.trend_chart import trend_chart  # matplotlib: only this page draws with it

    chart = f'<figure class="chart">{trend_chart(trend)}</figure>'
    listing = table(trend.columns, trend.rows())
    sources = table(
        ("Run", "Source file", "Dry run"),
        [(run.run_id, *((run.meta.source_file, run.meta.dry_run) if run.meta else ("", ""))) for run in runs],
    )
    body = Markup(
        f'<section id="trend"><h2>Trend</h2><div class="charts">{chart}</div>{listing}</section>'
        f'<section id="runs"><h2>Runs</h2>{sources}</section>'
    )
    return _page("Leadflow trend", f"{len(runs)} runs", (("trend", "Trend"), ("runs", "Runs")), body)


def write_text_atomically(path: Path, text: str) -> Path:
    """Write via a temporary file in the same folder, so readers never see half a report.

    The temporary file is created the ordinary way (exclusive, unique name), not by mkstemp,
    which makes it private (0600): the report gets the mode any new file gets (0644 under the
    usual umask 022), like the run's Parquet files beside it. It is there to be shared (a web
    server, a colleague's account) and holds nothing the results do not.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as stream:
            stream.write(text)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_html_report(run_dir: Path, out: Path | None = None) -> Path:
    """Render the run in ``run_dir`` to ``out`` (default ``<run_dir>/report.html``); returns the path."""
    return write_text_atomically(out or run_dir / REPORT_FILE, render_run_html(load_run(run_dir)))
