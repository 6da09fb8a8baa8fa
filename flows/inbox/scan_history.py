"""What the watched-folder scan leaves in Prefect's run history: a name saying what it did,
and no pile of empty scans.

The ``watched-folder-scan`` deployment runs every 30 s; Prefect's scheduler creates each run
from the interval alone (a schedule has no condition, and a deployment has no hook that
runs before a flow run is created), so a scan cannot decline to exist when the inbox is
empty. Deciding that takes the scan itself: it claims nothing, then it renames its run
``scan: empty`` and deletes the completed ``scan: empty`` runs of the same deployment beyond
the newest ``KEEP_EMPTY`` (the newest show the scanner is alive). A scan that did something
is named after it (``scan: 2 imported, 1 failed``) and kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any
from uuid import UUID

__all__ = ["EMPTY_SCAN_NAME", "KEEP_EMPTY", "scan_run_name", "settle_scan_run"]

EMPTY_SCAN_NAME = "scan: empty"
KEEP_EMPTY = 10
"""How many empty scan runs stay visible (per deployment, or of direct calls)."""


def scan_run_name(finished: Sequence[dict[str, Any]]) -> str:
    """``scan: empty``, or the count of each verdict: ``scan: 2 imported, 1 failed``."""
    if not finished:
        return EMPTY_SCAN_NAME
    counts = Counter(str(done["verdict"]) for done in finished)
    return "scan: " + ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))


def settle_scan_run(finished: Sequence[dict[str, Any]], *, keep_empty: int = KEEP_EMPTY) -> list[UUID]:
    """Name the current scan run after what it did; when it did nothing, delete the older empty
    scan runs beyond the newest ``keep_empty`` (this one included). Returns the deleted ids."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound
    from prefect.runtime import flow_run

    if flow_run.id is None:
        return []
    run_id = UUID(str(flow_run.id))
    with get_client(sync_client=True) as client:
        client.set_flow_run_name(run_id, scan_run_name(finished))
        if finished:
            return []
        current = client.read_flow_run(run_id)
        same_deployment = (
            FlowRunFilterDeploymentId(any_=[current.deployment_id])
            if current.deployment_id
            else FlowRunFilterDeploymentId(is_null_=True)
        )
        older = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[EMPTY_SCAN_NAME]),
                deployment_id=same_deployment,
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])),
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            offset=max(keep_empty - 1, 0),  # this run is still running: it is one of those kept
            limit=200,
        )
        deleted = [run.id for run in older if run.id != run_id and run.flow_id == current.flow_id]
        gone: list[UUID] = []
        for old in deleted:
            try:
                client.delete_flow_run(old)
            except ObjectNotFound:  # a concurrent scan deleted it first
                continue
            gone.append(old)
    return gone
