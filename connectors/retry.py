"""When to try a request again, and how long to wait first.

Retrying a POST that creates contacts is only safe because every lead carries a deterministic
external id and the ledger records the chunk in flight (STYLE habit 6): a request that timed out
after the vendor stored it comes back as the vendor's "already exists", counted as accepted.

Transient: ``TransientError`` (429/5xx via ``Connector.classify``) and ``httpx.TransportError``
(timeouts, connect errors, dropped connections) and the engine's own per-request deadline
(``TimeoutError``), except ``UnsupportedProtocol`` which is a
configuration mistake. Everything else of a request's path is not retried: an answer that
cannot be read becomes a ``VendorAnswerError`` (``answer_error``), whose rows fail at once because
the vendor may already hold them (see the tree in connectors.errors).

The pause before retry *n* (1-based) is full jitter,
``uniform(0, min(max_backoff, backoff * 2**(n-1)))``; a vendor's ``Retry-After`` replaces it,
capped by ``max_backoff`` so a hostile header cannot park the run for an hour.

``outcome_unknown``: of those, the ones that leave the request's fate unknown, because the request
was out and the vendor may have processed it (a timeout waiting for the answer, a connection lost
or an answer unreadable after the body went out). A vendor's 429/5xx answer and a failure to
connect or to write the body are known: not processed; so is any failure of the login a token
flow sent first (connectors.auth): the request it was for never went out in that attempt, or went
out and was answered "expired".
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import httpx

from connectors.auth import LOGIN
from connectors.config import RetryPolicy
from connectors.errors import (
    AnswerDeadlineError,
    ConnectorError,
    TransientError,
    VendorAnswerError,
    redact,
)

__all__ = [
    "answer_error",
    "backoff_delay",
    "call_with_retries",
    "is_transient",
    "outcome_unknown",
    "retry_after_of",
]

T = TypeVar("T")
log = logging.getLogger("leadflow.connectors")


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another attempt."""
    if isinstance(exc, TransientError | TimeoutError):
        return True
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)


def answer_error(exc: BaseException, target: str) -> VendorAnswerError:
    """``exc`` (not transient, not fatal) as the error of an answer that cannot be read: a
    corrupt ``Content-Encoding`` body (``httpx.DecodingError``), any other ``httpx.HTTPError``,
    text that is not what it claims (``UnicodeDecodeError``), XML defusedxml refuses, or whatever
    a connector raised while reading. The message keeps the type and text (redacted later by
    the engine); the request, which carries our credentials, stays behind."""
    if isinstance(exc, VendorAnswerError):
        return exc
    if isinstance(exc, ConnectorError):
        return VendorAnswerError(str(exc), target=target, reason=exc.reason)
    return VendorAnswerError(f"{target}: unreadable answer: {type(exc).__name__}: {exc}", target=target)


_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)
"""Transport errors raised before the vendor had the whole request."""


def outcome_unknown(exc: BaseException) -> bool:
    """Whether the vendor may have processed the request that failed with ``exc``: the answer
    was lost, came too late (the deadline passed after the request left), or came but could not
    be read (a corrupt, oversized or malformed answer is still an answer to a stored request).
    A failed login (connectors.auth's ``LOGIN``) leaves nothing unknown: the request waited for it."""
    failed = _request_of(exc)
    if failed is not None and failed.extensions.get(LOGIN):
        return False
    if isinstance(exc, AnswerDeadlineError | VendorAnswerError):
        return True
    if isinstance(exc, TransientError):
        return False
    if isinstance(exc, TimeoutError | httpx.DecodingError):
        return True
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, _NOT_SENT)


def _request_of(exc: BaseException) -> httpx.Request | None:
    """The request that failed with ``exc``, when it says."""
    if isinstance(exc, ConnectorError):
        return exc.request
    if isinstance(exc, httpx.RequestError):
        try:
            return exc.request
        except RuntimeError:  # raised without one
            return None
    return None


def retry_after_of(exc: BaseException) -> float | None:
    """The vendor's Retry-After in seconds, when ``exc`` carries one."""
    return exc.retry_after if isinstance(exc, TransientError) else None


def backoff_delay(
    policy: RetryPolicy,
    retry: int,
    retry_after: float | None = None,
    *,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.max_backoff)
    ceiling = min(policy.max_backoff, policy.backoff * 2.0 ** (retry - 1))
    return uniform(0.0, ceiling)


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    secrets: Iterable[str] = (),
) -> T:
    """``await call()``, retried on transient errors per ``policy`` (idempotent calls only:
    opening a target, reconcile searches, a logout: connectors.session). The last error propagates."""
    retry = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            retry += 1
            if not is_transient(exc) or retry >= policy.attempts:
                raise
            delay = backoff_delay(policy, retry, retry_after_of(exc))
            log.info(
                "%s: try %d failed (%s); retrying in %.2fs", what, retry, redact(str(exc), secrets), delay
            )
            await asyncio.sleep(delay)
