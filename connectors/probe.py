"""A connection test per target, like the "test connection" of reverse-ETL tools: log in, read
the campaign the target names, check the answers have the shapes the connector relies on, log
out. It sends no lead, writes nothing to the ledger and creates nothing at the vendor (so it
never calls ``Connector.open``, which for MaxContact creates a list).

Each vendor's steps live in a :class:`VendorProbe` (connectors.probe_rest, connectors.probe_soap),
found through :data:`PROBES`, a string-keyed table imported lazily like connectors.registry's.
A probe reads only what the vendor's document offers, through the target's own client setup:
the connector's auth flow, ``BoundedTransport`` (answer size and deadline), the environment's
proxies, the target's timeout. There are no retries: a connection test reports what it met.

The result is a :class:`ProbeReport`: the steps verified and, on failure, what went wrong and
what to change. Every text in it is redacted of the run's :class:`~connectors.secrets.SecretSet`
(the credentials, the token or session id the vendor handed out, the headers we sent, each in
its derived forms), so a vendor that echoes a secret cannot put it on the screen.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import httpx

from connectors.auth import SessionExpired, SessionsRefused, TokenAuth
from connectors.base import Connector
from connectors.client import answer_limits, vendor_client
from connectors.config import TargetConfig
from connectors.errors import AuthenticationError, ConnectorError, TransientError, truncate
from connectors.secrets import SecretSet

__all__ = [
    "EXPIRED_LOGOUT",
    "PROBES",
    "Probe",
    "ProbeFailed",
    "ProbeReport",
    "VendorProbe",
    "failed_report",
    "probe",
]

PROBES: dict[str, str] = {
    "sinch_obi": "connectors.probe_rest:ObiProbe",
    "engage": "connectors.probe_soap:EngageProbe",
    "ucontact_sms": "connectors.probe_rest:UContactProbe",
    "ucontact_email": "connectors.probe_rest:UContactProbe",
    "onc": "connectors.probe_soap:OncProbe",
    "maxcontact": "connectors.probe_rest:MaxContactProbe",
}
_LISTED = 10
"""Campaigns named at most in an "unknown campaign" message."""
EXPIRED_LOGOUT = "logout (the session had already expired)"
"""The logout step when the vendor answers that the session expired: there is none left to end."""


class ProbeFailed(Exception):
    """A step failed: ``problem`` says what was met, ``fix`` what to change."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; fix: {fix}")
        self.problem = problem
        self.fix = fix


@dataclass
class ProbeReport:
    """One target's connection test: the steps verified, then the failure if there was one."""

    target: str
    kind: str
    verified: list[str] = field(default_factory=list)
    problem: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """``name: ✓ step, step`` or ``name: ✓ step; ✗ problem; fix: what to do``."""
        done = f"✓ {', '.join(self.verified)}" if self.verified else ""
        if self.ok:
            return f"{self.target}: {done or '✓'}"
        failed = f"✗ {self.problem}; fix: {self.fix}"
        return f"{self.target}: {done}; {failed}" if done else f"{self.target}: {failed}"


def failed_report(target: str, kind: str, problem: str, fix: str) -> ProbeReport:
    """The report of a target that could not be tested at all (e.g. a credential not set)."""
    return ProbeReport(target, kind, problem=problem, fix=fix)


@dataclass
class Probe:
    """What a vendor probe works with, and the helpers that word its findings."""

    connector: Connector
    client: httpx.AsyncClient
    auth: httpx.Auth
    secrets: SecretSet
    report: ProbeReport
    logged_in: bool = False

    @property
    def target(self) -> TargetConfig:
        return self.connector.target

    def ok(self, step: str) -> None:
        self.report.verified.append(step)

    async def login(self, expected: Callable[[httpx.Response], str | None]) -> str:
        """Log in now with the connector's token flow (vendors with a session). ``expected``
        names the shape a login answer should have when this one has not it (a web page where
        a token should be): that is a wrong answer, not a refused login."""
        auth = self.auth
        assert isinstance(auth, TokenAuth)
        response = await self.client.send(auth.login_request(), auth=None)
        shape = expected(response)
        if shape:
            self.unexpected(response, shape)
        token = auth.accept_login(response)
        self.logged_in = True
        return token

    def credential_refs(self) -> str:
        """The credential references to check, e.g. ``credentials.password (env:OBI_PASSWORD)``."""
        refs = [f"credentials.{key} ({ref})" for key, ref in self.target.credentials.items()]
        return ", ".join(refs) or "the target's credentials (none are set)"

    def login_refused(self, said: str) -> NoReturn:
        raise ProbeFailed(
            f"login refused ({said})",
            f"check the values behind {self.credential_refs()}",
        )

    def unknown_campaign(self, listed: list[str], what: str = "campaign") -> NoReturn:
        campaign = self.target.campaign
        if not listed:
            raise ProbeFailed(
                f"{what} {campaign!r} not found, and the vendor lists none for these credentials",
                "check the target's campaign and that this account may see it",
            )
        shown = ", ".join(listed[:_LISTED])
        more = f" and {len(listed) - _LISTED} more" if len(listed) > _LISTED else ""
        raise ProbeFailed(
            f"{what} {campaign!r} not found; the vendor lists {shown}{more}",
            "set the target's campaign to one of them",
        )

    def unexpected(self, response: httpx.Response, expected: str) -> NoReturn:
        """The answer has not the shape the connector relies on."""
        request = response.request
        content_type = response.headers.get("content-type", "no content type").split(";")[0]
        raise ProbeFailed(
            f"unexpected answer from {request.method} {request.url.path} "
            f"(HTTP {response.status_code}, {content_type}): {truncate(response.text, 120)!r}",
            f"the connector expects {expected}; check that base_url ({self.target.base_url}) is the "
            "vendor's API and the target's options match its version",
        )

    def refused(self, response: httpx.Response, what: str) -> NoReturn:
        """An HTTP status that is neither the answer nor a refused login."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise ProbeFailed(
                f"{what}: the vendor answered HTTP {status} ({truncate(response.text, 120)!r})",
                "the vendor is overloaded or down: try again later",
            )
        self.unexpected(response, what)


class VendorProbe(ABC):
    """One vendor's connection test: ``check`` logs in and reads; ``logout`` ends the session."""

    @abstractmethod
    async def check(self, p: Probe) -> None:
        """Verify login, campaign and answer shapes, calling ``p.ok`` for each step."""

    async def logout(self, p: Probe) -> str | None:
        """End the session opened by ``check``; the step verified, or None when there is none."""
        return None


