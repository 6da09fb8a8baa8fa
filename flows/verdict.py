"""Whether a run sent what it should have: one verdict per target, one exit code per run.

The summary of a run (transforms.summary) says how many rows of each target ended in each
status; this module turns it into the answer a person, a shell script or a Prefect automation
needs: did everything that should be sent arrive, and if not, what to do. ``leadflow import``
(with or without ``--prefect``), the ``import_leads`` flow's final state and the watched
folder all judge a run here, so they cannot disagree.

Exit codes (README, "Exit codes"):

====  =====================================================================================
0     everything that should be sent was sent: ``accepted``, ``submitted``, ``already_sent``
      (or ``dry_run``); rows our own checks kept back (``rejected``, ``duplicate``,
      ``suppressed``, ``ineligible``) are the input's outcome, not a failure to send
1     a bad input file or setting (one ``Error:`` line); 2 is a command-line usage error
3     some rows ``failed`` (transport, authentication): rerun the same import, the ledger
      sends only what was not delivered
4     a target was stopped (rows never attempted, ``TARGET_STOPPED``, ``TARGET_MISCONFIGURED``,
      ``AUTH_FAILED``, ``LEDGER_UNAVAILABLE``, ``PARTITION_FAILED``), also one stopped before
      sending that had no row to send (its ``stopped`` fact), or
      nothing could be sent to a target that had rows to send
130   stopped by Ctrl-C (SIGINT) before it finished: no run folder; rerun the same import
====  =====================================================================================

A target stopped before anything was sent (a uContact template naming a column the file lacks:
flows.import_batches ``check_columns``; MaxContact refusing our login while its list is
prepared) fails the rows it would have sent, but when it had none (every row rejected, a
duplicate, suppressed, already sent) no row says so. The per-target facts carry the stop as
``stopped`` (:func:`stop_fact`: the reason and message of the target's breaker, whenever it
opened), and a target with a stop and no failed row is ``stopped`` whatever its rows, its line
and :meth:`RunVerdict.problem` saying why.

``vendor_rejected`` rows (the vendor refused the row itself) and
rows ``failed`` as ``CHUNK_TOO_LARGE`` (one row over the vendor's request size) do not change
the exit code: sending the same row again gets the same answer, so they are reported like
``rejected`` rows, as rows needing attention, and each target's verdict line counts them.
Of those, a row refused as "already exists" (``VENDOR_ID_CONFLICT``) after our own request for
it lost its answer (``POSSIBLY_DUPLICATED``: MaxContact, which cannot be asked) is most likely
stored, by that request: the line counts it apart, to check at the vendor, not to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import polars as pl

from schemas.codes import Issue, Status

__all__ = ["ExitCode", "RunVerdict", "SendIncomplete", "SendVerdict", "TargetVerdict", "judge", "stop_fact"]

_DELIVERED = (Status.ACCEPTED, Status.SUBMITTED, Status.ALREADY_SENT)
_STOPPING = (
    Issue.TARGET_STOPPED,
    Issue.TARGET_MISCONFIGURED,
    Issue.AUTH_FAILED,
    Issue.LEDGER_UNAVAILABLE,
    Issue.PARTITION_FAILED,
)
_NEEDS_A_PERSON = frozenset({Issue.AUTH_FAILED.value, Issue.TARGET_MISCONFIGURED.value})
"""Failed rows' reasons another attempt with the same settings meets again: the vendor refused our
credentials or the target's setup (connectors.errors ``FatalTargetError``)."""
_NOT_SENT_BY_US = (Status.REJECTED, Status.DUPLICATE, Status.SUPPRESSED, Status.INELIGIBLE)
_TOO_LARGE = Issue.CHUNK_TOO_LARGE.value
_ELSEWHERE = Issue.IN_PROGRESS_ELSEWHERE.value
_POSSIBLY_DUPLICATED = Issue.POSSIBLY_DUPLICATED.value
_FAILURE_REASONS = frozenset(
    {Issue.TRANSPORT_FAILED.value, Issue.AUTH_FAILED.value, Issue.TARGET_STOPPED.value}
    | {Issue.TARGET_MISCONFIGURED.value}
    | {"POSSIBLY_DUPLICATED", "VENDOR_ANSWER_INVALID", "LEDGER_UNAVAILABLE", "PARTITION_FAILED", _ELSEWHERE}
)
"""Reasons named for failed rows when only a summary is at hand (its reason counts mix every
status); ``send_facts`` names the failed rows' own first reasons instead."""
_RERUN = "run the same import again once the cause is fixed: the ledger sends only what was not delivered"


