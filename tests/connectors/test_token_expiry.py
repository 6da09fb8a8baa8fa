"""Token/session expiry under load: an expiry is a reason to log in again, never to stop a target.

The sandbox's ``rate_expire`` fault treats a share of token checks as expired, and the vendor then
forgets the session for every request that carries it. When the request resent after a fresh login
meets another expiry (its own draw, or a concurrent request's that ended the fresh session), the
auth flow logs in and resends again (connectors.auth.RESENDS a try, then the engine's retry). A
vendor that refuses every fresh session at once stops the target after
connectors.auth.REFUSED_SESSIONS logins (``TARGET_STOPPED``); a login the vendor itself refuses
stops it with ``AUTH_FAILED``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from connectors.auth import REFUSED_SESSIONS
from connectors.base import Connector, Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.ledger import Ledger
from connectors.maxcontact import MaxContactConnector
from connectors.onc import OncConnector
from connectors.ucontact import UContactSmsConnector
from sandbox.app import Sandbox
from schemas.codes import Issue, Status

ADD_LEAD = "/webservices/services/LeadManagement/addlead"
UPLOAD_SMS = "/Integra/resources/SMS/uploadbase"
RETRY = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.01, breaker_failures=3)
DEFAULT_TRIES = RetryPolicy(attempts=5, backoff=0.001, max_backoff=0.01)
"""A target's default retry budget (5 tries, breaker after 5), with test-fast pauses."""
ROWS = 300
ONC_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"


def leads(n: int) -> list[Lead]:
    return [
        Lead(i, f"x-{i}", f"Ana{i}", "Ruiz", (Phone(f"+44770090{i:04d}", "mobile"),), f"a{i}@example.org")
        for i in range(1, n + 1)
    ]


def maxcontact(
    password: str = "demo-secret", concurrency: int = 4, retry: RetryPolicy = RETRY
) -> MaxContactConnector:
    config = TargetConfig(
        name="mc", kind="maxcontact", base_url="http://sandbox/maxcontact", campaign="1",
        concurrency=concurrency, retry=retry,
    )  # fmt: skip
    return MaxContactConnector(target=config, secrets={"login": "demo", "password": password})


def onc(password: str = "demo-secret", concurrency: int = 4, retry: RetryPolicy = RETRY) -> OncConnector:
    config = TargetConfig(
        name="onc", kind="onc", base_url="http://sandbox/onc", campaign=ONC_CAMPAIGN,
        concurrency=concurrency, retry=retry,
    )  # fmt: skip
    secrets = {"account_id": "demo-account", "username": "demo", "password": password}
    return OncConnector(target=config, secrets=secrets)


def ucontact_sms(password: str = "demo-secret", concurrency: int = 4) -> UContactSmsConnector:
    config = TargetConfig(
        name="uc-sms", kind="ucontact_sms", base_url="http://sandbox/ucontact", campaign="somecampaign",
        chunk_size=1, concurrency=concurrency, retry=RETRY, options={"template": "Hi {first_name}"},
    )  # fmt: skip
    return UContactSmsConnector(target=config, secrets={"username": "demo", "password": password})


async def send(connector: Connector, app: Any, ledger: Ledger, n: int = ROWS) -> list[RowResult]:
    return await dispatch(
        connector, leads(n), ledger=ledger, run_id="run-1", transport=httpx.ASGITransport(app=app)
    )


def held(sandbox: Sandbox, kind: str) -> list[str]:
    """What the vendor holds, one entry per stored lead: its phone (MaxContact, uContact SMS) or
    contact Id (ONC), repeats kept."""
    if kind == "onc":
        dump = sandbox.simulators["onc"].dump()
        return [c["Id"] for campaign in dump["campaigns"] for c in campaign["contacts"]]
    if kind == "maxcontact":
        dump = sandbox.simulators["maxcontact"].dump()
        return [lead["LeadPhones"][0]["PhoneNum"] for x in dump["lists"].values() for lead in x["leads"]]
    dump = sandbox.simulators["ucontact"].dump()
    return [row["number"] for row in dump["sms_rows"]]


