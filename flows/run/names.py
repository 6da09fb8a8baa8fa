"""Names of Leadflow's Prefect runs, so the UI's run list reads as a list of imports.

Prefect names a run with two random words (``crimson-okapi``) and a task run with the task's
name and a counter (``send-batches-722``). An operator looking for "yesterday's leads.csv"
cannot find it that way, so an ``import_leads`` run is named after its file and targets
(``leads.csv → obi, onc · 2026-12-04 15:20 · 1a2b3c``: the time and the start of the flow
run's id tell two imports of one file apart; a file claimed from a watched folder goes by the
name it was dropped with) and a send task run, which sends to every target (the flow's, or a
split import's partition's), after its targets: ``send obi, onc``.

Prefect calls ``import_run_name`` with no arguments as the run starts (``flow_run_name``
callable); the parameters come from ``prefect.runtime``, which holds only those passed
explicitly: omitted ones are the flow's defaults (no targets file: validate only).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from flows.inbox.layout import PROCESSING, original_name

__all__ = [
    "import_run_name",
    "name_for_import",
    "read_task_run_name",
    "send_batches_run_name",
]

_MAX_TARGETS_SHOWN = 4


def _target_names(targets_file: str | None, chosen: Sequence[str] | None) -> list[str]:
    """The targets a run sends to: those chosen, else every table of the targets file.

    Only the table names are read: a file that does not validate still names its run, and the
    run then fails with the file's own error."""
    if targets_file is None:
        return ["validate"]
    if chosen:
        return list(chosen)
    try:
        with open(targets_file, "rb") as handle:
            tables = tomllib.load(handle).get("targets")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return [PurePath(targets_file).name]
    return list(tables) if isinstance(tables, dict) and tables else [PurePath(targets_file).name]


def _shown(targets: Sequence[str]) -> str:
    shown = ", ".join(targets[:_MAX_TARGETS_SHOWN])
    if len(targets) > _MAX_TARGETS_SHOWN:
        shown += f" +{len(targets) - _MAX_TARGETS_SHOWN}"
    return shown


def name_for_import(
    parameters: Mapping[str, Any], *, run_id: str | None = None, now: datetime | None = None
) -> str:
    """``FILE → TARGET, TARGET · DATE TIME · RUNID`` for an ``import_leads`` run's parameters."""
    source = PurePath(str(parameters.get("path", "?")))
    file = source.name or "?"
    if source.parent.name == PROCESSING:  # claimed from a watched folder's inbox: its dropped name
        file = original_name(file)
    targets = _target_names(parameters.get("targets_file"), parameters.get("target_names"))
    parts = [f"{file} → {_shown(targets)}", f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M}"]
    if run_id:
        parts.append(run_id.replace("-", "")[:6])
    name = " · ".join(parts)
    return f"{name} (dry run)" if parameters.get("dry_run") else name


def import_run_name() -> str:
    """The ``flow_run_name`` callable of ``import_leads`` (Prefect calls it with no arguments)."""
    from prefect.runtime import flow_run

    return name_for_import(flow_run.parameters, run_id=str(flow_run.id or ""))


def read_task_run_name(parameters: dict[str, Any]) -> str:
    """The ``task_run_name`` of the read task: ``read FILE``, by the name the file was dropped with."""
    path = PurePath(str(parameters.get("path", "?")))
    return f"read {original_name(path.name) if path.parent.name == PROCESSING else path.name}"


def send_batches_run_name(parameters: dict[str, Any]) -> str:
    """The ``task_run_name`` of the batched send task, which sends to every target of the run:
    ``send obi, onc`` (four targets named at most, then ``+N``, as the flow run's name)."""
    return f"send {_shown([c.target.name for c in parameters.get('connectors', ())])}"
