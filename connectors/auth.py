"""Login-then-token authentication as an httpx.Auth flow, shared by concurrent requests.

uContact (getUserToken), ONC (OpenAPISession) and MaxContact (apitoken/login) all log in
once and carry a token or session id on every later call; each expires (ONC slides 20
minutes, the others after a vendor-defined time). ``TokenAuth`` logs in lazily, attaches the
token, and on an expiry answer logs in again and replays the request. The login happens
under an ``asyncio.Lock`` with a generation counter, so a hundred concurrent requests that
all see the expiry cause one login, not a hundred. Callers never re-login themselves.

Which failures are fatal: only a login the vendor refuses (``parse_login`` raises
``AuthenticationError``). A replay that meets an expiry again right after a successful login
(a token revoked early, a session store that lags, a load balancer that routed to a node that
has not seen the token yet) is :class:`SessionExpired`, a ``TransientError``: the engine retries
the request with backoff within its retry budget, and that retry logs in again if it must.

An answer that may or may not mean "expired" (uContact's ``200 ERROR``, see
``may_be_expired``) is told apart by the replay: a fresh login that gets the same answer again
means it was not the session, and that answer is returned for the vendor module to read.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator

import httpx

from connectors.errors import AuthenticationError, TransientError
from connectors.secrets import SecretSet

__all__ = ["LOGIN", "SessionExpired", "TokenAuth"]

LOGIN = "leadflow.login"
"""Request extension marking a login this flow sends on a request's behalf: when the login fails,
the request it was for did not reach the vendor in that attempt (connectors.retry.outcome_unknown)."""


class SessionExpired(TransientError):
    """The vendor refused a token it had just issued: retry later (never stop the target)."""


class TokenAuth(httpx.Auth, ABC):
    requires_response_body = True

    def __init__(self) -> None:
        self._token: str | None = None
        self._generation = 0
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
            return
        async with self._lock:
            if self._generation == generation:
                login = yield self._login_request()
                await login.aread()
                self._token = self._received(login)
                self._generation += 1
            token = self._token
        if token is None:
            raise AuthenticationError("login returned no token", request=request)
        replay = yield self.apply(request, token)
        await replay.aread()
        if self.is_expired(replay):
            raise SessionExpired(
                f"HTTP {replay.status_code} from {request.url.path} right after a fresh login; "
                "the vendor refused a token it had just issued, so the request is tried again "
                "(if every try ends so, the account may lack the right to this call)",
                status_code=replay.status_code,
                request=request,
            )
