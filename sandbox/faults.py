"""Fault injection for the simulated vendors: the failures a real dialer API shows on a bad day.

Connectors must survive 429s with ``Retry-After``, 5xx answers, slow and hanging requests,
connections dropped mid-answer and sessions that die early. A profile says, per vendor and per
endpoint (a glob over the path relative to the vendor's prefix), what share of requests get which
fault. Which requests fault is decided by a hash of ``(seed, vendor, method, path, n)`` where
``n`` counts the requests to that exact method and path, so a run with the same seed and the
same requests per endpoint faults the same requests whatever the interleaving across endpoints.

Profile (TOML, JSON or a dict)::

    seed = 7
    [vendors.sinch_obi."/campaigns/*/customers/list"]
    rate_429 = 0.2
    retry_after = 1
    [vendors."*"."*"]        # every vendor, every endpoint
    latency = 0.05

For one request the first matching rule applies: the named vendor's rules in profile order, then
the ``"*"`` vendor's. The response faults are exclusive bands of one draw, in the order 429,
500, 502, 503, hang, drop, lost, late, html; ``latency`` is added to every request the rule
matches. Early expiry is asked for by the simulators themselves (:meth:`Faults.expire_session`)
when they check a session or token, because only they know what a session is.

A dropped connection starts an answer and breaks off: through uvicorn the socket is closed
(the client sees ``httpx.RemoteProtocolError``); in process, through ``httpx.ASGITransport``,
the app raises :class:`ConnectionDropped`, itself an ``httpx.RemoteProtocolError``, so a client
sees the same exception type either way.

Those faults all act before the vendor does anything. Two act after it: ``lost`` lets the vendor
process and store the request, then drops the connection before the answer (a proxy or a
network that fails on the way back), and ``late`` lets the vendor process it and holds the
answer ``late_seconds`` (past the client's timeout), ending early when the client goes away.
The client cannot tell either from a failure before processing; a vendor that does not refuse
a known id then stores a resend twice, which is what these faults are for.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import threading
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ConnectionDropped", "FaultMiddleware", "FaultRule", "Faults", "Outcome"]

Outcome = Literal["429", "500", "502", "503", "hang", "drop", "lost", "late", "html"]
_BANDS: tuple[tuple[Outcome, str], ...] = (
    ("429", "rate_429"),
    ("500", "rate_500"),
    ("502", "rate_502"),
    ("503", "rate_503"),
    ("hang", "rate_hang"),
    ("drop", "rate_drop"),
    ("lost", "rate_lost"),
    ("late", "rate_late"),
    ("html", "rate_html"),
)
_Share = Field(default=0.0, ge=0.0, le=1.0)


class FaultRule(BaseModel):
    """What happens to the requests one (vendor, endpoint glob) matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_429: float = _Share
    retry_after: int = Field(default=1, ge=0)
    """Seconds sent in ``Retry-After`` with a 429."""
    rate_500: float = _Share
    rate_502: float = _Share
    rate_503: float = _Share
    rate_hang: float = _Share
    hang_seconds: float = Field(default=30.0, ge=0.0, le=300.0)
    """How long a hung request waits before a 503; it ends early when the client goes away."""
    rate_drop: float = _Share
    rate_lost: float = _Share
    """Share processed by the vendor whose answer is then lost (connection dropped)."""
    rate_late: float = _Share
    """Share processed by the vendor whose answer comes ``late_seconds`` later."""
    late_seconds: float = Field(default=30.0, ge=0.0, le=300.0)
    rate_html: float = _Share
    """Share answered ``200 text/html`` with a web page instead of the vendor's answer (a proxy's
    or a login portal's page): an answer of the wrong shape, before the vendor sees the request."""
    rate_expire: float = _Share
    """Share of session/token checks that treat a still-valid session as expired."""
    latency: float = Field(default=0.0, ge=0.0, le=60.0)
    max_faults: int | None = Field(default=None, ge=0)
    """Stop faulting after this many faults from this rule (e.g. one 429, then all fine)."""

    @model_validator(mode="after")
    def _bands_fit(self) -> FaultRule:
        if sum(getattr(self, field) for _, field in _BANDS) > 1.0 + 1e-9:
            raise ValueError("the shares of 429/500/502/503/hang/drop/lost/late/html add up to more than 1")
        return self


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    vendors: dict[str, dict[str, FaultRule]] = Field(default_factory=dict)


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the sandbox app to break off an answer (see the module docstring)."""


class Faults:
    """A fault profile plus the per-endpoint request counters that make it deterministic."""

    def __init__(self, profile: dict[str, Any] | None = None, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._profile = _Profile()
        self._counts: Counter[tuple[str, ...]] = Counter()
        self._spent: Counter[tuple[str, str]] = Counter()
        self.configure(profile or {}, seed=seed)

    @classmethod
    def from_file(cls, path: Path | str, *, seed: int | None = None) -> Faults:
        """Load a ``.toml`` or ``.json`` profile."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a fault profile is a table/object with 'seed' and 'vendors'")
        return cls(data, seed=seed)

    def configure(self, profile: dict[str, Any], *, seed: int | None = None) -> None:
        """Replace the profile (validated first) and restart the counters."""
        parsed = _Profile.model_validate(profile)
        if seed is not None:
            parsed = parsed.model_copy(update={"seed": seed})
        with self._lock:
            self._profile = parsed
            self._counts.clear()
            self._spent.clear()

    def describe(self) -> dict[str, Any]:
        """The profile as JSON-ready data, for the inspection API."""
        return self._profile.model_dump(mode="json", exclude_defaults=True)

    @property
    def seed(self) -> int:
        return self._profile.seed

    def rule_for(self, vendor: str, endpoint: str) -> tuple[str, FaultRule] | None:
        """The first rule matching, with a key naming it; ``None`` when nothing applies."""
        for vendor_key in (vendor, "*"):
            for pattern, rule in self._profile.vendors.get(vendor_key, {}).items():
                if fnmatch.fnmatchcase(endpoint, pattern):
                    return f"{vendor_key}|{pattern}", rule
        return None

    def latency(self, vendor: str, endpoint: str) -> float:
        found = self.rule_for(vendor, endpoint)
        return found[1].latency if found else 0.0

    def decide(self, vendor: str, method: str, endpoint: str) -> tuple[Outcome, FaultRule] | None:
        """The fault for this request, if any; each call counts as one request."""
        found = self.rule_for(vendor, endpoint)
        if found is None:
            return None
        key, rule = found
        draw = self._draw("request", vendor, method.upper(), endpoint)
        edge = 0.0
        for outcome, field in _BANDS:
            edge += getattr(rule, field)
            if draw < edge:
                return (outcome, rule) if self._spend(key, rule) else None
        return None

    def expire_session(self, vendor: str, endpoint: str) -> bool:
        """Whether this call should treat a still-valid session or token as expired."""
        found = self.rule_for(vendor, endpoint)
        if found is None or found[1].rate_expire == 0.0:
            return False
        key, rule = found
        return self._draw("expire", vendor, "", endpoint) < rule.rate_expire and self._spend(key, rule)

    def _draw(self, *parts: str) -> float:
        with self._lock:
            self._counts[parts] += 1
            n = self._counts[parts]
        text = "|".join((str(self._profile.seed), *parts, str(n)))
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0**64

    def _spend(self, key: str, rule: FaultRule) -> bool:
        with self._lock:
            if rule.max_faults is not None and self._spent[("rule", key)] >= rule.max_faults:
                return False
            self._spent[("rule", key)] += 1
            return True


