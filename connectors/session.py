"""One target's vendor session: the auth flow, its token and the httpx clients, for a whole run.

A file sent in batches calls ``dispatch`` once per batch and target (flows.import_batches). The
session outlives those calls: the login happens once, at the first request that needs it (the
auth flow, connectors.auth), the clients keep their connections, ``Connector.open`` (MaxContact's
list) runs once, and ``Connector.close`` (ONC ``CloseAPISession``, uContact ``EndSession``) runs
at the end, from :meth:`VendorSession.aclose`, which whoever made the session calls at the end of
the run, also when a batch raised or the run was interrupted. A session expiring in between is
the auth flow's business as before: the request that meets it logs in again and is resent,
within the flow's bounds (connectors.auth).

A vendor may cap a user's open sessions, so a logout that meets a transient fault (429/5xx, a
timeout, a dropped connection) is tried again, briefly (:func:`logout_policy`,
:data:`LOGOUT_GRACE`); a refusal is not (another attempt would be refused too), and a logout that
still fails is one warning: the session expires on its own, and the run's results stand.

Clients: a control client (opens, reconciles, closes; at most :data:`CONTROL_CONNECTIONS`
connections) and worker clients of one connection each, made as a batch first needs them and
kept for the next batch (connectors.engine explains the one-connection workers). With a test
transport one client of the target's concurrency serves all. Every client shares the one auth
flow and the run's :class:`~connectors.secrets.SecretSet`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from connectors.auth import TokenAuth
from connectors.base import Connector
from connectors.client import answer_limits, vendor_client
from connectors.config import RetryPolicy, TargetConfig
from connectors.errors import redact
from connectors.retry import call_with_retries
from connectors.secrets import SecretSet

__all__ = ["CONTROL_CONNECTIONS", "LOGOUT_GRACE", "LOGOUT_RETRY", "VendorSession", "logout_policy"]

log = logging.getLogger("leadflow.connectors")

CONTROL_CONNECTIONS = 8
"""Most connections of the client that opens, reconciles and closes a target (OBI's customer
searches run up to eight at a time); never more than the target's concurrency."""

LOGOUT_RETRY = RetryPolicy(attempts=3, backoff=0.25, max_backoff=2.0)
"""The most a logout is given: 3 attempts, pauses of at most 2 s (a Retry-After included). A
logout only frees a session that would expire anyway; it must not hold up the end of the run."""

LOGOUT_GRACE = 5.0
"""Seconds all the logout's attempts get beyond one request's time (the target's ``deadline`` or
``timeout``): three hung attempts end the wait as one did before."""


def logout_policy(target: TargetConfig) -> RetryPolicy:
    """The target's retry policy held to :data:`LOGOUT_RETRY` (a test's faster one stays fast)."""
    policy = target.retry
    return RetryPolicy(
        attempts=min(policy.attempts, LOGOUT_RETRY.attempts),
        backoff=min(policy.backoff, LOGOUT_RETRY.backoff),
        max_backoff=min(policy.max_backoff, LOGOUT_RETRY.max_backoff),
    )


class VendorSession:
    """The vendor session of one target; :meth:`aclose` ends it (logout, then the clients)."""

    def __init__(
        self, connector: Connector, *, concurrency: int, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.connector = connector
        self.concurrency = concurrency
        self.transport = transport
        self.secrets = SecretSet(connector.secrets.values())
        """Every secret of the run in every known form; grows as tokens arrive and requests leave."""
        self.answers = answer_limits(connector)
        self.auth = connector.auth()
        if isinstance(self.auth, TokenAuth):
            self.auth.secrets = self.secrets
        self.opened = False
        """``Connector.open`` was called (once per session; it may have failed: the breaker says)."""
        self._stack = contextlib.AsyncExitStack()
        self._control: httpx.AsyncClient | None = None
        self._workers: list[httpx.AsyncClient] = []
        self._closed = False

    async def control(self) -> httpx.AsyncClient:
        """The client that opens, reconciles and closes (and, with a test transport, sends)."""
        if self._closed:
            raise RuntimeError(f"{self.connector.target.name}: the vendor session has ended")
        if self._control is None:
            connections = self.concurrency
            if self.transport is None:
                connections = min(connections, CONTROL_CONNECTIONS)
            self._control = await self._client(connections)
        return self._control

    async def workers(self, count: int) -> list[httpx.AsyncClient]:
        """``count`` clients to send through, one connection each (kept for later batches);
        with a test transport the control client, which has the connections for all."""
        if self.transport is not None:
            return [await self.control()]
        while len(self._workers) < count:
            self._workers.append(await self._client(1))
        return self._workers[:count]

    async def _client(self, connections: int) -> httpx.AsyncClient:
        client = vendor_client(
            self.connector,
            self.auth,
            answers=self.answers,
            secrets=self.secrets,
            connections=connections,
            transport=self.transport,
        )
        return await self._stack.enter_async_context(client)

    async def aclose(self) -> None:
        """End the session: the logout when the target was opened (:meth:`_logout`), then every
        client. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.opened and self._control is not None:
                await self._logout(self._control)
        finally:
            await self._stack.aclose()

    async def _logout(self, client: httpx.AsyncClient) -> None:
        """``Connector.close``, tried again on a transient fault within :func:`logout_policy` and
        :data:`LOGOUT_GRACE`; its failure is one warning, never raised (the run's results stand).
        The token is forgotten after the last attempt, not before: a retry sends it again."""
        target = self.connector.target
        budget = (target.deadline or target.timeout) + LOGOUT_GRACE
        try:
            async with asyncio.timeout(budget):
                await call_with_retries(
                    lambda: self.connector.close(client),
                    logout_policy(target),
                    what=f"{target.name}: logout",
                    secrets=self.secrets,
                )
        except Exception as exc:
            why = redact(str(exc), self.secrets) or type(exc).__name__
            log.warning(
                "%s: the vendor session could not be closed (%s); it will expire on its own", target.name, why
            )
        finally:
            if isinstance(self.auth, TokenAuth):
                self.auth.forget()
