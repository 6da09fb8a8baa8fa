"""The ``import_leads`` flow reads, sends and writes a file batch by batch, as ``leadflow import``
does (issue 17, "Any file size in bounded memory").

Real flow runs under the session's Prefect test API, real sandbox vendors over HTTP, 7-row
batches ($LEADFLOW_BATCH_ROWS): every row gets the result the CLI's one-batch import gives it,
the results are written a batch at a time (a Parquet row group per batch), and a file whose late
batch cannot be read fails the run with the file's one-line message after the batches before it
were delivered once and recorded in the ledger.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from flows.commands.validate import main as validate_main
from flows.verdict import SendIncomplete
from sample_data.generate import messy_lead_frame
from tests.flows.conftest import Vendors, held_ids, only_run, read_results, write_targets
from transforms.ingest_batches import BATCH_ROWS_VARIABLE

pytestmark = pytest.mark.slow

ROWS = 60
BATCH = 7
TARGETS = ("obi", "onc", "ucontact-sms", "ucontact-email")
RUN_SPECIFIC = ("run_id", "vendor_id", "batch_id", "sent_at", "call_window_start", "call_window_end")
"""What differs between two runs of one file by design: ids, times, and chunk ids (a chunk is
cut from one batch's leads, so its members and id depend on the batch size)."""


def comparable(results: pl.DataFrame) -> pl.DataFrame:
    return results.drop(RUN_SPECIFIC).sort("target", "source_row")


def row_groups(run_dir: Path) -> dict[str, int]:
    """Row groups of each target's results part: one per batch written."""
    parts = sorted((run_dir / "results").glob("target=*/part-0.parquet"))
    return {part.parent.name.removeprefix("target="): pq.ParquetFile(part).num_row_groups for part in parts}


def test_a_file_of_many_batches_through_the_flow_gets_the_cli_imports_results_row_for_row(
    prefect_harness: None,
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.import_leads import import_leads, summary_of

    file = lead_file(ROWS, 11)
    targets = write_targets(tmp_path / "targets.toml", TARGETS)
    printed = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(tmp_path / "cli")]
    assert import_main(argv, console=Console(file=printed, width=200)) == 0, printed.getvalue()
    cli_dir = only_run(tmp_path / "cli")
    vendors.reset()
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, str(BATCH))

    state = import_leads(str(file), str(targets), out_dir=str(tmp_path / "flow"), return_state=True)

    assert state.is_completed(), state.message
    summary = summary_of(state)
    run_dir = Path(summary["run_dir"])
    assert row_groups(run_dir) == dict.fromkeys(TARGETS, math.ceil(ROWS / BATCH))
    flow_results = read_results(run_dir)
    assert flow_results.height == ROWS * len(TARGETS)
    assert flow_results.filter(pl.col("duplicate_of").is_not_null()).height > 0  # dedupe across batches
    assert comparable(flow_results).equals(comparable(read_results(cli_dir)))
    cli_summary = json.loads((cli_dir / "summary.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in summary.items() if k in cli_summary} == cli_summary
    for target, held in held_ids(vendors, flow_results).items():
        if target in TARGETS:
            assert held and max(held.values()) == 1, (target, held.most_common(3))


def test_a_validate_only_flow_run_of_many_batches_writes_the_results_of_leadflow_validate(
    prefect_harness: None, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.import_leads import import_leads

    file = lead_file(ROWS, 3)
    assert (
        validate_main([str(file), "--out", str(tmp_path / "cli")], console=Console(file=io.StringIO())) == 0
    )
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, str(BATCH))

    summary = import_leads(str(file), out_dir=str(tmp_path / "flow"))

    assert isinstance(summary, dict)
    run_dir = Path(summary["run_dir"])
    assert row_groups(run_dir) == {"validate": math.ceil(ROWS / BATCH)}
    assert comparable(read_results(run_dir)).equals(comparable(read_results(only_run(tmp_path / "cli"))))
    assert summary["rows"] == ROWS and set(summary["send"]) == {"validate"}


def parquet_with_a_broken_late_row_group(path: Path, rows: int, broken: int) -> Path:
    """A Parquet lead file of ``BATCH``-row row groups whose row group ``broken`` cannot be
    decoded (its column chunks overwritten), the footer intact: only reading that batch fails."""
    messy_lead_frame(rows, 17).write_parquet(path, row_group_size=BATCH, compression="zstd", statistics=False)
    group = pq.ParquetFile(path).metadata.row_group(broken)
    data = bytearray(path.read_bytes())
    for index in range(group.num_columns):
        column = group.column(index)
        start = column.dictionary_page_offset or column.data_page_offset
        data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))
    return path


def test_a_file_problem_in_a_late_batch_fails_the_flow_in_one_line_after_the_earlier_batches_went_once(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.import_leads import import_leads

    monkeypatch.setenv(BATCH_ROWS_VARIABLE, str(BATCH))
    file = parquet_with_a_broken_late_row_group(tmp_path / "leads.parquet", ROWS, broken=6)
    targets = write_targets(tmp_path / "targets.toml", ["obi", "onc"])
    ledger = tmp_path / "ledger.sqlite"

    def run() -> tuple[str, dict[str, int]]:
        state = import_leads(
            str(file),
            str(targets),
            out_dir=str(tmp_path / "out"),
            country="US",
            ledger=str(ledger),
            return_state=True,
        )
        assert state.is_failed()
        assert not isinstance(state.result(raise_on_failure=False), SendIncomplete)
        return state.message or "", vendors.held()

    message, held = run()

    assert str(file) in message and "Parquet file cannot be read" in message
    assert "Traceback" not in message and 'File "' not in message
    assert 0 < held["obi"] < ROWS and 0 < held["onc"] < ROWS  # the batches before the broken one
    written = [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [name for name in written if name.endswith((".parquet", ".json", ".html"))], written
    assert max(Counter(c["externalId"] for c in vendors.obi_customers()).values()) == 1

    again, held_again = run()  # the ledger knows what went: nothing is sent twice

    assert "Parquet file cannot be read" in again
    assert held_again == held
