"""The dispatch engine against the OBI sandbox in process: one result per lead, limits, ledger."""

from __future__ import annotations

import gc
import logging
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.base import Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch, prefer_phone, target_key
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Issue, Status

PASSWORD = "demo-secret"


def make_leads(n: int, *, start: int = 1) -> list[Lead]:
    return [
        Lead(
            source_row=i,
            external_id=f"lead-{i:05d}",
            first_name=f"First{i}",
            last_name="Smith",
            phones=(Phone(f"+4930{i:07d}", "fixed_line"), Phone(f"+4915{i:08d}", "mobile")),
            timezone="Europe/Berlin",
            attributes=(("City", "Berlin"),),
        )
        for i in range(start, start + n)
    ]


def obi(password: str = PASSWORD, campaign: str = DEMO_CAMPAIGN_ID, **settings: Any) -> SinchObiConnector:
    settings.setdefault("retry", RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, breaker_failures=2))
    target = TargetConfig(
        name="obi", kind="sinch_obi", base_url="http://sandbox/obi", campaign=campaign, **settings
    )
    return SinchObiConnector(target=target, secrets={"username": "demo", "password": password})


def customers(app: Starlette) -> list[dict[str, Any]]:
    dump = app.state.sandbox.simulators["sinch_obi"].dump()
    found: list[dict[str, Any]] = dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]
    return found


async def run(
    app: Starlette, connector: SinchObiConnector, leads: list[Lead], ledger: Ledger, **kw: Any
) -> list[RowResult]:
    return await dispatch(
        connector,
        leads,
        ledger=ledger,
        run_id=kw.pop("run_id", "run-1"),
        transport=httpx.ASGITransport(app=app),
        **kw,
    )


async def test_every_lead_arrives_once_with_its_fields_and_one_result_each(
    app: Starlette, ledger: Ledger
) -> None:
    leads = make_leads(250)
    results = await run(app, obi(), leads, ledger)

    assert [r.source_row for r in results] == [lead.source_row for lead in leads]
    assert {r.status for r in results} == {Status.ACCEPTED}
    stored = {c["externalId"]: c for c in customers(app)}
    assert len(customers(app)) == 250
    assert set(stored) == {lead.external_id for lead in leads}
    first = stored["lead-00001"]
    assert first["numbers"] == "+49300000001;+491500000001"
    assert first["timeZone"] == "Europe/Berlin"
    assert {"name": "First Name", "value": "First1"} in first["attributes"]
    assert {"name": "City", "value": "Berlin"} in first["attributes"]
    assert all(r.vendor_id == stored[r.external_id]["id"] for r in results)
    assert all(r.attempts == 1 and r.sent_at is not None for r in results)


@pytest.mark.parametrize(
    ("chunk_size", "expected"), [(None, [100, 100, 50]), (30, [30] * 8 + [10]), (500, [100, 100, 50])]
)
async def test_chunks_never_exceed_the_vendor_limit_or_the_target_chunk_size(
    app: Starlette, ledger: Ledger, chunk_size: int | None, expected: list[int]
) -> None:
    results = await run(app, obi(chunk_size=chunk_size), make_leads(250), ledger)
    sizes = Counter(r.batch_id for r in results)
    assert sorted(sizes.values(), reverse=True) == sorted(expected, reverse=True)


