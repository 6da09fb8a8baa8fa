"""The connection test of each target kind (connectors.probe), against the sandbox vendors.

In process (``httpx.ASGITransport``) for the vendor's answers, a closed port for a vendor that is
down, the hostile socket server (tests.connectors.hostile) for a vendor that echoes our secrets.
Each vendor's state is compared before and after: a connection test stores nothing there.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from connectors.auth import RESENDS
from connectors.config import TargetConfig
from connectors.probe import ProbeReport, probe
from connectors.registry import build_connector
from connectors.secrets import SecretSet
from sandbox.app import Sandbox
from tests.connectors.hostile import HostileVendor, answers

PASSWORD = "demo-secret"
OBI_CAMPAIGN = "00000000000000000000000000000001"
ONC_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"

TARGETS: dict[str, dict[str, Any]] = {
    "sinch_obi": {"prefix": "/obi", "campaign": OBI_CAMPAIGN},
    "engage": {"prefix": "/engage", "campaign": "LEADFLOW-DEMO", "options": {"account_id": "1001"}},
    "ucontact_sms": {
        "prefix": "/ucontact",
        "campaign": "somecampaign",
        "options": {"template": "Hi {first_name}"},
    },
    "ucontact_email": {
        "prefix": "/ucontact",
        "campaign": "CampName",
        "options": {"template": "Dear {first_name}", "dialer": "EmailDialer"},
    },
    "onc": {"prefix": "/onc", "campaign": ONC_CAMPAIGN},
    "maxcontact": {"prefix": "/maxcontact", "campaign": "1"},
}
KINDS = list(TARGETS)
SIMULATOR = {"ucontact_sms": "ucontact", "ucontact_email": "ucontact"}
"""Simulator kind per target kind, where they differ."""


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_USER", "demo")
    monkeypatch.setenv("PROBE_PASSWORD", PASSWORD)
    monkeypatch.setenv("PROBE_ONC_ACCOUNT", "demo-account")


def target(kind: str, base_url: str = "http://sandbox", **overrides: Any) -> TargetConfig:
    spec = TARGETS[kind]
    user = "login" if kind == "maxcontact" else "username"
    credentials = {user: "env:PROBE_USER", "password": "env:PROBE_PASSWORD"}
    if kind == "onc":
        credentials["account_id"] = "env:PROBE_ONC_ACCOUNT"
    fields = {
        "name": f"{kind}-target",
        "kind": kind,
        "base_url": f"{base_url}{spec['prefix']}",
        "campaign": spec["campaign"],
        "credentials": credentials,
        "options": spec.get("options", {}),
        "timeout": 5,
        **overrides,
    }
    return TargetConfig.model_validate(fields)


async def check(config: TargetConfig, transport: httpx.AsyncBaseTransport | None) -> ProbeReport:
    return await probe(build_connector(config), transport=transport)


def state(sandbox: Sandbox, kind: str) -> Any:
    """The vendor's dump, less MaxContact's live token count (its document has no logout, so the
    test's token lives on until it expires: the probe says so) and the sandbox's login and logout
    counters (a connection test logs in and out)."""
    dump = sandbox.simulators[SIMULATOR.get(kind, kind)].dump()
    if kind == "maxcontact":
        dump.pop("active_tokens")
    dump.pop("logins", None)
    dump.pop("logouts", None)
    return dump


def open_sessions(sandbox: Sandbox, kind: str) -> int:
    """Sessions the vendor still holds (ONC and uContact name the count differently)."""
    dump = state(sandbox, kind)
    count: int = dump["open_sessions"] if kind == "onc" else dump["active_sessions"]
    return count


def assert_no_secret(text: str, *extra: str) -> None:
    forms = SecretSet([PASSWORD, *extra])
    leaked = [form for form in forms if form in text]
    assert not leaked, f"secret forms {leaked} in {text!r}"


# --- passing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_each_vendor_passes_with_what_was_verified_and_stores_nothing(
    app: Starlette, sandbox: Sandbox, kind: str
) -> None:
    before = state(sandbox, kind)
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert report.ok, report.line()
    assert report.verified[0] == "login"
    campaign = TARGETS[kind]["campaign"]
    if kind.startswith("ucontact"):
        assert any("not checked" in step and campaign in step for step in report.verified)
    else:
        assert any(step.startswith(f"campaign {campaign} found") for step in report.verified)
    assert report.line().startswith(f"{kind}-target: ✓ login, ")
    assert state(sandbox, kind) == before, "a connection test must leave the vendor as it found it"


@pytest.mark.parametrize("kind", ["ucontact_sms", "onc"])
async def test_vendors_with_a_session_are_logged_out(app: Starlette, sandbox: Sandbox, kind: str) -> None:
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert report.verified[-1] == "logout"
    assert open_sessions(sandbox, kind) == 0


async def test_the_ucontact_logout_goes_to_the_targets_declared_logout_path(
    app: Starlette, sandbox: Sandbox
) -> None:
    """The logout path is a declared guess (options.logout_path): the probe follows it, so a wrong
    one is reported as a refused logout and the session stays open at the vendor."""
    options = {**TARGETS["ucontact_sms"].get("options", {}), "logout_path": "Integra/resources/auth/Logout"}
    report = await check(target("ucontact_sms", options=options), httpx.ASGITransport(app=app))
    assert not report.ok, report.line()
    assert "EndSession" in f"{report.problem}; {report.fix}" or "logout" in report.line().lower()
    assert open_sessions(sandbox, "ucontact_sms") == 1


async def test_maxcontact_names_the_list_a_run_will_reuse(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    config = target("maxcontact", options={"list_name": "Spring leads"})
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/maxcontact") as client:
        login = await client.get(
            "/webservices/services/apitoken/login/demo",
            headers={"Authorization": "ZGVtby1zZWNyZXQ=", "Accept": "application/json"},
        )
        created = await client.post(
            "/webservices/services/management/lists",
            json={"ListName": "Spring leads", "Description": "x", "ListType": 0},
            headers={"Accept": "application/json", "Cookie": f"TokenKey={login.json()['TokenKey']}"},
        )
        list_id = created.json()["Data"]["Id"]
    report = await check(config, transport)
    assert f"list 'Spring leads' exists (Id {list_id})" in report.verified


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_wrong_password_names_the_credential_references(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("PROBE_PASSWORD", "not-the-password")
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.problem is not None and "login refused" in report.problem
    assert report.fix is not None and "credentials.password (env:PROBE_PASSWORD)" in report.fix
    assert "not-the-password" not in report.line()


@pytest.mark.parametrize(
    ("kind", "campaign", "listed"),
    [
        ("sinch_obi", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", OBI_CAMPAIGN),
        ("engage", "NO-SUCH-CAMPAIGN", "LEADFLOW-DEMO"),
        ("onc", "6f1c1f1e-0000-4000-8000-0000000000ff", ONC_CAMPAIGN),
        ("maxcontact", "77", "1 ('Leadflow Demo')"),
    ],
)
async def test_an_unknown_campaign_lists_the_campaigns_the_vendor_has(
    app: Starlette, kind: str, campaign: str, listed: str
) -> None:
    report = await check(target(kind, campaign=campaign), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.verified == ["login"]
    assert report.problem is not None and f"{campaign!r} not found" in report.problem
    assert listed in report.problem
    assert report.fix == "set the target's campaign to one of them"


async def test_an_unknown_engage_owner_account_is_named_with_its_option(app: Starlette) -> None:
    report = await check(target("engage", options={"account_id": "999"}), httpx.ASGITransport(app=app))
    assert report.problem is not None and "owner account 999 not found" in report.problem
    assert report.fix is not None and "options.account_id" in report.fix


async def test_onc_members_in_another_namespace_than_the_option_are_a_wrong_shape(app: Starlette) -> None:
    options = {"data_namespace": "http://example.com/not-the-contract"}
    report = await check(target("onc", options=options), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.problem is not None and "unexpected answer from POST" in report.problem
    assert report.fix is not None and "options.data_namespace" in report.fix
    assert "http://schemas.datacontract.org/2004/07/DynamicNotifications" in report.fix


@pytest.mark.parametrize(
    ("kind", "options", "named"),
    [
        ("onc", {"soap_action": "{namespace}Other/{operation}"}, "namespace/soap_action/service_path"),
        ("onc", {"namespace": "http://example.com/"}, "namespace/soap_action/service_path"),
        ("onc", {"result_element": "{operation}Return"}, "result_element"),
        ("engage", {"account_id": "1001", "namespace": "http://example.com/110"}, "options.namespace"),
    ],
)
async def test_a_wrong_wire_guess_in_the_options_is_named(
    app: Starlette, kind: str, options: dict[str, str], named: str
) -> None:
    """The declared guesses (namespace, SOAPAction) the strict sandbox refuses are reported as
    such, not as a refused login or an outage."""
    report = await check(target(kind, options=options), httpx.ASGITransport(app=app))
    assert not report.ok
    assert named in f"{report.problem}; {report.fix}", report.line()
    assert "login refused" not in report.line()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", KINDS)
async def test_a_vendor_that_is_down_is_named_with_its_url_and_the_error(closed_port: int, kind: str) -> None:
    base_url = f"http://127.0.0.1:{closed_port}"
    report = await check(target(kind, base_url=base_url), None)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.startswith(f"cannot connect to {base_url}{TARGETS[kind]['prefix']}: ")
    assert report.fix is not None and "base_url" in report.fix


HTML_AT = {
    "sinch_obi": f"/campaigns/{OBI_CAMPAIGN}",
    "engage": "/SOAPAPI2/*",
    "ucontact_sms": "*/getUserToken",
    "ucontact_email": "*/getUserToken",
    "onc": "*",
    "maxcontact": "*/apitoken/login/*",
}
"""Where each vendor's first read is answered with a web page (sandbox fault ``rate_html``)."""


@pytest.mark.parametrize("kind", KINDS)
async def test_a_web_page_instead_of_the_vendors_answer_says_what_was_expected(
    app: Starlette, sandbox: Sandbox, kind: str
) -> None:
    vendor = SIMULATOR.get(kind, kind)
    sandbox.faults.configure({"vendors": {vendor: {HTML_AT[kind]: {"rate_html": 1.0}}}})
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.problem is not None and report.problem.startswith("unexpected answer from ")
    assert "text/html" in report.problem
    assert report.fix is not None and report.fix.startswith("the connector expects ")


async def test_a_web_page_for_the_maxcontact_campaign_is_a_wrong_shape(
    app: Starlette, sandbox: Sandbox
) -> None:
    rule = {"/webservices/services/management/campaigns/*": {"rate_html": 1.0}}
    sandbox.faults.configure({"vendors": {"maxcontact": rule}})
    report = await check(target("maxcontact"), httpx.ASGITransport(app=app))
    assert report.verified == ["login"]
    assert report.fix is not None and "ManagementActionResponse" in report.fix


@pytest.mark.parametrize("kind", KINDS)
async def test_a_vendor_overloaded_at_its_first_call_is_reported_as_such(
    app: Starlette, sandbox: Sandbox, kind: str
) -> None:
    vendor = SIMULATOR.get(kind, kind)
    sandbox.faults.configure({"vendors": {vendor: {"*": {"rate_503": 1.0}}}})
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.problem is not None and "503" in report.problem
    assert report.fix == "the vendor is overloaded or down: try again later"


async def test_a_token_refused_right_after_the_login_is_not_called_an_outage(
    app: Starlette, sandbox: Sandbox
) -> None:
    rule = {"/webservices/services/management/*": {"rate_expire": 1.0}}
    sandbox.faults.configure({"vendors": {"maxcontact": rule}})
    report = await check(target("maxcontact"), httpx.ASGITransport(app=app))
    assert report.verified == ["login"]
    assert report.problem is not None and "the session had expired" in report.problem
    assert report.fix is not None and "may use this part of the vendor's API" in report.fix


class ExpiresBeforeLogout:
    """The sandbox, with its clock moved an hour on as the logout arrives: the session the check
    opened has expired by then (ONC's 20 idle minutes, uContact's token lifetime)."""

    def __init__(self, app: Starlette, sandbox: Sandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            action = dict(scope["headers"]).get(b"soapaction", b"")
            if scope["path"].endswith("/EndSession") or b"CloseAPISession" in action:
                self.sandbox.clock.advance(3600 + 1)
        await self.app(scope, receive, send)


@pytest.mark.parametrize("kind", ["ucontact_sms", "onc"])
async def test_a_logout_that_finds_the_session_already_expired_passes(
    app: Starlette, sandbox: Sandbox, kind: str
) -> None:
    report = await check(target(kind), httpx.ASGITransport(app=ExpiresBeforeLogout(app, sandbox)))
    assert report.ok, report.line()
    assert report.verified[-1] == "logout (the session had already expired)"
    assert open_sessions(sandbox, kind) == 0


@pytest.mark.parametrize("kind", ["ucontact_sms", "onc", "maxcontact"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_check_passes_when_sessions_expire_early_and_often(
    app: Starlette, sandbox: Sandbox, kind: str, seed: int
) -> None:
    vendor = SIMULATOR.get(kind, kind)
    sandbox.faults.configure({"seed": seed, "vendors": {vendor: {"*": {"rate_expire": 0.5}}}})
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert report.ok, report.line()


@pytest.mark.parametrize("kind", ["onc", "maxcontact"])  # uContact's check makes no call but the logout
async def test_a_vendor_that_refuses_every_session_fails_the_check_after_a_bounded_number_of_logins(
    app: Starlette, sandbox: Sandbox, kind: str
) -> None:
    vendor = SIMULATOR.get(kind, kind)
    sandbox.faults.configure({"vendors": {vendor: {"*": {"rate_expire": 1.0}}}})
    report = await check(target(kind), httpx.ASGITransport(app=app))
    assert not report.ok
    assert report.problem is not None and "the session had expired" in report.problem
    assert report.fix == "check that the account behind the credentials may use this part of the vendor's API"
    assert sandbox.simulators[vendor].dump()["logins"] <= 1 + RESENDS


# --- secrets ----------------------------------------------------------------------------------

ECHO_AT = {
    "sinch_obi": f"/obi/campaigns/{OBI_CAMPAIGN}",
    "engage": "showCampaign",
    "ucontact_sms": "auth/EndSession",
    "ucontact_email": "auth/EndSession",
    "onc": "GetCampaigns",
    "maxcontact": "management/campaigns/1",
}
"""The probe's request that the hostile vendor answers by echoing our headers and secrets."""


@pytest.fixture(scope="module")
def hostile_vendor() -> Iterator[HostileVendor]:
    with HostileVendor() as server:
        yield server


@pytest.mark.parametrize("kind", KINDS)
async def test_an_echo_of_our_credentials_token_or_session_is_redacted(
    hostile_vendor: HostileVendor, kind: str
) -> None:
    hostile_vendor.marker, hostile_vendor.answer = ECHO_AT[kind], answers.echo(400)
    try:
        report = await check(target(kind, base_url=hostile_vendor.base_url), None)
    finally:
        hostile_vendor.marker = None
    line = report.line()
    assert not report.ok
    assert "***" in line, line
    assert_no_secret(line)
    for label in ("Basic ", "TokenKey=", "in body: "):
        for match in re.finditer(re.escape(label) + r"(\S+)", line):
            assert match.group(1).startswith("***"), f"{label}{match.group(1)} in {line!r}"


def test_every_target_kind_has_a_connection_test() -> None:
    from connectors.config import KINDS
    from connectors.probe import PROBES, _vendor_probe

    assert set(PROBES) == set(KINDS)
    for kind in KINDS:
        _vendor_probe(kind)
