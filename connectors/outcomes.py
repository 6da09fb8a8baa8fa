"""One dispatch run's results: exactly one :class:`RowResult` per lead, in input order.

The engine (engine.py) decides what happens to a chunk; this table turns that into result rows
and the ledger rows that go with them. It is on the per-lead hot path of every send, so rows are
NamedTuples and plain tuples (a frozen dataclass costs several times as much to build) and enum
members are looked up once at import.

A lead gets its result from the first of: the ledger (``already_sent``), the vendor's answer
(``settle``), a failure of its chunk (``fail``), a body too large for the vendor (``too_large``),
or, for leads the run never reached because the target stopped, ``finish``. A later record of
the same lead replaces an earlier one (a retried chunk), so the count of settled rows is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from connectors.base import Chunk, Lead, RowOutcome
from connectors.errors import redact
from connectors.ledger_types import LedgerEntry, SettledRow
from connectors.secrets import SecretSet
from schemas.codes import Issue, Status

__all__ = ["ProgressCallback", "ResultTable", "RowResult"]

ProgressCallback = Callable[[int, int], None]
"""Called with (rows settled so far, rows in total) as results arrive."""

_FAILED = Status.FAILED
_ALREADY_SENT = Status.ALREADY_SENT
_DRY_RUN = Status.DRY_RUN
_NO_ENTRY = (Issue.TRANSPORT_FAILED.value,)
_ALREADY_SENT_REASONS = (Issue.ALREADY_SENT.value,)
_TOO_LARGE = (Issue.CHUNK_TOO_LARGE.value,)
_STOPPED = Issue.TARGET_STOPPED.value
_POSSIBLY_DUPLICATED = Issue.POSSIBLY_DUPLICATED.value
_VENDOR_DUPLICATE = Issue.VENDOR_DUPLICATE.value


def _aligned(leads: Sequence[Lead], outcomes: Sequence[RowOutcome]) -> list[RowOutcome]:
    """One outcome per lead in the leads' order, matched by ``source_row`` (the last one wins);
    a lead the vendor's answer missed gets a ``failed`` outcome."""
    by_row = {o.source_row: o for o in outcomes}
    return [
        by_row.get(lead.source_row)
        or RowOutcome(
            lead.source_row,
            _FAILED,
            _NO_ENTRY,
            vendor_message="the vendor's answer had no entry for this row",
        )
        for lead in leads
    ]


class RowResult(NamedTuple):
    """What became of one lead at one target."""

    source_row: int
    external_id: str
    status: Status
    reasons: tuple[str, ...] = ()
    vendor_id: str | None = None
    vendor_status: str | None = None
    vendor_message: str | None = None
    batch_id: str | None = None
    attempts: int = 0
    sent_at: datetime | None = None


_make_result = RowResult._make
"""Builds a :class:`RowResult` from all ten fields: about half the cost of calling the class (its
generated ``__new__`` with defaults), on the per-lead path."""


