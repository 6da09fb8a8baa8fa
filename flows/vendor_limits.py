"""Vendor limits that hold across runs, processes and machines: Prefect global concurrency limits.

A target's ``concurrency`` and ``rate_limit`` bound one run (connectors.engine: its workers and its
token bucket). Two runs on one target, say two flow runs on two workers, would each take the whole
allowance. So the ``import_leads`` flow also puts every request attempt through global limits kept
by the Prefect server, one pair per vendor endpoint + campaign:

- ``<base>-concurrency``: ``limit`` = the target's concurrency (its vendor's default when unset).
  Each engine worker (one of a run's concurrent requests) holds a slot from its first request
  to its end, renewing the slot's lease as it goes: two calls to the server per worker, where a
  slot per request cost two per request (measured: 318 ONC requests at concurrency 4 took 11.7 s
  instead of 2.7 s on Prefect's test server). A batched run's dispatch of each batch has workers
  of its own; an ended worker's slot is kept a moment (:data:`KEEP_SECONDS`) for the next
  batch's workers, so a run asks for a slot about once per worker for the whole run. Asked for
  per batch, the workers' concurrent requests hit the test server's SQLite lock, whose 503s the
  Prefect client retries with seconds of backoff: 60 leads in 7-row batches to four targets
  took 53 s in the flow against 1.7 s through the CLI (9.5 s now). A run's workers that find
  every slot taken wait for another run to finish with one: together the runs never exceed the
  target's concurrency.
- ``<base>-rate``, only for a target with a rate r (its own or its vendor's default): ``limit``
  n = ceil(r), and each slot is held for n / r seconds from when it was granted, whatever the
  request does meanwhile. No window of n / r seconds (one second for a whole rate) then sees more
  than n requests start: at most r a second, across every run. When a run ends it waits for its
  last rate slots to come due (at most n / r seconds) before it returns them.

Why not Prefect's own rate limits (``slot_decay_per_second`` with ``prefect.concurrency.asyncio.
rate_limit``)? Their server restarts a limit's decay clock whenever it writes the limit, refusals
included, so with two runs asking, slots decay far slower than configured. Measured in the test
below (two flow runs, a target of 4 requests/s and concurrency 2, Prefect's test server on SQLite,
a busy 2-core machine): Prefect's decaying rate limit gave 1.7 requests/s together, 0.6/s with the
public ``concurrency()`` context on top (its refused callers wait the server's Retry-After,
seconds); the hold-time slots about 2.7/s, bounded by that server's answers under load (a refused
slot request can take seconds on SQLite). The hold-time slots are plain concurrency slots: a
refusal changes nothing, so a waiting request asks again soon (:data:`POLL_SECONDS`). Slots are
taken with a lease, renewed by the worker as it sends (no renewal thread), so a crashed worker's
slots come back when the lease expires (at least Prefect's minimum, 60 s); a slot whose lease ran
out during a long wait is taken afresh. Not under Prefect's ephemeral server (no
``PREFECT_API_URL``: ``leadflow watch``, ``leadflow import --prefect``): it runs no lease
repossessor and keeps leases in its memory, so the slots of a run killed mid-send (SIGKILL, out of
memory) stay taken in PREFECT_HOME's database; once a target's are all gone, later runs wait for
one for ever. A run that waits longer than a lease for its first slot says so in one warning,
naming the limit and the command that frees it.

``<base>`` is ``leadflow-<kind>-<endpoint>-<campaign>`` with the endpoint as the ledger keys it
(connectors.endpoint, or a target's ``ledger_key`` when set: scheme and host lower-cased, default
port dropped, loopback names unified, dot segments and trailing slashes removed), so
``http://localhost:8765/obi/`` and ``http://127.0.0.1:8765/obi`` share one allowance. The flow
creates the pair when a run starts, or brings an existing pair in line with the targets file (runs
that disagree on one endpoint's limits: the last one started wins); a limit an operator switched off
(``active: false``) stays off.

The order inside the gate: the concurrency slot first, then the rate slot, so a request leaves as
soon as its rate slot is granted. The run's own token bucket (connectors.ratelimit) still applies
before both; the plain CLI path (``leadflow import``) has only that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient, SyncPrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.client.schemas.responses import ConcurrencyLimitWithLeaseResponse
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from connectors.base import Connector
from connectors.endpoint import normalize_endpoint
from connectors.engine import RequestGate
from connectors.errors import FatalTargetError
from schemas.codes import Issue

__all__ = ["POLL_SECONDS", "GlobalLimits", "PrefectGate", "endpoint_slug", "ensure_limits", "limits_for"]

log = logging.getLogger("leadflow.flows")

POLL_SECONDS = 0.2
KEEP_SECONDS = 2.0
"""How long an ended worker's slot is kept for the run's next worker. A batched run's next batch
comes within this (read ahead); a run that waits longer (for another target's slots, say) returns
it, so two runs each keeping one target's slots while waiting for the other's cannot wait on each
other for longer than this."""
_JITTER = random.Random()  # noqa: S311  (jitter, not secrets)
"""Its own generator: the shared one is left alone (tests drawing from it see no other thread move it)."""
"""Longest pause before a refused request asks for a slot again (less for a fast rate)."""

_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def endpoint_slug(endpoint: str) -> str:
    """The ledger's vendor key (connectors.endpoint.normalize_endpoint) as a name part, so a
    limit is shared exactly where sends are: ``http://LocalHost:80/a/./b/`` -> ``loopback-a-b``;
    a scheme other than http is kept (``https-...``), a port other than the scheme's default too;
    an explicit ``ledger_key`` (not a URL) is used as it is."""
    parts = urlsplit(normalize_endpoint(endpoint))
    host = "loopback" if parts.hostname == "localhost" else (parts.hostname or "")
    pieces = [] if parts.scheme in {"http", ""} else [parts.scheme]
    pieces.append(host)
    if parts.port is not None:
        pieces.append(str(parts.port))
    pieces += parts.path.split("/")
    return "-".join(_UNSAFE.sub("-", piece.lower()).strip("-") for piece in pieces if piece and piece != ".")


@dataclass(frozen=True)
class GlobalLimits:
    """The pair of Prefect global limits of one target (see the module docstring)."""

    concurrency_name: str
    concurrency: int
    rate_name: str | None
    rate: float | None


def limits_for(connector: Connector) -> GlobalLimits:
    target = connector.target
    campaign = _UNSAFE.sub("-", target.campaign.lower()).strip("-") or "campaign"
    endpoint = endpoint_slug(target.ledger_key or target.base_url)
    base = f"leadflow-{target.kind.replace('_', '-')}-{endpoint}-{campaign}"
    rate = target.rate_limit or connector.LIMITS.default_rate_limit
    return GlobalLimits(
        concurrency_name=f"{base}-concurrency",
        concurrency=target.concurrency or connector.LIMITS.default_concurrency,
        rate_name=f"{base}-rate" if rate else None,
        rate=rate,
    )


def ensure_limits(limits: GlobalLimits) -> None:
    """Create the target's global limits on the Prefect server, or update their values."""
    with get_client(sync_client=True) as client:
        _upsert(client, limits.concurrency_name, limits.concurrency, 0.0)
        if limits.rate_name and limits.rate:
            _upsert(client, limits.rate_name, math.ceil(limits.rate), 0.0)


def _upsert(client: SyncPrefectClient, name: str, limit: int, decay: float) -> None:
    try:
        existing = client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay)
            )
            return
        except ObjectAlreadyExists:  # another run created it in between
            existing = client.read_global_concurrency_limit_by_name(name)
    if existing.limit != limit or (existing.slot_decay_per_second or 0.0) != decay:
        client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay)
        )


