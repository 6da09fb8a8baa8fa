"""Vendor limits that hold across runs, processes and machines: Prefect global concurrency limits.

A target's ``concurrency`` and ``rate_limit`` bound one run (connectors.engine: its workers and its
token bucket). Two runs on one target, say two flow runs on two workers, would each take the whole
allowance. So the ``import_leads`` flow also puts every request attempt through two global limits
kept by the Prefect server, one pair per vendor endpoint + campaign:

- ``<base>-concurrency``: ``limit`` = the target's concurrency (its vendor's default when unset).
  A slot is held for each request attempt, under a lease the Prefect client renews, so a crashed
  worker's slots come back when the lease expires (:data:`LEASE_SECONDS`).
- ``<base>-rate``, only for a target with a rate (its own or its vendor's default): ``limit`` 1 and
  ``slot_decay_per_second`` = the rate: Prefect's rate limit, one slot per request, freed by decay.
  The server restarts the decay clock whenever it updates the limit, refusals included, so under
  contention the rate achieved is below the configured one, never above it.

``<base>`` is ``leadflow-<kind>-<endpoint>-<campaign>`` with the endpoint normalized as the ledger
does it (scheme and host lower-cased, default port dropped, loopback names unified, dot segments
and trailing slashes removed), so ``http://localhost:8765/obi/`` and ``http://127.0.0.1:8765/obi``
share one allowance. The flow creates the pair when a run starts, or brings an existing pair in
line with the targets file (runs that disagree on one endpoint's limits: the last one started wins);
a limit an operator switched off (``active: false``) stays off.

The order inside the gate: the concurrency slot first, then the rate slot, so a request leaves as
soon as its rate slot is granted and requests stay spaced at the rate. The run's own token bucket
(connectors.ratelimit) still applies before both; the plain CLI path (``leadflow import``) has only
that one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import posixpath
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, concurrency, rate_limit
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from connectors.base import Connector
from connectors.engine import RequestGate
from connectors.errors import FatalTargetError
from schemas.codes import Issue

__all__ = ["LEASE_SECONDS", "GlobalLimits", "endpoint_slug", "ensure_limits", "limits_for", "request_gate"]

LEASE_SECONDS = 60.0
"""A request slot's lease: renewed while the request runs; a dead worker's slot is free after it."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def _host(host: str) -> str:
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return "loopback" if address.is_loopback else host


def endpoint_slug(base_url: str) -> str:
    """The normalized endpoint as a name part: ``http://LocalHost:80/a/./b/`` -> ``loopback-a-b``;
    a scheme other than http is kept (``https-...``), a port other than the scheme's default too."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = _host((parts.hostname or "").lower())
    port = parts.port
    path = posixpath.normpath(parts.path) if parts.path else ""
    pieces = [] if scheme == "http" else [scheme]
    pieces.append(host)
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        pieces.append(str(port))
    pieces += [segment for segment in path.split("/") if segment and segment != "."]
    return "-".join(_UNSAFE.sub("-", piece.lower()).strip("-") for piece in pieces if piece)


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
    base = f"leadflow-{target.kind.replace('_', '-')}-{endpoint_slug(target.base_url)}-{campaign}"
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
            _upsert(client, limits.rate_name, 1, limits.rate)


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


def request_gate(limits: GlobalLimits, target: str) -> RequestGate:
    """The engine's gate (connectors.engine.RequestGate) over the target's global limits. A slot
    that cannot be had (the server unreachable, the limit deleted mid-run) stops the target."""

    @contextlib.asynccontextmanager
    async def gate() -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(
                    concurrency(
                        limits.concurrency_name,
                        lease_duration=LEASE_SECONDS,
                        strict=True,
                        raise_on_lease_renewal_failure=False,
                    )
                )
                if limits.rate_name:
                    await rate_limit(limits.rate_name, strict=True)
            except (ConcurrencySlotAcquisitionError, httpx.HTTPError, OSError) as exc:
                raise FatalTargetError(
                    f"{target}: could not take a slot of the Prefect global limits "
                    f"{limits.concurrency_name!r}/{limits.rate_name!r}: {type(exc).__name__}: {exc}",
                    target=target,
                    reason=Issue.TARGET_STOPPED.value,
                ) from None
            yield

    return gate
