"""A split import (``import_leads`` with ``partitions``) under a temporary Prefect API, against
the sandbox vendors: the same per-row results as one run, one run folder, each lead sent once;
and a partition that never runs leaves its rows failed with ``PARTITION_FAILED``, not lost.

The partitions run as subflows in the test's process here (no ``partition_deployment``); the
work pool and two workers are tests/flows/test_split_workers.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.flows.conftest import (
    DELIVERED,
    Vendors,
    held_ids,
    maxcontact_with_changeable_password,
    read_results,
    write_targets,
)
from transforms.outputs import results_path

pytestmark = pytest.mark.slow

TARGETS = ("obi", "ucontact-sms", "ucontact-email", "maxcontact")
ROWS = 90
SMALL = {"chunk_size": 7, "concurrency": 2}
"""Chunks smaller than a partition, so partitions and chunks do not line up."""
VOLATILE = ("run_id", "vendor_id", "vendor_message", "batch_id", "sent_at", "attempts")
"""Columns that differ between any two runs (ids the vendor assigns, times, chunk numbers)."""


def per_row(results: pl.DataFrame) -> pl.DataFrame:
    """Each row's outcome per target, without what differs between any two runs."""
    return results.drop(VOLATILE).sort("target", "source_row")


def _run(path: Path, targets: Path, out: Path, **options: Any) -> tuple[Any, dict[str, Any]]:
    from flows.import_leads import import_leads, summary_of

    state = import_leads(str(path), str(targets), out_dir=str(out), return_state=True, **options)
    return state, summary_of(state)


def _cli(path: Path, targets: Path, out: Path) -> tuple[int, str]:
    from io import StringIO

    from rich.console import Console

    from flows.commands.import_file import main

    shown = StringIO()
    arguments = [str(path), "--targets", str(targets), "--out", str(out), "--partitions", "3"]
    code = main(arguments, Console(file=shown))
    return code, " ".join(shown.getvalue().split())


