"""The circuit breaker of one target: stop sending once the vendor is plainly down.

Counts consecutive requests that exhausted their retries; any settled request resets the count.
After ``threshold`` such failures, or at once on a ``FatalTargetError`` (``trip``), the breaker is
open for the rest of the run: the engine sends nothing more to the target and settles the
remaining rows as ``failed`` with :attr:`reason` and :attr:`message`.
"""

from __future__ import annotations

from schemas.codes import Issue

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    def __init__(self, threshold: int) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.failures = 0
        self.reason: str | None = None
        self.message: str | None = None

    @property
    def is_open(self) -> bool:
        return self.reason is not None

    def success(self) -> None:
        self.failures = 0

    def failure(self, message: str) -> None:
        """A request that exhausted its retries; opens the breaker at the threshold."""
        self.failures += 1
        if self.failures >= self.threshold and not self.is_open:
            self.reason = Issue.TARGET_STOPPED.value
            self.message = (
                f"target stopped after {self.failures} consecutive failed requests; last error: {message}"
            )

    def trip(self, reason: str, message: str) -> None:
        """Open now (a fatal error): remaining rows get ``reason`` and ``message``."""
        if not self.is_open:
            self.reason = reason
            self.message = message