def stored(sandbox: Sandbox, kind: str) -> int:
    dump = sandbox.simulators["maxcontact" if kind == "maxcontact" else "ucontact"].dump()
    if kind == "maxcontact":
        return sum(len(x["leads"]) for x in dump["lists"].values())
    return len(dump["sms_rows" if kind == "ucontact_sms" else "email_rows"])


def logins(sandbox: Sandbox, vendor: str) -> int:
    count: int = sandbox.simulators[vendor].dump()["logins"]
    return count


EXPIRY_CASES = [
    # (kind, rate, seed, rows): seeds where, before the fix, a replay met a second expiry
    ("maxcontact", 0.01, 4, 1000),
    ("maxcontact", 0.05, 4, ROWS),
    ("maxcontact", 0.10, 1, ROWS),
    ("ucontact_sms", 0.01, 20, ROWS),
    ("ucontact_sms", 0.05, 1, ROWS),
    ("ucontact_sms", 0.10, 1, ROWS),
]
MAKERS: dict[str, Any] = {"maxcontact": maxcontact, "ucontact_sms": ucontact_sms}
ENDPOINTS = {"maxcontact": ("maxcontact", ADD_LEAD), "ucontact_sms": ("ucontact", UPLOAD_SMS)}


@pytest.mark.parametrize(
    ("kind", "rate", "seed", "rows"), EXPIRY_CASES, ids=[f"{k}-{r:.0%}" for k, r, *_ in EXPIRY_CASES]
)
async def test_expiring_tokens_never_stop_the_target_and_every_row_is_delivered(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str, rate: float, seed: int, rows: int
) -> None:
    vendor, endpoint = ENDPOINTS[kind]
    sandbox.faults.configure({"seed": seed, "vendors": {vendor: {endpoint: {"rate_expire": rate}}}})
    results = await send(MAKERS[kind](), app, ledger, n=rows)

    assert [r.reasons for r in results if Issue.AUTH_FAILED in r.reasons] == []
    assert {r.status for r in results} == {Status.ACCEPTED if kind == "maxcontact" else Status.SUBMITTED}
    assert stored(sandbox, kind) == rows


@pytest.mark.parametrize(
    ("make", "endpoint", "vendor"),
    [(maxcontact, ADD_LEAD, "maxcontact"), (ucontact_sms, UPLOAD_SMS, "ucontact"), (onc, "*", "onc")],
    ids=["maxcontact", "ucontact_sms", "onc"],
)
async def test_a_resend_that_expires_again_logs_in_again_within_the_same_try(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, make: Any, endpoint: str, vendor: str
) -> None:
    sandbox.faults.configure(
        {"seed": 1, "vendors": {vendor: {endpoint: {"rate_expire": 1.0, "max_faults": 3}}}}
    )
    results = await send(make(concurrency=1), app, ledger, n=5)

    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert max(r.attempts for r in results) == 1
    assert logins(sandbox, vendor) == 4  # the first session and one for each expiry
    assert sorted(Counter(held(sandbox, vendor)).values()) == [1] * 5


EXPIRING_OFTEN = [
    # (kind, rate, seed): one session shared by 8 concurrent requests, any of which may end it for
    # all; before each resend could log in again, 4 % (ONC) to all (MaxContact's list) failed
    ("onc", 0.6, 1),
    ("maxcontact", 0.6, 1),
]
OFTEN_MAKERS: dict[str, Any] = {"onc": onc, "maxcontact": maxcontact}


@pytest.mark.parametrize(
    ("kind", "rate", "seed"), EXPIRING_OFTEN, ids=[f"{k}-{r:.0%}-{s}" for k, r, s in EXPIRING_OFTEN]
)
async def test_sessions_that_concurrent_requests_see_expire_again_and_again_still_deliver_every_row_once(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str, rate: float, seed: int
) -> None:
    sandbox.faults.configure({"seed": seed, "vendors": {kind: {"*": {"rate_expire": rate}}}})
    results = await send(OFTEN_MAKERS[kind](concurrency=8, retry=DEFAULT_TRIES), app, ledger)

    assert [(r.status, r.reasons, r.vendor_message) for r in results if r.status is Status.FAILED] == []
    assert {r.status for r in results} == {Status.ACCEPTED}
    assert sorted(Counter(held(sandbox, kind)).values()) == [1] * ROWS
    assert logins(sandbox, kind) > ROWS * rate / 2  # the sessions did expire, many times


