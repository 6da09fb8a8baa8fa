"""Where a run's results go, and in what shape (the contract the report reads).

::

    <out>/<run_id>/results/target=<target>/part-0.parquet   one row per input row, per target
    <out>/<run_id>/summary.json                             transforms.summary.summarize
    <out>/<run_id>/run.json                                 the run's inputs (RunInfo)
    <out>/<run_id>/report.html                              written by flows.report.html_page

``run_id`` is ``YYYYMMDDTHHMMSSZ-xxxxxx``: sortable by start time, unique across machines.
Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from schemas.results import RESULTS, RESULTS_CONTRACT
from transforms.summary import summarize, summary_json

__all__ = ["ResultsWriter", "RunInfo", "new_run_id", "results_path", "write_run", "write_run_files"]


def new_run_id(now: datetime | None = None) -> str:
    """``20261204T160138Z-487`` + 6 random hex digits: the milliseconds come first in the suffix,
    so run ids sort in start order (the report's "latest", the trend) even for runs started in
    the same second; the random part keeps two runs of one millisecond apart."""
    moment = now or datetime.now(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{moment.microsecond // 1000:03d}{secrets.token_hex(3)}"


@dataclass
class RunInfo:
    """The inputs of a run, as the report shows them (run.json)."""

    run_id: str
    source_file: str
    fingerprint: str
    started_at: str
    default_country: str | None
    mapping: dict[str, str]
    unmapped: list[str]
    targets: list[dict[str, Any]]
    """name, kind, and the target's ``compliance`` and ``frequency`` when it has them, and
    ``stopped`` (``reason``, ``message``: flows.verdict.stop_fact) when it was stopped."""
    rows: int
    dry_run: bool = False
    finished_at: str | None = None
    default_country_source: str | None = None
    """"option" (--country), "mapping", "inferred" (from the file's international numbers), or None."""
    region_inference: str | None = None
    """What the file's international numbers said when no region was given, inferred or not."""
    dropped_as: str | None = None
    """A watched folder's file: the path it was dropped as (``source_file`` is where it is filed)."""
    suppression_lists: list[dict[str, str | int]] = field(default_factory=list)
    """The do-not-contact lists applied: path, entries (phones, emails), sha256, modified_at
    (transforms.suppress.SuppressionList); empty when none was given."""
    dnc_store: str | None = None
    """The managed do-not-contact store applied (``leadflow dnc``): the ledger file, or its URL
    without password; None when the run read none."""
    dnc_lists: list[dict[str, str | int | None]] = field(default_factory=list)
    """Its lists in force when the run started: ``name``, ``entries``, ``newest_added``
    (connectors.dnc_types.ManagedList); ``erasure-requests`` counts erasures, never values."""
    encoding: str | None = None
    """The CSV's text encoding as read ("utf-8", "cp1252", "utf-8+cp1252", "cp1250"...);
    "binary" for Parquet; None in run folders written before it was recorded."""
    encoding_source: str | None = None
    """"option" (``--encoding`` or the mapping file's ``encoding``) or "detected"."""


def results_path(run_dir: Path, target: str) -> Path:
    return run_dir / "results" / f"target={target}" / "part-0.parquet"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_run(out_dir: Path, info: RunInfo, results: pl.DataFrame) -> Path:
    """Write results (partitioned by target), summary.json and run.json; return the run folder."""
    RESULTS_CONTRACT.validate(results)
    run_dir = out_dir / info.run_id
    names = [target["name"] for target in info.targets]
    present = results.get_column("target").unique(maintain_order=True).to_list()
    # every target of the run gets its file, rows or none (a file of no rows is a run too)
    targets = names + [target for target in present if target not in names]
    # one target (every validate run): the frame itself, not a partitioned copy of it
    if len(targets) == 1:
        parts = [(targets[0], results)]
    else:
        by_target = results.partition_by("target", as_dict=True, maintain_order=True)
        parts = [(target, by_target.get((target,), results.clear())) for target in targets]
    for target, part in parts:
        path = results_path(run_dir, str(target))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(".part-0.parquet.tmp")
        part.write_parquet(temporary, compression="zstd", compression_level=1, statistics=True)
        os.replace(temporary, path)
    write_run_files(run_dir, info, results)
    return run_dir


def write_run_files(
    run_dir: Path,
    info: RunInfo,
    results: pl.DataFrame | pl.LazyFrame,
    summary: dict[str, Any] | None = None,
) -> None:
    """summary.json (``summary`` when the caller has it, transforms.summary.RunningSummary;
    else summarized from ``results``, a frame or a lazy scan of the written parts) and run.json."""
    names = [target["name"] for target in info.targets]
    info.finished_at = info.finished_at or datetime.now(UTC).isoformat(timespec="seconds")
    if summary is None:
        summary = summarize(results, names)
    _atomic_write_bytes(run_dir / "summary.json", summary_json(summary).encode())
    _atomic_write_bytes(run_dir / "run.json", json.dumps(asdict(info), indent=2, ensure_ascii=False).encode())


ROW_GROUP_ROWS = 25_000
"""Rows of a results row group at most (:meth:`ResultsWriter.write`): a quarter of a default
batch, so that the Arrow copy of a batch's results is a quarter of what it was."""

STATISTICS_COLUMNS: tuple[str, ...] = (
    *(name for name, dtype in RESULTS.items() if dtype.is_numeric() or dtype.is_temporal()),
    "target",
    "status",
)
"""The result columns whose row groups carry min/max statistics (what a lazy scan's filter
can skip row groups by): the numbers, the times and the two short labels. A text column's
statistics (names, phones, emails: every row group spans them all) cost a sixth of the
write's CPU and skip nothing."""


PLAIN_COLUMNS: tuple[str, ...] = (
    "source_row",
    "external_id",
    "vendor_id",
    "phone1",
    "phone2",
    "phone3",
    "email",
    "duplicate_of",
    "phone1_raw",
    "phone2_raw",
    "phone3_raw",
    "email_raw",
)
"""The result columns written without a dictionary (:meth:`ResultsWriter.write`): a value per
row or nearly (row numbers, ids, contacts, refused values as read). Arrow's writer first builds
a dictionary of every column, then gives up on these once it outgrows its page: a third of the
write's CPU for nothing (100k results of the 1M-row bench file: 0.20 -> 0.13 CPU-s a batch,
and a tenth smaller, the other columns keeping their dictionaries). The values read back the
same whatever the encoding."""

DICTIONARY_COLUMNS: tuple[str, ...] = tuple(name for name in RESULTS if name not in PLAIN_COLUMNS)


class ResultsWriter:
    """One target's result rows written as they are made: each batch a row group of
    ``results/target=<target>/part-0.parquet``, under a temporary name until :meth:`close`.

    Why: a file read in batches (flows.prepare_batches) never has all its results in memory;
    the summary, the report and the row invariant read the part back lazily."""

    def __init__(self, run_dir: Path, target: str) -> None:
        self.path = results_path(run_dir, target)
        self._temporary = self.path.with_name(".part-0.parquet.tmp")
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, results: pl.DataFrame) -> None:
        """Check ``results`` against the contract and append them, in row groups of at most
        :data:`ROW_GROUP_ROWS` rows: converted to Arrow a row group at a time, because the
        conversion copies every string (polars keeps string views, Parquet wants contiguous
        strings), 46 MB for a 100k-row batch, held while the next batch is normalized when the
        results are written behind it (flows.run.write_behind)."""
        RESULTS_CONTRACT.validate(results)
        parts = results.iter_slices(ROW_GROUP_ROWS) if results.height else iter([results])
        for part in parts:
            # Arrow's view types are polars' own layout: the strings are not copied (the
            # default, large_string, copies every one: 13% of the write's CPU)
            table = part.to_arrow(compat_level=pl.CompatLevel.newest())
            if self._writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(
                    self._temporary,
                    table.schema,
                    compression="zstd",
                    compression_level=1,
                    write_statistics=list(STATISTICS_COLUMNS),
                    use_dictionary=list(DICTIONARY_COLUMNS),
                    # no Arrow schema in the file: it would name the view types, which not
                    # every reader takes; Parquet's own types read back as the same columns
                    store_schema=False,
                )
            self._writer.write_table(table)
            del table
        self.rows += results.height

    def close(self) -> Path:
        """The part, complete and under its name (a file of no rows gets an empty part)."""
        if self._writer is None:
            self.write(pl.DataFrame(schema=RESULTS))
        assert self._writer is not None
        self._writer.close()
        os.replace(self._temporary, self.path)
        return self.path

    def abort(self) -> None:
        """Let the unfinished part go (a run that failed half-way leaves no results file). Best
        effort: the run already failed with its own error, which an error here (the disk that
        was full, the folder that is gone) would only hide."""
        writer, self._writer = self._writer, None
        with contextlib.suppress(OSError):
            if writer is not None:
                writer.close()
        with contextlib.suppress(OSError):
            self._temporary.unlink(missing_ok=True)
