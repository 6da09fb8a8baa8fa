"""The logout at a run's end (connectors.session) against the in-process sandbox over HTTP.

A vendor may cap a user's open sessions, so a logout that meets a transient fault is tried
again, briefly, and a refused one is not; either way the run ends with one warning and its
results as they were. The sandbox's open-session count is the witness. The faults are set after
the leads went out (the kept session of a run sent in batches, ended by ``end_session``), so
they hit the logout only: ONC takes every call at one path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.auth import TokenAuth
from connectors.base import Connector, Lead, Phone
from connectors.config import TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.ledger import Ledger
from connectors.onc import OncConnector
from connectors.target_state import TargetState
from connectors.ucontact import UContactSmsConnector
from sandbox.app import Sandbox
from schemas.codes import Status
from tests.connectors.conftest import Recorder

RETRY = {"attempts": 6, "backoff": 0.01, "max_backoff": 0.05}
LOGOUT = {"onc": "/DynamicNotificationsService.svc", "ucontact": "/auth/EndSession"}
"""Where each vendor's logout goes (ONC: the one SOAP path; the recorder tells calls apart)."""
ATTEMPTS = 3
"""A logout's attempts at most (connectors.session.LOGOUT_RETRY)."""
UC_END_SESSION = "/Integra/resources/auth/EndSession"


def connector(vendor: str) -> Connector:
    if vendor == "onc":
        onc = TargetConfig(
            name="onc-demo",
            kind="onc",
            base_url="http://sandbox/onc",
            campaign="6f1c1f1e-0000-4000-8000-000000000001",
            credentials={"account_id": "env:A", "username": "env:U", "password": "env:P"},
            timeout=0.5,
            retry=RETRY,
        )
        secrets = {"account_id": "demo-account", "username": "demo", "password": "demo-secret"}
        return OncConnector(target=onc, secrets=secrets)
    uc = TargetConfig(
        name="uc-sms",
        kind="ucontact_sms",
        base_url="http://sandbox/ucontact",
        campaign="somecampaign",
        credentials={"username": "env:U", "password": "env:P"},
        timeout=0.5,
        retry=RETRY,
        options={"template": "Hi {first_name}"},
    )
    return UContactSmsConnector(target=uc, secrets={"username": "demo", "password": "demo-secret"})


def leads(n: int = 3) -> list[Lead]:
    return [Lead(i, f"L-{i}", "Ana", "Ruiz", (Phone(f"+4477009{i:05d}", "mobile"),)) for i in range(1, n + 1)]


def open_sessions(sandbox: Sandbox, vendor: str) -> int:
    dump = sandbox.simulators[vendor].dump()
    count: int = dump["open_sessions"] if vendor == "onc" else dump["active_sessions"]
    return count


class Sent(Recorder):
    """The recorder, also keeping the requests that got no answer (hung, dropped)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await super().handle_async_request(request)


@pytest.fixture
def recorder(app: Starlette) -> Sent:
    return Sent(app)


def logouts(recorder: Sent, vendor: str) -> int:
    """Logout requests sent, answered or not (ONC's told apart by their SOAP action)."""
    sent = [r for r in recorder.sent if LOGOUT[vendor] in r.url.path]
    if vendor == "onc":
        sent = [r for r in sent if "CloseAPISession" in r.headers.get("SOAPAction", "")]
    return len(sent)


async def send_then_logout(
    vendor: str, sandbox: Sandbox, ledger: Ledger, recorder: Sent, fault: dict[str, Any]
) -> tuple[list[RowResult], str]:
    """The leads sent in a kept session, then ``fault`` on every later request of the vendor,
    then the session ended; the results and the token the logout carried."""
    made = connector(vendor)
    state = TargetState.of(made, keep_session=True)
    results = await dispatch(made, leads(), ledger=ledger, run_id="run-1", transport=recorder, state=state)
    assert open_sessions(sandbox, vendor) == 1
    assert state.session is not None and isinstance(state.session.auth, TokenAuth)
    token = state.session.auth.token
    assert token is not None
    sandbox.faults.configure({"vendors": {vendor: {"*": fault}}})
    await state.end_session()
    assert state.session is None
    return results, token


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("vendor", ["onc", "ucontact"])
@pytest.mark.parametrize("fault", ["rate_503", "rate_429", "rate_drop"])
async def test_a_logout_that_meets_one_transient_fault_is_tried_again_and_closes_the_session(
    vendor: str,
    fault: str,
    sandbox: Sandbox,
    ledger: Ledger,
    recorder: Sent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await send_then_logout(vendor, sandbox, ledger, recorder, {fault: 1.0, "max_faults": 1})

    assert logouts(recorder, vendor) == 2
    assert open_sessions(sandbox, vendor) == 0
    assert sandbox.simulators[vendor].dump()["logouts"] == 1
    assert warnings(caplog) == []


@pytest.mark.parametrize("vendor", ["onc", "ucontact"])
@pytest.mark.parametrize("fault", [{"rate_503": 1.0}, {"rate_hang": 1.0, "hang_seconds": 5}])
async def test_a_logout_that_always_fails_is_given_up_after_bounded_attempts_with_one_warning(
    vendor: str,
    fault: dict[str, Any],
    sandbox: Sandbox,
    ledger: Ledger,
    recorder: Sent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = time.monotonic()
    results, token = await send_then_logout(vendor, sandbox, ledger, recorder, fault)

    assert time.monotonic() - started < 4.0  # three attempts of 0.5 s at most, short pauses
    assert logouts(recorder, vendor) == ATTEMPTS
    assert open_sessions(sandbox, vendor) == 1  # left to expire at the vendor
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}
    [warning] = warnings(caplog)
    assert "expire on its own" in warning
    assert token not in caplog.text


async def test_a_failing_logout_leaves_the_runs_results_as_they_were(
    sandbox: Sandbox, ledger: Ledger, recorder: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.configure({"vendors": {"ucontact": {UC_END_SESSION: {"rate_503": 1.0}}}})
    made = connector("ucontact")
    results = await dispatch(made, leads(), ledger=ledger, run_id="run-1", transport=recorder)

    assert [(r.source_row, r.status) for r in results] == [(i, Status.SUBMITTED) for i in (1, 2, 3)]
    assert logouts(recorder, "ucontact") == ATTEMPTS
    assert len(warnings(caplog)) == 1


async def test_a_refused_logout_is_not_tried_again(
    sandbox: Sandbox, ledger: Ledger, recorder: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    # the session already gone at the vendor: EndSession answers 401, and would again
    _, token = await send_then_logout("ucontact", sandbox, ledger, recorder, {"rate_expire": 1.0})

    assert [status for _, status, _ in recorder.to(LOGOUT["ucontact"])] == [401]
    [warning] = warnings(caplog)
    assert "HTTP 401" in warning and "expire on its own" in warning
    assert token not in caplog.text
