"""The seam of a split import (flows.split.stage): partitions cover every prepared row once, in
order; each reads back exactly its rows and the file's description; parts are whole or absent;
all of it on a local folder and on an fsspec URL (``memory://``, as ``s3://`` would be)."""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.prepare import PreparedLeads, prepare_leads
from flows.split.stage import (
    drop_staging,
    load_partition,
    partition_ranges,
    read_part,
    stage_leads,
    staging_folder,
    write_part,
)
from sample_data.generate import messy_lead_frame


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


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> PreparedLeads:
    path = tmp_path_factory.mktemp("stage") / "leads.csv"
    messy_lead_frame(250, seed=11).write_csv(path)
    return prepare_leads(path)


@pytest.fixture(params=["local", "memory"])
def out_dir(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "runs") if request.param == "local" else f"memory://leadflow-{secrets.token_hex(4)}"


def test_each_partition_reads_back_its_rows_and_the_file_they_came_from(
    prepared: PreparedLeads, out_dir: str
) -> None:
    folder = stage_leads(prepared, staging_folder(out_dir, "run-1"))
    parts = [load_partition(folder, index, 3) for index in range(3)]

    assert pl.concat([part.clean for part in parts]).equals(prepared.clean)
    assert [part.rows for part in parts] == [length for _, length in partition_ranges(prepared.rows, 3)]
    for part in parts:
        assert part.ingested.path == prepared.ingested.path
        assert part.ingested.fingerprint == prepared.ingested.fingerprint
        assert part.applied == prepared.applied
        assert (part.default_region, part.source) == (prepared.default_region, prepared.source)
    with pytest.raises(ValueError, match="not one of"):
        load_partition(folder, 3, 3)
    drop_staging(folder)


def test_a_part_is_read_back_whole_and_a_missing_one_is_none_and_staging_goes(
    prepared: PreparedLeads, out_dir: str
) -> None:
    folder = stage_leads(prepared, staging_folder(out_dir, "run-2"))
    rows = prepared.clean.select("source_row", "external_id")
    write_part(folder, 0, rows)

    part = read_part(folder, 0)
    assert part is not None and part.equals(rows)
    assert read_part(folder, 1) is None
    drop_staging(folder)
    with pytest.raises(FileNotFoundError):
        load_partition(folder, 0, 1)