def relative_path(scope: Scope) -> str:
    """The request path below the mount point (what profiles and simulators call the endpoint)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class FaultMiddleware:
    """Applies a :class:`Faults` profile to one vendor's app (mounted by ``sandbox/app.py``)."""

    def __init__(self, app: ASGIApp, faults: Faults, vendor: str) -> None:
        self.app = app
        self.faults = faults
        self.vendor = vendor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = relative_path(scope)
        delay = self.faults.latency(self.vendor, endpoint)
        if delay:
            await asyncio.sleep(delay)
        decided = self.faults.decide(self.vendor, scope["method"], endpoint)
        if decided is None:
            await self.app(scope, receive, send)
            return
        outcome, rule = decided
        if outcome == "hang":
            await _hang(receive, send, rule.hang_seconds)
        elif outcome == "drop":
            await _drop(send)
        elif outcome == "lost":
            await self.app(scope, receive, _discard)
            await _drop(send)
        elif outcome == "late":
            await _late(self.app, scope, receive, send, rule.late_seconds)
        elif outcome == "html":
            await _page(send)
        else:
            headers = [(b"retry-after", str(rule.retry_after).encode())] if outcome == "429" else []
            await _plain(send, int(outcome), headers)


async def _plain(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    body = f"sandbox fault: HTTP {status}".encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


async def _page(send: Send) -> None:
    body = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _client_waits(receive: Receive, seconds: float) -> bool:
    """Whether the client is still connected after ``seconds`` (False as soon as it leaves)."""

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(until_disconnect(), timeout=seconds)
    except TimeoutError:
        return True
    return False


async def _hang(receive: Receive, send: Send, seconds: float) -> None:
    if await _client_waits(receive, seconds):
        await _plain(send, 503, [])


async def _discard(message: Message) -> None:
    """The vendor's answer, going nowhere."""


async def _late(app: ASGIApp, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
    """Let the vendor process the request, then hold its answer ``seconds`` (or until the client
    gives up, which is the point)."""
    answer: list[Message] = []

    async def keep(message: Message) -> None:
        answer.append(message)

    await app(scope, receive, keep)
    if await _client_waits(receive, seconds):
        for message in answer:
            await send(message)


async def _drop(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
    raise ConnectionDropped("sandbox fault: connection dropped mid-answer")
