"""The parent run of a split import: stage once, run K partitions, gather every row's results.

``import_leads`` with ``partitions`` > 1 calls ``send_partitioned`` where it would send the
batches itself. Its ``stage-leads`` task is the one streaming pass over the file: batch by batch
it is read, normalized, deduped and suppressed (flows.prepare_batches: every row's disposition
decided over the whole file by compact keys) and each clean batch staged as Parquet row groups
beside the run folder (flows.split.stage), so the file is never held whole. Each partition is an
``import_partition`` flow run that reads its row range a row group at a time, sends it in those
batches and writes its results as a part. Then the parts' row groups are routed, partition by
partition, into each target's results file of the one run folder, and the row invariant and the
summary are taken from lazy scans of it as any batched run does (flows.run.finish).

Two ways to run the partitions:

- ``deployment`` named (``import-partition/import-partition``, prefect.yaml): a flow run of that
  deployment per partition, created at once as subflows of this run, for the work pool's workers
  to take; this run waits for them (``timeout`` seconds in all, then the ones still running are
  cancelled), and runs itself any that no worker took within ``claim_after`` seconds
  (flows.split.pool): it holds a worker slot, so a pool of one slot does not wait for nothing.
- no deployment: the partitions run one after the other as subflows in this process (tests, and a
  run with no pool at hand; it shows the split in the UI but uses no other worker).

A partition that wrote no part (crashed, failed, cancelled, timed out) does not lose its rows:
each eligible row of it becomes ``failed`` with ``PARTITION_FAILED`` and the partition's final
state in ``vendor_message``, so the run's verdict (exit code 4) and its state say so. What such a
partition sent is in the ledger: rerunning the import sends only what was not delivered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.base import Connector
from flows.import_batches import add_facts, add_stops, column_stops
from flows.inbox.layout import recorded_source
from flows.prepare import PreparedLeads
from flows.prepare_batches import BatchedLeads
from flows.run.finish import finish_run_from_results
from flows.run.store import is_remote, local_folder
from flows.split.stage import (
    drop_staging,
    open_partition,
    part_frames,
    part_stops,
    stage_batches,
    staging_folder,
)
from flows.verdict import send_facts
from schemas.codes import Issue, Status
from transforms.eligibility import eligibility
from transforms.results import SENT_SCHEMA, build_results

if TYPE_CHECKING:
    pass

__all__ = ["PARTITION_DEPLOYMENT", "Split", "pool_problem", "send_partitioned", "stage_task"]

PARTITION_DEPLOYMENT = "import-partition/import-partition"
"""The partition flow's deployment in prefect.yaml (flow name / deployment name)."""


@dataclass(frozen=True)
class Split:
    """How a run is split, and what each partition needs to send its rows as the parent would."""

    count: int
    targets_file: str
    out_dir: str
    target_names: list[str] | None = None
    ledger: str | None = None
    dry_run: bool = False
    resend: bool = False
    deployment: str | None = None
    timeout: float = 6 * 3600.0
    claim_after: float = 60.0
    """Seconds a partition may stay scheduled (no worker took it) before this run runs it."""
    started: str | None = None
    """The parent run's start (ISO): every partition's calling windows are from it."""
    compliance: str | None = None
    """The run's compliance profile (``--compliance``), for every partition's targets."""

    def parameters(self, staged: str, run_id: str, index: int) -> dict[str, Any]:
        """An ``import_partition`` run's parameters: paths and names only, no secret."""
        return {
            "staged": staged,
            "index": index,
            "count": self.count,
            "run_id": run_id,
            "targets_file": self.targets_file,
            "out_dir": self.out_dir,
            "target_names": self.target_names,
            "ledger": self.ledger,
            "dry_run": self.dry_run,
            "resend": self.resend,
            "started": self.started,
            "compliance": self.compliance,
        }


