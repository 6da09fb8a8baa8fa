"""``leadflow import`` sends a file bigger than one batch batch by batch, with the results of a
whole-file run (issue 17, "Dispatch consumes batches as they are ready").

Against the sandbox vendors over HTTP: the same file imported in 7-row batches and in one batch
gives every row the same result at every target, each lead held once at the vendors; a target
that stops in one batch stays stopped in the later ones, every row still getting its result.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from flows.import_batches import BatchProgress, SendSettings, send_in_batches
from flows.importer import load_connectors
from flows.prepare import PrepareOptions
from flows.prepare_batches import prepare_batches
from tests.flows.conftest import (
    SANDBOX_TARGETS,
    Vendors,
    held_ids,
    only_run,
    read_results,
    write_targets,
)
from transforms.ingest_batches import BATCH_ROWS_VARIABLE

pytestmark = pytest.mark.slow

ROWS = 60
RUN_SPECIFIC = ("run_id", "vendor_id", "batch_id", "sent_at", "call_window_start", "call_window_end")
"""What differs between two runs of one file by design: ids, times, and chunk ids (a chunk is
cut from one batch's leads, so its members and id depend on the batch size)."""


def run_import(file: Path, out: Path, *args: str, targets: Path = SANDBOX_TARGETS) -> tuple[int, str]:
    buffer = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(out), *args]
    code = import_main(argv, console=Console(file=buffer, width=200))
    return code, buffer.getvalue()


def comparable(results: pl.DataFrame) -> pl.DataFrame:
    return results.drop(RUN_SPECIFIC).sort("target", "source_row")


def test_a_file_of_many_batches_gets_the_results_of_one_batch_and_each_lead_is_held_once(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = lead_file(ROWS, 11)
    code, printed = run_import(file, tmp_path / "whole")
    assert code == 0, printed
    whole = read_results(only_run(tmp_path / "whole"))
    vendors.reset()
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "7")

    code, printed = run_import(file, tmp_path / "batched")

    assert code == 0, printed
    batched = read_results(only_run(tmp_path / "batched"))
    assert batched.height == ROWS * 6
    assert batched.group_by("target", "source_row").len()["len"].max() == 1
    assert batched.filter(pl.col("duplicate_of").is_not_null()).height > 0  # dedupe across batches
    assert comparable(batched).equals(comparable(whole))
    for target, held in held_ids(vendors, batched).items():
        assert held and max(held.values()) == 1, (target, held.most_common(3))


def test_a_target_stopped_in_an_early_batch_sends_nothing_in_later_ones_and_every_row_has_its_result(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "7")
    targets = write_targets(
        tmp_path / "targets.toml",
        ["obi", "onc"],
        obi={
            "chunk_size": 2,
            "concurrency": 1,
            "retry": {"attempts": 1, "backoff": 0, "breaker_failures": 1},
        },
    )
    # half of OBI's uploads fail; with this seed the first four pass: OBI stops after the first
    # batch (its breaker opens at the first failed request), having accepted some leads
    vendors.set_faults({"seed": 7, "vendors": {"sinch_obi": {"*/customers/list": {"rate_503": 0.5}}}})

    code, printed = run_import(lead_file(40), tmp_path / "out", targets=targets)

    assert code == 4, printed
    results = read_results(only_run(tmp_path / "out"))
    assert results.height == 40 * 2
    assert results.group_by("target", "source_row").len()["len"].max() == 1
    obi = results.filter(pl.col("target") == "obi").sort("source_row")
    failed = obi.filter(pl.col("status") == "failed")
    first = failed.row(0, named=True)
    assert first["reasons"] == ["TRANSPORT_FAILED"], first
    assert first["source_row"] > 7  # not in the first batch: the target stopped mid-file
    earlier = obi.filter(pl.col("source_row") < first["source_row"])
    assert earlier["status"].is_in(["accepted"]).sum() >= 4
    chunk = pl.col("batch_id").eq_missing(first["batch_id"])  # the request that failed: its rows' reason
    later = failed.filter((pl.col("source_row") > first["source_row"]) & ~chunk)
    assert later.height > 7  # rows of later batches
    assert later["reasons"].list.first().unique().to_list() == ["TARGET_STOPPED"]
    assert later["attempts"].fill_null(0).max() == 0  # never sent
    assert obi.filter(
        (pl.col("source_row") > first["source_row"]) & pl.col("status").is_in(["accepted", "submitted"])
    ).is_empty()
    assert results.filter(pl.col("target") == "onc")["status"].is_in(["accepted"]).sum() > 20


def test_the_first_batch_is_at_the_vendor_before_the_last_batch_is_read(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    held_when_read: list[int] = []

    class Watch(BatchProgress):
        def read(self, rows: int) -> None:
            held_when_read.append(len(vendors.obi_customers()))

    targets = write_targets(tmp_path / "targets.toml", ["obi"])
    batched = prepare_batches(lead_file(30), PrepareOptions(), rows=7)
    settings = SendSettings("20261204T000000Z-000000000", tmp_path / "ledger.sqlite", datetime.now(UTC))

    run_dir, facts = send_in_batches(
        batched, load_connectors(targets), settings, out_dir=tmp_path / "out", progress=Watch()
    )

    assert len(held_when_read) == 5  # 30 rows in batches of 7
    assert held_when_read[0] == 0 and held_when_read[-1] > 0, held_when_read
    assert held_when_read == sorted(held_when_read)
    assert facts["obi"]["statuses"]["accepted"] == len(vendors.obi_customers())
    assert read_results(run_dir).height == 30
