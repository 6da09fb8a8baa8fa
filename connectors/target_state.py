"""What one target's sending carries from one ``dispatch`` call to the next.

A file sent in batches (flows.import_batches) calls ``dispatch`` once per batch and target. What
the engine learns of a target must outlive the call: a breaker opened in batch k (the vendor down,
a fatal ``AUTH_FAILED``) keeps the target stopped for every later batch, whose rows get its reason
without a request; the token bucket keeps the rate across batch boundaries (no burst at each
batch's start); and the external ids of a crashed run's chunks that the vendor could not settle
mark their rows ``POSSIBLY_DUPLICATED`` in whichever batch they come. The ledger stays open too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.base import Connector
from connectors.breaker import CircuitBreaker
from connectors.ledger_types import LedgerBackend
from connectors.ratelimit import TokenBucket

__all__ = ["TargetState"]


@dataclass
class TargetState:
    breaker: CircuitBreaker
    bucket: TokenBucket
    orphaned: set[str] = field(default_factory=set)
    """External ids of orphaned chunks the vendor could not settle (connectors.resume)."""
    ledger: LedgerBackend | None = None
    """The ledger, opened once for the run's batches (flows.importer.send_target) and closed by
    whoever made the state: its reading of what was delivered is brought up to date batch by
    batch instead of read whole each time."""

    @classmethod
    def of(cls, connector: Connector) -> TargetState:
        """A fresh state for the connector's target: breaker closed, bucket at its rate."""
        target = connector.target
        rate = target.rate_limit or connector.LIMITS.default_rate_limit
        return cls(CircuitBreaker(target.retry.breaker_failures), TokenBucket(rate))
