"""The figures one run's report is drawn from, computed once for the HTML page and the terminal.

Why: a run is shown twice, as the page written into its folder and in the terminal
(``leadflow validate``, ``leadflow report --html``), and each summarized the results, built the
lead view and counted the reasons by lead on its own: six passes over the result parts where
three do (about 2 s of CPU for a million rows), and a seventh when the summary the run had just
written to summary.json was computed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from flows.report.lead_batches import RunningLeads
from flows.report.lead_sections import LEAD_LIMIT
from flows.report.leads import LeadView, lead_view, reasons_by_lead
from flows.report.runs import SUMMARY_FILE, Run
from transforms.summary import summarize

__all__ = ["RunFigures", "run_figures", "written_summary"]


@dataclass(frozen=True)
class RunFigures:
    """transforms.summary.summarize of the results, the lead view (its first
    flows.report.lead_sections.LEAD_LIMIT leads shown: the page's; the terminal shows fewer of
    the same) and the reasons by lead."""

    summary: dict[str, Any]
    leads: LeadView
    reasons: pl.DataFrame


def run_figures(
    run: Run, summary: dict[str, Any] | None = None, taken: RunningLeads | None = None
) -> RunFigures:
    """The figures of ``run``; ``summary``: its summary when already known (:func:`written_summary`);
    ``taken``: its lead figures taken as its results were written, when they were."""
    summary = summary if summary is not None else summarize(run.results, run.target_names)
    targets = list(summary["targets"])
    leads = taken.view(run.results, targets, LEAD_LIMIT) if taken is not None else None
    if leads is None:
        leads = lead_view(run.results, targets, LEAD_LIMIT)
    reasons = taken.reasons(run.results) if taken is not None else None
    if reasons is None:
        reasons = reasons_by_lead(run.results)
    return RunFigures(summary, leads, reasons)


def written_summary(run_dir: Path) -> dict[str, Any]:
    """The summary a run has just written (transforms.outputs.write_run_files): summarize's
    dict of JSON values, so that reading it back gives the same dict."""
    summary: dict[str, Any] = json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    return summary
