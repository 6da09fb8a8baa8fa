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
from typing import TYPE_CHECKING
from urllib.parse import quote

import polars as pl

from flows.report.assets import CSP, SCRIPT, STYLE
from flows.report.figures import RunFigures, run_figures
from flows.report.lead_sections import lead_table_section, leads_headline_section, reasons_section
from flows.report.leads import among
from flows.report.markup import Cell, Markup, esc, table
from flows.report.runs import REPORT_FILE, Run, load_run, rerun_command, run_started
from flows.report.sections import (
    SAMPLE_LIMIT,
    dispositions_section,
    glossary_section,
    inputs_section,
    phones_section,
    totals_section,
    vendor_errors_section,
)
from schemas.clean_leads import PHONE_SLOTS
from schemas.codes import Status

if TYPE_CHECKING:
    from flows.report.run_folders import RunsFound

__all__ = ["render_run_html", "render_trend_html", "write_html_report", "write_text_atomically"]

_RUN_NAV = (
    ("leads", "Leads"),
    ("lead-table", "Leads not delivered"),
    ("reasons", "Reasons"),
    ("totals", "Per target"),
    ("vendor-errors", "Vendor errors"),
    ("phones", "Phones & countries"),
    ("dispositions", "Duplicates & suppressions"),
    ("inputs", "Run inputs"),
    ("codes", "What the codes mean"),
)
"""Page order: leads first (counts in rows of the file, one row per lead), then per target."""


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


_DISPOSITION_COLUMNS = (
    "source_row",
    "target",
    "status",
    "reasons",
    "duplicate_of",
    "duplicate_on",
    "first_name",
    "last_name",
    *PHONE_SLOTS,
    "email",
)


def _dispositions(results: pl.LazyFrame) -> tuple[pl.DataFrame, int]:
    """The first :data:`SAMPLE_LIMIT` input rows that are a duplicate or suppressed (one
    result each: the first target's), and how many such rows there are. Only the shown rows
    are read whole; the count is over one column."""
    held = results.filter(pl.col("status").is_in([Status.DUPLICATE.value, Status.SUPPRESSED.value]))
    # the held rows found once (their count, then the first of them), and the shown rows read
    # from their span of the parts' row groups only
    rows = held.select(pl.col("source_row").unique()).collect(engine="streaming")["source_row"]
    total = rows.len()
    first = rows.sort().head(SAMPLE_LIMIT)
    shown = (
        held.filter(among(first))
        .select(_DISPOSITION_COLUMNS)
        .sort("source_row", "target")
        .unique("source_row", keep="first", maintain_order=True)
        .collect()
    )
    return shown, int(total)


def render_run_html(run: Run, figures: RunFigures | None = None) -> str:
    """The analyst report of one run as a complete HTML document (``figures``: the run's,
    flows.report.figures, when the caller has them)."""
    figures = figures or run_figures(run)
    summary = figures.summary
    targets = list(summary["targets"])
    leads = figures.leads
    meta = run.meta
    source = meta.source_file if meta else "results"
    subtitle = f"{source}: {summary['rows']:,} leads (rows of the file), {len(targets)} targets"
    banner = "Dry run: payloads were built, nothing was sent to any vendor." if meta and meta.dry_run else ""
    csv_hint = rerun_command(run.path, "--csv", "leads.csv")
    body = "".join(
        [
            leads_headline_section(leads, targets),
            lead_table_section(leads, targets, csv_hint),
            reasons_section(figures.reasons),
            totals_section(summary),
            vendor_errors_section(summary),
            phones_section(summary),
            dispositions_section(summary, *_dispositions(run.results)),
            inputs_section(meta, run.meta_problem),
            glossary_section(summary),
        ]
    )
    return _page(f"Leadflow run {run.run_id}", subtitle, _RUN_NAV, body, banner)


