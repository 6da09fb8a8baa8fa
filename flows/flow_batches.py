"""The ``import_leads`` flow's steps for a file of any size: read, send and write a batch at a time.

The flow used to prepare the whole file in one task, send the whole prepared frame in one task per
target and concatenate every target's results for its summary: about 1.1 GB per million rows,
so the scheduled imports and the watched folder, the flow's main users, could not take the files
``leadflow import`` takes. Here the flow runs what ``leadflow import`` runs (flows.import_batches:
each clean batch to every target as it is read, its results written as Parquet row groups) and
what ``leadflow validate`` runs (flows.run.finish.finish_run_in_batches with the ``validate``
target), inside Prefect tasks, with what Prefect adds (a split import's partitions send their
staged batches the same way, ``send_partition_task``, into a part rather than a run folder):

- every request takes a slot of its target's Prefect global limits (flows.vendor_limits), the
  gates entered once for the run on its event loop (``SendSettings.open_gates``). That loop runs
  only while a batch is sent, so the slots of a batch's finished engine workers go back to the
  server as the next batch starts (while it is read, about a second per 100,000 rows, other runs
  on the target see them taken: never more than the limit, at worst briefly less);
- a progress artifact per target (``send-<target>``): rows with a result there / rows of the file.

One ``send-batches`` task sends to every target, where the whole-file flow had a task per target.
A batch is read and normalized once for all targets and every target's results for it are
written before the next batch is read: that lockstep is what bounds memory, and a task per
target would need a thread and an event loop each, handing batches across threads, for nothing
the UI would not show already (a progress bar per target, the targets in the task run's name).
A file-level problem found in a late batch (a Parquet row group that cannot be decoded) fails
the task with its ``LeadFileError``, not retried: the batches before it were sent and are in the
ledger, and the log says so; the flow then fails with the error's one line, as ``leadflow
import`` prints it.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import polars as pl
from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from connectors.base import Connector
from flows.import_batches import BatchProgress, SendSettings, add_facts, send_in_batches, sent_batches
from flows.prepare_batches import BatchedLeads
from flows.run.finish import finish_run_in_batches
from flows.run.names import send_batches_run_name
from flows.split.stage import PartWriter, StagedPartition, write_part_stops
from flows.vendor_limits import PrefectGate, limits_for
from flows.verdict import send_facts
from transforms.errors import LeadFileError

if TYPE_CHECKING:
    from prefect.tasks import TaskRunNameCallbackWithParameters

__all__ = [
    "ArtifactProgress",
    "progress_key",
    "send_batches_task",
    "send_partition_task",
    "validate_batches_task",
]

PROGRESS_EVERY = 1.0
"""Seconds between two updates of one target's progress artifact."""


def progress_key(target: str) -> str:
    """The key of a target's progress artifact: ``send-<target>``, lower-case and dashes."""
    return "send-" + ("".join(ch if ch.isalnum() else "-" for ch in target.lower()).strip("-") or "target")


class ArtifactProgress(BatchProgress):
    """A Prefect progress artifact per target: rows with a result there / rows of the file,
    updated at most every :data:`PROGRESS_EVERY` seconds (each update is a call to the API)."""

    def __init__(self, rows: int, connectors: list[Connector]) -> None:
        self.rows = max(rows, 1)
        self.read_rows = 0
        self.artifacts: dict[str, UUID] = {}
        self.last: dict[str, float] = {}
        for connector in connectors:
            name = connector.target.name
            artifact = create_progress_artifact(
                0.0, key=progress_key(name), description=f"Sending to {name} ({connector.target.kind})"
            )
            assert isinstance(artifact, UUID)  # called from sync code: the sync variant ran
            self.artifacts[name] = artifact
            self.last[name] = 0.0

    def read(self, rows: int) -> None:
        self.read_rows += rows

    def sent(self, target: str, rows: int) -> None:
        now = time.monotonic()
        if now - self.last[target] >= PROGRESS_EVERY or rows >= self.rows:
            self.last[target] = now
            update_progress_artifact(self.artifacts[target], min(100.0, 100.0 * rows / self.rows))

    def finish(self) -> None:
        for artifact in self.artifacts.values():
            update_progress_artifact(artifact, 100.0)


def _gate(connector: Connector) -> PrefectGate:
    target = connector.target
    deadline = (target.deadline or target.timeout) + target.retry.max_backoff
    return PrefectGate(limits_for(connector), target.name, deadline)