class ResultTable:
    """Results of one run, by the leads' position in the input; ``source_row`` must be unique."""

    def __init__(
        self,
        leads: Sequence[Lead],
        *,
        target: str,
        secrets: Iterable[str] = (),
        progress: ProgressCallback | None = None,
    ) -> None:
        self.leads = leads
        self.secrets = secrets if isinstance(secrets, SecretSet) else tuple(s for s in secrets if s)
        """A SecretSet stays live: tokens the vendor hands out later are redacted too."""
        self.progress = progress
        self.position = {lead.source_row: index for index, lead in enumerate(leads)}
        if len(self.position) != len(leads):
            counts = Counter(lead.source_row for lead in leads)
            twice = next(row for row, count in counts.items() if count > 1)
            raise ValueError(f"{target}: source_row {twice} appears twice")
        self.results: list[RowResult | None] = [None] * len(leads)
        self.settled = 0

    def record(self, result: RowResult) -> None:
        index = self.position[result.source_row]
        if self.results[index] is None:
            self.settled += 1
        self.results[index] = result

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.settled, len(self.leads))

    # --- what a run decides, per lead -------------------------------------------------------
    def already_sent(self, lead: Lead, entry: LedgerEntry) -> None:
        self.record(
            RowResult(
                lead.source_row,
                lead.external_id,
                _ALREADY_SENT,
                _ALREADY_SENT_REASONS,
                entry.vendor_id,
                entry.vendor_status,
                # delivered under the id an earlier version gave the lead: say so, the vendor knows it by that
                f"{entry.status} in run {entry.run_id}"
                + ("" if entry.external_id == lead.external_id else f" as {entry.external_id}"),
                entry.batch_id,
            )
        )

    def dry_run(self, chunk: Chunk) -> None:
        for lead in chunk.leads:
            self.record(RowResult(lead.source_row, lead.external_id, _DRY_RUN, batch_id=chunk.batch_id))

    def too_large(self, lead: Lead, limit: int | None) -> None:
        self.record(
            RowResult(
                lead.source_row,
                lead.external_id,
                _FAILED,
                _TOO_LARGE,
                vendor_message=f"this row alone exceeds the vendor's request limit of {limit} bytes",
            )
        )

    def fail(
        self,
        chunk: Chunk,
        reason: str | None,
        message: str | None,
        attempts: int,
        sent_at: datetime | None = None,
    ) -> list[SettledRow]:
        """Every lead of ``chunk`` failed; returns the chunk's ledger rows."""
        reasons = (reason or _STOPPED,)
        rows: list[SettledRow] = []
        batch_id = chunk.batch_id
        for lead in chunk.leads:
            result = RowResult(
                lead.source_row, lead.external_id, _FAILED, reasons, None, None, message, batch_id,
                attempts, sent_at,
            )  # fmt: skip
            self.record(result)
            rows.append((lead.external_id, _FAILED, None, None))
        return rows

    def settle(
        self, chunk: Chunk, outcomes: list[RowOutcome], attempts: int, sent_at: datetime
    ) -> list[SettledRow]:
        """The vendor's outcomes as results (a lead its answer missed is ``failed``); returns the
        chunk's ledger rows. Vendor messages are redacted of the target's secrets.

        Connectors answer in the chunk's order nearly always, so outcomes are matched by position
        when their rows line up and by ``source_row`` only when they do not; the loop records
        directly (what :meth:`record` does), because it runs once per lead sent."""
        leads = chunk.leads
        if [o.source_row for o in outcomes] != [lead.source_row for lead in leads]:
            outcomes = _aligned(leads, outcomes)
        secrets = self.secrets
        batch_id = chunk.batch_id
        position = self.position
        results = self.results
        fresh = 0
        rows: list[SettledRow] = []
        append = rows.append
        for lead, (source_row, status, reasons, vendor_id, vendor_status, said) in zip(
            leads, outcomes, strict=True
        ):
            message = redact(said, secrets) if said is not None and secrets else said
            external_id = lead.external_id
            index = position[source_row]
            if results[index] is None:
                fresh += 1
            results[index] = _make_result(
                (source_row, external_id, status, reasons, vendor_id, vendor_status, message, batch_id,
                 attempts, sent_at)
            )  # fmt: skip
            append((external_id, status, vendor_id, vendor_status))
        self.settled += fresh
        return rows

    def possibly_duplicated(self, leads: Iterable[Lead]) -> None:
        """Add ``POSSIBLY_DUPLICATED`` to these leads' results (a request carrying them may have
        been stored by the vendor although its answer was lost), except rows this run did not
        send (no attempts) and rows the vendor said it already had (``VENDOR_DUPLICATE``: a
        resend it recognised)."""
        for lead in leads:
            index = self.position[lead.source_row]
            result = self.results[index]
            if (
                result is None
                or not result.attempts
                or _POSSIBLY_DUPLICATED in result.reasons
                or _VENDOR_DUPLICATE in result.reasons
            ):
                continue
            self.results[index] = result._replace(reasons=(*result.reasons, _POSSIBLY_DUPLICATED))

    def sent_as(self, leads: Iterable[Lead]) -> None:
        """Say in their ``vendor_message`` that these leads went under the id they carry (an
        earlier version's, connectors.engine): the vendor knows them by it, the results by the
        new one. Rows this run did not send (no attempts) are left alone."""
        for lead in leads:
            index = self.position[lead.source_row]
            result = self.results[index]
            if result is None or not result.attempts:
                continue
            said = f"sent as {lead.external_id}, the id an earlier version gave this lead"
            message = f"{result.vendor_message}; {said}" if result.vendor_message else said
            self.results[index] = result._replace(vendor_message=message)

    def finish(self, reason: str | None, message: str | None) -> list[RowResult]:
        """Every lead's result in input order; leads never reached fail with ``reason``."""
        reasons = (reason or _STOPPED,)
        text = message or "not attempted"
        done = [
            result or RowResult(lead.source_row, lead.external_id, _FAILED, reasons, vendor_message=text)
            for lead, result in zip(self.leads, self.results, strict=True)
        ]
        self.report()
        return done