class ExitCode(IntEnum):
    OK = 0
    USER_ERROR = 1
    USAGE = 2
    ROWS_FAILED = 3
    TARGET_FAILED = 4
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT), 128 + 2 as a shell reports it: no verdict, no run folder."""


class SendVerdict(StrEnum):
    SENT = "sent"
    """No row failed (rows the vendor refused are counted, not failed)."""
    DRY_RUN = "dry run"
    NOTHING_TO_SEND = "nothing to send"
    ROWS_FAILED = "rows failed"
    STOPPED = "stopped"
    NOTHING_SENT = "nothing sent"


_CODES = {
    SendVerdict.SENT: ExitCode.OK,
    SendVerdict.DRY_RUN: ExitCode.OK,
    SendVerdict.NOTHING_TO_SEND: ExitCode.OK,
    SendVerdict.ROWS_FAILED: ExitCode.ROWS_FAILED,
    SendVerdict.STOPPED: ExitCode.TARGET_FAILED,
    SendVerdict.NOTHING_SENT: ExitCode.TARGET_FAILED,
}


@dataclass(frozen=True)
class TargetVerdict:
    """One target's outcome in numbers, and the one line that says it."""

    target: str
    verdict: SendVerdict
    delivered: int
    failed: int
    vendor_rejected: int
    kept_back: int
    dry_run: int
    failure_reasons: tuple[tuple[str, int], ...]
    already: int = 0
    """Of ``delivered``, the rows an earlier run delivered (``already_sent``): not sent by this one."""
    predicted: bool = False
    """The run was a dry run: nothing was sent, whatever the statuses say."""
    stopped: tuple[str, str] | None = None
    """(reason, message) of the target's stop, when it was stopped (:func:`stop_fact`)."""
    held_after_lost: int = 0
    """Of ``vendor_rejected``, the rows the vendor said it already holds after our request for
    them lost its answer (module docstring): most likely stored, not to be fixed."""

    @property
    def code(self) -> ExitCode:
        return _CODES[self.verdict]

    @property
    def ok(self) -> bool:
        return self.code is ExitCode.OK

    @property
    def causes(self) -> tuple[str, ...]:
        """Why the target's rows were not all sent: its failed rows' reasons, most frequent
        first, then its stop's reason (:attr:`stopped`) when no row gave it."""
        reasons = tuple(reason for reason, _ in self.failure_reasons)
        if self.stopped is not None and self.stopped[0] not in reasons:
            reasons += (self.stopped[0],)
        return reasons

    @property
    def login_refused(self) -> bool:
        """Rows failed because the vendor refused our credentials (``AUTH_FAILED``)."""
        return Issue.AUTH_FAILED.value in self.causes

    @property
    def misconfigured(self) -> bool:
        """Rows failed because the vendor refused the target's setup (``TARGET_MISCONFIGURED``:
        an unknown campaign or list, settings or a batch refused as a whole), or the target was
        stopped before sending for it (a template naming a column the file lacks)."""
        return Issue.TARGET_MISCONFIGURED.value in self.causes

    @property
    def needs_a_person(self) -> bool:
        """Rows left unsent for a cause another attempt with the same settings meets again: the
        vendor refused our credentials or the target's setup (:data:`_NEEDS_A_PERSON`), whatever
        else failed beside them. A target stopped for failures that pass (``TARGET_STOPPED``:
        the breaker after transport failures, the vendor or Prefect's limits out of reach) does
        not need one."""
        return not self.ok and any(reason in _NEEDS_A_PERSON for reason in self.causes)

    @property
    def stopped_unsent(self) -> bool:
        """Stopped before sending with no row to send: no failed row tells why, :attr:`stopped` does."""
        return self.verdict is SendVerdict.STOPPED and not self.failed and self.stopped is not None

    def line(self) -> str:
        """``obi: 30 of 40 delivered, 10 failed (TRANSPORT_FAILED 10); run the same ...``."""
        owed = self.delivered + self.failed + self.vendor_rejected
        kept = f"; {self.kept_back:,} kept back by our checks" if self.kept_back else ""
        for_good = self.vendor_rejected - self.held_after_lost
        refused = (
            f"; {for_good:,} refused for good (by the vendor, or too large for it): "
            "fix those rows, see the report"
            if for_good
            else ""
        ) + (f"; {_held_said(self.held_after_lost)}, see the report" if self.held_after_lost else "")
        earlier = f"; {self.already:,} already delivered by an earlier run" if self.already else ""
        if self.verdict is SendVerdict.DRY_RUN:
            would = f"{self.dry_run:,} would be sent{earlier}{kept}"
            return f"{self.target}: not sent (dry run or validate), {would}"
        if self.verdict is SendVerdict.NOTHING_TO_SEND:
            return f"{self.target}: nothing to send{kept}"
        if self.verdict is SendVerdict.SENT:
            return f"{self.target}: {self._sent_line(owed)}{refused}{kept}"
        if self.stopped_unsent:
            said = self.stop_said()
            return f"{self.target}: STOPPED before sending, no row to send{earlier}{kept}; {said}"
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in self.failure_reasons)
        because = f" ({reasons})" if reasons else ""
        what = {
            SendVerdict.ROWS_FAILED: "rows failed",
            SendVerdict.STOPPED: "STOPPED",
            SendVerdict.NOTHING_SENT: "NOTHING SENT",
        }[self.verdict]
        return (
            f"{self.target}: {what}, {self.delivered:,} of {owed:,} delivered, {self.failed:,} failed"
            f"{because}{refused}; {_RERUN}"
        )

    def stop_said(self) -> str | None:
        """``REASON: message`` of a stop before sending (:attr:`stopped`), the message without
        its leading target name; None without one."""
        if self.stopped is None:
            return None
        reason, message = self.stopped
        return f"{reason}: {message.removeprefix(f'{self.target}: ')}"

    def _sent_line(self, owed: int) -> str:
        """What a target without failed rows did: sent, or nothing because an earlier run
        delivered it all (a rerun, or a dry run of a file already sent), or all refused."""
        fresh = self.delivered - self.already
        if fresh or (not self.already and not self.vendor_rejected):
            by_earlier = f" ({self.already:,} of them by an earlier run)" if self.already else ""
            return f"sent, {self.delivered:,} of {owed:,} delivered{by_earlier}"
        if not self.already:
            return f"all refused by the vendor, 0 of {owed:,} delivered"
        if self.vendor_rejected:
            label = "none delivered by this run"
        else:
            label = "would send nothing (dry run)" if self.predicted else "nothing to send"
        return f"{label}, {self.already:,} of {owed:,} already delivered by an earlier run"


