"""A folder of runs for the trend (``leadflow report DIR``): its run folders at any depth, the
folders it skipped and why, and the rates per run and target.

Why explicit: runs end up nested (``out/2026-11/<run_id>``, a watched folder's ``runs/``, a
copy of an older ``out``), and a trend that silently read only the top level, or merged two
runs of the same id, misleads. Each run is shown by its folder relative to DIR (two copies
of one run stay two rows); every folder that is not read is listed with the reason. A run
folder is never looked into for more runs; links are not followed (a linked folder could
be a run already counted, or lie outside DIR).

Rates, not counts: runs differ in size, so the trend plots each target's share of the run's
leads delivered (accepted, submitted or already sent), rejected (by us or the vendor) and failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flows.report.leads import DELIVERED
from flows.report.runs import RESULTS_DIR, ReportError, Run, inside, is_run, load_run, run_started
from schemas.codes import Status

__all__ = ["RATES", "TREND_STATUSES", "RunsFound", "Skipped", "find_runs", "scan_runs", "trend"]

TREND_STATUSES: tuple[Status, ...] = (
    Status.ACCEPTED,
    Status.SUBMITTED,
    Status.ALREADY_SENT,
    Status.REJECTED,
    Status.VENDOR_REJECTED,
    Status.FAILED,
)

RATES: dict[str, tuple[Status, ...]] = {
    # what the run's own report calls delivered: a re-run of a delivered file is not at 0%
    "delivered_share": DELIVERED,
    "rejected_share": (Status.REJECTED, Status.VENDOR_REJECTED),
    "failed_share": (Status.FAILED,),
}
"""Trend rate column -> the statuses whose leads it counts, as a share of the target's leads."""


@dataclass(frozen=True)
class Skipped:
    folder: str
    """Relative to the folder of runs."""
    reason: str


@dataclass(frozen=True)
class RunsFound:
    root: Path
    runs: list[Run]
    """Oldest first (run.json's start time, else the run id's), ties by folder."""
    skipped: list[Skipped]

    def folder(self, run: Run) -> str:
        """The run's folder relative to :attr:`root` (``.`` separated by ``/``)."""
        return run.path.relative_to(self.root).as_posix()


def scan_runs(root: Path) -> RunsFound:
    """Every run folder under ``root`` at any depth, and every folder not read with why."""
    run_dirs = {
        found.parent for found in root.rglob(RESULTS_DIR) if found.is_dir() and not found.is_symlink()
    }
    runs: list[Run] = []
    skipped: list[Skipped] = []

    def visit(folder: Path) -> None:
        for child in sorted(folder.iterdir()):
            if not child.is_dir():
                continue
            relative = child.relative_to(root).as_posix()
            if child.is_symlink() or not inside(child, root):
                skipped.append(Skipped(relative, "a link to another folder: not followed"))
            elif child in run_dirs and is_run(child):
                try:
                    runs.append(load_run(child))
                except ReportError as error:
                    skipped.append(Skipped(relative, f"run folder without readable results ({error})"))
            elif any(run_dir.is_relative_to(child) for run_dir in run_dirs):
                visit(child)
            else:
                skipped.append(Skipped(relative, f"no run folder inside (no {RESULTS_DIR}/ folder)"))

    visit(root)
    found = RunsFound(root, runs, skipped)
    runs.sort(key=lambda run: (run_started(run) is None, run_started(run) or 0, found.folder(run)))
    return found


def find_runs(folder: Path) -> list[Run]:
    """The runs of :func:`scan_runs`, oldest first; a folder with none is an error."""
    runs = scan_runs(folder).runs
    if not runs:
        raise ReportError(f"{folder}: no run folders inside")
    return runs


def trend(runs: list[Run], root: Path | None = None) -> pl.DataFrame:
    """Per run and target, in run order: ``folder`` (relative to ``root``, else the folder's
    name), ``run_id``, ``started`` (naive UTC, null when unknown), ``rows`` (the leads at that
    target), the counts of :data:`TREND_STATUSES` and the :data:`RATES` (null for no rows)."""
    counts = ["rows", *[status.value for status in TREND_STATUSES]]
    columns = ["folder", "run_id", "started", "target", *counts, *RATES]
    if not runs:
        schema: dict[str, pl.DataType] = {"folder": pl.String(), "run_id": pl.String(), "target": pl.String()}
        schema |= (
            {"started": pl.Datetime("us")}
            | dict.fromkeys(counts, pl.Int64())
            | dict.fromkeys(RATES, pl.Float64())
        )
        return pl.DataFrame(schema=schema).select(columns)
    frames = [
        pl.concat(
            [
                run.results.select("target", "status")
                .group_by("target")
                .agg(
                    pl.len().alias("rows"),
                    *[(pl.col("status") == s.value).sum().alias(s.value) for s in TREND_STATUSES],
                )
                .cast(dict.fromkeys(counts, pl.Int64)),
                # the run's targets with no result rows (a file of no rows) count 0, not nothing
                pl.LazyFrame({"target": run.target_names}, schema={"target": pl.String}).with_columns(
                    pl.lit(0, pl.Int64).alias(name) for name in counts
                ),
            ]
        )
        .group_by("target")
        .agg(pl.col(counts).sum())
        .sort("target")
        .with_columns(
            pl.lit(order, pl.Int64).alias("order"),
            pl.lit(run.path.relative_to(root).as_posix() if root else run.path.name).alias("folder"),
            pl.lit(run.run_id).alias("run_id"),
            pl.lit(run_started(run), pl.Datetime("us")).alias("started"),
        )
        for order, run in enumerate(runs)
    ]
    rates = [
        pl.when(pl.col("rows") > 0)
        .then(pl.sum_horizontal(s.value for s in statuses) / pl.col("rows"))
        .alias(name)
        for name, statuses in RATES.items()
    ]
    return pl.concat(frames).sort("order", "target").with_columns(rates).select(columns).collect()
