"""``leadflow validate`` sizes its batches by the file's rows (transforms.ingest_batches
``validate_batch_rows``): a small file in larger batches (fewer fixed costs a row), a big one in
the default batches (its dedupe keys need the memory), the operator's $LEADFLOW_BATCH_ROWS over
both. The sizes are made small here so that a few rows show which one a real run took: one
Parquet row group of results per batch."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from flows.commands.validate import main as validate
from tests.flows.conftest import only_run
from transforms import ingest_batches

SMALL_FILE_ROWS = 20
SMALL_BATCH = 7
DEFAULT_BATCH = 3


@pytest.fixture
def small_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ingest_batches.BATCH_ROWS_VARIABLE, raising=False)
    monkeypatch.setattr(ingest_batches, "SMALL_FILE_ROWS", SMALL_FILE_ROWS)
    monkeypatch.setattr(ingest_batches, "SMALL_FILE_BATCH_ROWS", SMALL_BATCH)
    monkeypatch.setattr(ingest_batches, "DEFAULT_BATCH_ROWS", DEFAULT_BATCH)


def _batches_written(file: Path, out: Path) -> int:
    printed = io.StringIO()
    assert validate([str(file), "--out", str(out)], console=Console(file=printed, width=200)) == 0, (
        printed.getvalue()
    )
    (part,) = (only_run(out) / "results").glob("target=*/part-0.parquet")
    return pq.ParquetFile(part).num_row_groups


@pytest.mark.usefixtures("small_sizes")
def test_validate_reads_a_small_file_in_larger_batches_and_a_big_one_in_the_default_batches(
    lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    small = lead_file(SMALL_FILE_ROWS, 3, "small.csv")
    big = lead_file(SMALL_FILE_ROWS + 1, 3, "big.csv")

    assert _batches_written(small, tmp_path / "small") == math.ceil(SMALL_FILE_ROWS / SMALL_BATCH)
    assert _batches_written(big, tmp_path / "big") == math.ceil((SMALL_FILE_ROWS + 1) / DEFAULT_BATCH)


@pytest.mark.usefixtures("small_sizes")
def test_the_operators_batch_size_overrides_validates_choice(
    lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ingest_batches.BATCH_ROWS_VARIABLE, "5")

    assert _batches_written(lead_file(SMALL_FILE_ROWS, 3), tmp_path / "out") == math.ceil(SMALL_FILE_ROWS / 5)
