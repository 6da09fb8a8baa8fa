"""Token/session expiry under load: an expiry is a reason to log in again, never to stop a target.

The sandbox's ``rate_expire`` fault treats a share of token checks as expired. When the request
replayed after a fresh login meets another expiry (its draw is independent), that second 401 is
transient: the engine retries the request with backoff, within its retry budget. Only a login the
vendor itself refuses stops the target with ``AUTH_FAILED``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from connectors.base import Connector, Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.ledger import Ledger
from connectors.maxcontact import MaxContactConnector
from connectors.ucontact import UContactSmsConnector
from sandbox.app import Sandbox
from schemas.codes import Issue, Status

ADD_LEAD = "/webservices/services/LeadManagement/addlead"
UPLOAD_SMS = "/Integra/resources/SMS/uploadbase"
RETRY = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.01, breaker_failures=3)
ROWS = 300


def leads(n: int) -> list[Lead]:
    return [
        Lead(i, f"x-{i}", f"Ana{i}", "Ruiz", (Phone(f"+44770090{i:04d}", "mobile"),), f"a{i}@example.org")
        for i in range(1, n + 1)
    ]


def maxcontact(password: str = "demo-secret") -> MaxContactConnector:
    config = TargetConfig(
        name="mc", kind="maxcontact", base_url="http://sandbox/maxcontact", campaign="1",
        concurrency=4, retry=RETRY,
    )  # fmt: skip
    return MaxContactConnector(target=config, secrets={"login": "demo", "password": password})


def ucontact_sms(password: str = "demo-secret") -> UContactSmsConnector:
    config = TargetConfig(
        name="uc-sms", kind="ucontact_sms", base_url="http://sandbox/ucontact", campaign="somecampaign",
        chunk_size=1, concurrency=4, retry=RETRY, options={"template": "Hi {first_name}"},
    )  # fmt: skip
    return UContactSmsConnector(target=config, secrets={"username": "demo", "password": password})


async def send(connector: Connector, app: Any, ledger: Ledger, n: int = ROWS) -> list[RowResult]:
    return await dispatch(
        connector, leads(n), ledger=ledger, run_id="run-1", transport=httpx.ASGITransport(app=app)
    )


def stored(sandbox: Sandbox, kind: str) -> int:
    dump = sandbox.simulators["maxcontact" if kind == "maxcontact" else "ucontact"].dump()
    if kind == "maxcontact":
        return sum(len(x["leads"]) for x in dump["lists"].values())
    return len(dump["sms_rows" if kind == "ucontact_sms" else "email_rows"])


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
    [(maxcontact, ADD_LEAD, "maxcontact"), (ucontact_sms, UPLOAD_SMS, "ucontact")],
    ids=["maxcontact", "ucontact_sms"],
)
async def test_a_replay_that_expires_again_is_retried_not_fatal(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, make: Any, endpoint: str, vendor: str
) -> None:
    sandbox.faults.configure(
        {"seed": 1, "vendors": {vendor: {endpoint: {"rate_expire": 1.0, "max_faults": 3}}}}
    )
    results = await send(make(), app, ledger, n=5)

    assert Issue.AUTH_FAILED not in {reason for r in results for reason in r.reasons}
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert max(r.attempts for r in results) >= 2


@pytest.mark.parametrize("make", [maxcontact, ucontact_sms], ids=["maxcontact", "ucontact_sms"])
async def test_a_refused_login_still_stops_the_target_with_auth_failed(
    app: Starlette, ledger: Ledger, make: Any
) -> None:
    results = await send(make(password="wrong-password"), app, ledger, n=5)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.AUTH_FAILED.value,))}
    assert max(r.attempts for r in results) <= 1


@pytest.mark.parametrize(
    ("make", "endpoint", "vendor"),
    [(maxcontact, ADD_LEAD, "maxcontact"), (ucontact_sms, UPLOAD_SMS, "ucontact")],
    ids=["maxcontact", "ucontact_sms"],
)
async def test_a_vendor_that_refuses_every_fresh_token_ends_in_failed_rows_within_the_budget(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, make: Any, endpoint: str, vendor: str
) -> None:
    sandbox.faults.configure({"seed": 1, "vendors": {vendor: {endpoint: {"rate_expire": 1.0}}}})
    results = await send(make(), app, ledger, n=20)

    assert {r.status for r in results} == {Status.FAILED}
    assert {r.reasons for r in results} <= {(Issue.TRANSPORT_FAILED.value,), (Issue.TARGET_STOPPED.value,)}
    assert max(r.attempts for r in results) == RETRY.attempts
    assert "right after a fresh login" in (results[-1].vendor_message or "")
    assert stored(sandbox, "maxcontact" if vendor == "maxcontact" else "ucontact_sms") == 0


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
