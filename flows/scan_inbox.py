"""The watched folder as a Prefect flow: one pass over ``ROOT/inbox``, each file an ``import_leads`` subflow.

Served on an interval (``leadflow serve``, or the ``watched-folder-scan`` deployment in
prefect.yaml), this is the scheduler-driven twin of ``leadflow watch``: same mechanics
(flows.inbox.intake), same import. Each complete drop is claimed, imported by the ``import_leads``
flow as a subflow (so every file has its own flow run, artifacts and logs), and filed in
``archive/``, ``retry/`` (rows failed to send: the subflow run ends ``Failed``, the file is
imported again later, or, for a refused login or a bad setting, once a person has fixed it and
moved it back: flows.inbox.held) or ``failed/``. A bad file is a ``failed/`` entry with its reason,
never a failed scan; the scan's table artifact lists what it did, and its run is renamed after
it (``scan: 1 imported``, or ``scan: empty``, of which only the newest are kept:
flows.inbox.scan_history).

``import_step`` is the same bridge for ``leadflow watch``: it turns the flow's final state
into the ``ImportOutcome`` the folder mechanics record, ``unsent`` saying what was not sent.
"""

from __future__ import annotations

# first, as Prefect loads this file by its path: the package tunes polars' allocator,
# which reads its settings once, as polars loads (flows.allocator)
import flows  # noqa: F401

# isort: split

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from connectors.config import load_targets
from flows.inbox.held import what_to_fix
from flows.inbox.intake import ImportOutcome, ImportStep, InboxSettings, Verdict, run_once
from flows.inbox.scan_history import settle_scan_run
from flows.settings import ImportSettings
from flows.verdict import judge

__all__ = ["import_step", "outcome_from_summary", "runs_folder", "scan_inbox"]

SCAN_ARTIFACT_KEY = "inbox-scan"


def runs_folder(root: Path | str) -> str:
    """Where a watched root's runs go unless told otherwise: ``ROOT/runs``, beside ``archive/``."""
    return str(Path(root).absolute() / "runs")


def outcome_from_summary(summary: Mapping[str, Any], targets_file: str | None = None) -> ImportOutcome:
    """The folder's record of one import from ``import_leads``'s summary (``run_id``, ``run_dir``,
    ...), with what was not sent when rows failed or a target stopped (flows.verdict), and what a
    person must fix first when waiting cannot (flows.inbox.held, naming ``targets_file``'s
    credential references)."""
    run_dir = summary.get("run_dir")
    verdict = judge(summary)
    return ImportOutcome(
        run_id=str(summary.get("run_id", "")),
        run_dir=None if run_dir is None else Path(str(run_dir)),
        summary=dict(summary),
        unsent=None if verdict.ok else verdict.problem(),
        fix=None if verdict.ok else what_to_fix(verdict, targets_file),
    )


def import_step(settings: ImportSettings) -> ImportStep:
    """An import step that runs the ``import_leads`` flow on the claimed file with ``settings``."""

    def run(path: Path) -> ImportOutcome:
        from flows.import_leads import import_leads, summary_of

        state = import_leads(str(path), **settings.flow_parameters(), return_state=True)
        # summary_of raises a bad file's LeadFileError
        return outcome_from_summary(summary_of(state), settings.targets_file)

    return run


@flow(
    name="scan-inbox",
    flow_run_name="scanning {root}",
    description="Import every complete file dropped into a watched folder's inbox.",
)
def scan_inbox(
    root: str,
    targets_file: str | None = None,
    *,
    out_dir: str | None = None,
    settle_seconds: float = 30.0,
    settle_max_seconds: float = 600.0,
    retry_attempts: int = 6,
    retry_delay_seconds: float = 60.0,
    max_bytes: int | None = None,
    force: bool = False,
    country: str | None = None,
    mapping: str | None = None,
    suppress: list[str] | None = None,
    dry_run: bool = False,
    target_names: list[str] | None = None,
    ledger: str | None = None,
    compliance: str | None = None,
    encoding: str | None = None,
) -> list[dict[str, Any]]:
    """Scan ``root``'s inbox once; returns one entry per file this scan finished.

    ``out_dir`` defaults to ``ROOT/runs``. ``force`` imports content that was imported before.
    ``settle_seconds``/``settle_max_seconds``: the settle window (flows.inbox.settle);
    ``retry_attempts``/``retry_delay_seconds``: imports of a file whose rows failed to send,
    and the first wait between them (flows.inbox.retry). Each file's ``import_leads`` subflow
    ends ``Failed`` when rows failed; this scan fails only when it cannot run at all.
    A wrong targets file fails the scan before any file is claimed: it is the deployment's
    problem, not the files'.
    """
    logger = get_run_logger()
    if targets_file is not None:
        load_targets(Path(targets_file), compliance=compliance)
    options = ImportSettings.of(
        targets_file=targets_file,
        target_names=target_names,
        country=country,
        mapping=mapping,
        suppress=suppress,
        out_dir=out_dir or runs_folder(root),
        ledger=ledger,
        dry_run=dry_run,
        compliance=compliance,
        encoding=encoding,
    )
    settings = InboxSettings(
        settle_seconds=settle_seconds,
        settle_max_seconds=settle_max_seconds,
        retry_attempts=retry_attempts,
        retry_delay_seconds=retry_delay_seconds,
        max_bytes=max_bytes,
    )
    finished = [done.as_dict() for done in run_once(root, import_step(options), settings, force=force)]
    for done in finished:
        if done["verdict"] in (Verdict.FAILED, Verdict.RETRYING):
            logger.warning("%s %s: %s (see %s)", done["file"], done["verdict"], done["problem"], done["note"])
        else:
            logger.info("%s %s (run %s) -> %s", done["file"], done["verdict"], done["run_id"], done["path"])
    if finished:
        columns = ("file", "verdict", "run_id", "problem", "path")
        create_table_artifact(
            [{column: done[column] for column in columns} for done in finished],
            key=SCAN_ARTIFACT_KEY,
            description=f"Files this scan of {root} finished",
        )
    else:
        logger.info(
            "%s: no complete files in the inbox (a file is taken once its size and mtime stay unchanged "
            "for %g s or longer if it was written slowly; writers can write NAME.part and rename it to "
            "NAME when done, or add an empty NAME.ready, to skip the wait)",
            Path(root) / "inbox",
            settle_seconds,
        )
    try:
        settle_scan_run(finished)
    except Exception as error:  # the name and the history are cosmetic: the files are filed
        logger.warning("could not rename this scan run or clean older empty ones: %s", error)
    return finished
