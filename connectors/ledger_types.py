"""The ledger's contract: its keys and rows, and :class:`LedgerBackend`, which the SQLite ledger
(connectors.ledger) and the PostgreSQL ledger (connectors.ledger_pg) both fulfil and one test
suite checks on both. Semantics are documented on the SQLite ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from connectors.frequency import FrequencyLimit
    from transforms.people import People

__all__ = [
    "IN_FLIGHT",
    "SENT_STATUSES",
    "SETTLED",
    "UNSETTLED",
    "Claim",
    "LedgerBackend",
    "LedgerEntry",
    "LedgerUnavailable",
    "PendingChunk",
    "SettledRow",
    "Settlement",
    "TargetKey",
    "fold_settled",
]


class LedgerUnavailable(Exception):
    """The ledger cannot be opened (locked past its wait, server unreachable): the run sends
    nothing, since it cannot claim. The message names the ledger (never a password) and what to do."""


IN_FLIGHT = "in_flight"
SETTLED = "settled"
SENT_STATUSES = ("accepted", "submitted")
"""Ledger statuses that make a later run report the lead ``already_sent``."""
UNSETTLED = "unsettled"
"""The ledger's own status (no result row has it) of a crashed run's lead the vendor could not
say it holds (connectors.resume): whichever run or partition sends it next sends it under this
id and, where the vendor keeps repeats, marks its row ``POSSIBLY_DUPLICATED``."""


@dataclass(frozen=True, slots=True)
class TargetKey:
    """Where leads went: the vendor endpoint and campaign, independent of the target's name."""

    kind: str
    base_url: str
    campaign: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    external_id: str
    status: str
    vendor_id: str | None
    vendor_status: str | None
    batch_id: str | None
    run_id: str


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """A chunk some earlier run recorded in flight and never settled."""

    batch_id: str
    external_ids: tuple[str, ...]
    run_id: str


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`Ledger.begin_chunk` got: the leads this run now holds and may send, and for
    the others the run that holds them (a live run, or one that settled them)."""

    batch_id: str
    """The batch id the claimed leads are in flight under (the chunk's, or ``batch_of`` theirs)."""
    claimed: tuple[str, ...]
    held: dict[str, str] = field(default_factory=dict)
    """external id -> run id of its holder, for the leads not claimed."""
    limited: tuple[str, ...] = ()
    """Leads not claimed because their person reached the frequency limit (connectors.frequency)."""


class Settlement(NamedTuple):
    external_id: str
    status: str
    vendor_id: str | None = None
    vendor_status: str | None = None


SettledRow = tuple[str, str, str | None, str | None]
"""(external_id, status, vendor_id, vendor_status): a :class:`Settlement` or a plain tuple."""


def fold_settled(
    found: dict[str, LedgerEntry], settled: Iterable[tuple[str, str, Sequence[Sequence[Any]]]]
) -> None:
    """Fold settled journal rows ``(batch_id, run_id, rows)``, in journal order, into ``found``:
    a later row replaces an earlier one, except that a vendor id once known is kept."""
    for batch_id, run_id, rows in settled:
        for external_id, status, answered_id, vendor_status in rows:
            vendor_id = answered_id
            if vendor_id is None and (earlier := found.get(external_id)) is not None:
                vendor_id = earlier.vendor_id
            found[external_id] = LedgerEntry(external_id, status, vendor_id, vendor_status, batch_id, run_id)


class LedgerBackend(Protocol):
    """What the engine and the resume path need of a ledger."""

    def close(self) -> None: ...
    def __enter__(self) -> LedgerBackend: ...
    def __exit__(self, *exc: object) -> None: ...
    def entries(
        self, key: TargetKey, external_ids: Iterable[str] | None = None
    ) -> dict[str, LedgerEntry]: ...
    def pending_chunks(self, key: TargetKey, *, exclude_run: str) -> list[PendingChunk]: ...
    def chunk_state(self, key: TargetKey, batch_id: str) -> str | None: ...
    def live_runs(self, key: TargetKey) -> frozenset[str]: ...
    def lease(self, key: TargetKey, run_id: str) -> contextlib.AbstractContextManager[None]: ...
    def begin_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        external_ids: Sequence[str],
        run_id: str,
        *,
        takeover: bool = False,
        batch_of: Callable[[Sequence[str]], str] | None = None,
        people: People | Sequence[Sequence[int]] | None = None,
        limit: FrequencyLimit | None = None,
        legacy: Callable[[], Sequence[Sequence[int]]] | None = None,
    ) -> Claim: ...
    def plan_limit(
        self, key: TargetKey, external_ids: Sequence[str], *, people: People, limit: FrequencyLimit
    ) -> None: ...
    def preview_limit(
        self,
        key: TargetKey,
        external_ids: Sequence[str],
        *,
        people: People | Sequence[Sequence[int]],
        limit: FrequencyLimit,
        legacy: Callable[[], Sequence[Sequence[int]]] | None = None,
        pending: Mapping[int, Iterable[str]] | None = None,
    ) -> tuple[str, ...]: ...
    def release(self, key: TargetKey, external_ids: Iterable[str], run_id: str) -> None: ...
    def settle_chunk(
        self, key: TargetKey, batch_id: str, rows: Iterable[SettledRow], run_id: str, *, state: str = SETTLED
    ) -> None: ...
