"""The connectors' exception tree: every failure lands in one of three buckets.

::

    ConnectorError                  base; carries .target and, where known, .request
     +-- TransientError             retry with backoff (429, 5xx, timeouts, dropped connections)
     |    +-- AnswerDeadlineError   the answer was not complete within the target's ``deadline``
     +-- VendorAnswerError          the answer arrived but cannot be read: fail the request's rows
     |    |                         (VENDOR_ANSWER_INVALID), no retry, one breaker failure
     |    +-- AnswerTooLargeError   more than the target's ``max_answer_bytes`` (VENDOR_ANSWER_TOO_LARGE)
     +-- FatalTargetError           stop this target; its remaining rows become ``failed``
          +-- AuthenticationError   the vendor refused our credentials

Everything else a vendor can provoke is put in a bucket by the engine (connectors.retry's
``is_transient`` and ``answer_error``): ``httpx.TransportError`` (timeouts, dropped or broken
connections, protocol errors) is transient; any other ``httpx.HTTPError`` (a corrupt
``Content-Encoding`` body, too many redirects), ``UnicodeDecodeError``, defusedxml's refusals and
whatever a connector raises while reading an answer become a ``VendorAnswerError``. Why no retry
for unreadable answers: the vendor may well have stored the request, and uContact and MaxContact
store a resend twice; the rows are recorded ``failed`` in the ledger, so a rerun resends them
under the ledger's protection, and the breaker stops a target whose every answer is unreadable.
A connector's own "this breaks the documented contract" (``Connector.unexpected``) stays fatal;
a ``200`` that is no answer of the vendor's at all, a proxy's web page in place of the envelope or
the JSON (``Connector.unreadable``), is a ``VendorAnswerError`` like any other unreadable answer.

Per-row problems are never exceptions: they are ``RowOutcome``s (connectors.base).
Messages say what happened, where and what to do; they never contain credentials, tokens
or session ids (``redact`` removes the known secret values, in every form connectors.secrets
knows, before a message is built). What leaves the engine carries no ``httpx.Request``: only
connector errors built here, whose ``request`` the engine drops (see ``ConnectorError.bare``).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from connectors.secrets import MIN_SECRET_LENGTH, SecretSet

__all__ = [
    "AnswerDeadlineError",
    "AnswerTooLargeError",
    "AuthenticationError",
    "ConnectorError",
    "FatalTargetError",
    "TransientError",
    "VendorAnswerError",
    "redact",
    "truncate",
    "unreadable_login",
]

_BODY_LIMIT = 300


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret value in ``text`` by ``***`` (longest first, so that a value
    inside another does not leave the rest of the longer one behind)."""
    if isinstance(secrets, SecretSet):
        return secrets.redact(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text


def truncate(text: str, limit: int = _BODY_LIMIT) -> str:
    """Vendor bodies can be megabytes of HTML: keep the start, say how much was cut (only the
    start is looked at, so a huge answer costs no more than a small one)."""
    head = " ".join(text[: limit * 4].split())
    if len(head) <= limit and len(text) <= limit * 4:
        return head
    cut = len(head) - limit if len(text) <= limit * 4 else len(text) - limit
    return f"{head[:limit]}... ({cut} more chars)"


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

    def bare(self) -> ConnectorError:
        """This error without its ``request`` (whose headers carry credentials), its cause or its
        traceback: what may be raised where Prefect pickles it or a user reads it."""
        self.request = None
        self.__cause__ = self.__context__ = None
        self.__suppress_context__ = True
        return self.with_traceback(None)


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


class AnswerDeadlineError(TransientError):
    """The vendor's answer was not complete (headers and body) within the request's deadline."""


class VendorAnswerError(ConnectorError):
    """The vendor answered something that cannot be read (corrupt encoding, not text, not the
    format it documents): the request's outcome is unknown; its rows fail, it is not resent."""

    def __init__(self, message: str, *, target: str | None = None, reason: str = "VENDOR_ANSWER_INVALID"):
        super().__init__(message, target=target, reason=reason)


class AnswerTooLargeError(VendorAnswerError):
    """The answer (decoded) grew past the target's ``max_answer_bytes``; reading stopped there."""

    def __init__(self, message: str, *, target: str | None = None):
        super().__init__(message, target=target, reason="VENDOR_ANSWER_TOO_LARGE")


class FatalTargetError(ConnectorError):
    """Nothing more can be sent to this target in this run (bad campaign, config, contract).

    ``reason`` says who must act: ``TARGET_MISCONFIGURED`` when the vendor refused the target's
    setup (an unknown campaign or list, settings refused as a whole: a person fixes the targets
    file; the watched folder holds the file for them), ``AUTH_FAILED`` for credentials, another
    code (``TARGET_STOPPED``, ``VENDOR_ANSWER_INVALID``) for a stop that may pass with time.

    ``reason`` has no default: the base's ``TRANSPORT_FAILED`` would tell the watched folder and
    the run's verdict to retry a stop that only a person can clear."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        target: str | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, target=target, request=request, reason=reason)


def unreadable_login(target: str, answered: str, response: httpx.Response) -> FatalTargetError:
    """A login answered with neither a session nor a refusal (``answered`` says what came: a
    web page, no JSON object): most likely a proxy's or a login portal's page, not the vendor.
    The target stops as unreadable (``VENDOR_ANSWER_INVALID``, which may pass with time), never
    as refused credentials, which would send a person to change a password that is right."""
    return FatalTargetError(
        f"{target}: {answered} (a proxy's or a login portal's page?): {truncate(response.text)}",
        target=target,
        request=response.request,
        reason="VENDOR_ANSWER_INVALID",
    )


class AuthenticationError(FatalTargetError):
    """The vendor refused the credentials (after one re-login)."""

    def __init__(self, message: str, *, target: str | None = None, request: httpx.Request | None = None):
        super().__init__(message, target=target, request=request, reason="AUTH_FAILED")
