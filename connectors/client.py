"""The HTTP client a target is reached through: the engine's sends and ``leadflow check``'s
probes build it here, so both see the vendor the same way (TLS, proxies, bounded answers)."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable

import httpx
from httpx._utils import get_environment_proxies  # the rules httpx itself applies

from connectors.answers import AnswerLimits, BoundedTransport
from connectors.base import Connector
from connectors.secrets import SecretSet

__all__ = ["answer_limits", "vendor_client"]


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process: building it (loading the CA
    bundle) costs more than a hundred requests on loopback, and every run opens a client."""
    return httpx.create_ssl_context()


def _environment_mounts(
    bounded: Callable[[str | None], httpx.AsyncBaseTransport],
) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The environment's proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) as httpx reads
    them for a client without a transport, each through a bounded transport."""
    return {
        pattern: None if url is None else bounded(url) for pattern, url in get_environment_proxies().items()
    }


def answer_limits(connector: Connector) -> AnswerLimits:
    """The target's answer size and deadline: its own settings, else the vendor's defaults."""
    target = connector.target
    return AnswerLimits(
        target.name,
        target.max_answer_bytes or connector.LIMITS.max_answer_bytes,
        target.deadline or target.timeout,
    )


def vendor_client(
    connector: Connector,
    auth: httpx.Auth,
    *,
    answers: AnswerLimits,
    secrets: SecretSet,
    connections: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client of ``connections`` pooled connections to the connector's target, every answer
    read through :class:`BoundedTransport`. ``transport`` is for tests (in-process ASGI); a
    client given a transport ignores HTTP(S)_PROXY/NO_PROXY, so they are mounted as httpx would."""
    target = connector.target
    pool = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    def bounded(proxy: str | None = None) -> httpx.AsyncBaseTransport:
        inner = transport or httpx.AsyncHTTPTransport(verify=_tls(), limits=pool, proxy=proxy)
        return BoundedTransport(inner, answers, secrets)

    return httpx.AsyncClient(
        base_url=target.base_url,
        auth=auth,
        timeout=target.timeout,
        limits=pool,
        verify=_tls(),
        transport=bounded(),
        mounts={} if transport else _environment_mounts(bounded),
    )
