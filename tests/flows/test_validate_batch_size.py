"""``leadflow validate``, and the import_leads flow without targets, size their batches by the
file's rows (transforms.ingest_batches ``validate_batch_rows``): a small file in larger batches
(fewer fixed costs a row), a big one in the default batches (its dedupe keys need the memory),
the operator's $LEADFLOW_BATCH_ROWS over both; a sending run keeps the default. The sizes are
made small here so that a few rows show which one a real run took: one Parquet row group of
results per batch."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from flows.commands.validate import main as validate
from tests.flows.conftest import Vendors, only_run, write_targets
from tests.flows.test_import_flow_batches import row_groups
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


@pytest.mark.usefixtures("small_sizes")
def test_a_validate_only_flow_run_takes_validates_batches_and_a_sending_one_the_default(
    prefect_harness: None, vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    from flows.import_leads import import_leads

    file = lead_file(SMALL_FILE_ROWS, 3)
    targets = write_targets(tmp_path / "targets.toml", ["obi"])

    validated = import_leads(str(file), out_dir=str(tmp_path / "validate"))
    sent = import_leads(str(file), str(targets), out_dir=str(tmp_path / "send"), dry_run=True)

    assert isinstance(validated, dict) and isinstance(sent, dict)
    assert row_groups(Path(validated["run_dir"])) == {"validate": math.ceil(SMALL_FILE_ROWS / SMALL_BATCH)}
    assert row_groups(Path(sent["run_dir"])) == {"obi": math.ceil(SMALL_FILE_ROWS / DEFAULT_BATCH)}
