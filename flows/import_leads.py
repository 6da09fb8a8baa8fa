"""The ``import_leads`` Prefect flow: one lead file, its configured targets, one run folder.

Thin on purpose: it names the steps (flows.importer, flows.import_batches and flows.run.finish
hold the logic, tested without Prefect) and adds what Prefect is for: retries where they are
safe, run history, and artifacts (a progress bar per target while sending, then the report's
content: a lead-first markdown summary and a table of the leads needing attention,
flows.artifacts; a link to the HTML report only where ``leadflow serve`` serves it over http,
flows.run.served). At its end, a run that failed, could not send or rejected too many leads
posts an alert when a webhook is configured (flows.alerts).

Any file size in bounded memory, as ``leadflow import``: ``prepare-leads`` opens the file for
reading in batches (flows.prepare_batches: mapping, region, suppression lists decided), then
``send-batches`` reads, normalizes and sends one batch at a time to every target concurrently,
writing each batch's results before the next is read (flows.flow_batches says why one task
sends to all targets); without targets ``validate-batches`` writes the ``validate`` results the
same way. The summary and the artifacts are read from the run folder (summary.json and lazy
scans of the results Parquet), never from every result held at once.

Final state: ``Completed`` when everything that should be sent was sent, otherwise ``Failed``
(rows failed, a target stopped or got nothing: flows.verdict, exit codes 3 and 4) with a
message naming the targets and reasons, after the run folder and the artifacts are written.
The failed state's result is a ``SendIncomplete`` carrying the usual summary, so callers
holding the state (``leadflow import --prefect``, the watched folder) still report the run.

Retries: opening the file may be retried (a file on a network share can hiccup), a bad file
(``LeadFileError``) is not; a send task is not retried by Prefect, because the engine already
retries each request under the ledger's protection and a blind re-run of a half-sent target is
exactly what the ledger exists to make unnecessary. A file-level problem found in a late batch
fails the flow with its one-line message after the batches before it were sent and recorded in
the ledger, as ``leadflow import`` does; the run folder is not finished.

Limits across runs: every request of a send task also takes a slot of the target's Prefect global
concurrency and rate limits (flows.vendor_limits, created here when missing), so runs on several
workers together stay within what one target allows.

Split imports: ``partitions`` > 1 opens the file as any run does, then ``stage-leads`` reads,
normalizes and dedupes it batch by batch and stages the clean batches as Parquet row groups;
that many row ranges are sent, each by an ``import_partition`` flow run (on the work pool when
``partition_deployment`` is given) that reads and sends its range a row group at a time, and
their result parts are routed into this run's one run folder (flows.split.parent). Neither the
parent nor a partition holds the whole file.

Run folders: ``out_dir`` is a local folder or any fsspec URL (flows.run.store), so workers on
several machines write where the analyst reads. With a URL the ledger must be given: it cannot
default to a file in that folder.
"""

from __future__ import annotations

# first, as Prefect loads this file by its path: the package tunes polars' allocator,
# which reads its settings once, as polars loads (flows.allocator)
import flows  # noqa: F401

# isort: split

import dataclasses
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Failed

from connectors.config_error import ConfigError
from flows.alerts import alert_run
from flows.artifacts import attention_table, summary_markdown
from flows.flow_batches import send_batches_task, validate_batches_task
from flows.import_batches import SendSettings
from flows.importer import DEFAULT_OUT, ledger_path, load_connectors
from flows.inbox.layout import recorded_source
from flows.prepare import PrepareOptions
from flows.prepare_batches import BatchedLeads, prepare_batches
from flows.report.runs import read_results
from flows.run.ledger_spec import store_ledger
from flows.run.names import import_run_name, read_task_run_name
from flows.run.served import report_url
from flows.run.store import run_output
from flows.split.parent import Split, pool_problem, send_partitioned
from flows.vendor_limits import ensure_limits, limits_for
from flows.verdict import SendIncomplete, judge
from transforms.errors import LeadFileError
from transforms.ingest_batches import validate_batch_rows
from transforms.outputs import new_run_id

if TYPE_CHECKING:
    from prefect.tasks import TaskRunNameCallbackWithParameters

__all__ = ["import_leads", "summary_of"]


def _worth_retrying(_task: object, _run: object, state: State[Any]) -> bool:
    """A bad file stays bad: only I/O hiccups (a network share) are worth another try."""
    return not isinstance(state.result(raise_on_failure=False), LeadFileError)