def _report_link(run: Run, page_dir: Path) -> Markup:
    """A relative link from the trend page to the run's report.html (works when the folder is
    moved or served as a whole); a run without one says how to write it."""
    report = run.path / REPORT_FILE
    if not report.is_file():
        command = rerun_command(run.path, "--html", str(report))
        return Markup(f'<span class="note">no {esc(REPORT_FILE)}: <code>{esc(command)}</code></span>')
    href = quote(Path(os.path.relpath(report.resolve(), page_dir.resolve())).as_posix())
    return Markup(f'<a class="run-link" href="{esc(href)}">{esc(REPORT_FILE)}</a>')


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def render_trend_html(found: RunsFound, trend: pl.DataFrame, page_dir: Path) -> str:
    """Rates per run and target over the runs' start times, the runs (each linked to its
    report, relative to ``page_dir`` where the page is written) and the folders skipped."""
    from flows.report.run_folders import RATES, TREND_STATUSES
    from flows.report.trend_chart import trend_chart  # matplotlib: only this page draws with it

    folders = {found.folder(run): run for run in found.runs}
    untimed = trend.filter(pl.col("started").is_null())["folder"].unique(maintain_order=True).to_list()
    chart = f'<figure class="chart">{trend_chart(trend)}</figure>'
    note = (
        '<p class="note">Each point is one run: the share of that target\'s leads (rows of the file) '
        "delivered (accepted, submitted or already sent by an earlier run), rejected (by our checks or by "
        "the vendor) and failed. The x axis is "
        "the time the run started (UTC); each target has its own marker and dash pattern, so lines "
        "that coincide stay visible, and the legend gives its latest value. Delivered: accepted, "
        "submitted or already_sent; rejected: rejected or vendor_rejected.</p>"
    )
    if untimed:
        note += f'<p class="note">Not plotted (no start time known): {esc(", ".join(untimed))}.</p>'
    rows = [
        (
            Cell(row["folder"], "nowrap"),
            row["target"],
            row["rows"],
            *[row[status.value] for status in TREND_STATUSES],
            *[Cell(_percent(row[name]), "num") for name in RATES],
        )
        for row in trend.iter_rows(named=True)
    ]
    headers = ("Folder (oldest run first)", "Target", "Leads", *[s.value for s in TREND_STATUSES])
    listing = table((*headers, "delivered %", "rejected %", "failed %"), rows)
    runs = table(
        ("Started (UTC)", "Folder", "Report", "Run id", "Source file", "Leads", "Dry run"),
        [
            (
                Cell(
                    started.strftime("%Y-%m-%d %H:%M") if (started := run_started(run)) else "unknown",
                    "nowrap",
                ),
                Cell(folder, "nowrap"),
                _report_link(run, page_dir),
                Cell(run.run_id, "nowrap"),
                Cell(run.meta.source_file if run.meta else "", "text"),
                run.meta.rows if run.meta and run.meta.rows is not None else "",
                ("yes" if run.meta.dry_run else "no") if run.meta else "",
            )
            for folder, run in folders.items()
        ],
    )
    skipped = (
        table(
            ("Folder", "Why it was not read"), [(Cell(s.folder, "nowrap"), s.reason) for s in found.skipped]
        )
        if found.skipped
        else '<p class="note">No folder was skipped.</p>'
    )
    body = Markup(
        f'<section id="trend"><h2>Rates per run</h2><div class="charts">{chart}</div>{note}</section>'
        f'<section id="runs"><h2>Runs ({len(found.runs)})</h2>{runs}</section>'
        f'<section id="per-target"><h2>Per run and target</h2>{listing}</section>'
        f'<section id="skipped"><h2>Folders skipped ({len(found.skipped)})</h2>{skipped}</section>'
    )
    nav = (("trend", "Rates"), ("runs", "Runs"), ("per-target", "Per run and target"), ("skipped", "Skipped"))
    skipped_count = f"{len(found.skipped)} folder{'' if len(found.skipped) == 1 else 's'} skipped"
    subtitle = f"{found.root}: {len(found.runs)} run{'' if len(found.runs) == 1 else 's'}, {skipped_count}"
    return _page("Leadflow trend", subtitle, nav, body)


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


def write_html_report(run_dir: Path, out: Path | None = None, figures: RunFigures | None = None) -> Path:
    """Render the run in ``run_dir`` to ``out`` (default ``<run_dir>/report.html``); returns the path."""
    return write_text_atomically(out or run_dir / REPORT_FILE, render_run_html(load_run(run_dir), figures))
