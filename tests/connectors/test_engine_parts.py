"""The engine's small parts: backoff with jitter and Retry-After, the token bucket, the breaker."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.breaker import CircuitBreaker
from connectors.config import RetryPolicy
from connectors.errors import FatalTargetError, TransientError
from connectors.ratelimit import TokenBucket
from connectors.retry import backoff_delay, call_with_retries, is_transient
from schemas.codes import Issue

POLICY = RetryPolicy(attempts=5, backoff=0.5, max_backoff=4.0)


@given(retry=st.integers(min_value=1, max_value=30), draw=st.floats(min_value=0.0, max_value=1.0))
def test_backoff_is_full_jitter_under_the_doubling_ceiling(retry: int, draw: float) -> None:
    delay = backoff_delay(POLICY, retry, uniform=lambda low, high: low + (high - low) * draw)
    assert 0.0 <= delay <= min(POLICY.max_backoff, POLICY.backoff * 2 ** (retry - 1))


@pytest.mark.parametrize(("retry_after", "expected"), [(0.0, 0.0), (2.5, 2.5), (3600.0, 4.0), (-1.0, 0.0)])
def test_retry_after_replaces_the_backoff_within_the_ceiling(retry_after: float, expected: float) -> None:
    assert backoff_delay(POLICY, 1, retry_after, uniform=lambda low, high: high) == expected


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientError("503"), True),
        (httpx.ReadTimeout("slow"), True),
        (httpx.ConnectError("refused"), True),
        (httpx.RemoteProtocolError("dropped"), True),
        (TimeoutError(), True),
        (httpx.UnsupportedProtocol("ftp://"), False),
        (FatalTargetError("bad campaign", reason="TARGET_MISCONFIGURED"), False),
        (ValueError("bug"), False),
    ],
)
def test_only_transient_failures_are_retried(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_fatal_stop_must_name_its_reason_rather_than_default_to_a_transient_one() -> None:
    # TRANSPORT_FAILED, the base's default, would have the watched folder retry a stop that only
    # a person can clear
    with pytest.raises(TypeError, match="reason"):
        FatalTargetError("bad campaign")  # type: ignore[call-arg]


async def test_call_with_retries_retries_transient_errors_then_gives_up() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused")
        return "ok"

    policy = RetryPolicy(attempts=3, backoff=0.001)
    assert await call_with_retries(flaky, policy, what="t") == "ok"

    calls = -10
    with pytest.raises(httpx.ConnectError):
        await call_with_retries(flaky, policy, what="t")
    assert calls == -7


async def test_token_bucket_spaces_requests_at_the_rate() -> None:
    bucket = TokenBucket(50.0)
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(11)))
    assert time.monotonic() - started >= 10 / 50 * 0.95


async def test_unlimited_bucket_never_waits() -> None:
    bucket = TokenBucket(None)
    started = time.monotonic()
    for _ in range(1000):
        await bucket.acquire()
    assert time.monotonic() - started < 0.5


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(3)
    breaker.failure("a")
    breaker.failure("b")
    breaker.success()
    breaker.failure("c")
    breaker.failure("d")
    assert not breaker.is_open
    breaker.failure("e")
    assert breaker.is_open
    assert breaker.reason == Issue.TARGET_STOPPED.value
    assert "3 consecutive" in (breaker.message or "")
    assert "e" in (breaker.message or "")


def test_a_trip_keeps_the_first_fatal_reason() -> None:
    breaker = CircuitBreaker(5)
    breaker.trip(Issue.AUTH_FAILED.value, "refused")
    breaker.trip(Issue.TARGET_STOPPED.value, "later")
    assert (breaker.reason, breaker.message) == (Issue.AUTH_FAILED.value, "refused")
