"""A web page where the vendor's answer should be (sandbox fault ``rate_html``: a proxy's or a
login portal's ``200 text/html``) is an answer that cannot be read, never the vendor's word.

uContact's upload answers bare text (``1`` queued, ``0``/``ERROR`` refused) and its login the token
as bare text; MaxContact's login a JSON object with ``TokenKey``. A page in their place says
neither: the rows are ``failed`` ``VENDOR_ANSWER_INVALID`` (exit code 3 or 4, a rerun sends them),
not ``vendor_rejected`` (refused for good, exit code 0) nor ``AUTH_FAILED`` (check the password).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import dispatch
from connectors.ledger import Ledger
from connectors.registry import build_connector
from sandbox.app import Sandbox
from schemas.codes import Issue, Status
from tests.connectors.test_lost_answers import CREDENTIALS, VENDORS, leads

INVALID = Issue.VENDOR_ANSWER_INVALID.value
RETRY = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01, breaker_failures=20)
LOGIN = {
    "ucontact_sms": "/Integra/resources/auth/getUserToken",
    "ucontact_email": "/Integra/resources/auth/getUserToken",
    "maxcontact": "/webservices/services/apitoken/login/*",
}


async def send(app: Starlette, sandbox: Sandbox, kind: str, ledger: Ledger, run_id: str) -> list[Any]:
    vendor, _, fields, _, _ = VENDORS[kind]
    prefix = sandbox.simulators[vendor].prefix
    target = TargetConfig.model_validate(
        {"name": kind, "kind": kind, "base_url": f"http://sandbox{prefix}", "timeout": 2, "retry": RETRY}
        | fields
    )
    connector = build_connector(target, CREDENTIALS)
    return await dispatch(
        connector, leads(7), ledger=ledger, run_id=run_id, transport=httpx.ASGITransport(app=app)
    )


@pytest.mark.parametrize("kind", ["ucontact_sms", "ucontact_email"])
async def test_a_web_page_answering_an_upload_fails_its_rows_and_a_rerun_sends_them(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    vendor, endpoint, *_ = VENDORS[kind]
    sandbox.faults.configure({"vendors": {vendor: {endpoint: {"rate_html": 1.0}}}})

    first = await send(app, sandbox, kind, ledger, "run-1")

    assert {(r.status, r.reasons[0]) for r in first} == {(Status.FAILED, INVALID)}
    assert all("web page" in (r.vendor_message or "") for r in first)
    sandbox.faults.configure({})
    again = await send(app, sandbox, kind, ledger, "run-2")
    assert {r.status for r in again} == {Status.SUBMITTED}


@pytest.mark.parametrize("kind", sorted(LOGIN))
async def test_a_web_page_answering_the_login_is_not_called_a_refused_password(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    vendor = VENDORS[kind][0]
    sandbox.faults.configure({"vendors": {vendor: {LOGIN[kind]: {"rate_html": 1.0}}}})

    results = await send(app, sandbox, kind, ledger, "run-1")

    assert {(r.status, r.reasons[0]) for r in results} == {(Status.FAILED, INVALID)}
    assert not any("password" in (r.vendor_message or "") for r in results)


SOAP_AND_MAXCONTACT = {
    "onc": ("*", {}),
    "engage": ("*", {"chunk_size": 2}),
    "maxcontact": ("/webservices/services/LeadManagement/addlead", {}),
}


@pytest.mark.parametrize("kind", sorted(SOAP_AND_MAXCONTACT))
async def test_a_web_page_answering_one_request_fails_its_rows_and_the_target_goes_on(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    """One page among the answers fails that request's rows and counts towards the breaker
    (README: "an answer that cannot be read"); it does not stop the target, leaving every later
    row unsent."""
    vendor, _, fields, _, _ = VENDORS[kind]
    endpoint, overrides = SOAP_AND_MAXCONTACT[kind]
    rule = {"rate_html": 0.2}  # seed 1: ONC's login, its first request, is not among them
    sandbox.faults.configure({"seed": 1, "vendors": {vendor: {endpoint: rule}}})
    prefix = sandbox.simulators[vendor].prefix
    target = TargetConfig.model_validate(
        {"name": kind, "kind": kind, "base_url": f"http://sandbox{prefix}", "timeout": 2, "retry": RETRY}
        | fields
        | overrides
    )
    results = await dispatch(
        build_connector(target, CREDENTIALS),
        leads(40),
        ledger=ledger,
        run_id="run-1",
        transport=httpx.ASGITransport(app=app),
    )

    failed = [r for r in results if r.status is Status.FAILED]
    assert failed, "the fault never hit"
    assert {(r.reasons[0], r.attempts) for r in failed} == {(INVALID, 1)}
    assert {r.status for r in results} == {Status.FAILED, Status.ACCEPTED}
