"""uContact against the sandbox (issue 15): a session that expires with a ``200 ERROR`` body is
logged in again like a 401, and each declared assumption changed on the client side only is
refused by the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.assumptions import check_defaults
from connectors.ledger import Ledger
from connectors.ucontact import ASSUMPTIONS, UContactEmailOptions
from sandbox.app import Sandbox
from schemas.codes import Issue, Status
from tests.connectors.conftest import Recorder
from tests.connectors.test_ucontact import (
    UPLOAD_EMAIL,
    UPLOAD_SMS,
    email,
    email_target,
    leads,
    send,
    sms,
    sms_target,
    state,
)

TEMPLATE = {"template": "Hi {first_name}, your plan {Plan} is ready"}
EMAIL_OPTIONS = {"template": "Dear {full_name}", "dialer": "EmailDialer"}


def sms_with(**options: Any) -> Any:
    return sms(sms_target(options={**TEMPLATE, **options}))


def expire_first_upload(sandbox: Sandbox, path: str = UPLOAD_SMS) -> None:
    sandbox.faults.configure(
        {"seed": 3, "vendors": {"ucontact": {path: {"rate_expire": 1.0, "max_faults": 1}}}}
    )


def test_the_assumptions_table_is_what_the_options_default_to() -> None:
    assert check_defaults(ASSUMPTIONS, UContactEmailOptions) == []


async def test_a_session_expiring_with_a_200_error_body_is_logged_in_again_and_the_file_kept(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.simulators["ucontact"].expired_answer = "ERROR"  # type: ignore[attr-defined]
    expire_first_upload(sandbox)
    results = await send(sms(), leads(6), ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 6
    assert (200, b"ERROR") in [(status, body) for _, status, body in recorder.to(UPLOAD_SMS)]
    assert len(recorder.to("/auth/getUserToken")) == 2
    assert len(state(sandbox)["sms_rows"]) == 6


async def test_an_email_session_expiring_with_a_200_error_body_is_logged_in_again(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.simulators["ucontact"].expired_answer = "ERROR"  # type: ignore[attr-defined]
    expire_first_upload(sandbox, UPLOAD_EMAIL)
    results = await send(email(), leads(5), ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 5
    assert (200, b"ERROR") in [(status, body) for _, status, body in recorder.to(UPLOAD_EMAIL)]
    assert len(state(sandbox)["email_rows"]) == 5


async def test_an_expiry_body_outside_the_declared_guess_fails_the_file_as_before(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.simulators["ucontact"].expired_answer = "ERROR"  # type: ignore[attr-defined]
    expire_first_upload(sandbox)
    results = await send(sms_with(session_expired_answers=["SESSION EXPIRED"]), leads(4), ledger, recorder)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "ERROR")}
    assert state(sandbox)["sms_rows"] == []


# --- each declared guess changed on the client side only: the sandbox refuses it ----------------


@pytest.mark.parametrize(
    "options",
    [
        {"login_path": "Integra/resources/auth/login"},
        {"login_user_field": "username"},
        {"login_password_field": "pass"},
    ],
    ids=["login_path", "login_user_field", "login_password_field"],
)
async def test_a_wrong_login_guess_is_refused_at_login(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, options: dict[str, str]
) -> None:
    results = await send(sms_with(**options), leads(2), ledger, recorder)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.AUTH_FAILED,))}
    assert state(sandbox)["sms_rows"] == []


@pytest.mark.parametrize("form", ["bearer", "token"])
async def test_a_wrong_authorization_form_guess_is_refused(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, form: str
) -> None:
    results = await send(sms_with(authorization=form), leads(2), ledger, recorder)

    assert {r.status for r in results} == {Status.FAILED}
    assert {status for _, status, _ in recorder.to(UPLOAD_SMS)} == {401}
    assert state(sandbox)["sms_rows"] == []


async def test_the_documents_run_together_email_path_is_refused(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    path = "IntegraChannels/resources/DialersResources/uploadMultiChannelBlacklistuploadDialerBase"
    connector = email(email_target(options={**EMAIL_OPTIONS, "email_upload_path": path}))
    results = await send(connector, leads(2), ledger, recorder)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "HTTP 404")}
    assert state(sandbox)["email_rows"] == []


async def test_a_wrong_logout_path_guess_leaves_the_session_open(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(sms_with(logout_path="Integra/resources/auth/logout"), leads(2), ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 2
    assert state(sandbox)["active_sessions"] == 1