async def test_progress_reports_every_row_settled(app: Starlette, ledger: Ledger) -> None:
    seen: list[tuple[int, int]] = []
    await run(
        app,
        obi(chunk_size=10),
        make_leads(45),
        ledger,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (45, 45)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


async def test_vendor_rejections_land_on_the_rows_they_concern(app: Starlette, ledger: Ledger) -> None:
    leads = make_leads(5)
    leads[2] = Lead(source_row=3, external_id="lead-bad", phones=(Phone("+12"),))
    results = await run(app, obi(), leads, ledger)
    assert [r.status for r in results] == [Status.ACCEPTED] * 2 + [Status.VENDOR_REJECTED] + [
        Status.ACCEPTED
    ] * 2
    rejected = results[2]
    assert rejected.reasons == (Issue.VENDOR_REJECTED.value,)
    assert rejected.vendor_status == "400"
    assert rejected.vendor_message == "Invalid numbers: '+12'"
    assert "lead-bad" not in {c["externalId"] for c in customers(app)}


async def test_dry_run_builds_everything_and_sends_nothing(app: Starlette, ledger: Ledger) -> None:
    results = await run(app, obi(chunk_size=40), make_leads(100), ledger, dry_run=True)
    assert {r.status for r in results} == {Status.DRY_RUN}
    assert Counter(r.batch_id for r in results).most_common(1)[0][1] == 40
    assert customers(app) == []
    assert ledger.entries(target_key(obi())) == {}


async def test_rows_accepted_earlier_are_already_sent_unless_resend(app: Starlette, ledger: Ledger) -> None:
    leads = make_leads(30)
    first = await run(app, obi(), leads, ledger, run_id="run-1")
    again = await run(app, obi(), [*leads, *make_leads(5, start=31)], ledger, run_id="run-2")

    assert [r.status for r in again[:30]] == [Status.ALREADY_SENT] * 30
    assert all(r.reasons == (Issue.ALREADY_SENT.value,) for r in again[:30])
    assert [r.vendor_id for r in again[:30]] == [r.vendor_id for r in first]
    assert {r.status for r in again[30:]} == {Status.ACCEPTED}

    resent = await run(app, obi(), leads[:3], ledger, run_id="run-3", resend=True)
    assert [r.status for r in resent] == [Status.ACCEPTED] * 3
    assert all(r.reasons == (Issue.VENDOR_DUPLICATE.value,) for r in resent)
    assert [r.vendor_id for r in resent] == [r.vendor_id for r in first[:3]]
    assert len(customers(app)) == 35


async def test_failed_rows_are_sent_by_the_next_run(app: Starlette, ledger: Ledger) -> None:
    leads = make_leads(20)
    app.state.sandbox.faults.configure(
        {"vendors": {"sinch_obi": {"/campaigns/*/customers/list": {"rate_500": 1.0}}}}
    )
    failed = await run(app, obi(chunk_size=10), leads, ledger, run_id="run-1")
    assert {r.status for r in failed} == {Status.FAILED}

    app.state.sandbox.faults.configure({})
    retried = await run(app, obi(chunk_size=10), leads, ledger, run_id="run-2")
    assert {r.status for r in retried} == {Status.ACCEPTED}
    assert len(customers(app)) == 20


async def test_refused_credentials_stop_the_target_and_never_leak(
    app: Starlette, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="leadflow")
    wrong = "wrong-Pa55word-123"
    results = await run(app, obi(password=wrong, chunk_size=10, concurrency=1), make_leads(30), ledger)

    assert {r.status for r in results} == {Status.FAILED}
    assert {r.reasons for r in results} == {(Issue.AUTH_FAILED.value,)}
    assert Counter(r.attempts for r in results) == {1: 10, 0: 20}
    assert all("credentials" in (r.vendor_message or "") for r in results)
    assert wrong not in repr(results)
    assert wrong not in caplog.text
    assert customers(app) == []


async def test_an_unknown_campaign_stops_the_target_as_misconfigured_not_as_a_breaker_trip(
    app: Starlette, ledger: Ledger
) -> None:
    results = await run(app, obi(campaign="F" * 32, chunk_size=10, concurrency=1), make_leads(25), ledger)
    assert {r.status for r in results} == {Status.FAILED}
    assert {r.reasons for r in results} == {(Issue.TARGET_MISCONFIGURED.value,)}
    assert "not found" in (results[-1].vendor_message or "")


async def test_duplicate_source_rows_are_refused_before_anything_is_sent(
    app: Starlette, ledger: Ledger
) -> None:
    leads = make_leads(2)
    with pytest.raises(ValueError, match="source_row 1 appears twice"):
        await run(app, obi(), [leads[0], leads[0]], ledger)
    assert customers(app) == []


def test_prefer_phone_moves_the_chosen_number_first() -> None:
    lead = make_leads(1)[0]
    mobile = lead.phones[1].e164
    assert [p.e164 for p in prefer_phone(lead, mobile).phones] == [mobile, lead.phones[0].e164]
    assert prefer_phone(lead, None) is lead
    assert prefer_phone(lead, "+10000000") is lead


async def test_a_finished_run_leaves_its_result_rows_to_the_caller_alone(
    app: Starlette, ledger: Ledger
) -> None:
    """httpx keeps each request on its response, in a reference cycle: whatever the engine hangs on
    a request (the write watch) must not keep the run, and so every result row, alive until a
    full collection."""
    gc.disable()
    try:
        results = await run(app, obi(), make_leads(30), ledger)
        assert [holder for holder in gc.get_referrers(results[0]) if holder is not results] == []
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("first_url", "second_url", "ledger_key"),
    [
        ("http://localhost:8765/obi", "http://127.0.0.1:8765/obi/", None),
        ("http://obi-a.example/obi", "http://obi-b.example/obi", "obi-prod"),
    ],
)
async def test_one_vendor_written_two_ways_shares_what_was_sent(
    app: Starlette, ledger: Ledger, first_url: str, second_url: str, ledger_key: str | None
) -> None:
    def spelled(url: str) -> SinchObiConnector:
        target = TargetConfig(
            name="obi", kind="sinch_obi", base_url=url, campaign=DEMO_CAMPAIGN_ID, ledger_key=ledger_key
        )
        return SinchObiConnector(target=target, secrets={"username": "demo", "password": PASSWORD})

    leads = make_leads(5)
    await run(app, spelled(first_url), leads, ledger, run_id="run-1")
    again = await run(app, spelled(second_url), leads, ledger, run_id="run-2")

    assert {r.status for r in again} == {Status.ALREADY_SENT}
    assert len(customers(app)) == 5