@dataclass(frozen=True)
class RunVerdict:
    targets: tuple[TargetVerdict, ...]

    @property
    def code(self) -> ExitCode:
        return max((t.code for t in self.targets), default=ExitCode.OK)

    @property
    def ok(self) -> bool:
        return self.code is ExitCode.OK

    def needing_a_person(self) -> tuple[TargetVerdict, ...]:
        """The targets whose unsent rows no later attempt with the same settings can send
        (:attr:`TargetVerdict.needs_a_person`): the watched folder does not retry them by itself."""
        return tuple(target for target in self.targets if target.needs_a_person)

    def conclusion(self) -> str:
        """What the exit code means for this run, after ``Exit code N: ``: for a failed run its
        :meth:`problem`; for exit 0, what was done, in words that do not contradict the target
        lines (nothing sent by a rerun or a dry run, rows the vendor refused for good)."""
        if not self.ok:
            return self.problem(brief=True)
        held = sum(t.held_after_lost for t in self.targets)
        refused = sum(t.vendor_rejected for t in self.targets) - held
        if any(t.predicted or t.verdict is SendVerdict.DRY_RUN for t in self.targets):
            done = "a dry run: nothing was sent; the lines above say what would be"
        elif any(t.delivered > t.already for t in self.targets):
            done = (
                "everything that could be delivered was delivered"
                if refused
                else "everything that should be sent was sent"
            )
        elif any(t.already for t in self.targets):
            done = "nothing left to send: an earlier run delivered it"
        else:
            done = "nothing left to send"
        if refused:
            done += (
                f"; {refused:,} rows refused for good (by the vendor, or too large for it): "
                "fix those rows (see the report)"
            )
        if held:
            done += f"; {_held_said(held)} (see the report)"
        return done

    def problem(self, *, brief: bool = False) -> str:
        """One line for a failed run (Prefect state message, the watched folder's notes).
        ``brief``: a stop before sending named by its reason only, its message left to the
        target's own line printed above (the terminal's last line, :meth:`conclusion`)."""
        bad = [t for t in self.targets if not t.ok]
        if not bad:
            return "everything that should be sent was sent"
        parts = []
        for t in bad:
            if t.stopped_unsent and t.stopped is not None:
                said = f"({t.stopped[0]}, see its line above)" if brief else f"; {t.stop_said()}"
                parts.append(f"{t.target} stopped before sending, no row to send{' ' if brief else ''}{said}")
                continue
            reasons = ", ".join(f"{reason} {count:,}" for reason, count in t.failure_reasons)
            parts.append(f"{t.target} {t.verdict.value}: {t.failed:,} failed ({reasons or 'no reason'})")
        return "not everything was sent: " + "; ".join(parts)


