"""The import steps shared by ``leadflow import`` and the ``import_leads`` Prefect flow.

prepare (flows.prepare) -> for each target, concurrently: eligibility -> leads -> dispatch
(connectors.engine) -> result rows -> one run folder with every target's results, the
summary, run.json and the HTML report. Nothing here knows about Prefect or the terminal;
both callers pass a progress callback.

Targets are all built (options validated, credentials resolved) before anything is sent, so
a typo in the third target's options does not leave the first two half-imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl

from connectors.base import Connector, Lead
from connectors.config import ConfigError, select_targets
from connectors.engine import RequestGate, RowResult, dispatch
from connectors.ledger_types import LedgerUnavailable
from connectors.ledgers import open_ledger
from connectors.registry import build_connector
from connectors.target_state import TargetState
from flows.inbox.layout import recorded_source
from flows.prepare import PreparedLeads
from flows.run.finish import finish_run
from flows.run.ledger_spec import ledger_path
from flows.shared_leads import SharedLeads
from schemas.codes import Issue, Status
from transforms.calling_windows import hold_outside_windows, with_call_windows
from transforms.eligibility import eligibility, hold_extension_only
from transforms.people import People, batch_people
from transforms.results import SENT_SCHEMA, build_results
from transforms.shared_windows import SharedWindows

__all__ = ["DEFAULT_OUT", "DRY_RUN_SECRET", "finish_run", "ledger_path", "load_connectors", "send_target"]
# finish_run lives in flows.run.finish (validate writes a run folder without importing the
# connectors); it stays importable from here, where the import steps are

DEFAULT_OUT = Path("leadflow-out")
Progress = Callable[[int, int], None]


DRY_RUN_SECRET = "dry-run-not-resolved"  # noqa: S105 - a placeholder that is no secret
"""What each credential is in a dry run: nothing is sent, so no secret is read (nor can one end
up in a predicted payload, an artifact or a log)."""


def load_connectors(
    targets_file: Path, names: Sequence[str] = (), *, dry_run: bool = False, compliance: str | None = None
) -> list[Connector]:
    """Every target of the file (or the named ones), built and ready; ConfigError otherwise.

    A dry run resolves no credential (``env:`` variables unset, ``prefect:`` blocks not created
    yet are fine): it checks the file and predicts the outcomes on a machine that has no access.
    ``compliance``: the run's calling-hours profile (connectors.config ``load_targets``).
    """
    targets = select_targets(targets_file, names, compliance=compliance)
    try:
        if dry_run:
            return [build_connector(t, dict.fromkeys(t.credentials, DRY_RUN_SECRET)) for t in targets]
        return [build_connector(target) for target in targets]
    except ConfigError as error:  # a target's options or credentials: say which file
        if str(error).startswith(str(targets_file)):
            raise
        raise ConfigError(f"{targets_file}: {error}") from None


def _leads(
    decided: pl.DataFrame, shared: SharedLeads, *, per: str | None = None
) -> tuple[list[Lead], People | None]:
    """The ``eligible`` rows of ``decided`` (the batch's clean frame row for row, as
    transforms.eligibility decides it) as Leads, the target's preferred phone first, from the
    batch's ``shared`` Leads (one object per row for all targets: flows.shared_leads). ``per`` (a
    frequency limit's): each with its email's person key (the batch's, computed once for all its
    targets: SharedLeads.email_key), and the leads' person keys as arrays aligned with them
    (transforms.people.batch_people), computed for the whole frame at once: the ledger then
    reads no Lead for them."""
    if per is None:
        return shared.leads(decided.filter(pl.col("eligible"))), None
    eligible = decided.with_columns(shared.email_key(decided)).filter(pl.col("eligible"))
    return shared.leads(eligible), batch_people(eligible, per)


def _not_claimed(leads: Sequence[Lead], message: str) -> list[RowResult]:
    """Rows of a target whose ledger could not be opened: nothing can be claimed, so nothing is
    sent (another run may be sending the same leads). Failed, not an exception: the other
    targets' results and the run folder still come out, and the exit code says 4."""
    code = (Issue.LEDGER_UNAVAILABLE.value,)
    failed = Status.FAILED
    return [RowResult(lead.source_row, lead.external_id, failed, code, None, None, message) for lead in leads]