@pytest.mark.parametrize("make", [maxcontact, ucontact_sms], ids=["maxcontact", "ucontact_sms"])
async def test_a_refused_login_still_stops_the_target_with_auth_failed(
    app: Starlette, ledger: Ledger, make: Any
) -> None:
    results = await send(make(password="wrong-password"), app, ledger, n=5)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.AUTH_FAILED.value,))}
    assert max(r.attempts for r in results) <= 1


@pytest.mark.parametrize(
    ("make", "endpoint", "vendor"),
    [(maxcontact, ADD_LEAD, "maxcontact"), (ucontact_sms, UPLOAD_SMS, "ucontact"), (onc, "*", "onc")],
    ids=["maxcontact", "ucontact_sms", "onc"],
)
async def test_a_vendor_that_refuses_every_fresh_session_stops_the_target_after_a_bounded_number_of_logins(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, make: Any, endpoint: str, vendor: str
) -> None:
    sandbox.faults.configure({"seed": 1, "vendors": {vendor: {endpoint: {"rate_expire": 1.0}}}})
    results = await send(make(), app, ledger, n=20)

    assert len(results) == 20 and {r.status for r in results} == {Status.FAILED}
    assert {r.reasons for r in results} == {(Issue.TARGET_STOPPED.value,)}
    assert all("took no request with any of them" in (r.vendor_message or "") for r in results)
    assert max(r.attempts for r in results) < RETRY.attempts  # the sessions' bound, not the retries'
    assert logins(sandbox, vendor) == REFUSED_SESSIONS + 1  # the first session, then the bound
    assert held(sandbox, vendor) == []


class ExpiryAsErrorBody:
    """A uContact whose expired session answers ``200 ERROR`` instead of 401 (the document gives
    only ``OK``/``ERROR``/``1`` as results, so a gateway or an older release may well do this)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/uploadbase" not in scope["path"]:
            await self.app(scope, receive, send)
            return

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
                }
            elif message["type"] == "http.response.body" and message.get("body") == b"Unauthorized":
                message = {"type": "http.response.body", "body": b"ERROR"}
            await send(message)

        await self.app(scope, receive, rewrite)


async def test_a_ucontact_session_that_expires_with_a_200_error_body_is_logged_in_again(
    app: Starlette, sandbox: Sandbox, ledger: Ledger
) -> None:
    sandbox.faults.configure(
        {"seed": 2, "vendors": {"ucontact": {UPLOAD_SMS: {"rate_expire": 1.0, "max_faults": 1}}}}
    )
    results = await send(ucontact_sms(), ExpiryAsErrorBody(app), ledger, n=6)

    assert {r.status for r in results} == {Status.SUBMITTED}
    assert stored(sandbox, "ucontact_sms") == 6
    assert sum(r.attempts for r in results) == 6


async def test_a_file_refused_with_error_after_a_fresh_login_stays_vendor_rejected(
    app: Starlette, sandbox: Sandbox, ledger: Ledger
) -> None:
    bad = UContactSmsConnector(
        target=ucontact_sms().target.model_copy(update={"campaign": "no-such-campaign"}),
        secrets={"username": "demo", "password": "demo-secret"},
    )

    class RefuseAsError(ExpiryAsErrorBody):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def rewrite(message: Message) -> None:
                if message["type"] == "http.response.body" and message.get("body") == b"0":
                    message = {"type": "http.response.body", "body": b"ERROR"}
                elif message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message["headers"] if k != b"content-length"]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, rewrite)

    results = await send(bad, RefuseAsError(app), ledger, n=2)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "ERROR")}
    assert stored(sandbox, "ucontact_sms") == 0
