"""What one target's sending carries from one ``dispatch`` call to the next.

A file sent in batches (flows.import_batches) calls ``dispatch`` once per batch and target. What
the engine learns of a target must outlive the call: a breaker opened in batch k (the vendor down,
a fatal ``AUTH_FAILED``) keeps the target stopped for every later batch, whose rows get its reason
without a request; the token bucket keeps the rate across batch boundaries (no burst at each
batch's start); and the external ids of a crashed run's chunks that the vendor could not settle
mark their rows ``POSSIBLY_DUPLICATED`` in whichever batch they come. The ledger stays open too,
and, with ``keep_session``, the vendor session (connectors.session): one login for the run's
batches, one logout at its end (:meth:`TargetState.end_session`, which the state's maker calls
whatever way the run ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.base import Connector
from connectors.breaker import CircuitBreaker
from connectors.ledger_types import LedgerBackend
from connectors.ratelimit import TokenBucket
from connectors.session import VendorSession

__all__ = ["TargetState"]


@dataclass
class TargetState:
    breaker: CircuitBreaker
    bucket: TokenBucket
    orphaned: set[str] = field(default_factory=set)
    """External ids of orphaned chunks the vendor could not settle (connectors.resume): sent
    again under these ids, and marked ``POSSIBLY_DUPLICATED`` where the vendor keeps repeats."""
    orphans_settled: bool = False
    """The chunks crashed runs left in flight were settled, by the run's first batch: later
    batches do not search the journal again (a run that crashes while this one sends leaves its
    leads claimed; this run reports them ``IN_PROGRESS_ELSEWHERE`` and the next run settles them)."""
    ledger: LedgerBackend | None = None
    """The ledger, opened once for the run's batches (flows.importer.send_target) and closed by
    whoever made the state."""
    keep_session: bool = False
    """True: the vendor session made by the first ``dispatch`` call is kept in :attr:`session`
    for the later ones, and the state's maker ends it with :meth:`end_session`. False: each call
    logs in and out on its own."""
    session: VendorSession | None = None

    @classmethod
    def of(cls, connector: Connector, *, keep_session: bool = False) -> TargetState:
        """A fresh state for the connector's target: breaker closed, bucket at its rate."""
        target = connector.target
        rate = target.rate_limit or connector.LIMITS.default_rate_limit
        breaker, bucket = CircuitBreaker(target.retry.breaker_failures), TokenBucket(rate)
        return cls(breaker, bucket, keep_session=keep_session)

    async def end_session(self) -> None:
        """Log out of the kept vendor session (when one was opened) and close its clients; the
        next ``dispatch`` would open a new one. A failing logout is logged, never raised."""
        session, self.session = self.session, None
        if session is not None:
            await session.aclose()
