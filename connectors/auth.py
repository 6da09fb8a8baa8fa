"""Login-then-token authentication as an httpx.Auth flow, shared by concurrent requests.

uContact (getUserToken), ONC (OpenAPISession) and MaxContact (apitoken/login) all log in
once and carry a token or session id on every later call; each expires (ONC slides 20
minutes, the others after a vendor-defined time). ``TokenAuth`` logs in lazily, attaches the
token, and on an expiry answer logs in again and resends the request: the vendor's expired-session
answer means it did not take the request, so the resend cannot store anything twice. The login
happens under an ``asyncio.Lock`` with a generation counter, so a hundred concurrent requests that
all see the expiry cause one login, not a hundred. Callers never re-login themselves.

A fresh session may expire again before the resend reaches the vendor: the concurrent requests
share it, and any one of them may find it expired (the vendor then forgets it for all). The flow
logs in and resends again, within two bounds. One request is resent at most :data:`RESENDS`
times; then it is :class:`SessionExpired`, a ``TransientError``: the engine retries it with backoff
within its retry budget. And the flow opens at most :data:`REFUSED_SESSIONS` sessions in a row that
no request got through with: a vendor that answers "expired" to every session it opens (an
account without the right to the call, a session store that fails) is :class:`SessionsRefused`,
which stops the target (``TARGET_STOPPED``) instead of logging in again and again.

Which failures are fatal: a login the vendor refuses (``parse_login`` raises
``AuthenticationError``) and :class:`SessionsRefused`.

An answer that may or may not mean "expired" (uContact's ``200 ERROR``, see
``may_be_expired``) is told apart by the resend: a fresh login that gets the same answer again
means it was not the session, and that answer is returned for the vendor module to read.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator

import httpx

from connectors.errors import AuthenticationError, FatalTargetError, TransientError
from connectors.secrets import SecretSet
from schemas.codes import Issue

__all__ = ["LOGIN", "REFUSED_SESSIONS", "RESENDS", "SessionExpired", "SessionsRefused", "TokenAuth"]

LOGIN = "leadflow.login"
"""Request extension marking a login this flow sends on a request's behalf: when the login fails,
the request it was for did not reach the vendor in that attempt (connectors.retry.outcome_unknown)."""


RESENDS = 8
"""Most times one request is resent in one try, each after an expired-session answer, before the
engine's retry (with its backoff) takes over. httpx ends a flow of more than 20 requests
(``TooManyRedirects``): a try sends at most 2 + 2 * RESENDS."""

REFUSED_SESSIONS = 40
"""Most fresh sessions in a row the vendor may answer "expired" with no request getting through
before the target is stopped. At the sandbox's ``rate_expire = 0.6`` (six in ten session checks
end the session, for the eight concurrent requests that share it) a run of the sample file met
at most 21 in a row; a vendor that refuses every session costs 41 logins (the first, then 40)."""


class SessionExpired(TransientError):
    """The sessions of one request's resends all expired (others still get through): retry later."""


class SessionsRefused(FatalTargetError):
    """The vendor answered "expired" to :data:`REFUSED_SESSIONS` fresh sessions in a row and took
    no request with any of them: stop the target (``TARGET_STOPPED``) rather than log in forever."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message, reason=Issue.TARGET_STOPPED.value, request=request)


class TokenAuth(httpx.Auth, ABC):
    requires_response_body = True

    def __init__(self) -> None:
        self._token: str | None = None
        self._generation = 0
        self._refused = 0
        """Sessions opened in a row since a request last got through (:data:`REFUSED_SESSIONS`)."""
        self._lock = asyncio.Lock()
        self.secrets = SecretSet()
        """Where every token this flow receives is registered (the engine gives the run's set)."""

    # --- what a vendor supplies ---------------------------------------------------------
    @abstractmethod
    def login_request(self) -> httpx.Request:
        """The request that yields a fresh token (absolute URL)."""

    @abstractmethod
    def parse_login(self, response: httpx.Response) -> str:
        """The token from a login answer; raise AuthenticationError (refused) or
        connectors.errors.TransientError (429/5xx) otherwise."""

    @abstractmethod
    def apply(self, request: httpx.Request, token: str) -> httpx.Request:
        """``request`` carrying ``token`` (a header, a cookie, or a rebuilt body)."""

    def is_expired(self, response: httpx.Response) -> bool:
        """Did the vendor answer "your token/session is no longer valid"?"""
        return response.status_code == 401

    def may_be_expired(self, response: httpx.Response) -> bool:
        """An answer that means "expired" or something else (the vendor uses one word for both):
        log in again and replay once; the same answer after a fresh login is returned as is."""
        return False

    # --- the flow -----------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        """The current token, for logout calls at the end of a run."""
        return self._token

    def accept_login(self, login: httpx.Response) -> str:
        """Take a login answer obtained outside the flow and keep its token for the calls that
        follow: a connection test (connectors.probe) sends the login itself, to report it as its
        own step and to check the answer's shape first. Raises as ``parse_login`` does."""
        self._token = self._received(login)
        self._generation += 1
        return self._token

    def forget(self) -> None:
        """Drop the token (after a logout), so the next request logs in again."""
        self._token = None
        self._generation += 1

    def _received(self, login: httpx.Response) -> str:
        """The login answer's token, registered as a secret before anything else sees it."""
        token = self.parse_login(login)
        self.secrets.add(token)
        return token

    def _login_request(self) -> httpx.Request:
        request = self.login_request()
        request.extensions[LOGIN] = True
        return request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("TokenAuth is used with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._token is None:
            async with self._lock:
                if self._token is None:
                    login = yield self._login_request()
                    await login.aread()
                    self._token = self._received(login)
                    self._generation += 1
        generation, token = self._generation, self._token
        assert token is not None
        response = yield self.apply(request, token)
        await response.aread()
        if not (self.is_expired(response) or self.may_be_expired(response)):
            self._refused = 0
            return
        for _ in range(RESENDS):
            async with self._lock:
                if self._generation == generation:
                    if self._refused >= REFUSED_SESSIONS:
                        raise SessionsRefused(
                            f"{request.url.path}: the vendor answered that the session had expired to "
                            f"each of the {self._refused} sessions it last opened for us, and took no "
                            "request with any of them; the target is stopped (the account may lack the "
                            "right to this call, or the vendor's sessions are failing: try again later)",
                            request=request,
                        )
                    login = yield self._login_request()
                    await login.aread()
                    self._token = self._received(login)
                    self._generation += 1
                    self._refused += 1
                generation, token = self._generation, self._token
            if token is None:
                raise AuthenticationError("login returned no token", request=request)
            response = yield self.apply(request, token)
            await response.aread()
            if not self.is_expired(response):
                self._refused = 0
                return
        raise SessionExpired(
            f"{request.url.path}: the vendor answered that the session had expired {RESENDS + 1} "
            "times in a row, each time but the first to a fresh session, and took nothing",
            status_code=response.status_code,
            request=request,
        )
