"""MaxContact connector against the sandbox over HTTP (in process), through dispatch."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.base import Chunk, Lead, Phone
from connectors.config import ConfigError, RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.errors import FatalTargetError
from connectors.ledger import Ledger
from connectors.maxcontact import LIMITS, MaxContactConnector
from sandbox.app import Sandbox
from schemas.codes import Issue, Status
from tests.connectors.conftest import Recorder

LOGIN, PASSWORD = "demo", "demo-secret"
ADD_LEAD = "/webservices/services/LeadManagement/addlead"
MANAGEMENT = "/webservices/services/management/*"
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
        )
        for i in range(start, start + n)
    ]


def target(**overrides: Any) -> TargetConfig:
    fields: dict[str, Any] = {
        "name": "mc",
        "kind": "maxcontact",
        "base_url": "http://sandbox/maxcontact",
        "campaign": "1",
        "credentials": {"login": "env:MC_LOGIN", "password": "env:MC_PASSWORD"},
        "concurrency": 4,
        "timeout": 2,
        "retry": FAST_RETRY,
        "options": {"source": "leads.csv"},
    }
    return TargetConfig.model_validate({**fields, **overrides})


def connector(config: TargetConfig | None = None, password: str = PASSWORD) -> MaxContactConnector:
    return MaxContactConnector(target=config or target(), secrets={"login": LOGIN, "password": password})


def state(sandbox: Sandbox) -> dict[str, Any]:
    dump: dict[str, Any] = sandbox.simulators["maxcontact"].dump()
    return dump


def stored(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [lead for lst in state(sandbox)["lists"].values() for lead in lst["leads"]]


async def send(
    mc: MaxContactConnector,
    batch: list[Lead],
    ledger: Ledger,
    recorder: Recorder,
    run_id: str = "run-1",
    progress: Callable[[int, int], None] | None = None,
) -> list[RowResult]:
    return await dispatch(mc, batch, ledger=ledger, run_id=run_id, transport=recorder, progress=progress)


# --- end to end -----------------------------------------------------------------------------------


async def test_open_creates_activates_and_links_a_list_named_after_campaign_and_source(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    await send(connector(), leads(2), ledger, recorder)

    lists = state(sandbox)["lists"]
    assert [(x["ListName"], x["Active"]) for x in lists.values()] == [("Leadflow 1 leads.csv", True)]
    assert state(sandbox)["campaigns"][1]["ListIds"] == list(lists)


async def test_every_lead_arrives_once_with_name_email_and_all_phones(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(12)
    results = await send(connector(), batch, ledger, recorder)

    assert [r.status for r in results] == [Status.ACCEPTED] * 12
    by_email = {lead["email"]: lead for lead in stored(sandbox)}
    assert len(stored(sandbox)) == 12
    for lead, result in zip(batch, results, strict=True):
        got = by_email[lead.email]
        assert got["Name"] == lead.full_name
        assert got["LeadPhones"] == [{"PhoneNum": p.e164} for p in lead.phones]
        assert result.vendor_id == str(got["LeadId"])
        assert result.vendor_status == "Success"


async def test_each_request_carries_one_lead_within_the_byte_limit(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(5)
    batch[2] = Lead(3, "src-3", "X" * (LIMITS.max_bytes or 0), phones=(Phone("+447700900003"),))
    results = await send(connector(), batch, ledger, recorder)

    assert (results[2].status, results[2].reasons) == (Status.FAILED, (Issue.CHUNK_TOO_LARGE,))
    assert [r.status for i, r in enumerate(results) if i != 2] == [Status.ACCEPTED] * 4
    bodies = [request.content for request, _, _ in recorder.to(ADD_LEAD)]
    assert len(bodies) == 4
    assert all(len(body) <= 512_000 and isinstance(json.loads(body), dict) for body in bodies)
    assert len(stored(sandbox)) == 4


async def test_a_refused_lead_is_rejected_on_its_own_row_with_the_vendor_text(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    batch = leads(5)
    batch[2] = Lead(3, "src-3", "Bad", "Number", phones=(Phone("+12"),))
    results = await send(connector(), batch, ledger, recorder)

    bad = results[2]
    assert (bad.status, bad.reasons, bad.vendor_status) == (
        Status.VENDOR_REJECTED,
        (Issue.VENDOR_REJECTED,),
        "Invalid Parameters",
    )
    assert bad.vendor_message is not None
    assert "PhoneNum" in bad.vendor_message
    assert [r.status for i, r in enumerate(results) if i != 2] == [Status.ACCEPTED] * 4
    assert "Bad Number" not in [lead["Name"] for lead in stored(sandbox)]


async def test_a_rerun_finds_the_list_by_name_instead_of_creating_another(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    await send(connector(), leads(3), ledger, recorder, run_id="run-1")
    again = await send(connector(), leads(6), ledger, recorder, run_id="run-2")

    assert [r.status for r in again] == [Status.ALREADY_SENT] * 3 + [Status.ACCEPTED] * 3
    assert len(state(sandbox)["lists"]) == 1
    assert len(stored(sandbox)) == 6


async def test_an_unknown_campaign_stops_the_target_naming_it(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(connector(target(campaign="99")), leads(3), ledger, recorder)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert all("campaign 99" in (r.vendor_message or "") for r in results)
    assert recorder.to(ADD_LEAD) == []


async def test_a_dry_run_builds_every_request_and_touches_nothing(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await dispatch(
        connector(), leads(4), ledger=ledger, run_id="dry", dry_run=True, transport=recorder
    )

    assert [r.status for r in results] == [Status.DRY_RUN] * 4
    assert recorder.exchanges == []


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "rule", "seed"),
    [
        (ADD_LEAD, {"rate_429": 0.4, "retry_after": 1}, 1),
        (ADD_LEAD, {"rate_500": 0.15, "rate_502": 0.15, "rate_503": 0.15}, 2),
        (ADD_LEAD, {"rate_drop": 0.3}, 3),
        (ADD_LEAD, {"rate_hang": 0.2, "hang_seconds": 5}, 4),
        (MANAGEMENT, {"rate_503": 0.25, "rate_drop": 0.1, "max_faults": 4}, 5),
    ],
    ids=["429-retry-after", "5xx", "dropped-connection", "timeout", "management-calls"],
)
async def test_transient_faults_lose_no_lead_and_add_none_twice(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, endpoint: str, rule: dict[str, Any], seed: int
) -> None:
    sandbox.faults.configure({"seed": seed, "vendors": {"maxcontact": {endpoint: rule}}})
    batch = leads(16)
    results = await send(connector(target(timeout=0.3)), batch, ledger, recorder)

    assert [r.status for r in results] == [Status.ACCEPTED] * 16
    assert any(status != 200 for _, status, _ in recorder.exchanges) or max(r.attempts for r in results) > 1
    assert sorted(lead["email"] for lead in stored(sandbox)) == sorted(str(lead.email) for lead in batch)
    assert len(state(sandbox)["lists"]) == 1


async def test_token_expiry_mid_run_logs_in_again_and_loses_nothing(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    def expire_token(done: int, total: int) -> None:
        sandbox.clock.advance(4000)

    results = await send(connector(target(concurrency=1)), leads(6), ledger, recorder, progress=expire_token)

    assert [r.status for r in results] == [Status.ACCEPTED] * 6
    assert len(recorder.to("/apitoken/login/")) >= 4
    assert len(stored(sandbox)) == 6


async def test_early_token_expiry_from_the_fault_profile_is_survived(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.faults.configure(
        {"seed": 6, "vendors": {"maxcontact": {ADD_LEAD: {"rate_expire": 1.0, "max_faults": 1}}}}
    )
    results = await send(connector(target(concurrency=1)), leads(6), ledger, recorder)

    assert [r.status for r in results] == [Status.ACCEPTED] * 6
    assert len(stored(sandbox)) == 6
    assert sum(status == 401 for _, status, _ in recorder.to(ADD_LEAD)) == 1
    assert len(recorder.to("/apitoken/login/")) == 2


# --- secrets --------------------------------------------------------------------------------------


async def test_password_and_tokens_appear_in_no_log_result_or_error(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.configure(
        {"seed": 9, "vendors": {"maxcontact": {ADD_LEAD: {"rate_503": 1.0, "max_faults": 2}}}}
    )
    flaky = target(concurrency=1, retry=RetryPolicy(attempts=2, backoff=0.01))
    ok = await send(connector(flaky), leads(4), ledger, recorder)
    refused = await send(connector(password="wrong-password"), leads(2, start=50), ledger, recorder)

    tokens = [
        json.loads(body)["TokenKey"] for _, status, body in recorder.to("/apitoken/login/") if status == 200
    ]
    assert tokens
    assert {(r.status, r.reasons) for r in refused} == {(Status.FAILED, (Issue.AUTH_FAILED,))}
    assert any(r.status is Status.FAILED for r in ok)
    texts = [caplog.text, *(repr(r) for r in [*ok, *refused])]
    for secret in (PASSWORD, "wrong-password", *tokens):
        assert not any(secret in text for text in texts)


async def test_the_login_name_stays_out_of_results_and_our_own_logs(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login = "mc-login-7f3a"
    sandbox.simulators["maxcontact"].credentials["login"] = login
    good = MaxContactConnector(target=target(), secrets={"login": login, "password": PASSWORD})
    bad = MaxContactConnector(target=target(), secrets={"login": login, "password": "nope-nope"})
    results = [*await send(good, leads(2), ledger, recorder), *await send(bad, leads(2, 9), ledger, recorder)]

    assert {r.status for r in results} == {Status.ACCEPTED, Status.FAILED}
    assert not any(login in repr(r) for r in results)
    ours = [rec.getMessage() for rec in caplog.records if not rec.name.startswith(("httpx", "httpcore"))]
    assert ours
    assert not any(login in message for message in ours)


# --- answers and options --------------------------------------------------------------------------


def _answer(status: int, body: object) -> httpx.Response:
    request = httpx.Request("POST", f"http://sandbox/maxcontact{ADD_LEAD}")
    return httpx.Response(status, json=body, request=request)


def _mar(success: bool, code: str, detail: str, data: object = None) -> dict[str, object]:
    return {"Success": success, "Data": data, "ResponseCode": code, "ResponseDetail": detail}


@pytest.mark.parametrize(
    ("status", "body", "expected", "reasons", "vendor_id", "vendor_status"),
    [
        (200, _mar(True, "Success", "", {"LeadIds": [41]}), Status.ACCEPTED, (), "41", "Success"),
        (200, {"success": True, "data": 7, "responseCode": "Success"}, Status.ACCEPTED, (), "7", "Success"),
        (
            200,
            _mar(False, "Error", "Lead already exists in list 3"),
            Status.VENDOR_REJECTED,
            (Issue.VENDOR_ID_CONFLICT,),
            None,
            "Error",
        ),
        (
            400,
            _mar(False, "Invalid Parameters", "Name is required"),
            Status.VENDOR_REJECTED,
            (Issue.VENDOR_REJECTED,),
            None,
            "Invalid Parameters",
        ),
        (
            200,
            _mar(False, "Error", "List is inactive"),
            Status.VENDOR_REJECTED,
            (Issue.VENDOR_REJECTED,),
            None,
            "Error",
        ),
        (
            404,
            {"Message": "No HTTP resource"},
            Status.VENDOR_REJECTED,
            (Issue.VENDOR_REJECTED,),
            None,
            "HTTP 404",
        ),
    ],
    ids=["success", "camel-case", "duplicate", "invalid-parameters", "error-in-200", "not-an-answer"],
)
def test_addlead_answers_map_to_row_outcomes(
    status: int,
    body: object,
    expected: Status,
    reasons: tuple[str, ...],
    vendor_id: str | None,
    vendor_status: str,
) -> None:
    lead = leads(1)[0]
    [outcome] = connector().parse_response(Chunk("mc", "b", (lead,)), _answer(status, body))

    assert (outcome.source_row, outcome.status, outcome.reasons) == (lead.source_row, expected, reasons)
    assert (outcome.vendor_id, outcome.vendor_status) == (vendor_id, vendor_status)


def test_a_200_that_is_not_a_management_answer_stops_the_target() -> None:
    lead = leads(1)[0]
    with pytest.raises(FatalTargetError, match="not a ManagementActionResponse"):
        connector().parse_response(Chunk("mc", "b", (lead,)), _answer(200, ["unexpected"]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"campaign": "Leadflow Demo"}, "campaign"),
        ({"options": {"list_type": 7}}, "options.list_type"),
        ({"options": {"listname": "x"}}, "options.listname"),
    ],
)
def test_bad_settings_are_refused_naming_target_and_key(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        connector(target(**overrides))
    assert "'mc'" in str(raised.value)
    assert key in str(raised.value)


def test_an_explicit_list_name_wins_over_the_derived_one() -> None:
    assert connector(target(options={"list_name": "Spring promo"})).list_name == "Spring promo"
    assert connector(target(options={})).list_name == "Leadflow 1"