def _count(statuses: Mapping[str, int], wanted: tuple[Status, ...]) -> int:
    return sum(int(statuses.get(status.value, 0)) for status in wanted)


def _held_said(rows: int) -> str:
    """The rows a vendor said it already holds after our request for them lost its answer."""
    return (
        f"{rows:,} the vendor already holds, most likely from our request whose answer was lost: "
        "check them at the vendor"
    )


def send_facts(results: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """What the verdict needs of result rows, per target, small and JSON-able (it travels in the
    flow's return value to ``--prefect`` and the watched folder): ``statuses`` (counts),
    ``failed_reasons`` (the first reason of each failed row, counted), ``not_attempted``
    (failed rows never sent: the target had been stopped), ``too_large`` (failed rows too
    large for the vendor, ``CHUNK_TOO_LARGE``: permanent, like a vendor's refusal) and
    ``held_after_lost`` (refused rows the vendor already holds after a lost answer: module
    docstring)."""
    frame = results.select(
        "target",
        "status",
        first=pl.col("reasons").list.first(),
        attempts=pl.col("attempts").fill_null(0),
        held=(pl.col("status") == Status.VENDOR_REJECTED.value)
        & pl.col("reasons").list.contains(Issue.VENDOR_ID_CONFLICT.value)
        & pl.col("reasons").list.contains(_POSSIBLY_DUPLICATED),
    )
    failed = frame.filter(pl.col("status") == Status.FAILED.value)
    too_large = pl.col("first") == _TOO_LARGE
    elsewhere = pl.col("first") == _ELSEWHERE  # not sent by design, not because the target stopped
    facts: dict[str, dict[str, Any]] = {}
    for (target,), rows in frame.group_by("target", maintain_order=True):
        mine = failed.filter(pl.col("target") == target)
        facts[str(target)] = {
            "statuses": dict(rows.group_by("status").len().sort("status").iter_rows()),
            "failed_reasons": dict(
                mine.filter(~too_large.fill_null(False))
                .group_by("first")
                .len()
                .drop_nulls("first")
                .sort(["len", "first"], descending=[True, False])
                .iter_rows()
            ),
            "not_attempted": mine.filter(
                (pl.col("attempts") == 0) & ~too_large.fill_null(False) & ~elsewhere.fill_null(False)
            ).height,
            "too_large": mine.filter(too_large.fill_null(False)).height,
            "held_after_lost": int(rows.get_column("held").fill_null(False).sum()),
        }
    return facts


def stop_fact(reason: str, message: str) -> dict[str, str]:
    """A target's ``stopped`` fact (beside :func:`send_facts`' figures, and in summary.json's and
    run.json's entry of the target): it was stopped (its breaker opened) for ``reason`` (an
    Issue code), ``message`` saying why and what to fix. Its verdict is ``stopped`` even when it
    had no row to send, which happens only to a target stopped before it sent anything."""
    return {"reason": reason, "message": message}


def _facts_from_summary(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict's facts as far as a summary (transforms.summary) tells them: failed rows'
    reasons from the target's reason counts, nothing known of attempts; a stop before sending
    when the summary records it."""
    reasons: Mapping[str, int] = figures.get("reasons", {})
    facts = {
        "statuses": figures.get("statuses", {}),
        "failed_reasons": {r: n for r, n in reasons.items() if r in _FAILURE_REASONS and n},
        "not_attempted": 0,
        "too_large": 0,
    }
    if "stopped" in figures:
        facts["stopped"] = figures["stopped"]
    return facts


def _judge_target(name: str, facts: Mapping[str, Any], *, predicted: bool = False) -> TargetVerdict:
    statuses: Mapping[str, int] = facts.get("statuses", {})
    failed_reasons: Mapping[str, int] = facts.get("failed_reasons", {})
    too_large = int(facts.get("too_large", 0))
    delivered = _count(statuses, _DELIVERED)
    failed = _count(statuses, (Status.FAILED,)) - too_large
    refused = _count(statuses, (Status.VENDOR_REJECTED,)) + too_large
    dry_run = _count(statuses, (Status.DRY_RUN, Status.READY))
    stop: Mapping[str, str] | None = facts.get("stopped")
    if failed <= 0 and stop is not None:  # stopped before sending, with no row it would have sent
        verdict = SendVerdict.STOPPED
    elif failed > 0:
        stopped = int(facts.get("not_attempted", 0)) > 0 or any(
            failed_reasons.get(code.value, 0) for code in _STOPPING
        )
        verdict = (
            SendVerdict.STOPPED
            if stopped
            else SendVerdict.NOTHING_SENT
            if not delivered
            else SendVerdict.ROWS_FAILED
        )
    elif dry_run:
        verdict = SendVerdict.DRY_RUN
    elif delivered or refused:
        verdict = SendVerdict.SENT
    else:
        verdict = SendVerdict.NOTHING_TO_SEND
    return TargetVerdict(
        target=name,
        verdict=verdict,
        delivered=delivered,
        failed=max(failed, 0),
        vendor_rejected=refused,
        kept_back=_count(statuses, _NOT_SENT_BY_US),
        dry_run=dry_run,
        failure_reasons=tuple((str(r), int(n)) for r, n in failed_reasons.items() if n) if failed > 0 else (),
        already=_count(statuses, (Status.ALREADY_SENT,)),
        predicted=predicted,
        stopped=(str(stop["reason"]), str(stop["message"])) if stop is not None else None,
        held_after_lost=min(int(facts.get("held_after_lost", 0)), refused),
    )


def judge(summary: Mapping[str, Any], *, dry_run: bool = False) -> RunVerdict:
    """The verdict of a run: from its ``send`` facts (``send_facts``; the flow's return value
    carries them), else from the summary's counts (``summarize``'s dict, e.g. summary.json).
    ``dry_run``: the run sent nothing (its lines say what it would have done)."""
    facts: Mapping[str, Mapping[str, Any]] | None = summary.get("send")
    if facts is None:
        targets: Mapping[str, Mapping[str, Any]] = summary.get("targets", {})
        facts = {name: _facts_from_summary(figures) for name, figures in targets.items()}
    return RunVerdict(
        tuple(_judge_target(str(name), figures, predicted=dry_run) for name, figures in facts.items())
    )


class SendIncomplete(Exception):
    """The ``import_leads`` flow's failure when rows failed or a target stopped.

    The run itself finished: its folder and results are written, and ``summary`` is the flow's
    usual return value (``run_id``, ``run_dir`` and the counts), so that a caller holding the
    failed state can still report the run. The message names targets and reasons, never a
    credential.
    """

    def __init__(self, message: str, summary: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.summary = dict(summary)

    def __reduce__(self) -> tuple[type[SendIncomplete], tuple[str, dict[str, Any]]]:
        return (type(self), (self.message, self.summary))

    def __str__(self) -> str:
        return self.message