@task(
    name="prepare-leads",
    # typed for a protocol class; Prefect calls any callable taking ``parameters`` with them
    task_run_name=cast("TaskRunNameCallbackWithParameters", read_task_run_name),
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_worth_retrying,
    cache_policy=NO_CACHE,
)
def prepare_task(path: Path, options: PrepareOptions, one_batch_held: bool = False) -> BatchedLeads:
    """The file opened for reading in batches (flows.prepare_batches): its columns, mapping,
    region and suppression lists decided; its leads are read by the send (or validate) task.
    ``one_batch_held``: the run validates only, a batch at a time, and reads a small file in
    ``leadflow validate``'s larger batches (transforms.ingest_batches.validate_batch_rows: the
    1M-row file's flow run 7.4 s against 8.4, peak 848 MB against 733, one run each,
    bench/flow_memory.py); a send holds two batches with their payloads and keeps the default."""
    batched = prepare_batches(path, options, validate_batch_rows if one_batch_held else None)
    prepared = batched.prepared
    get_run_logger().info("Read %s: %d rows, mapping %s", path, prepared.rows, prepared.applied.columns)
    return batched


@flow(name="import-leads", flow_run_name=import_run_name, log_prints=False)
def import_leads(
    path: str,
    targets_file: str | None = None,
    *,
    out_dir: str = str(DEFAULT_OUT),
    country: str | None = None,
    mapping: str | None = None,
    suppress: list[str] | None = None,
    dry_run: bool = False,
    resend: bool = False,
    target_names: list[str] | None = None,
    ledger: str | None = None,
    partitions: int = 1,
    partition_deployment: str | None = None,
    partition_timeout: float = 6 * 3600.0,
    compliance: str | None = None,
    partition_claim_after: float = 60.0,
    encoding: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Import one lead file into the configured targets; returns the run's summary, or a
    ``Failed`` state holding it (``SendIncomplete``) when not everything was sent.

    Without ``targets_file`` the file is only validated (target ``validate``). ``partitions`` > 1
    sends the prepared file as that many row ranges, each an ``import_partition`` flow run: of
    ``partition_deployment`` on its work pool (waiting ``partition_timeout`` seconds at most, and
    running itself a partition no worker took within ``partition_claim_after`` seconds), or
    without one as subflows in this process (flows.split.parent); one run folder either way.
    ``compliance``: the calling-hours profile of every voice/SMS target without its own, in place
    of the targets file's run-level one (``leadflow import --compliance``). ``encoding``: the
    CSV's text encoding (``--encoding cp1250``), else the mapping file's, else detected.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    if partitions > 1 and partition_deployment and targets_file:
        problem = pool_problem(partition_deployment)  # before the file is read, not after
        if problem:
            raise ConfigError(problem)
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    try:
        outcome = _import(
            path,
            targets_file,
            run_id=run_id,
            started=started,
            out_dir=out_dir,
            options=PrepareOptions(
                country=country,
                mapping=Path(mapping) if mapping else None,
                suppress=tuple(Path(s) for s in suppress or ()),
                encoding=encoding or None,
            ),
            dry_run=dry_run,
            resend=resend,
            target_names=target_names,
            ledger=ledger,
            partitions=partitions,
            partition_deployment=partition_deployment,
            partition_timeout=partition_timeout,
            partition_claim_after=partition_claim_after,
            compliance=compliance,
        )
    except Exception as error:
        alert_run(run_id=run_id, source=path, summary=None, error=error, **_alert_context())
        raise
    summary, report = outcome
    alert_run(run_id=run_id, source=path, summary=summary, report=report, **_alert_context())
    verdict = judge(summary, dry_run=dry_run)
    if verdict.ok:
        return summary
    message = f"{verdict.problem()} (exit code {int(verdict.code)}). Run folder: {summary['run_dir']}"
    get_run_logger().error("%s", message)
    return Failed(message=message, data=SendIncomplete(message, summary))


def _alert_context() -> dict[str, Any]:
    """The flow run's id and logger for its alert (a failing webhook is logged in the run);
    Leadflow's own logger when the flow's function is called outside a run (``import_leads.fn``)."""
    from prefect.exceptions import MissingContextError
    from prefect.runtime import flow_run

    try:
        logger: Any = get_run_logger()
    except MissingContextError:
        logger = logging.getLogger("leadflow.flows")
    return {"flow_run_id": str(flow_run.id or "") or None, "logger": logger}


def _import(
    path: str,
    targets_file: str | None,
    *,
    run_id: str,
    started: datetime,
    out_dir: str,
    options: PrepareOptions,
    dry_run: bool,
    resend: bool,
    target_names: list[str] | None,
    ledger: str | None,
    partitions: int = 1,
    partition_deployment: str | None = None,
    partition_timeout: float = 6 * 3600.0,
    partition_claim_after: float = 60.0,
    compliance: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The flow's steps; the run's summary (with ``run_id`` and ``run_dir``) and where its
    report is (an http URL when served, else its path or URL)."""
    book = ledger_path(out_dir, ledger) if targets_file else None  # a remote out_dir needs it given
    connectors = (
        load_connectors(Path(targets_file), target_names or (), dry_run=dry_run, compliance=compliance)
        if targets_file
        else []
    )
    options = dataclasses.replace(
        options, ledger=str(book) if book is not None else store_ledger(out_dir, ledger)
    )
    sending = book is not None and bool(connectors)
    batched = prepare_task(Path(path), options, not sending)
    region_note = batched.prepared.region_note
    if book is not None and sending and partitions > 1 and targets_file is not None:
        split = Split(
            partitions,
            targets_file,
            out_dir,
            target_names=target_names,
            ledger=ledger,
            dry_run=dry_run,
            resend=resend,
            deployment=partition_deployment,
            timeout=partition_timeout,
            claim_after=partition_claim_after,
            started=started.isoformat(),
            compliance=compliance,
        )

        def write(folder: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
            return send_partitioned(batched, connectors, split, run_id=run_id, started=started, out=folder)
    elif book is not None and sending:
        settings = SendSettings(run_id, book, started, dry_run=dry_run, resend=resend)

        def write(folder: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
            return send_batches_task(batched, connectors, settings, out_dir=folder)
    else:
        source_file = recorded_source(path).source_file

        def write(folder: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
            return validate_batches_task(
                batched, run_id=run_id, source_file=source_file, started=started, out_dir=folder
            )

    if sending and not dry_run:
        for connector in connectors:
            ensure_limits(limits_for(connector))
    with run_output(out_dir) as output:
        written, facts = write(output.folder)
        run_dir = output.publish(written)
        served = None if output.remote else report_url(written)
        summary = {**json.loads((written / "summary.json").read_text(encoding="utf-8")), "send": facts}
        _publish_artifacts(
            read_results(written / "results"),
            summary,
            run_id=run_id,
            run_dir=run_dir,
            source=path,
            dry_run=dry_run,
            region_note=region_note,
            served=served,
        )
    return {"run_id": run_id, "run_dir": str(run_dir), **summary}, served or f"{run_dir}/report.html"


def _publish_artifacts(
    results: pl.LazyFrame,
    summary: dict[str, Any],
    *,
    run_id: str,
    run_dir: str,
    source: str,
    dry_run: bool,
    region_note: str | None,
    served: str | None,
) -> None:
    """The summary, the attention table and (served) the report's link, from a lazy scan of the
    run's result parts: what they show of the leads is read a few columns at a time."""
    create_markdown_artifact(
        summary_markdown(
            summary,
            run_dir=run_dir,
            source=source,
            dry_run=dry_run,
            region_note=region_note,
            results=results,
            report_url=served,
        ),
        key="import-summary",
        description=f"Leadflow run {run_id}",
    )
    table, described = attention_table(results)
    create_table_artifact(table, key="rows-needing-attention", description=described)
    if served:
        create_link_artifact(served, link_text="HTML report", key="import-report")


def summary_of(state: State[Any]) -> dict[str, Any]:
    """The run's summary from a final state of ``import_leads`` (``return_state=True``): the
    return value of a ``Completed`` run, or the one a ``SendIncomplete`` failure carries. Any
    other failure (a bad file or setting, a bug) is raised, as calling the flow would."""
    outcome: object = state.result(raise_on_failure=False)
    if isinstance(outcome, SendIncomplete):
        return outcome.summary
    if isinstance(outcome, dict):
        return outcome
    if isinstance(outcome, BaseException):
        raise outcome
    raise TypeError(f"import_leads ended {state.name} with {type(outcome).__name__}, not its summary")
