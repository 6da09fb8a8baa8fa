"""uContact SMS and email connectors against the sandbox over HTTP (in process), through dispatch."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Chunk, Lead, Phone
from connectors.config import ConfigError, RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch, target_key
from connectors.ledger import Ledger
from connectors.ucontact import (
    UContactEmailConnector,
    UContactSmsConnector,
    line_field,
    render_template,
)
from sandbox.app import Sandbox
from sandbox.ucontact_files import parse_email_file, parse_sms_file
from schemas.codes import Issue, Status
from tests.connectors.conftest import Recorder

USER, PASSWORD = "demo", "demo-secret"
UPLOAD_SMS = "/Integra/resources/SMS/uploadbase"
UPLOAD_EMAIL = "/IntegraChannels/resources/DialersResources/uploadDialerBase"
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05)


def leads(n: int, start: int = 1) -> list[Lead]:
    return [
        Lead(
            source_row=i,
            external_id=f"src-{i}",
            first_name=f"Ana{i}",
            last_name="Pérez",
            phones=(Phone(f"+44770090{i:04d}", "mobile"), Phone(f"+44207946{i:04d}", "fixed_line")),
            email=f"ana{i}@example.org",
            attributes=(("Plan", f"gold-{i}"), ("Account No", f"A{i:05d}")),
        )
        for i in range(start, start + n)
    ]


def sms_target(**overrides: Any) -> TargetConfig:
    fields: dict[str, Any] = {
        "name": "uc-sms",
        "kind": "ucontact_sms",
        "base_url": "http://sandbox/ucontact",
        "campaign": "somecampaign",
        "credentials": {"username": "env:UC_USER", "password": "env:UC_PASSWORD"},
        "chunk_size": 4,
        "concurrency": 2,
        "timeout": 2,
        "retry": FAST_RETRY,
        "options": {"template": "Hi {first_name}, your plan {Plan} is ready"},
    }
    return TargetConfig.model_validate({**fields, **overrides})


def email_target(**overrides: Any) -> TargetConfig:
    fields: dict[str, Any] = {
        "name": "uc-email",
        "kind": "ucontact_email",
        "campaign": "CampName",
        "options": {
            "template": "Dear {full_name}; account {Account No}",
            "dialer": "EmailDialer",
            "subject": "News",
        },
    }
    return sms_target(**{**fields, **overrides})


def sms(target: TargetConfig | None = None, password: str = PASSWORD) -> UContactSmsConnector:
    return UContactSmsConnector(
        target=target or sms_target(), secrets={"username": USER, "password": password}
    )


def email(target: TargetConfig | None = None) -> UContactEmailConnector:
    return UContactEmailConnector(
        target=target or email_target(), secrets={"username": USER, "password": PASSWORD}
    )


def state(sandbox: Sandbox) -> dict[str, Any]:
    dump: dict[str, Any] = sandbox.simulators["ucontact"].dump()
    return dump


async def send(
    connector: UContactSmsConnector | UContactEmailConnector,
    batch: list[Lead],
    ledger: Ledger,
    recorder: Recorder,
    run_id: str = "run-1",
    progress: Callable[[int, int], None] | None = None,
) -> list[RowResult]:
    return await dispatch(
        connector, batch, ledger=ledger, run_id=run_id, transport=recorder, progress=progress
    )


# --- end to end -----------------------------------------------------------------------------------


async def test_every_sms_lead_is_queued_once_with_its_first_phone_and_rendered_text(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(10)
    results = await send(sms(), batch, ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 10
    rows = state(sandbox)["sms_rows"]
    assert sorted(r["number"] for r in rows) == sorted(lead.phones[0].e164 for lead in batch)
    by_number = {r["number"]: r for r in rows}
    for lead in batch:
        row = by_number[lead.phones[0].e164]
        assert row["text"] == f"Hi {lead.first_name}, your plan gold-{lead.source_row} is ready"
        assert row["campaign"] == "somecampaign"
        assert row["priority"] == 9999


async def test_each_file_holds_at_most_chunk_size_rows_and_is_named_after_its_batch(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(sms(), leads(10), ledger, recorder)

    uploads = state(sandbox)["uploads"]
    assert max(u["rows"] for u in uploads) <= 4
    assert sum(u["rows"] for u in uploads) == 10
    assert {u["filename"] for u in uploads} == {f"{r.batch_id}.csv" for r in results}
    for row in state(sandbox)["sms_rows"]:
        holder = next(r for r in results if r.external_id == f"src-{int(row['number'][-4:])}")
        assert row["filename"] == f"{holder.batch_id}.csv"


async def test_email_rows_carry_body_variables_external_id_and_count(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(6)
    results = await send(email(), batch, ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 6
    rows = {r["email"]: r for r in state(sandbox)["email_rows"]}
    assert len(state(sandbox)["email_rows"]) == 6
    for lead in batch:
        row = rows[lead.email]
        assert row["body"] == f"Dear {lead.full_name}, account A{lead.source_row:05d}"
        assert row["variables"] == {
            "Plan": f"gold-{lead.source_row}",
            "Account No": f"A{lead.source_row:05d}",
            "ExternalId": lead.external_id,
        }
        assert (row["dialer"], row["campaign"], row["subject"], row["user"]) == (
            "EmailDialer",
            "CampName",
            "News",
            USER,
        )
    forms = [httpx.QueryParams(req.content.decode()) for req, _, _ in recorder.to(UPLOAD_EMAIL)]
    assert all(form["channel"] == "email" for form in forms)
    assert all(
        int(form["cant"]) == len(base64.b64decode(form["fileb64"]).decode().splitlines()) for form in forms
    )


async def test_a_refused_file_rejects_its_own_rows_and_only_those(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(8)
    batch[5] = Lead(6, "src-6", "Bad", phones=(Phone("+12", "mobile"),))
    results = await send(sms(sms_target(concurrency=1)), batch, ledger, recorder)

    refused = {r.source_row for r in results if r.status is Status.VENDOR_REJECTED}
    assert refused == {5, 6, 7, 8}
    for r in results:
        if r.source_row in refused:
            assert r.reasons == (Issue.VENDOR_REJECTED,)
            assert r.vendor_status == "0"
        else:
            assert r.status is Status.SUBMITTED
    assert [u["filename"] for u in state(sandbox)["rejected_uploads"]] == [f"{results[5].batch_id}.csv"]
    assert len(state(sandbox)["sms_rows"]) == 4


async def test_unknown_campaign_rejects_every_row_with_the_vendor_answer(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(sms(sms_target(campaign="nope")), leads(3), ledger, recorder)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "0")}
    assert state(sandbox)["sms_rows"] == []


async def test_close_ends_the_session(sandbox: Sandbox, ledger: Ledger, recorder: Recorder) -> None:
    await send(sms(), leads(3), ledger, recorder)

    assert len(recorder.to("/auth/EndSession")) == 1
    assert state(sandbox)["active_sessions"] == 0


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "seed"),
    [
        ({"rate_429": 0.5, "retry_after": 1}, 1),
        ({"rate_500": 0.2, "rate_502": 0.2, "rate_503": 0.2}, 2),
        ({"rate_drop": 0.4}, 3),
        ({"rate_hang": 0.3, "hang_seconds": 5}, 4),
    ],
    ids=["429-retry-after", "5xx", "dropped-connection", "timeout"],
)
async def test_transient_faults_lose_no_row_and_queue_none_twice(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, rule: dict[str, Any], seed: int
) -> None:
    sandbox.faults.configure({"seed": seed, "vendors": {"ucontact": {UPLOAD_SMS: rule}}})
    batch = leads(16)
    results = await send(sms(sms_target(timeout=0.3)), batch, ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 16
    assert max(r.attempts for r in results) > 1
    numbers = [r["number"] for r in state(sandbox)["sms_rows"]]
    assert sorted(numbers) == sorted(lead.phones[0].e164 for lead in batch)


async def test_token_expiry_mid_run_logs_in_again_and_loses_nothing(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    def expire_token(done: int, total: int) -> None:
        sandbox.clock.advance(4000)

    batch = leads(12)
    connector = sms(sms_target(concurrency=1))
    results = await send(connector, batch, ledger, recorder, progress=expire_token)

    assert [r.status for r in results] == [Status.SUBMITTED] * 12
    assert len(recorder.to("/auth/getUserToken")) >= 3
    assert len(state(sandbox)["sms_rows"]) == 12


async def test_early_session_expiry_from_the_fault_profile_is_survived(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.faults.configure(
        {"seed": 5, "vendors": {"ucontact": {UPLOAD_EMAIL: {"rate_expire": 1.0, "max_faults": 1}}}}
    )
    results = await send(email(), leads(8), ledger, recorder)

    assert [r.status for r in results] == [Status.SUBMITTED] * 8
    assert len(state(sandbox)["email_rows"]) == 8
    assert any(status == 401 for _, status, _ in recorder.to(UPLOAD_EMAIL))


# --- ledger and resume ----------------------------------------------------------------------------


async def test_a_rerun_reports_already_sent_and_uploads_nothing(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(6)
    await send(sms(), batch, ledger, recorder, run_id="run-1")
    again = await send(sms(), batch, ledger, recorder, run_id="run-2")

    assert [r.status for r in again] == [Status.ALREADY_SENT] * 6
    assert len(state(sandbox)["sms_rows"]) == 6


async def test_a_chunk_left_in_flight_by_a_crash_is_sent_with_the_same_filename(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(4)
    planned = await dispatch(sms(), batch, ledger=ledger, run_id="plan", dry_run=True, transport=recorder)
    connector = sms()
    assert planned[0].batch_id is not None
    ledger.begin_chunk(
        target_key(connector), planned[0].batch_id, [lead.external_id for lead in batch], "crashed"
    )

    results = await send(connector, batch, ledger, recorder, run_id="run-2")

    assert [r.status for r in results] == [Status.SUBMITTED] * 4
    assert [u["filename"] for u in state(sandbox)["uploads"]] == [f"{planned[0].batch_id}.csv"]
    assert len(state(sandbox)["sms_rows"]) == 4


async def test_rows_that_failed_in_one_run_are_sent_by_the_next(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(4)
    failed = await send(sms(password="wrong-password"), batch, ledger, recorder, run_id="run-1")
    assert {(r.status, r.reasons) for r in failed} == {(Status.FAILED, (Issue.AUTH_FAILED,))}

    results = await send(sms(), batch, ledger, recorder, run_id="run-2")
    assert [r.status for r in results] == [Status.SUBMITTED] * 4
    assert len(state(sandbox)["sms_rows"]) == 4


# --- secrets --------------------------------------------------------------------------------------


async def test_password_and_tokens_appear_in_no_log_result_or_error(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.configure(
        {"seed": 9, "vendors": {"ucontact": {UPLOAD_SMS: {"rate_503": 1.0, "max_faults": 2}}}}
    )
    flaky = sms_target(concurrency=1, retry=RetryPolicy(attempts=2, backoff=0.01))
    ok = await send(sms(flaky), leads(8), ledger, recorder)
    refused = await send(sms(password="wrong-password"), leads(2, start=50), ledger, recorder)

    tokens = [body.decode() for _, status, body in recorder.to("/auth/getUserToken") if status == 200]
    assert tokens
    texts = [caplog.text, *(repr(r) for r in [*ok, *refused])]
    for secret in (PASSWORD, "wrong-password", *tokens):
        assert not any(secret in text for text in texts)
    assert any(r.status is Status.FAILED for r in ok)


def test_a_refused_login_raises_without_the_credentials() -> None:
    auth = sms().auth()
    login = auth.login_request()
    answer = httpx.Response(401, text="ERROR", request=login)
    with pytest.raises(Exception) as raised:
        auth.parse_login(answer)
    assert PASSWORD not in str(raised.value)
    assert type(raised.value).__name__ == "AuthenticationError"


# --- options, templates and the line format -------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Hi {first_name.__class__}", "attribute access"),
        ("Hi {attributes[0]}", "indexing"),
        ("Hi {}", "name a lead field"),
        ("Hi {0}", "name a lead field"),
        ("Hi {first_name!r}", "conversions"),
        ("{first_name}", "literal text"),
        ("Hi {first_name:d}", "format spec"),
        ("Hi {first_name", "not a valid template"),
    ],
)
def test_unsafe_or_empty_templates_are_refused_naming_target_and_key(template: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        sms(sms_target(options={"template": template}))
    assert "uc-sms" in str(raised.value)
    assert "options.template" in str(raised.value)
    assert problem in str(raised.value)


def test_email_needs_a_dialer() -> None:
    with pytest.raises(ConfigError, match=r"options\.dialer"):
        email(email_target(options={"template": "Hello"}))


def test_a_campaign_that_would_break_the_line_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="campaign"):
        sms(sms_target(campaign="a;b"))


def test_missing_placeholders_render_empty() -> None:
    assert render_template("Hi {first_name}{nothing}!", {"first_name": "Ana"}) == "Hi Ana!"


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@settings(deadline=None)
@given(_text)
def test_a_sanitised_field_never_splits_a_line_or_a_field(text: str) -> None:
    cleaned = line_field(text)
    assert ";" not in cleaned
    assert len(f"x{cleaned}x".splitlines()) == 1
    assert len(cleaned) == len(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.tuples(_text, _text), min_size=1, max_size=5),
    attributes=st.dictionaries(_text, _text, max_size=3),
)
def test_any_lead_text_yields_files_the_vendor_reads_back_field_for_field(
    names: list[tuple[str, str]], attributes: dict[str, str]
) -> None:
    batch = tuple(
        Lead(
            i,
            f"id-{i}",
            first,
            last,
            (Phone(f"+4477009{i:05d}", "mobile"),),
            f"x{i}@example.org",
            attributes=tuple(attributes.items()),
        )
        for i, (first, last) in enumerate(names, start=1)
    )
    chunk = Chunk("t", "batch", batch)
    template = "Hi {first_name} {last_name}: {Plan}"
    sms_file = sms(sms_target(options={"template": template})).file_bytes(chunk)
    email_connector = email(email_target(options={"template": template, "dialer": "EmailDialer"}))
    email_file = email_connector.file_bytes(chunk)

    sms_rows = parse_sms_file(base64.b64encode(sms_file).decode(), {"somecampaign"}, 100)
    email_rows = parse_email_file(base64.b64encode(email_file).decode(), {"CampName"}, 100)

    for lead, sms_row, email_row in zip(batch, sms_rows, email_rows, strict=True):
        values = {**attributes, "first_name": lead.first_name or "", "last_name": lead.last_name or ""}
        expected = line_field(render_template(template, values))
        assert (sms_row["number"], sms_row["text"]) == (lead.phones[0].e164, expected)
        assert (email_row["email"], email_row["body"]) == (lead.email, expected)
        assert email_row["variables"] == {
            **{line_field(k): line_field(v) for k, v in attributes.items()},
            "ExternalId": lead.external_id,
        }