class PrefectGate:
    """The engine's gate (connectors.engine.RequestGate) over one target's global limits, for one
    run: ``async with PrefectGate(...) as gate: await dispatch(..., gate=gate)``. A slot that cannot
    be had (the server unreachable, the limit deleted mid-run) stops the target."""

    def __init__(
        self,
        limits: GlobalLimits,
        target: str,
        deadline: float,
        keep_for: float = KEEP_SECONDS,
        warn_after: float | None = None,
    ) -> None:
        """``deadline``: the longest a worker goes between two requests (a request's deadline
        and the longest backoff); a slot's lease lasts twice that and half a minute more.
        ``keep_for``: how long an ended worker's slot waits for the run's next worker.
        ``warn_after``: how long a worker waits for its first slot before the warning that
        the slots may be a killed run's (default: a lease)."""
        self.limits = limits
        self.target = target
        self.lease = max(60.0, 2 * deadline + 30.0)
        self.warn_after = self.lease if warn_after is None else warn_after
        self._warned = False
        self.hold = 0.0 if not limits.rate else math.ceil(limits.rate) / limits.rate
        self._client: PrefectClient | None = None
        self._due: set[asyncio.Task[None]] = set()
        self._held: dict[asyncio.Task[Any], tuple[UUID, float]] = {}
        """Each engine worker's concurrency slot: its lease and when it was last renewed."""
        self.keep_for = keep_for
        self._spare: list[tuple[UUID, float]] = []
        """Slots of this run's workers that ended (a batch's dispatch is over), kept ``keep_for``
        seconds for the next batch's workers (see :data:`KEEP_SECONDS`)."""
        self._timers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RequestGate:
        self._client = await get_client().__aenter__()
        return self.slot

    async def __aexit__(self, *exc: object) -> None:
        try:
            for timer in self._timers:
                timer.cancel()
            kept = [*self._held.values(), *self._spare]
            self._held.clear()
            self._spare.clear()
            if self._client is not None:
                for lease, _ in kept:
                    self._later(self._release(self._client, lease))
            if self._due:
                await asyncio.gather(*self._due, return_exceptions=True)
        finally:
            client, self._client = self._client, None
            if client is not None:
                await client.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        assert self._client is not None, "use the gate inside `async with PrefectGate(...)`"
        client = self._client
        try:
            await self._worker_slot(client)
            if self.limits.rate_name and self.limits.rate:
                timed = await self._take(
                    client, self.limits.rate_name, self.hold / math.ceil(self.limits.rate)
                )
                self._later(self._release_after(client, timed, self.hold))
        except (ConcurrencySlotAcquisitionError, httpx.HTTPError, OSError) as exc:
            # not TARGET_MISCONFIGURED: the server may answer again, and the next run's flow
            # creates a deleted limit anew; a later attempt may send the rows
            raise FatalTargetError(
                f"{self.target}: could not take a slot of the Prefect global limits "
                f"{self.limits.concurrency_name!r}/{self.limits.rate_name!r}: {type(exc).__name__}: {exc}",
                target=self.target,
                reason=Issue.TARGET_STOPPED.value,
            ) from None
        yield

    async def _worker_slot(self, client: PrefectClient) -> None:
        """The calling engine worker's concurrency slot: taken at its first request (from this
        run's ended workers when one left a slot, else from the server), kept (and its lease
        renewed) across its next ones, and left for the run's next worker when it ends. Two calls
        to the server per slot of the run, not per request or per batch; a worker waiting for its
        first slot waits for another run to finish with one."""
        task = asyncio.current_task()
        assert task is not None
        held = self._held.get(task)
        if held is None:
            held = self._held[task] = await self._first_slot(client)
            task.add_done_callback(self._worker_done)
        lease, renewed = held
        now = time.monotonic()
        if now - renewed <= self.lease / 3:
            return
        try:
            await client.renew_concurrency_lease(lease, lease_duration=self.lease)
        except httpx.HTTPStatusError:  # expired meanwhile (a long wait): the slot went back
            lease = await self._take(client, self.limits.concurrency_name, POLL_SECONDS)
        self._held[task] = (lease, now)

    async def _first_slot(self, client: PrefectClient) -> tuple[UUID, float]:
        """A slot one of this run's ended workers left, else a new one. A worker still waiting for
        the server takes a slot another of the run's workers leaves meanwhile: two runs each
        keeping a slot for its own waiting workers would otherwise wait on each other for ever."""
        asked = time.monotonic()
        while not self._spare:
            lease = await self._ask(client, self.limits.concurrency_name)
            if lease is not None:
                return lease, time.monotonic()
            self._warn_when_kept_waiting(time.monotonic() - asked)
            await asyncio.sleep(POLL_SECONDS * _JITTER.uniform(0.5, 1.0))
        return self._spare.pop()

    def _warn_when_kept_waiting(self, waited: float) -> None:
        """Once per run: every slot held for longer than a lease, perhaps by a run that was
        killed (the module docstring: Prefect's ephemeral server never takes those back)."""
        if self._warned or waited < self.warn_after:
            return
        self._warned = True
        name = self.limits.concurrency_name
        log.warning(
            "%s: no slot of the Prefect global limit %s for %.0f s: every one is held, by other imports "
            "to this vendor and campaign, or left by one that was killed (Prefect's ephemeral server "
            "never takes those back). If no other import is running, free them: "
            "prefect gcl update %s --active-slots 0",
            self.target,
            name,
            waited,
            name,
        )

    def _worker_done(self, task: asyncio.Task[Any]) -> None:
        """A worker ended: its slot waits ``keep_for`` seconds for the run's next worker (the next
        batch's, or one of this batch's still waiting), renewed by whoever takes it, and goes back
        to the server if none came."""
        held = self._held.pop(task, None)
        if held is not None and self._client is not None:
            self._spare.append(held)
            timer = asyncio.get_running_loop().create_task(self._return_unused(self._client, held))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _return_unused(self, client: PrefectClient, kept: tuple[UUID, float]) -> None:
        await asyncio.sleep(self.keep_for)
        if kept in self._spare:  # returned as a due task: the gate's exit cancels timers, not returns
            self._spare.remove(kept)
            self._later(self._release(client, kept[0]))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background; the gate's exit waits for it."""
        task = asyncio.get_running_loop().create_task(work)
        self._due.add(task)
        task.add_done_callback(self._due.discard)

    async def _take(self, client: PrefectClient, name: str, poll: float) -> UUID:
        while (lease := await self._ask(client, name)) is None:
            await asyncio.sleep(poll * _JITTER.uniform(0.5, 1.0))
        return lease

    async def _ask(self, client: PrefectClient, name: str) -> UUID | None:
        """One slot of the limit ``name``, or None when all are taken."""
        try:
            response = await client.increment_concurrency_slots_with_lease(
                names=[name], slots=1, mode="concurrency", lease_duration=self.lease
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != httpx.codes.LOCKED:
                raise
            return None
        granted = ConcurrencyLimitWithLeaseResponse.model_validate(response.json())
        if not granted.limits:
            raise ConcurrencySlotAcquisitionError(f"the limit {name!r} does not exist (deleted?)")
        return granted.lease_id

    async def _release_after(self, client: PrefectClient, lease: UUID, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._release(client, lease)

    async def _release(self, client: PrefectClient, lease: UUID) -> None:
        try:
            await client.release_concurrency_slots_with_lease(lease)
        except (httpx.HTTPError, OSError) as exc:  # the lease expires on its own
            log.warning(
                "%s: could not return a global limit slot (it frees at its lease's end): %s", self.target, exc
            )
