"""The connectors' exception tree: every failure lands in one of three buckets.

::

    ConnectorError                  base; carries .target and, where known, .request
     +-- TransientError             retry with backoff (429, 5xx, timeouts, dropped connections)
     +-- FatalTargetError           stop this target; its remaining rows become ``failed``
          +-- AuthenticationError   the vendor refused our credentials

Per-row problems are never exceptions: they are ``RowOutcome``s (connectors.base).
Messages say what happened, where and what to do; they never contain credentials, tokens
or session ids (``redact`` removes the known secret values before a message is built).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

__all__ = [
    "AuthenticationError",
    "ConnectorError",
    "FatalTargetError",
    "TransientError",
    "redact",
    "truncate",
]

_BODY_LIMIT = 300


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret value in ``text`` by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def truncate(text: str, limit: int = _BODY_LIMIT) -> str:
    """Vendor bodies can be megabytes of HTML: keep the start, say how much was cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more chars)"


class ConnectorError(Exception):
    """Base of every connector error."""

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        request: httpx.Request | None = None,
        reason: str = "TRANSPORT_FAILED",
    ) -> None:
        super().__init__(message)
        self.target = target
        self.request = request
        self.reason = reason
        """An schemas.codes.Issue value for the rows this error settles."""


class TransientError(ConnectorError):
    """Worth retrying after a pause (``retry_after`` seconds when the vendor said so)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        target: str | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, target=target, request=request, reason="TRANSPORT_FAILED")
        self.retry_after = retry_after
        self.status_code = status_code


class FatalTargetError(ConnectorError):
    """Nothing more can be sent to this target in this run (bad campaign, config, contract)."""


class AuthenticationError(FatalTargetError):
    """The vendor refused the credentials (after one re-login)."""

    def __init__(self, message: str, *, target: str | None = None, request: httpx.Request | None = None):
        super().__init__(message, target=target, request=request, reason="AUTH_FAILED")
