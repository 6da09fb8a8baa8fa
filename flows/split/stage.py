"""The seam between a split import's parent run and its partitions: staged leads and result parts.

The parent prepares the file once, in batches (read, normalize, dedupe, suppress: every row's
disposition is decided over the whole file, flows.prepare_batches) and stages each clean batch
here as it is made; each partition reads only its row range, a row group at a time, and writes
its result rows back as one part, a row group at a time; the parent routes the parts' row groups
into the one run folder. Nothing but these files passes between them, so a partition can run on
any worker that reaches the staging folder (a shared path or an fsspec URL, flows.run.store)::

    <out>/.staging/<run_id>/prepared.parquet         the prepared leads, row groups of <= ROW_GROUP rows
    <out>/.staging/<run_id>/manifest.json            what the file was (PreparedLeads without its leads)
    <out>/.staging/<run_id>/parts/part-<i>.parquet   partition i's result rows, every target

Neither side holds the file: the parent holds one batch while staging, a partition one row
group of its range (the groups its range touches, found from the Parquet footer, each cut to
the range) and the results of that group. A part is written to a temporary name and moved, so
the parent sees a whole part or none; the parent removes the staging folder once the run folder
is written.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flows.prepare import PreparedLeads
from schemas.clean_leads import CLEAN_LEADS
from schemas.results import RESULTS
from transforms.columns import AppliedMapping
from transforms.ingest import IngestedFile

__all__ = [
    "ROW_GROUP",
    "PartWriter",
    "PartitionRange",
    "StagedPartition",
    "drop_staging",
    "open_partition",
    "part_frames",
    "part_stops",
    "partition_ranges",
    "stage_batches",
    "staging_folder",
    "write_part_stops",
]

ROW_GROUP = 50_000
"""Most rows in a row group of the staged leads: a partition's batch is at most one group."""

_PREPARED = "prepared.parquet"
_MANIFEST = "manifest.json"

PartitionRange = tuple[int, int]
"""(offset, length) of a partition's rows in the staged leads."""


def staging_folder(out_dir: str, run_id: str) -> str:
    """Where a split run's staged leads and parts go: beside its run folder, under ``.staging``."""
    return f"{str(out_dir).rstrip('/')}/.staging/{run_id}"