def pool_problem(deployment: str = PARTITION_DEPLOYMENT) -> str | None:
    """Why a split import cannot run its partitions on a work pool from here, or None: no Prefect
    server configured (a temporary one has no workers), or no ``deployment`` on it. Asked before
    the file is read, so ``leadflow import --partitions`` says so at once, not after preparing."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if not api:
        return (
            "splitting an import runs its partitions on a Prefect work pool: set PREFECT_API_URL to a "
            'Prefect server whose leadflow-process pool has workers (README "Split across workers")'
        )
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(deployment)
    except ObjectNotFound:
        return (
            f"the Prefect server at {api} has no deployment {deployment}: run `prefect deploy --all` "
            "from the repository (prefect.yaml) and start a worker on its pool"
        )
    except Exception as error:  # the server down, a wrong URL
        said = type(error).__name__
        return f"the Prefect server at {api} did not answer ({said}): start it or fix PREFECT_API_URL"
    return None


def _absolute(out_dir: str) -> str:
    """A local folder as an absolute path (a partition's process may start elsewhere); a URL as is."""
    return out_dir if is_remote(out_dir) else str(local_folder(out_dir).resolve())


def _in_process(split: Split, staged: str, run_id: str) -> list[str | None]:
    """Each partition as a subflow of this run, one after the other; each one's problem or None."""
    from flows.import_partition import import_partition

    problems: list[str | None] = []
    for index in range(split.count):
        state = import_partition(**split.parameters(staged, run_id, index), return_state=True)
        problems.append(
            None if state.is_completed() else f"partition {index + 1} ended {state.name}: {state.message}"
        )
    return problems


def _on_pool(split: Split, staged: str, run_id: str) -> list[str | None]:
    """Each partition as a flow run of ``split.deployment`` (flows.split.pool)."""
    from flows.split.pool import run_on_pool

    assert split.deployment is not None
    return run_on_pool(
        split.deployment,
        [split.parameters(staged, run_id, index) for index in range(split.count)],
        run_id=run_id,
        timeout=split.timeout,
        claim_after=split.claim_after,
    )


def _failed_rows(
    prepared: PreparedLeads, connectors: Sequence[Connector], *, run_id: str, message: str
) -> pl.DataFrame:
    """The result rows of a partition that wrote none: its eligible rows failed with
    ``PARTITION_FAILED`` and ``message``, its other rows as their disposition or eligibility says."""
    source_file = recorded_source(prepared.ingested.path).source_file
    frames = []
    for connector in connectors:
        decided = eligibility(
            prepared.clean, connector.channel, sms_allow_unknown_type=connector.target.sms_allow_unknown_type
        )
        rows = decided.filter(pl.col("eligible")).select("source_row")
        sent = rows.with_columns(
            status=pl.lit(Status.FAILED.value),
            reasons=pl.lit([Issue.PARTITION_FAILED.value], pl.List(pl.String)),
            vendor_id=pl.lit(None),
            vendor_status=pl.lit(None),
            vendor_message=pl.lit(message),
            batch_id=pl.lit(None),
            attempts=pl.lit(0),
            sent_at=pl.lit(None),
        ).cast(SENT_SCHEMA)  # type: ignore[arg-type]
        frames.append(
            build_results(
                prepared.clean,
                run_id=run_id,
                source_file=source_file,
                target=connector.target.name,
                eligibility=decided.select("source_row", "eligible", "ineligible_reason"),
                sent=sent,
            )
        )
    return pl.concat(frames)


@task(name="stage-leads", cache_policy=NO_CACHE)
def stage_task(batched: BatchedLeads, folder: str) -> int:
    """The streaming pass of a split import: the file read, normalized and deduped batch by
    batch (flows.prepare_batches, every row's disposition over the whole file) and each clean
    batch staged as it is made (flows.split.stage); the rows staged."""
    rows = stage_batches(batched.prepared, batched.batches(), folder)
    get_run_logger().info("Staged %d prepared rows at %s", rows, folder)
    return rows


def _results(
    staged: str,
    problems: Sequence[str | None],
    connectors: Sequence[Connector],
    *,
    run_id: str,
    facts: dict[str, dict[str, Any]],
) -> Iterator[pl.DataFrame]:
    """Every partition's result rows in partition order, a row group at a time: its part, or
    for a partition that wrote none its rows failed (``_failed_rows``), a staged batch at a time.
    Their verdict facts are added to ``facts`` as they go by."""
    logger = get_run_logger()
    count = len(problems)
    for index, problem in enumerate(problems):
        frames = part_frames(staged, index)
        if frames is None:
            message = problem or f"partition {index + 1} wrote no results"
            logger.error("%s: its rows are failed (PARTITION_FAILED)", message)
            partition = open_partition(staged, index, count)
            frames = (
                _failed_rows(
                    replace(partition.prepared, clean=clean), connectors, run_id=run_id, message=message
                )
                for clean in partition.batches()
            )
        elif problem:
            logger.warning("%s (its results were written)", problem)
        for frame in frames:
            add_facts(facts, send_facts(frame))
            yield frame
            del frame


def send_partitioned(
    batched: BatchedLeads,
    connectors: Sequence[Connector],
    split: Split,
    *,
    run_id: str,
    started: datetime,
    out: Path,
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Stage ``batched`` (the streaming pass), send it as ``split.count`` partitions and write
    the run folder in ``out`` from their parts, one result per input row and target (a failed
    partition's rows failed, never missing); the run folder and the verdict's facts. Neither
    this run nor a partition holds the whole file or all its results."""
    # absolute: a partition's process may start in another folder (a worker's working directory)
    split = replace(split, out_dir=_absolute(split.out_dir))
    if not is_remote(split.targets_file) and Path(split.targets_file).exists():
        split = replace(split, targets_file=str(Path(split.targets_file).resolve()))
    staged = staging_folder(split.out_dir, run_id)
    try:
        stage_task(batched, staged)
    except BaseException:  # a file-level problem found in a late batch: nothing was sent
        drop_staging(staged)
        raise
    problems = _on_pool(split, staged, run_id) if split.deployment else _in_process(split, staged, run_id)
    facts: dict[str, dict[str, Any]] = {}
    # a stopped target with no row to send has no failed row to say so (flows.import_batches):
    # what every partition's check of the file's columns decided, and what stopped a target in
    # a partition (a login refused while its list was prepared)
    stops = column_stops(batched.prepared, connectors)
    for index in range(split.count):
        for name, stop in part_stops(staged, index).items():
            stops.setdefault(name, stop)
    written = finish_run_from_results(
        batched.prepared,
        _results(staged, problems, connectors, run_id=run_id, facts=facts),
        [(c.target.name, c.target.kind) for c in connectors],
        run_id=run_id,
        started=started,
        out_dir=out,
        dry_run=split.dry_run,
        rules={c.target.name: c.target.recorded() for c in connectors},
        stops=stops,
    )
    drop_staging(staged)
    add_stops(facts, stops)
    return written, facts