def test_import_with_partitions_and_no_prefect_server_says_it_needs_one_before_reading(
    lead_file: Callable[..., Path], lead_targets: Path, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        code, shown = _cli(lead_file(5), lead_targets, tmp_path / "out")

    assert code == 1
    assert "set PREFECT_API_URL" in shown and "work pool" in shown
    assert not (tmp_path / "out").exists()


def test_import_with_partitions_and_no_partition_deployment_says_how_to_deploy_it(
    prefect_harness: None, lead_file: Callable[..., Path], lead_targets: Path, tmp_path: Path
) -> None:
    code, shown = _cli(lead_file(5), lead_targets, tmp_path / "out")

    assert code == 1
    assert "no deployment import-partition/import-partition" in shown and "prefect deploy" in shown
    assert not (tmp_path / "out").exists()


@pytest.fixture
def lead_targets(tmp_path: Path) -> Path:
    return write_targets(
        tmp_path / "targets.toml",
        only=TARGETS,
        obi=SMALL,
        ucontact_sms=SMALL,
        ucontact_email=SMALL,
        maxcontact={"concurrency": 2},
    )


def test_three_partitions_give_each_row_the_result_of_one_run_and_send_each_lead_once(
    prefect_harness: None,
    vendors: Vendors,
    lead_file: Callable[..., Path],
    lead_targets: Path,
    tmp_path: Path,
) -> None:
    path = lead_file(ROWS, seed=17)
    one_state, one = _run(path, lead_targets, tmp_path / "one")
    one_results = read_results(Path(one["run_dir"]))
    one_held = vendors.held()
    vendors.reset()  # and a ledger of its own below: the split run sends everything again

    split_state, split = _run(path, lead_targets, tmp_path / "split", partitions=3)
    run_dir = Path(split["run_dir"])
    split_results = read_results(run_dir)

    assert one_state.is_completed() and split_state.is_completed(), split_state.message
    assert set(split_results["run_id"]) == {run_dir.name} == {split["run_id"]}
    assert per_row(split_results).equals(per_row(one_results))
    assert set(split_results["status"]) & DELIVERED, "nothing was sent: the comparison proves little"
    # one run folder, its summary as one run's, and the staged leads and parts gone
    assert [p.name for p in (tmp_path / "split").iterdir() if p.is_dir()] == [run_dir.name]
    summaries = [json.loads((Path(s["run_dir"]) / "summary.json").read_text()) for s in (one, split)]
    assert summaries[1]["targets"] == summaries[0]["targets"]
    assert json.loads((run_dir / "run.json").read_text())["rows"] == ROWS
    assert vendors.held() == one_held
    for target, held in held_ids(vendors, split_results).items():
        assert max(held.values()) == 1, f"{target}: a lead held twice"


def test_a_split_import_stages_sends_and_writes_the_file_a_staged_batch_at_a_time(
    prefect_harness: None, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded memory: the parent stages the streaming pass's batches of 15 rows as row groups,
    each partition (20 rows) sends its range cut at their bounds, and the run folder is written
    from the parts a row group at a time. The whole-file split wrote each target's 60 rows as
    one group (it concatenated every result). A dry run: the batches, not the vendors, are the
    point here (the test above sends and compares with one run)."""
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", "15")
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a dry run calls no vendor
    targets = write_targets(tmp_path / "targets.toml", only=("obi", "ucontact-sms"))
    state, split = _run(lead_file(60, seed=23), targets, tmp_path / "split", partitions=3, dry_run=True)
    run_dir = Path(split["run_dir"])

    assert state.is_completed(), state.message
    results = read_results(run_dir)
    for target in ("obi", "ucontact-sms"):
        assert results.filter(pl.col("target") == target)["source_row"].to_list() == list(range(1, 61))
        metadata = pq.ParquetFile(results_path(run_dir, target)).metadata
        groups = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        # partitions 0-19, 20-39, 40-59 cut at the staged groups' bounds 15, 30 and 45
        assert groups == [15, 5, 10, 10, 5, 15], target
    assert not (tmp_path / "split" / ".staging").exists()


def test_a_partition_no_worker_runs_leaves_its_rows_failed_and_the_run_failed(
    prefect_harness: None,
    vendors: Vendors,
    lead_file: Callable[..., Path],
    lead_targets: Path,
    tmp_path: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.verdict import SendIncomplete

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="no-worker-pool", type="process"), overwrite=True)
        flow_id = client.create_flow_from_name("import-partition")
        client.create_deployment(
            flow_id=flow_id,
            name="nobody-polls",
            entrypoint="flows/import_partition.py:import_partition",
            work_pool_name="no-worker-pool",
        )
    path = lead_file(30, seed=3)
    state, summary = _run(
        path,
        lead_targets,
        tmp_path / "out",
        partitions=2,
        partition_deployment="import-partition/nobody-polls",
        partition_timeout=3,
    )
    results = read_results(Path(summary["run_dir"]))

    assert state.is_failed() and isinstance(state.result(raise_on_failure=False), SendIncomplete)
    assert "exit code 4" in (state.message or "")
    # every row once per target: none lost with the partition
    for target in TARGETS:
        assert sorted(results.filter(pl.col("target") == target)["source_row"]) == list(range(1, 31))
    assert results.height == 30 * len(TARGETS)
    failed = results.filter(pl.col("status") == "failed")
    assert failed.height > 0
    assert set(failed["reasons"].list.first()) == {"PARTITION_FAILED"}
    assert set(failed["vendor_message"].str.contains("did not finish")) == {True}
    assert not set(results["status"]) & DELIVERED
    assert sum(vendors.held().values()) == 0
    assert not (tmp_path / "out" / ".staging").exists()


def test_partitions_no_worker_takes_are_run_by_the_parent_so_a_pool_without_free_slots_imports(
    prefect_harness: None, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent holds a worker slot while it waits: on a pool of one slot (here: none polls)
    its partitions would wait for the timeout. It takes a partition still scheduled after
    ``partition_claim_after`` seconds (the move to Pending a worker makes, granted once) and
    runs that very flow run itself."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a dry run calls no vendor
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="one-slot-pool", type="process"), overwrite=True)
        flow_id = client.create_flow_from_name("import-partition")
        client.create_deployment(
            flow_id=flow_id,
            name="parent-only",
            entrypoint="flows/import_partition.py:import_partition",
            work_pool_name="one-slot-pool",
        )
    targets = write_targets(tmp_path / "targets.toml", only=("obi",))
    state, summary = _run(
        lead_file(30, seed=5),
        targets,
        tmp_path / "out",
        partitions=2,
        partition_deployment="import-partition/parent-only",
        partition_timeout=300,
        partition_claim_after=0,
        dry_run=True,
    )

    assert state.is_completed(), state.message
    results = read_results(Path(summary["run_dir"]))
    assert sorted(results["source_row"]) == list(range(1, 31))
    assert "failed" not in set(results["status"]) and "dry_run" in set(results["status"])
    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(state.state_details.flow_run_id)
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id]))
        )
    partitions = [run for run in children if run.deployment_id is not None]
    assert len(partitions) == 2
    assert {run.state_name for run in partitions} == {"Completed"}


def test_a_file_problem_in_a_late_batch_of_a_split_import_sends_nothing_and_leaves_no_staging(
    prefect_harness: None,
    vendors: Vendors,
    lead_targets: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parent's streaming pass finds the damage only at row group 6 of 9, after staging the
    batches before it: the run fails in one line naming the file, the staged batches are removed,
    and no partition runs, so no vendor got a lead."""
    from tests.flows.test_import_flow_batches import BATCH, parquet_with_a_broken_late_row_group

    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", str(BATCH))
    path = parquet_with_a_broken_late_row_group(tmp_path / "leads.parquet", 60, broken=6)
    out = tmp_path / "split"

    from flows.import_leads import import_leads

    state = import_leads(str(path), str(lead_targets), out_dir=str(out), partitions=3, return_state=True)

    assert state.is_failed()
    message = state.message or ""
    assert str(path) in message and "Parquet file cannot be read" in message
    assert "Traceback" not in message and 'File "' not in message
    assert not any(vendors.held().values()), vendors.held()
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())
    written = [p.name for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not [name for name in written if name.endswith((".parquet", ".json", ".html"))], written


def test_a_login_refused_in_the_partitions_fails_the_split_run_even_when_every_row_was_already_sent(
    prefect_harness: None,
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MaxContact's list is prepared before any lead is sent (connectors.maxcontact ``open``):
    a refused login there stops the target with no failed row when nothing is left to send. A
    partition's stop reaches the parent's verdict as an unsplit run's does (exit 4 there)."""
    targets = maxcontact_with_changeable_password(tmp_path / "targets.toml", monkeypatch)
    file = lead_file(30)
    state, _ = _run(file, targets, tmp_path / "out", partitions=2)
    assert state.is_completed(), state.message
    monkeypatch.setenv("MAXCONTACT_PASSWORD", "not-the-password")

    state, summary = _run(file, targets, tmp_path / "out", partitions=2)

    assert state.is_failed(), state.message
    assert "maxcontact stopped before sending, no row to send; AUTH_FAILED" in str(state.message)
    results = read_results(Path(summary["run_dir"]))
    assert "failed" not in set(results["status"]) and "already_sent" in set(results["status"])
    run = json.loads((Path(summary["run_dir"]) / "run.json").read_text(encoding="utf-8"))
    assert run["targets"][0]["stopped"]["reason"] == "AUTH_FAILED"
    assert "not-the-password" not in json.dumps(run)