@task(
    name="send-batches",
    # typed for a protocol class; Prefect calls any callable taking ``parameters`` with them
    task_run_name=cast("TaskRunNameCallbackWithParameters", send_batches_run_name),
    cache_policy=NO_CACHE,
)
def send_batches_task(
    batched: BatchedLeads,
    connectors: list[Connector],
    settings: SendSettings,
    *,
    out_dir: Path,
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Send the file batch by batch to every target and write its run folder in ``out_dir``
    (flows.import_batches.send_in_batches); the run folder and the verdict's facts. Not
    retried by Prefect: the engine retries each request under the ledger's protection."""
    gates = {} if settings.dry_run else {c.target.name: _gate(c) for c in connectors}
    settings = replace(settings, open_gates={**settings.open_gates, **gates})
    progress = ArtifactProgress(batched.prepared.rows, connectors)
    try:
        run_dir, facts = send_in_batches(batched, connectors, settings, out_dir=out_dir, progress=progress)
    except LeadFileError:
        get_run_logger().error(
            "The file's problem was found after %d of its %d rows were read; the batches before it "
            "were sent and are in the ledger (a rerun of the fixed file does not send them again), "
            "the run folder was not finished",
            progress.read_rows,
            batched.prepared.rows,
        )
        raise
    progress.finish()
    logger = get_run_logger()
    for target, figures in facts.items():
        logger.info("%s: %s", target, ", ".join(f"{s} {n}" for s, n in figures["statuses"].items()))
    return run_dir, facts


@task(
    name="send-batches",
    task_run_name=cast("TaskRunNameCallbackWithParameters", send_batches_run_name),
    cache_policy=NO_CACHE,
)
def send_partition_task(
    partition: StagedPartition, connectors: list[Connector], settings: SendSettings, *, run_id: str
) -> dict[str, dict[str, Any]]:
    """A split import's partition (flows.import_partition): its staged rows sent batch by batch
    (a staged row group each) to every target, as ``send_batches_task`` sends a file, and its
    result rows written as the partition's part (flows.split.stage), under the parent's
    ``run_id``, as they are made; the verdict's facts. A partition that fails writes no part."""
    gates = {} if settings.dry_run else {c.target.name: _gate(c) for c in connectors}
    settings = replace(settings, open_gates={**settings.open_gates, **gates})
    progress = ArtifactProgress(partition.rows, connectors)
    facts: dict[str, dict[str, Any]] = {}
    stops: dict[str, dict[str, str]] = {}  # filled once the last batch is sent
    part = PartWriter(partition.folder, partition.index)
    sending = sent_batches(
        partition.batches(),
        partition.prepared,
        connectors,
        settings,
        progress=progress,
        facts=facts,
        stops=stops,
    )
    try:
        with contextlib.closing(sending):
            for _clean, results in sending:
                for frame in results:
                    part.write(frame.with_columns(run_id=pl.lit(run_id)))
                del _clean, results
        # the stops before the part: a part is never without them
        write_part_stops(partition.folder, partition.index, stops)
        part.close()
    except BaseException:
        part.abort()
        raise
    progress.finish()
    logger = get_run_logger()
    for target, figures in facts.items():
        logger.info("%s: %s", target, ", ".join(f"{s} {n}" for s, n in figures["statuses"].items()))
    return facts


@task(name="validate-batches", task_run_name="validate", cache_policy=NO_CACHE)
def validate_batches_task(
    batched: BatchedLeads, *, run_id: str, source_file: str, started: datetime, out_dir: Path
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Without targets: every batch's ``validate`` results written as it is read
    (finish_run_in_batches, as ``leadflow validate``); the run folder and the verdict's facts."""
    from transforms.results import VALIDATE_TARGET, build_results

    facts: dict[str, dict[str, Any]] = {}

    def results(clean: pl.DataFrame) -> pl.DataFrame:
        built = build_results(clean, run_id=run_id, source_file=source_file, target=VALIDATE_TARGET)
        add_facts(facts, send_facts(built))
        return built

    run_dir = finish_run_in_batches(
        batched.prepared,
        batched.batches(),
        [(VALIDATE_TARGET, VALIDATE_TARGET, results)],
        run_id=run_id,
        started=started,
        out_dir=out_dir,
        dry_run=False,
    )
    return run_dir, facts