def partition_ranges(rows: int, count: int) -> list[PartitionRange]:
    """``count`` contiguous ranges covering rows 0..rows-1, sizes differing by at most one."""
    if count < 1:
        raise ValueError(f"partitions must be at least 1, not {count}")
    bounds = [rows * i // count for i in range(count + 1)]
    return [(start, end - start) for start, end in itertools.pairwise(bounds)]


def _fs(url: str) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


class _TableWriter:
    """Frames appended to one Parquet file as row groups, under a temporary name until
    :meth:`close` moves it into place (a reader sees the whole file or none)."""

    def __init__(self, fs: Any, path: str, empty: dict[str, pl.DataType]) -> None:
        self._fs, self._path, self._empty = fs, path, empty
        self._temporary = path.rsplit("/", 1)[0] + "/." + path.rsplit("/", 1)[1] + ".tmp"
        self._handle: Any = None
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pl.DataFrame, row_group: int | None = None) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            self._handle = self._fs.open(self._temporary, "wb")
            self._writer = pq.ParquetWriter(
                self._handle, table.schema, compression="zstd", compression_level=1
            )
        elif table.schema != self._writer.schema:  # a column of nulls in one batch, say
            table = table.cast(self._writer.schema)
        self._writer.write_table(table, row_group_size=row_group)
        self.rows += frame.height

    def close(self) -> None:
        if self._writer is None:
            self.write(pl.DataFrame(schema=self._empty))
        assert self._writer is not None
        self._writer.close()
        self._handle.close()
        self._writer = self._handle = None
        self._fs.mv(self._temporary, self._path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._handle.close()
            self._writer = self._handle = None
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm(self._temporary)


def stage_batches(prepared: PreparedLeads, batches: Iterable[pl.DataFrame], folder: str) -> int:
    """Write the clean leads of ``batches`` (file order, as flows.prepare_batches makes them)
    into ``folder`` batch by batch, and what the file was (``prepared``, its leads aside); the
    number of rows staged. Nothing is staged of a pass that fails half-way."""
    fs, root = _fs(folder)
    fs.makedirs(f"{root}/parts", exist_ok=True)
    writer = _TableWriter(fs, f"{root}/{_PREPARED}", CLEAN_LEADS)
    try:
        for clean in batches:
            writer.write(clean, ROW_GROUP)
            del clean
        writer.close()
    except BaseException:
        writer.abort()
        raise
    ingested = prepared.ingested
    manifest = {
        "rows": writer.rows,
        "ingested": {
            "path": str(ingested.path),
            "encoding": ingested.encoding,
            "delimiter": ingested.delimiter,
            "format": ingested.format,
            "fingerprint": ingested.fingerprint,
        },
        "applied": asdict(prepared.applied),
        "default_region": prepared.default_region,
        "source": prepared.source,
        "region_source": prepared.region_source,
        "encoding_given": prepared.encoding_given,
        "region_note": prepared.region_note,
    }
    with fs.open(f"{root}/{_MANIFEST}", "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return writer.rows


def _described(manifest: dict[str, Any], rows: int) -> PreparedLeads:
    """The PreparedLeads of a partition: the staged description of the file, no leads held."""
    given = manifest["ingested"]
    ingested = IngestedFile(
        Path(given["path"]),
        pl.DataFrame(),
        given["encoding"],
        given["delimiter"],
        given["format"],
        given["fingerprint"],
    )
    applied = manifest["applied"]
    mapping = AppliedMapping(
        dict(applied["columns"]),
        dict(applied["origins"]),
        tuple(applied["attributes"]),
        tuple(applied.get("ignored", ())),
    )
    return PreparedLeads(
        ingested,
        mapping,
        manifest["default_region"],
        manifest["source"],
        pl.DataFrame(schema=CLEAN_LEADS),
        rows,
        region_source=manifest["region_source"],
        region_note=manifest["region_note"],
        encoding_given=bool(manifest.get("encoding_given", False)),
    )


@dataclass(frozen=True)
class StagedPartition:
    """One partition of staged leads: the file's description (``prepared``, no leads in it;
    ``prepared.rows`` is the partition's rows) and its leads, read when :meth:`batches` is."""

    folder: str
    index: int
    count: int
    offset: int
    prepared: PreparedLeads

    @property
    def rows(self) -> int:
        return self.prepared.rows

    def batches(self) -> Iterator[pl.DataFrame]:
        """The partition's clean leads in file order, one staged row group (cut to the range)
        at a time; one empty batch for a partition of no rows."""
        fs, root = _fs(self.folder)
        start, end = self.offset, self.offset + self.rows
        given = 0
        with fs.open(f"{root}/{_PREPARED}", "rb") as handle:
            staged = pq.ParquetFile(handle)
            first = 0
            for group in range(staged.metadata.num_row_groups):
                size = staged.metadata.row_group(group).num_rows
                low, high = max(start, first), min(end, first + size)
                first += size
                if low >= high:
                    if first >= end:
                        break
                    continue
                table = staged.read_row_group(group).slice(low - (first - size), high - low)
                given += 1
                yield _clean(table)
                del table
        if not given:
            yield pl.DataFrame(schema=CLEAN_LEADS)

    def collect(self) -> PreparedLeads:
        """The partition's leads in one frame (tests; a partition sends :meth:`batches`)."""
        return replace(self.prepared, clean=pl.concat(list(self.batches())))


def _clean(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(CLEAN_LEADS)  # type: ignore[arg-type]


def open_partition(folder: str, index: int, count: int) -> StagedPartition:
    """Partition ``index`` of ``count`` of the leads staged in ``folder`` (its leads not read yet)."""
    if not 0 <= index < count:
        raise ValueError(f"partition {index} is not one of 0..{count - 1}")
    fs, root = _fs(folder)
    with fs.open(f"{root}/{_MANIFEST}", "r", encoding="utf-8") as handle:
        manifest = json.load(handle)
    offset, length = partition_ranges(int(manifest["rows"]), count)[index]
    return StagedPartition(folder, index, count, offset, _described(manifest, length))


def _part(root: str, index: int) -> str:
    return f"{root}/parts/part-{index}.parquet"


class PartWriter:
    """Partition ``index``'s result rows (every target) written as they are made, one row group
    per frame; the part appears whole at :meth:`close` or not at all (:meth:`abort`)."""

    def __init__(self, folder: str, index: int) -> None:
        fs, root = _fs(folder)
        self._table = _TableWriter(fs, _part(root, index), RESULTS)

    @property
    def rows(self) -> int:
        return self._table.rows

    def write(self, results: pl.DataFrame) -> None:
        self._table.write(results)

    def close(self) -> None:
        self._table.close()

    def abort(self) -> None:
        self._table.abort()


def _stops(root: str, index: int) -> str:
    return f"{root}/parts/stops-{index}.json"


def write_part_stops(folder: str, index: int, stops: Mapping[str, Mapping[str, str]]) -> None:
    """Partition ``index``'s stopped targets (flows.verdict.stop_fact, by target name), beside
    its part: a target stopped before it sent (a login refused while its list was prepared)
    may have no row that says so, and the parent judges the run from the rows and these."""
    fs, root = _fs(folder)
    fs.makedirs(f"{root}/parts", exist_ok=True)
    with fs.open(_stops(root, index), "w", encoding="utf-8") as handle:
        json.dump(dict(stops), handle)


def part_stops(folder: str, index: int) -> dict[str, dict[str, str]]:
    """What :func:`write_part_stops` wrote for partition ``index`` (nothing when it did not)."""
    fs, root = _fs(folder)
    path = _stops(root, index)
    if not fs.exists(path):
        return {}
    with fs.open(path, "r", encoding="utf-8") as handle:
        stops: dict[str, dict[str, str]] = json.load(handle)
    return stops


def part_frames(folder: str, index: int) -> Iterator[pl.DataFrame] | None:
    """Partition ``index``'s result rows, a row group at a time, or None when it wrote none
    (it did not finish)."""
    fs, root = _fs(folder)
    path = _part(root, index)
    if not fs.exists(path):
        return None

    def frames() -> Iterator[pl.DataFrame]:
        with fs.open(path, "rb") as handle:
            part = pq.ParquetFile(handle)
            for group in range(part.metadata.num_row_groups):
                frame = pl.from_arrow(part.read_row_group(group))
                assert isinstance(frame, pl.DataFrame)
                yield frame.cast(RESULTS)  # type: ignore[arg-type]

    return frames()


def drop_staging(folder: str) -> None:
    """Remove a split run's staging folder (its run folder is written)."""
    fs, root = _fs(folder)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    with contextlib.suppress(OSError):  # .staging itself, when no other split run is using it
        parent = root.rsplit("/", 1)[0]
        if fs.isdir(parent) and not fs.ls(parent):
            fs.rmdir(parent)
