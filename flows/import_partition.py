"""The ``import_partition`` Prefect flow: one row range of a split import, sent to every target.

A split import (``import_leads`` with ``partitions`` > 1, flows.split.parent) prepares the file
once, batch by batch, and stages the prepared leads (flows.split.stage); each partition is a flow
run of this flow, on any worker of the pool, that reads only its rows, a staged row group at a
time, sends each such batch to every target as ``import_leads`` sends its batches (one
``send-batches`` task: progress artifacts, vendor limits shared across workers, one vendor
session per target) and appends its result rows to a part for the parent to route into the one
run folder. It writes no run folder itself, and never holds its whole range.

Exactly-once holds across partitions as across runs: every lead's claim is taken in the shared
ledger before it is sent. Each partition sends under a ledger run id of its own
(``<run_id>-p<i>-<random>``): a ledger lease belongs to one run id, so partitions sharing one
would end each other's lease as the first finished, and a rerun of a crashed partition must be
another run for the ledger to settle what the crash left in flight (connectors.resume). The
result rows carry the parent's run id, the run folder's.

The ledger is passed as the user gave it (None: the worker's $LEADFLOW_LEDGER or the default in
``out_dir``), never resolved by the parent: a PostgreSQL URL from the environment may hold a
password, which a flow run's parameters would show.
"""

from __future__ import annotations

# first, as Prefect loads this file by its path (flows.import_leads says why)
import flows  # noqa: F401

# isort: split

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.flow_batches import send_partition_task
from flows.import_batches import SendSettings
from flows.importer import ledger_path, load_connectors
from flows.split.stage import open_partition
from flows.vendor_limits import ensure_limits, limits_for

__all__ = ["import_partition", "partition_run_name"]


def partition_run_name() -> str:
    """``part 2 of 3 · RUNID``: the flow run's name, for the UI's list beside the parent run."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    index, count = parameters.get("index", 0), parameters.get("count", "?")
    return f"part {int(index) + 1} of {count} · {parameters.get('run_id', '?')}"


@flow(name="import-partition", flow_run_name=partition_run_name, log_prints=False)
def import_partition(
    staged: str,
    index: int,
    count: int,
    run_id: str,
    targets_file: str,
    *,
    out_dir: str,
    target_names: list[str] | None = None,
    ledger: str | None = None,
    dry_run: bool = False,
    resend: bool = False,
    started: str | None = None,
    compliance: str | None = None,
) -> dict[str, Any]:
    """Send partition ``index`` (0-based) of ``count`` of the leads staged at ``staged`` to the
    targets; writes its result rows as a part there and returns its row and status counts."""
    book = ledger_path(out_dir, ledger)
    connectors = load_connectors(
        Path(targets_file), target_names or (), dry_run=dry_run, compliance=compliance
    )
    partition = open_partition(staged, index, count)
    get_run_logger().info("Partition %d of %d: %d rows of run %s", index + 1, count, partition.rows, run_id)
    if not dry_run:
        for connector in connectors:
            ensure_limits(limits_for(connector))
    settings = SendSettings(
        f"{run_id}-p{index + 1}-{secrets.token_hex(3)}",
        book,
        datetime.fromisoformat(started) if started else datetime.now(UTC),
        dry_run=dry_run,
        resend=resend,
    )
    facts = send_partition_task(partition, connectors, settings, run_id=run_id)
    statuses: dict[str, int] = {}
    for figures in facts.values():
        for status, rows in figures["statuses"].items():
            statuses[status] = statuses.get(status, 0) + rows
    return {
        "partition": index,
        "count": count,
        "rows": partition.rows,
        "statuses": dict(sorted(statuses.items())),
    }