def _vendor_probe(kind: str) -> VendorProbe:
    module_name, _, class_name = PROBES[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    probe_: VendorProbe = cls()
    return probe_


async def probe(connector: Connector, *, transport: httpx.AsyncBaseTransport | None = None) -> ProbeReport:
    """Test ``connector``'s target; never raises for anything the vendor or the network does.

    ``transport`` is for tests (``httpx.ASGITransport(app=...)``)."""
    target = connector.target
    report = ProbeReport(target.name, target.kind)
    secrets = SecretSet(connector.secrets.values())
    auth = connector.auth()
    if isinstance(auth, TokenAuth):
        auth.secrets = secrets
    if target.kind not in PROBES:
        return failed_report(
            target.name,
            target.kind,
            f"no connection test for kind {target.kind!r}",
            "add one to connectors.probe",
        )
    vendor = _vendor_probe(target.kind)
    async with _client(connector, auth, secrets, transport) as client:
        p = Probe(connector, client, auth, secrets, report)
        failure: ProbeFailed | None = None
        try:
            await vendor.check(p)
        except Exception as exc:
            failure = _explain(exc, p)
        try:
            step = await vendor.logout(p)
            if step and failure is None:
                p.ok(step)
        except Exception as exc:
            failure = failure or _explain(exc, p, "logout")
    if failure is not None:
        report.problem, report.fix = failure.problem, failure.fix
    return _redacted(report, secrets)


def _client(
    connector: Connector, auth: httpx.Auth, secrets: SecretSet, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """A client set up as the engine sets up a target's (connectors.client), of one connection."""
    limits = answer_limits(connector)
    return vendor_client(connector, auth, answers=limits, secrets=secrets, connections=1, transport=transport)


def _explain(exc: Exception, p: Probe, step: str | None = None) -> ProbeFailed:
    """Any failure as what happened and what to change."""
    if isinstance(exc, ProbeFailed):
        return exc
    target = p.target
    during = f"{step}: " if step else ""
    said = str(exc).removeprefix(f"{target.name}: ")
    # a connector's message says what happened, then often "; check ...": that part is the fix
    problem, check, advice = said.partition("; check ")
    if isinstance(exc, AuthenticationError):
        return ProbeFailed(
            f"{during}login refused ({problem})",
            f"check the values behind {p.credential_refs()}",
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ProbeFailed(
            f"{during}no answer from {target.base_url} within {target.deadline or target.timeout:g}s",
            "check base_url and the network path to the vendor, or raise the target's timeout",
        )
    if isinstance(exc, httpx.ConnectError):
        return ProbeFailed(
            f"{during}cannot connect to {target.base_url}: {exc or type(exc).__name__}",
            "check base_url (host and port) and that the vendor is up and reachable from here "
            "(HTTP_PROXY/HTTPS_PROXY/NO_PROXY)",
        )
    if isinstance(exc, httpx.TransportError):
        return ProbeFailed(
            f"{during}the connection to {target.base_url} failed: {type(exc).__name__}: {exc}",
            "check base_url, TLS and the network path to the vendor; try again",
        )
    if isinstance(exc, SessionExpired | SessionsRefused):
        return ProbeFailed(
            f"{during}{said}",
            "check that the account behind the credentials may use this part of the vendor's API",
        )
    if isinstance(exc, TransientError):
        return ProbeFailed(f"{during}{said}", "the vendor is overloaded or down: try again later")
    if isinstance(exc, ConnectorError):
        fix = f"check {advice}" if check else "check the target's base_url and options"
        return ProbeFailed(f"{during}{problem}", fix)
    return ProbeFailed(
        f"{during}the test itself failed: {type(exc).__name__}: {exc}",
        "this is a Leadflow bug: report it with this line",
    )


def _redacted(report: ProbeReport, secrets: SecretSet) -> ProbeReport:
    report.verified = [secrets.redact(step) for step in report.verified]
    if report.problem is not None:
        report.problem = secrets.redact(report.problem)
    if report.fix is not None:
        report.fix = secrets.redact(report.fix)
    return report
