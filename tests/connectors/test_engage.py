"""Engage end to end through the dispatch engine against the simulated Engage service over HTTP.

The sandbox's state dump is the witness: every lead stored exactly once, with its fields, in
batches of at most 100, whatever faults and resends happened on the way.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.base import Lead, Phone
from connectors.chunking import plan_for
from connectors.config import ConfigError, TargetConfig
from connectors.engage import EngageConnector
from connectors.engine import RowResult, dispatch, target_key
from connectors.ledger import Ledger
from sandbox.engage_wire import LENIENT
from schemas.codes import Issue, Status

USER, PASSWORD = "demo", "demo-secret"


def _target(attempts: int = 8, **options: Any) -> TargetConfig:
    return TargetConfig(
        name="engage-demo",
        kind="engage",
        base_url="http://sandbox/engage",
        campaign="LEADFLOW-DEMO",
        credentials={"username": "env:ENGAGE_USER", "password": "env:ENGAGE_PASSWORD"},
        timeout=0.5,
        retry={"attempts": attempts, "backoff": 0.01, "max_backoff": 0.05},
        options={"account_id": "1001", **options},
    )


def _connector(password: str = PASSWORD, **options: Any) -> EngageConnector:
    return EngageConnector(target=_target(**options), secrets={"username": USER, "password": password})


def _leads(n: int, start: int = 1) -> list[Lead]:
    return [
        Lead(
            source_row=i,
            external_id=f"L-{i:04d}",
            first_name="Ana",
            last_name=f"Núñez {i}",
            phones=(Phone(f"+4915112{i:06d}", "mobile"), Phone(f"+4930{i:07d}", "fixed_line")),
            email=f"ana{i}@example.com",
            attributes=(("plan", "gold"), ("note", f"row {i} <&>")),
        )
        for i in range(start, start + n)
    ]


async def _run(app: Starlette, connector: EngageConnector, leads: list[Lead], ledger: Ledger,
               run_id: str = "run-1", **kwargs: Any) -> list[RowResult]:  # fmt: skip
    return await dispatch(
        connector, leads, ledger=ledger, run_id=run_id, transport=httpx.ASGITransport(app=app), **kwargs
    )


def _batches(app: Starlette) -> list[dict[str, Any]]:
    state = app.state.sandbox.simulators["engage"].dump()
    campaign = next(c for c in state["campaigns"] if c["externalId"] == "LEADFLOW-DEMO")
    batches: list[dict[str, Any]] = campaign["batches"]
    return batches


def _stored(app: Starlette) -> Counter[str]:
    return Counter(c["externalId"] for b in _batches(app) for c in b["contacts"])


async def test_every_lead_arrives_once_with_its_fields_in_batches_of_at_most_100(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(250)
    results = await _run(app, _connector(), leads, ledger)

    assert [r.source_row for r in results] == [lead.source_row for lead in leads]
    assert {r.status for r in results} == {Status.ACCEPTED}
    assert _stored(app) == Counter(lead.external_id for lead in leads)
    batches = _batches(app)
    assert [len(b["contacts"]) for b in batches] == [100, 100, 50]
    assert {b["externalId"] for b in batches} == {r.batch_id for r in results}
    contact = next(c for b in batches for c in b["contacts"] if c["externalId"] == "L-0007")
    assert contact["firstName"] == "Ana"
    assert contact["lastName"] == "Núñez 7"
    assert json.loads(contact["customPayload"]) == {"plan": "gold", "note": "row 7 <&>"}
    assert contact["devices"] == [
        {"type": "Phone", "externalId": "+4915112000007"},
        {"type": "Phone", "externalId": "+49300000007"},
        {"type": "Email", "externalId": "ana7@example.com"},
    ]
    assert all(b["maxDuration"] == 720 for b in batches)


async def test_batch_options_reach_the_vendor(app: Starlette, ledger: Ledger) -> None:
    connector = _connector(start_delay_minutes=90, max_duration_minutes=45, send_email_device=False)
    await _run(app, connector, _leads(3), ledger)

    (batch,) = _batches(app)
    assert batch["state"] == "Pending"
    assert batch["maxDuration"] == 45
    assert all(d["type"] == "Phone" for c in batch["contacts"] for d in c["devices"])


async def test_a_batch_stops_dialling_when_the_first_of_its_leads_calling_windows_ends(
    app: Starlette, ledger: Ledger
) -> None:
    now = datetime.now(UTC)
    ends = [now + timedelta(minutes=95), now + timedelta(minutes=30, seconds=30), None]
    leads = [
        dataclasses.replace(lead, call_window_end=end) for lead, end in zip(_leads(3), ends, strict=True)
    ]
    await _run(app, _connector(), leads, ledger)
    await _run(
        app,
        _connector(),
        [dataclasses.replace(lead, external_id="X" + lead.external_id) for lead in _leads(2)],
        ledger,
        "run-2",
    )

    first, second = _batches(app)
    assert first["maxDuration"] in (29, 30)  # the 30.5 minutes left, in whole minutes, less the run's time
    assert second["maxDuration"] == 720  # no window: the target's max_duration_minutes


async def test_a_contact_the_vendor_refuses_lands_on_its_row_and_the_rest_of_its_batch_is_stored(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(10)
    leads[3] = Lead(4, "L-0004", phones=(Phone("0301234567"),))
    results = await _run(app, _connector(), leads, ledger)

    by_row = {r.source_row: r for r in results}
    assert by_row[4].status is Status.VENDOR_REJECTED
    assert by_row[4].vendor_status == "ATTRIBUTE_INVALID_FORMAT"
    assert by_row[4].reasons == (Issue.VENDOR_REJECTED,)
    assert all(by_row[i].status is Status.ACCEPTED for i in by_row if i != 4)
    assert _stored(app) == Counter(lead.external_id for lead in leads if lead.source_row != 4)


async def test_a_payload_over_96_kb_is_not_sent_and_does_not_hold_back_its_batch(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(5)
    leads[1] = Lead(2, "L-0002", phones=(Phone("+4915112999999"),), attributes=(("blob", "x" * 100_000),))
    results = await _run(app, _connector(), leads, ledger)

    assert results[1].status is Status.VENDOR_REJECTED
    assert results[1].reasons == (Issue.CHUNK_TOO_LARGE,)
    assert [r.status for r in results[:1] + results[2:]] == [Status.ACCEPTED] * 4
    assert "L-0002" not in _stored(app)


async def test_a_resend_counts_the_existing_batch_as_accepted_and_stores_nothing_twice(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(120)
    leads[10] = Lead(11, "L-0011", phones=(Phone("12"),))
    await _run(app, _connector(), leads, ledger, "run-1")
    again = await _run(app, _connector(), leads, ledger, "run-2", resend=True)

    assert Counter((r.status, r.reasons) for r in again) == {
        (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,)): 119,
        (Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,)): 1,
    }
    assert _stored(app) == Counter(lead.external_id for lead in leads if lead.source_row != 11)


async def test_a_second_run_reports_delivered_leads_already_sent(app: Starlette, ledger: Ledger) -> None:
    leads = _leads(30)
    await _run(app, _connector(), leads, ledger, "run-1")
    again = await _run(app, _connector(), leads, ledger, "run-2")

    assert {r.status for r in again} == {Status.ALREADY_SENT}
    assert sum(_stored(app).values()) == 30


@pytest.mark.parametrize("vendor_got_it", [True, False], ids=["stored-before-crash", "never-arrived"])
async def test_a_batch_left_in_flight_by_a_crashed_run_is_settled_once(
    app: Starlette, ledger: Ledger, vendor_got_it: bool
) -> None:
    leads = _leads(150)
    connector = _connector()
    first = plan_for(connector, leads).chunks[0]
    ledger.begin_chunk(target_key(connector), first.batch_id, [x.external_id for x in first.leads], "crashed")
    if vendor_got_it:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            response = await client.send(connector.build_request(client, first))
        assert response.status_code == 200

    results = await _run(app, _connector(), leads, ledger, "run-2")

    expected = Status.ALREADY_SENT if vendor_got_it else Status.ACCEPTED
    assert {r.status for r in results[:100]} == {expected}
    assert {r.status for r in results[100:]} == {Status.ACCEPTED}
    assert _stored(app) == Counter(lead.external_id for lead in leads)


async def test_faults_lose_no_row_and_send_none_twice(app: Starlette, ledger: Ledger) -> None:
    profile = {
        "seed": 11,
        "vendors": {
            "engage": {
                "*": {
                    "rate_429": 0.2,
                    "retry_after": 1,
                    "rate_500": 0.1,
                    "rate_503": 0.1,
                    "rate_drop": 0.1,
                    "rate_hang": 0.1,
                    "hang_seconds": 5,
                },
            }
        },
    }
    app.state.sandbox.faults.configure(profile)
    leads = _leads(600)
    # 60% of tries fail here, in an order that varies with the batches' interleaving: with 8
    # tries one of the six batches failed for good now and then (0.6^8 per batch); 20 tries
    # put that beyond reach (0.6^20 ~ 4e-5)
    results = await _run(app, _connector(attempts=20), leads, ledger)

    assert {r.status for r in results} == {Status.ACCEPTED}
    assert max(r.attempts for r in results) > 1
    assert _stored(app) == Counter(lead.external_id for lead in leads)


async def test_a_wrong_campaign_stops_the_target_as_misconfigured_without_retrying_the_fault(
    app: Starlette, ledger: Ledger
) -> None:
    target = _target().model_copy(update={"campaign": "NO-SUCH-CAMPAIGN"})
    connector = EngageConnector(target=target, secrets={"username": USER, "password": PASSWORD})
    results = await _run(app, connector, _leads(250), ledger)

    assert {r.status for r in results} == {Status.FAILED}
    assert {r.reasons for r in results} == {(Issue.TARGET_MISCONFIGURED,)}
    assert results[0].attempts == 1
    assert "OBJECT_NOT_EXISTS" in (results[0].vendor_message or "")
    assert sum(_stored(app).values()) == 0


async def test_credentials_never_appear_in_logs_results_or_messages(
    app: Starlette, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app.state.sandbox.faults.configure({"seed": 2, "vendors": {"engage": {"*": {"rate_503": 0.3}}}})
    wrong = "wr0ng-Passw0rd"
    refused = await _run(app, _connector(password=wrong), _leads(5), ledger, "run-1")
    accepted = await _run(app, _connector(), _leads(5, start=6), ledger, "run-2")

    assert {r.reasons for r in refused} == {(Issue.AUTH_FAILED,)}
    assert {r.status for r in accepted} == {Status.ACCEPTED}
    seen = caplog.text + repr(refused) + repr(accepted) + repr(_connector())
    for secret in (wrong, PASSWORD):
        assert secret not in seen


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"start_delay_minutes": 10 * 24 * 60 + 1}, "options.start_delay_minutes"),
        ({"max_duration_minutes": 721}, "options.max_duration_minutes"),
        ({"max_duration_minutes": 0}, "options.max_duration_minutes"),
        ({"max_duration_minutes": 90, "max_duration_unit": "hours"}, "whole hours"),
        ({"max_duration_unit": "days"}, "options.max_duration_unit"),
        ({"field_names": {"nickname": "nick"}}, "unknown key(s) ['nickname']"),
        ({"account_external_id": "DEMO-ACCOUNT"}, "account_id or account_external_id"),
        ({"colour": "blue"}, "options.colour"),
    ],
)
def test_options_outside_the_documented_bounds_are_refused_naming_target_and_key(
    options: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match="engage-demo") as caught:
        _connector(**options)
    assert key in str(caught.value)


def test_missing_password_credential_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"engage-demo.*credentials\.password"):
        EngageConnector(target=_target(), secrets={"username": USER})


async def test_a_batch_engage_holds_with_other_devices_is_an_id_conflict_not_our_earlier_send(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(5)
    await _run(app, _connector(), leads, ledger, "run-1")
    moved = [
        lead if lead.source_row != 3 else Lead(3, "L-0003", phones=(Phone("+4917000000003"),))
        for lead in leads
    ]
    again = await _run(app, _connector(), moved, ledger, "run-2", resend=True)

    by_row = {r.source_row: r for r in again}
    assert (by_row[3].status, by_row[3].reasons) == (Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT,))
    assert "+4915112000003" in (by_row[3].vendor_message or "")
    assert {(by_row[i].status, by_row[i].reasons) for i in (1, 2, 4, 5)} == {
        (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,))
    }
    assert _stored(app) == Counter(lead.external_id for lead in leads)


async def test_a_contact_the_held_batch_lacks_is_sent_in_a_batch_of_its_own_once(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(4)
    bad = Lead(2, "L-0002", phones=(Phone("0301234567"),))
    await _run(app, _connector(), [bad if x.source_row == 2 else x for x in leads], ledger, "run-1")
    assert "L-0002" not in _stored(app)

    again = await _run(app, _connector(), leads, ledger, "run-2", resend=True)
    third = await _run(app, _connector(), leads, ledger, "run-3", resend=True)

    assert {r.source_row: r.status for r in again} == dict.fromkeys(range(1, 5), Status.ACCEPTED)
    assert again[1].reasons == ()
    assert {r.reasons for r in third} == {(Issue.VENDOR_DUPLICATE,)}
    assert _stored(app) == Counter(lead.external_id for lead in leads)
    assert len(_batches(app)) == 2


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
async def test_refused_contacts_settle_their_rows_against_either_sandbox_profile(
    app: Starlette, ledger: Ledger, lenient: bool
) -> None:
    if lenient:
        app.state.sandbox.simulators["engage"].profile = LENIENT
    leads = _leads(10)
    for row in (3, 7):
        leads[row - 1] = Lead(row, f"L-{row:04d}", phones=(Phone("12345"),))
    results = await _run(app, _connector(), leads, ledger)

    assert {r.source_row for r in results if r.status is Status.VENDOR_REJECTED} == {3, 7}
    assert {r.vendor_status for r in results if r.status is Status.VENDOR_REJECTED} == {
        "ATTRIBUTE_INVALID_FORMAT"
    }
    assert _stored(app) == Counter(x.external_id for x in leads if x.source_row not in (3, 7))
