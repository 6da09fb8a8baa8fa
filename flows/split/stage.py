"""The seam between a split import's parent run and its partitions: staged leads and result parts.

The parent prepares the file once (read, normalize, dedupe, suppress: every row's disposition is
decided over the whole file) and stages the prepared leads here; each partition reads only its
row range and writes its result rows back as one part; the parent merges the parts into the one
run folder. Nothing but these files passes between them, so a partition can run on any worker
that reaches the staging folder (a shared path or an fsspec URL, flows.run.store)::

    <out>/.staging/<run_id>/prepared.parquet         the prepared leads, row groups of ROW_GROUP rows
    <out>/.staging/<run_id>/manifest.json            what the file was (PreparedLeads without its leads)
    <out>/.staging/<run_id>/parts/part-<i>.parquet   partition i's result rows, every target

A partition reads its range with a polars scan sliced to it, which reads only the row groups the
range touches. A part is written to a temporary name and moved, so the parent sees a whole part
or none; the parent removes the staging folder once the run folder is written.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import polars as pl

from flows.prepare import PreparedLeads
from transforms.columns import AppliedMapping
from transforms.ingest import IngestedFile

__all__ = [
    "ROW_GROUP",
    "PartitionRange",
    "drop_staging",
    "load_partition",
    "partition_ranges",
    "read_part",
    "stage_leads",
    "staging_folder",
    "write_part",
]

ROW_GROUP = 50_000
"""Rows per row group of the staged leads: a partition reads at most one group beyond its range."""

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


def stage_leads(prepared: PreparedLeads, folder: str) -> str:
    """Write the prepared leads and what the file was into ``folder``; returns ``folder``."""
    fs, root = _fs(folder)
    fs.makedirs(f"{root}/parts", exist_ok=True)
    with fs.open(f"{root}/{_PREPARED}", "wb") as handle:
        prepared.clean.write_parquet(
            handle, compression="zstd", compression_level=1, row_group_size=ROW_GROUP
        )
    ingested = prepared.ingested
    manifest = {
        "rows": prepared.rows,
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
        "region_note": prepared.region_note,
    }
    with fs.open(f"{root}/{_MANIFEST}", "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return folder


def _described(manifest: dict[str, Any], clean: pl.DataFrame) -> PreparedLeads:
    """The PreparedLeads of a partition: the staged description of the file, these leads."""
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
        clean,
        clean.height,
        region_source=manifest["region_source"],
        region_note=manifest["region_note"],
    )


def load_partition(folder: str, index: int, count: int) -> PreparedLeads:
    """Partition ``index`` of ``count`` of the leads staged in ``folder``: only its rows are read."""
    if not 0 <= index < count:
        raise ValueError(f"partition {index} is not one of 0..{count - 1}")
    fs, root = _fs(folder)
    with fs.open(f"{root}/{_MANIFEST}", "r", encoding="utf-8") as handle:
        manifest = json.load(handle)
    offset, length = partition_ranges(int(manifest["rows"]), count)[index]
    with fs.open(f"{root}/{_PREPARED}", "rb") as handle:
        clean = pl.scan_parquet(handle).slice(offset, length).collect()
    return _described(manifest, clean)


def _part(root: str, index: int) -> str:
    return f"{root}/parts/part-{index}.parquet"


def write_part(folder: str, index: int, results: pl.DataFrame) -> None:
    """Partition ``index``'s result rows (every target), whole or not at all."""
    fs, root = _fs(folder)
    temporary = f"{root}/parts/.part-{index}.parquet.tmp"
    with fs.open(temporary, "wb") as handle:
        results.write_parquet(handle, compression="zstd", compression_level=1)
    fs.mv(temporary, _part(root, index))


def read_part(folder: str, index: int) -> pl.DataFrame | None:
    """Partition ``index``'s result rows, or None when it wrote none (it did not finish)."""
    fs, root = _fs(folder)
    path = _part(root, index)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as handle:
        return pl.read_parquet(handle)


def drop_staging(folder: str) -> None:
    """Remove a split run's staging folder (its run folder is written)."""
    fs, root = _fs(folder)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    with contextlib.suppress(OSError):  # .staging itself, when no other split run is using it
        parent = root.rsplit("/", 1)[0]
        if fs.isdir(parent) and not fs.ls(parent):
            fs.rmdir(parent)
