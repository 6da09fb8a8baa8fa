"""Finding and reading run output for the report: run folders, result Parquet, folders of runs.

Layout written by the run writer::

    <out>/<run_id>/results/target=<target>/part-0.parquet
    <out>/<run_id>/run.json  summary.json  report.html

Only files inside the folder (or the file) the caller named are read: Parquet files, run.json
and run folders reached through a symlink that leaves it are ignored.
Of run.json only the documented keys are kept, so an unexpected key never reaches a report.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl

from flows.report.exact_json import validated
from schemas.results import ADDED_COLUMNS, RESULTS
from transforms.summary import summarize, summary_json

__all__ = [
    "REPORT_FILE",
    "RESULTS_DIR",
    "RUN_FILE",
    "SUMMARY_FILE",
    "AppliedList",
    "PathKind",
    "ReportError",
    "Run",
    "RunMeta",
    "RunTarget",
    "classify",
    "inside",
    "is_run",
    "load_run",
    "read_results",
    "rerun_command",
    "resolve_path",
    "run_started",
    "write_summary",
]

RESULTS_DIR = "results"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"

_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]+")


class ReportError(Exception):
    """The path given to the report is not a run, results or a folder of runs, or cannot be read."""


@dataclass(frozen=True)
class RunTarget:
    name: str
    kind: str
    compliance: str | dict[str, Any] | None = None
    """Its calling-hours profile: a name, or the table given (connectors.config)."""
    frequency: dict[str, Any] | None = None
    """Its effective contact-frequency limit (connectors.frequency.FrequencyLimit's fields)."""

    def describe(self) -> str:
        """``obi (sinch_obi; calling hours us-tcpa; at most 3 contacts per 24 h per person)``."""
        parts = [self.kind]
        if self.compliance is not None:
            named = self.compliance if isinstance(self.compliance, str) else "a table"
            parts.append(f"calling hours {named}")
        if self.frequency is not None:
            parts.append(_limit_text(self.frequency))
        return f"{self.name} ({'; '.join(parts)})"


def _limit_text(limit: dict[str, Any]) -> str:
    """A recorded frequency limit in words; what a hand-edited run.json holds is shown as is."""
    hours, days = limit.get("within_hours"), limit.get("within_days")
    span = "?"
    if isinstance(hours, int | float):
        span = f"{hours:g} h"
    elif isinstance(days, int | float):
        span = f"{days:g} days"
    what = "targets" if limit.get("count") == "targets" else "contacts"
    return f"at most {limit.get('max_contacts', '?')} {what} per {span} per {limit.get('per', 'person')}"


@dataclass(frozen=True)
class AppliedList:
    """A suppression list the run applied (transforms.suppress.SuppressionList in run.json)."""

    path: str
    entries: int | None = None
    phones: int | None = None
    emails: int | None = None
    sha256: str | None = None
    modified_at: str | None = None
    unread_numbers: int | None = None


@dataclass(frozen=True)
class ManagedListMeta:
    """A list of the managed do-not-contact store in force for the run (run.json ``dnc_lists``)."""

    name: str
    entries: int | None = None
    newest_added: str | None = None


@dataclass(frozen=True)
class RunMeta:
    """The documented keys of run.json; anything else in the file is dropped. Read by
    flows.report.exact_json (pydantic's lax validation where a value is not of its type)."""

    run_id: str
    source_file: str
    fingerprint: str
    started_at: str | None = None
    finished_at: str | None = None
    dry_run: bool = False
    default_country: str | None = None
    default_country_source: str | None = None
    region_inference: str | None = None
    dropped_as: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    targets: list[RunTarget] = field(default_factory=list)
    rows: int | None = None
    suppression_lists: list[AppliedList] = field(default_factory=list)
    dnc_store: str | None = None
    dnc_lists: list[ManagedListMeta] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """One run's results (lazy) and its inputs; ``meta_problem`` says why ``meta`` is missing."""

    path: Path
    results: pl.LazyFrame
    meta: RunMeta | None
    meta_problem: str | None = None

    @property
    def run_id(self) -> str:
        return self.meta.run_id if self.meta else self.path.name

    @property
    def target_names(self) -> list[str]:
        """The run's targets as run.json lists them: with or without result rows."""
        return [target.name for target in self.meta.targets] if self.meta else []


class PathKind(StrEnum):
    RUN = "run"
    RESULTS = "results"
    RUNS = "runs"


def is_run(folder: Path) -> bool:
    return (folder / RESULTS_DIR).is_dir()


def inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _parquet_files(path: Path, root: Path) -> list[Path]:
    if path.is_file():
        return [path] if inside(path, root) else []
    return sorted(found for found in path.rglob("*.parquet") if found.is_file() and inside(found, root))


def classify(path: Path) -> PathKind:
    """What the user pointed at: a run folder, result Parquet (file or folder), or a folder of runs."""
    if path.is_file():
        if path.suffix != ".parquet":
            raise ReportError(f"{path}: not a Parquet file; give a run folder, results or a folder of runs")
        return PathKind.RESULTS
    if not path.is_dir():
        raise ReportError(f"{path}: no such file or folder")
    if is_run(path):
        return PathKind.RUN
    if any(found.is_dir() and inside(found, path) for found in path.rglob(RESULTS_DIR)):
        return PathKind.RUNS  # run folders at any depth (flows.report.run_folders finds them)
    if _parquet_files(path, path):
        return PathKind.RESULTS
    raise ReportError(f"{path}: no results found (expected results/target=*/part-*.parquet or run folders)")


def read_results(path: Path, within: Path | None = None) -> pl.LazyFrame:
    """Result rows from a Parquet file or every Parquet file under a folder (only files that
    resolve inside ``within``, default ``path``), checked for the result columns."""
    files = _parquet_files(path, within or path)
    if not files:
        raise ReportError(f"{path}: no Parquet files with results")
    frame = pl.scan_parquet(files, hive_partitioning=False)
    schema = frame.collect_schema()
    missing = [name for name in RESULTS if name not in schema and name not in ADDED_COLUMNS]
    if missing:
        raise ReportError(f"{path}: not leadflow results, missing columns {', '.join(missing)}")
    added = [pl.lit(None, RESULTS[name]).alias(name) for name in ADDED_COLUMNS if name not in schema]
    return frame.with_columns(added).select(list(RESULTS))


def _read_meta(run_dir: Path) -> tuple[RunMeta | None, str | None]:
    meta_path = run_dir / RUN_FILE
    if not meta_path.is_file() or not inside(meta_path, run_dir):
        return None, f"{RUN_FILE} not found"
    try:
        # pydantic's ValidationError is a ValueError
        return validated(RunMeta, json.loads(meta_path.read_text(encoding="utf-8"))), None
    except ValueError as error:
        return None, f"{RUN_FILE} unreadable ({type(error).__name__})"


def resolve_path(path: Path, out: Path) -> Path:
    """``path`` itself when it exists, else a bare run id looked up in ``out``: an analyst
    copies a run id from a report or a log line and should not have to know the folder."""
    if path.exists() or not _RUN_ID.fullmatch(str(path)):
        return path
    run_dir = out / str(path)
    if not run_dir.is_dir():
        raise ReportError(
            f"{path}: no run with this id in {out.resolve()}; give the run folder's path, "
            "or --out with the folder the run was written to"
        )
    return run_dir


def rerun_command(path: Path, *options: str) -> str:
    """The ``leadflow report`` command for ``path`` that works from any working folder: a run
    folder's id with the absolute ``--out`` (a bare id is only found in ./leadflow-out), any
    other path (bare results) absolute."""
    where = path.resolve()
    if _RUN_ID.fullmatch(where.name) and is_run(where):
        return shlex.join(["leadflow", "report", where.name, "--out", str(where.parent), *options])
    return shlex.join(["leadflow", "report", str(where), *options])


def load_run(run_dir: Path) -> Run:
    """A run folder's results and run.json (a missing or broken run.json is reported, not raised)."""
    if not is_run(run_dir):
        raise ReportError(f"{run_dir}: not a run folder (no {RESULTS_DIR}/ inside)")
    meta, problem = _read_meta(run_dir)
    results = read_results(run_dir / RESULTS_DIR, within=run_dir)
    return Run(path=run_dir, results=results, meta=meta, meta_problem=problem)


def run_started(run: Run) -> datetime | None:
    """When the run started: run.json's ``started_at``, else the time in its run id (folder
    name), else None (bare results: no time to place the run at)."""
    if run.meta and run.meta.started_at:
        try:
            return datetime.fromisoformat(run.meta.started_at).astimezone(UTC).replace(tzinfo=None)
        except ValueError:
            pass
    stamp = _RUN_ID.fullmatch(run.run_id) or _RUN_ID.fullmatch(run.path.name)
    if stamp:
        return datetime.strptime(stamp.group(0)[:16], "%Y%m%dT%H%M%SZ")
    return None


def write_summary(run_dir: Path) -> Path:
    """Write ``summary.json`` (transforms.summary.summarize of the run's results) into the run folder."""
    run = load_run(run_dir)
    path = run_dir / SUMMARY_FILE
    path.write_text(summary_json(summarize(run.results, run.target_names)), encoding="utf-8")
    return path
