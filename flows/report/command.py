"""``leadflow report PATH [--out DIR] [--html FILE] [--csv FILE] [--lead VALUE [--country CC]]``:
what a run did, for analysts.

PATH is a run folder (``<out>/<run_id>``), a run id (looked up in ``--out``, default
``leadflow-out``), result Parquet (a file, or a folder of them), or a folder of run folders,
which gives the trend (accepted/rejected per run and target) instead.
The terminal gets rich tables; ``--html`` writes the self-contained report (or the trend
page); ``--csv`` writes the leads not delivered to every target, one row per lead with a
column per target, with spreadsheet formulas neutralised. ``--lead`` lists instead every
result of one lead (a phone, an email or an external id) in the runs under PATH
(flows.report.lead_lookup); ``--csv`` then writes those rows.
Errors print one ``Error: message`` line, as every command does, and return 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flows.report import DEFAULT_OUT

if TYPE_CHECKING:
    from rich.console import Console

    from flows.report.lead_batches import RunningLeads
    from flows.report.runs import PathKind, Run

__all__ = ["build_parser", "main", "report_finished_run", "run_report"]


def _single(path: Path, kind: PathKind) -> Run:
    from flows.report.runs import PathKind, Run, load_run, read_results

    if kind is PathKind.RUN:
        return load_run(path)
    no_meta = "results given without a run folder"
    return Run(path=path, results=read_results(path), meta=None, meta_problem=no_meta)


def _report_run(run: Run, html: Path | None, csv: Path | None, console: Console) -> None:
    from rich.text import Text

    from flows.report.console import print_run
    from flows.report.csv_export import export_lead_csv
    from flows.report.figures import run_figures
    from flows.report.html_page import render_run_html, write_text_atomically

    figures = run_figures(run)  # the page's and the terminal's, computed once
    print_run(console, run, figures)
    if html is not None:
        write_text_atomically(html, render_run_html(run, figures))
        console.print(Text(f"HTML report: {html}"))
    if csv is not None:
        rows = export_lead_csv(run.results, run.target_names, csv)
        console.print(
            Text(
                f"CSV: {rows:,} leads to look at (not delivered to every target, or marked; "
                f"one row per lead) -> {csv}"
            )
        )


def _report_runs(folder: Path, html: Path | None, csv: Path | None, console: Console) -> None:
    import polars as pl
    from rich.text import Text

    from flows.report.console import print_trend
    from flows.report.csv_export import lead_csv_frame, write_lead_csv
    from flows.report.html_page import render_trend_html, write_text_atomically
    from flows.report.run_folders import scan_runs, trend
    from flows.report.runs import ReportError

    found = scan_runs(folder)
    if not found.runs:
        raise ReportError(f"{folder}: no run folders inside")
    runs = found.runs
    changes = trend(runs, folder)
    print_trend(console, changes, found.skipped)
    if html is not None:
        write_text_atomically(html, render_trend_html(found, changes, html.parent))
        console.print(Text(f"HTML trend: {html}"))
    if csv is not None:
        frames = [lead_csv_frame(run.results, run.target_names) for run in runs]
        rows = write_lead_csv(pl.concat(frames, how="diagonal_relaxed"), csv)
        console.print(
            Text(
                f"CSV: {rows:,} leads to look at (not delivered to every target, or marked) "
                f"across {len(runs)} runs -> {csv}"
            )
        )


def report_finished_run(run_dir: Path, console: Console, taken: RunningLeads | None = None) -> int:
    """What ``leadflow validate`` shows of the run it has just written: its HTML report written
    into the run folder (a failure there is the run's, raised), then the run in the terminal
    (0, or 1 with the error printed, as :func:`run_report`), from one computation of the
    figures, the summary read back from the run's summary.json, the lead figures ``taken`` as
    the results were written when given (flows.report.lead_batches)."""
    from flows.report.console import print_run
    from flows.report.figures import run_figures, written_summary
    from flows.report.html_page import write_html_report
    from flows.report.runs import load_run

    run = load_run(run_dir)
    figures = run_figures(run, written_summary(run_dir), taken)
    write_html_report(run_dir, figures=figures)
    return _reported([run_dir], lambda: print_run(console, run, figures), console)


def _report_lead(
    path: Path, kind: PathKind, lead: str, *, country: str | None, csv: Path | None, console: Console
) -> None:
    from rich.text import Text

    from flows.commands.country_option import country_region
    from flows.report.lead_lookup import find_lead, lead_csv, lead_query, print_lead
    from flows.report.run_folders import scan_runs
    from flows.report.runs import PathKind, ReportError

    query = lead_query(lead, country_region(country))
    if kind is PathKind.RUNS:
        found = scan_runs(path)
        if not found.runs:
            raise ReportError(f"{path}: no run folders inside")
        rows = find_lead(found.runs, query, found)
        searched = len(found.runs)
    else:
        rows, searched = find_lead([_single(path, kind)], query), 1
    print_lead(console, rows, query, searched)
    if csv is not None:
        written = lead_csv(rows, csv)
        console.print(Text(f"CSV: {written:,} results of this lead -> {csv}"))


def run_report(
    path: Path,
    html: Path | None,
    csv: Path | None,
    console: Console,
    *,
    out: Path = Path(DEFAULT_OUT),
    lead: str | None = None,
    country: str | None = None,
) -> int:
    """Print the report of ``path`` (or of the run id ``path`` in ``out``) and write the requested
    files, or with ``lead`` that lead's results in the runs there; 0 on success, 1 on error."""
    # imported here, not above: ``leadflow report --help`` and a usage error need none of them
    from flows.report.runs import PathKind, ReportError, classify, resolve_path

    resolved = [path]  # the error line names the run folder once a run id is resolved

    def report() -> None:
        if lead is None and country is not None:
            raise ReportError("--country reads the value of --lead: give --lead too")
        if lead is not None and html is not None:
            raise ReportError("--html draws a run or a trend, not one lead: use --csv with --lead")
        resolved[0] = found = resolve_path(path, out)
        kind = classify(found)
        if lead is not None:
            _report_lead(found, kind, lead, country=country, csv=csv, console=console)
        elif kind is PathKind.RUNS:
            _report_runs(found, html, csv, console)
        else:
            _report_run(_single(found, kind), html, csv, console)

    return _reported(resolved, report, console)


def _reported(path: list[Path], report: Callable[[], None], console: Console) -> int:
    """0 once ``report`` has run; 1 with one ``Error:`` line, as every command's, when it failed
    reading or writing (``path``: the one the line names, as far as ``report`` got)."""
    import polars as pl

    from connectors.config_error import ConfigError
    from flows.console import print_error
    from flows.report.runs import ReportError

    try:
        report()
    except (ReportError, ConfigError) as error:  # ConfigError: a setting such as --country
        print_error(console, error)
        return 1
    except (pl.exceptions.PolarsError, OSError) as error:
        problem = f"cannot read or write report files for {path[0]} ({type(error).__name__})"
        print_error(console, ReportError(problem))
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow report", description="What a run did, for analysts.")
    parser.add_argument(
        "path", type=Path, help="run folder, run id, results Parquet file/folder, or folder of runs"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(DEFAULT_OUT), help="where to look up a run id (default %(default)s)"
    )
    parser.add_argument("--html", type=Path, help="write the self-contained HTML report here")
    parser.add_argument(
        "--csv",
        type=Path,
        help="write the leads to look at (not delivered to every target, or marked) here, one row per "
        "lead (spreadsheet-safe); with --lead, that lead's results",
    )
    parser.add_argument(
        "--lead",
        metavar="VALUE",
        help="list every result of one lead in the runs under PATH: a phone number, an email or an "
        "external id",
    )
    parser.add_argument(
        "--country",
        metavar="CC",
        help="the country of a national phone number given to --lead (ISO code, e.g. US)",
    )
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = build_parser().parse_args(argv)
    if console is None:
        from flows.console import new_console

        console = new_console()
    return run_report(
        args.path, args.html, args.csv, console, out=args.out, lead=args.lead, country=args.country
    )


if __name__ == "__main__":
    raise SystemExit(main())