def _sent_frame(rows: list[RowResult]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_row": [r.source_row for r in rows],
            "status": [r.status.value for r in rows],
            "reasons": [list(r.reasons) for r in rows],
            "vendor_id": [r.vendor_id for r in rows],
            "vendor_status": [r.vendor_status for r in rows],
            "vendor_message": [r.vendor_message for r in rows],
            "batch_id": [r.batch_id for r in rows],
            "attempts": [r.attempts for r in rows],
            "sent_at": [r.sent_at for r in rows],
        },
        schema=SENT_SCHEMA,
    )


async def send_target(
    prepared: PreparedLeads,
    connector: Connector,
    *,
    run_id: str,
    ledger: str | Path,
    dry_run: bool = False,
    resend: bool = False,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    gate: RequestGate | None = None,
    started: datetime | None = None,
    shared: SharedWindows | None = None,
    state: TargetState | None = None,
    leads: SharedLeads | None = None,
) -> pl.DataFrame:
    """Send the eligible leads to one target; its result rows (one per input row). ``gate``: a
    limit shared with other runs, around every request (the flow's flows.vendor_limits).
    ``shared``: the run's windows of ``prepared.clean`` (one per run, given to every target, so
    targets of the same profile compute them once); without it they are computed here.
    ``leads``: the batch's Leads, likewise shared by every target (flows.shared_leads), so a
    batch's names, emails and phones are held once, not once per target; made here without it.

    Under the target's ``compliance`` profile (voice and SMS), each lead's calling window from
    ``started`` (the run's start; default now) goes in its results, and a lead that may not be
    called is held (transforms.calling_windows.hold_outside_windows).

    ``state``: the target's breaker and rate from the run's earlier batches (flows.import_batches,
    where ``prepared.clean`` is one batch); a target stopped there sends nothing here. The
    ledger is opened once for all of them and kept in ``state`` (its maker closes it), as is the
    vendor session when the state keeps it (``TargetState.keep_session``: one login a run)."""
    target = connector.target
    decided = eligibility(
        prepared.clean, connector.channel, sms_allow_unknown_type=target.sms_allow_unknown_type
    )
    profile = target.compliance_profile()
    windows = None
    if profile is not None and connector.channel != "email":
        reference = started or datetime.now(UTC)
        windows = (
            shared.windows(prepared.clean, profile, reference)
            if shared is not None
            else with_call_windows(prepared.clean, profile, reference)
        )
        decided = hold_outside_windows(decided, windows, reference, scheduled=connector.schedules_by_zone())
    if connector.holds_extension_only():
        decided = hold_extension_only(decided)
    per = target.frequency.per if target.frequency is not None else None
    batch = leads if leads is not None else SharedLeads(prepared.clean, keyed=per is not None)
    to_send, people = _leads(decided, batch, per=per)
    del batch  # the caller's, when shared: this send keeps only its own list
    try:
        book = state.ledger if state is not None and state.ledger is not None else open_ledger(ledger)
    except LedgerUnavailable as error:
        rows = _not_claimed(to_send, str(error))
    else:
        if state is not None:
            state.ledger = book  # kept open for the next batch; closed by the state's maker
        with contextlib.nullcontext(book) if state is not None else book:
            rows = await dispatch(
                connector,
                to_send,
                ledger=book,
                run_id=run_id,
                dry_run=dry_run,
                resend=resend,
                transport=transport,
                progress=progress,
                gate=gate,
                state=state,
                people=people,
            )
    del to_send, people  # the result rows carry all that is needed from here on
    return build_results(
        prepared.clean,
        run_id=run_id,
        source_file=recorded_source(prepared.ingested.path).source_file,
        target=target.name,
        eligibility=decided.select("source_row", "eligible", "ineligible_reason"),
        sent=_sent_frame(rows),
        windows=windows,
    )
