"""The seam of a split import (flows.split.stage): partitions cover every prepared row once, in
order; the streaming pass stages each batch as a row group and each partition reads back exactly
its rows (those of the whole-file prepare) a row group at a time, with the file's description;
parts are written a frame at a time and are whole or absent; all of it on a local folder and on
an fsspec URL (``memory://``, as ``s3://`` would be)."""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.prepare import PreparedLeads, prepare_leads
from flows.prepare_batches import BatchedLeads, prepare_batches
from flows.split.stage import (
    PartWriter,
    drop_staging,
    open_partition,
    part_frames,
    partition_ranges,
    stage_batches,
    staging_folder,
)
from sample_data.generate import messy_lead_frame
from schemas.clean_leads import CLEAN_LEADS
from transforms.results import build_results


@given(rows=st.integers(0, 10_000), count=st.integers(1, 64))
def test_partition_ranges_cover_every_row_once_in_order_in_near_equal_sizes(rows: int, count: int) -> None:
    ranges = partition_ranges(rows, count)

    assert len(ranges) == count
    assert ranges[0][0] == 0 and sum(length for _, length in ranges) == rows
    assert all(start + length == after for (start, length), (after, _) in itertools.pairwise(ranges))
    lengths = [length for _, length in ranges]
    assert max(lengths) - min(lengths) <= 1


def test_no_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        partition_ranges(10, 0)


BATCH = 60
"""Rows a batch of the streaming pass: 250 rows are 5 batches, so a partition spans groups."""


@pytest.fixture(scope="module")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stage") / "leads.csv"
    messy_lead_frame(250, seed=11).write_csv(path)
    return path


@pytest.fixture(scope="module")
def prepared(leads_csv: Path) -> PreparedLeads:
    """The file prepared whole (flows.prepare): what the staged batches must add up to."""
    return prepare_leads(leads_csv)


@pytest.fixture(params=["local", "memory"])
def out_dir(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "runs") if request.param == "local" else f"memory://leadflow-{secrets.token_hex(4)}"


def _staged(path: Path, folder: str) -> tuple[str, BatchedLeads]:
    batched = prepare_batches(path, rows=BATCH)
    stage_batches(batched.prepared, batched.batches(), folder)
    return folder, batched


def test_each_partition_reads_back_its_rows_of_the_whole_file_and_the_file_they_came_from(
    leads_csv: Path, prepared: PreparedLeads, out_dir: str
) -> None:
    folder, _ = _staged(leads_csv, staging_folder(out_dir, "run-1"))
    parts = [open_partition(folder, index, 3).collect() for index in range(3)]

    # the streaming pass's leads (dispositions across batches) are the whole-file prepare's
    assert pl.concat([part.clean for part in parts]).equals(prepared.clean)
    assert [part.rows for part in parts] == [length for _, length in partition_ranges(prepared.rows, 3)]
    for part in parts:
        assert part.ingested.path == prepared.ingested.path
        assert part.ingested.fingerprint == prepared.ingested.fingerprint
        assert part.applied == prepared.applied
        assert (part.default_region, part.source) == (prepared.default_region, prepared.source)
    with pytest.raises(ValueError, match="not one of"):
        open_partition(folder, 3, 3)
    drop_staging(folder)


def test_the_parent_stages_each_batch_as_a_row_group_and_a_partition_reads_one_at_a_time(
    leads_csv: Path, out_dir: str
) -> None:
    """The bounded-memory contract: the staged leads are the streaming pass's batches, one row
    group each (the whole-file stage wrote one group of the whole frame), and a partition's
    batches are its range cut at the groups' bounds, never its whole range at once."""
    folder, _ = _staged(leads_csv, staging_folder(out_dir, "run-3"))
    fs, root = fsspec.core.url_to_fs(folder)
    with fs.open(f"{root}/prepared.parquet", "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
    assert [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)] == [60, 60, 60, 60, 10]

    # 3 partitions of 83, 83 and 84 rows: 0-82, 83-165, 166-249, cut at 60, 120, 180 and 240
    sizes = [[b.height for b in open_partition(folder, i, 3).batches()] for i in range(3)]
    assert sizes == [[60, 23], [37, 46], [14, 60, 10]]
    drop_staging(folder)


def test_a_partition_of_no_rows_reads_one_empty_batch(leads_csv: Path, out_dir: str) -> None:
    folder = staging_folder(out_dir, "run-4")
    batched = prepare_batches(leads_csv, rows=BATCH)
    stage_batches(batched.prepared, iter(list(batched.batches())[:1]), folder)

    batches = list(open_partition(folder, 0, 100).batches())  # 60 rows: 0 of them in part 0
    assert [b.height for b in batches] == [0] and batches[0].schema == pl.Schema(CLEAN_LEADS)
    drop_staging(folder)


def test_a_part_is_read_back_whole_a_row_group_at_a_time_and_a_missing_one_is_none(
    leads_csv: Path, prepared: PreparedLeads, out_dir: str
) -> None:
    folder, _ = _staged(leads_csv, staging_folder(out_dir, "run-2"))
    rows = build_results(prepared.clean, run_id="run-2", source_file="leads.csv", target="validate")
    part = PartWriter(folder, 0)
    for offset in range(0, rows.height, 100):
        part.write(rows.slice(offset, 100))
    assert part_frames(folder, 0) is None, "a part shows before it is whole"
    part.close()

    frames = part_frames(folder, 0)
    assert frames is not None
    read = list(frames)
    assert [f.height for f in read] == [100, 100, 50]
    assert pl.concat(read).equals(rows)
    assert part_frames(folder, 1) is None
    aborted = PartWriter(folder, 1)
    aborted.write(rows)
    aborted.abort()
    assert part_frames(folder, 1) is None
    drop_staging(folder)
    with pytest.raises(FileNotFoundError):
        open_partition(folder, 0, 1)
