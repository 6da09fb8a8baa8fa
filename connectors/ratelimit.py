"""A token bucket shared by every worker of one target: at most ``rate`` requests per second.

Tokens refill continuously; ``burst`` tokens can be spent at once after an idle spell (default
one, so requests are spaced evenly rather than fired in clumps that trip vendor throttles).
A ``None`` rate means unlimited and costs nothing per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    def __init__(
        self,
        rate: float | None,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (requests per second) or None for unlimited")
        if burst < 1:
            raise ValueError("burst must be at least 1 token")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one request may start."""
        if self.rate is None:
            return
        async with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                await asyncio.sleep(wait)
                self._stamp = self._clock()
                self._tokens = 1.0
            self._tokens -= 1.0
