"""A split import's partitions on the work pool: created at once, awaited, and the ones no worker
takes run by the parent itself.

The parent run waits for its partitions in a process of its own: when it is itself a flow run
of the pool (the nightly import), it holds one of the workers' slots all along. Prefect gives
it no way to let go of that slot and come back (pausing or suspending a flow run ends its
process and reruns the flow from its start on resume, which would read and stage the file
again), so rather than wait idle it works: a partition still scheduled ``claim_after`` seconds
after it was created (no worker had a free slot, or none polls the pool) is taken by the parent
and run in its own process. Taking it is the move to ``Pending`` a worker makes before it
starts a run, which Prefect's orchestration grants once (``PreventPendingTransitions``): a run
is either the parent's or a worker's, never both. So a pool of one slot (the parent's) imports
the file, one partition after another, instead of waiting for the timeout; a pool with free
slots runs the partitions on its workers as before. While the parent runs a partition it does
not watch the others or the timeout (it looks again when that partition is done).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from prefect import get_run_logger

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun, State

__all__ = ["run_on_pool"]

_POLL = 2.0


def _cancel(state: State[Any] | None) -> State[Any]:
    """How to stop a partition that outlived the timeout: one no worker took yet is cancelled
    outright (no worker may take it later), a running one is asked to stop (its worker ends it)."""
    from prefect.states import Cancelled, Cancelling

    message = "the split import timed out"
    if state is None or state.is_scheduled() or state.is_pending():
        return Cancelled(message=message)
    return Cancelling(message=message)


def _run_here(client: SyncPrefectClient, run: FlowRun) -> bool:
    """Take the scheduled partition ``run`` from the pool and run it in this process; False when
    a worker took it first."""
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.flow_engine import run_flow_sync
    from prefect.states import Pending

    from flows.import_partition import import_partition

    claim: State[Any] = Pending(message="run by the split import's parent")
    taken = client.set_flow_run_state(run.id, claim)
    if taken.status != SetStateStatus.ACCEPT:
        return False
    shown = f"partition {int(run.parameters.get('index', 0)) + 1} ({run.name})"
    get_run_logger().info("No worker took %s: this run runs it", shown)
    claimed = client.read_flow_run(run.id)
    try:
        run_flow_sync(import_partition, flow_run=claimed, parameters=claimed.parameters, return_type="state")
    except Exception as error:  # its state says how it ended; its rows fail if it wrote no part
        get_run_logger().error("%s raised %s", shown, type(error).__name__)
    return True


def run_on_pool(
    deployment: str,
    parameters: Sequence[dict[str, Any]],
    *,
    run_id: str,
    timeout: float,
    claim_after: float,
) -> list[str | None]:
    """A flow run of ``deployment`` per partition (``parameters``), all created at once as
    subflows of this run, then awaited (``timeout`` seconds in all, then the ones still running
    are cancelled), the ones still scheduled after ``claim_after`` seconds run here; each
    partition's problem, or None when it completed."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    count = len(parameters)
    created: list[FlowRun | None] = []
    for index, given in enumerate(parameters):
        try:
            run = run_deployment(
                deployment,
                parameters=given,
                timeout=0,
                idempotency_key=f"{run_id}-part-{index}-of-{count}",
                as_subflow=True,
            )
        except Exception as error:  # the API unreachable: this partition's rows fail, the others go on
            logger.error("Partition %d of run %s not created: %s", index + 1, run_id, type(error).__name__)
            created.append(None)
        else:
            created.append(cast("FlowRun", run))  # called from sync code: the sync variant ran
    shown = [str(run.id) if run else None for run in created]
    logger.info("Partitions %s of run %s created on %s", shown, run_id, deployment)
    runs = [run for run in created if run is not None]
    began = time.monotonic()
    with get_client(sync_client=True) as client:
        while runs:
            runs = [client.read_flow_run(run.id) for run in runs]
            if all(run.state is not None and run.state.is_final() for run in runs):
                break
            if time.monotonic() - began > timeout:
                for run in runs:
                    if run.state is None or not run.state.is_final():
                        client.set_flow_run_state(run.id, _cancel(run.state), force=True)
                break
            waiting = [run for run in runs if run.state is not None and run.state.is_scheduled()]
            if waiting and time.monotonic() - began >= claim_after and _run_here(client, waiting[0]):
                continue
            time.sleep(_POLL)
    final = {run.id: run for run in runs}
    problems: list[str | None] = []
    for index, made in enumerate(created):
        if made is None:
            problems.append(f"partition {index + 1} could not be created on {deployment}")
            continue
        state = final[made.id].state
        if state is not None and state.is_completed():
            problems.append(None)
        elif state is None or not state.is_final():
            problems.append(f"partition {index + 1} did not finish within {timeout:.0f} s (cancelled)")
        else:
            problems.append(f"partition {index + 1} ended {state.name}: {state.message}")
    return problems
