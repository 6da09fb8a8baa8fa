"""The dispatch engine under a contact-frequency limit, against the OBI sandbox in process: the
vendor receives only the leads whose person is under the limit, the others are ``suppressed``
``FREQUENCY_LIMIT``, and a send the vendor refused does not use up a person's contacts."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from connectors.base import Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.frequency import FrequencyLimit
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Issue, Status

ONCE_A_DAY = FrequencyLimit(max_contacts=1, within_hours=24)


def people(prefix: str, numbers: range) -> list[Lead]:
    """Leads of the people ``numbers`` (a mobile each, every third an email too), ids of their own."""
    return [
        Lead(
            source_row=n,
            external_id=f"{prefix}-{n:03d}",
            phones=(Phone(f"+4915{n:08d}", "mobile"),),
            email=f"p{n}@example.com" if n % 3 == 0 else None,
        )
        for n in numbers
    ]


def obi(name: str, password: str = "demo-secret", **settings: Any) -> SinchObiConnector:
    """One OBI campaign under two ledger names: the ledger sees two targets, the sandbox one list."""
    target = TargetConfig(
        name=name,
        kind="sinch_obi",
        base_url="http://sandbox/obi",
        campaign=DEMO_CAMPAIGN_ID,
        ledger_key=f"obi-{name}",
        chunk_size=7,
        retry=RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.02, breaker_failures=1),
        frequency=ONCE_A_DAY,
        **settings,
    )
    return SinchObiConnector(target=target, secrets={"username": "demo", "password": password})


async def send(
    app: Starlette, connector: SinchObiConnector, leads: list[Lead], ledger: Ledger
) -> list[RowResult]:
    transport = httpx.ASGITransport(app=app)
    return await dispatch(connector, leads, ledger=ledger, run_id=connector.target.name, transport=transport)


def stored(app: Starlette) -> set[str]:
    dump = app.state.sandbox.simulators["sinch_obi"].dump()
    return {c["externalId"] for c in dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]}


async def test_the_second_target_gets_only_the_people_the_first_did_not(
    app: Starlette, ledger: Ledger
) -> None:
    first = await send(app, obi("a"), people("a", range(1, 21)), ledger)
    assert {r.status for r in first} == {Status.ACCEPTED}

    second = await send(app, obi("b"), people("b", range(1, 31)), ledger)
    limited = [r for r in second if r.status is Status.SUPPRESSED]
    assert [r.source_row for r in limited] == list(range(1, 21))
    assert all(r.reasons == (Issue.FREQUENCY_LIMIT.value,) and r.attempts == 0 for r in limited)
    assert "1 contacts per 24 h" in (limited[0].vendor_message or "")
    assert {r.status for r in second if r.source_row > 20} == {Status.ACCEPTED}
    assert stored(app) == {f"a-{n:03d}" for n in range(1, 21)} | {f"b-{n:03d}" for n in range(21, 31)}

    again = await send(app, obi("a"), people("a", range(1, 31)), ledger)
    assert {r.status for r in again if r.source_row <= 20} == {Status.ALREADY_SENT}
    assert {r.status for r in again if r.source_row > 20} == {Status.SUPPRESSED}, "b got them today"


async def test_a_send_the_vendor_refused_leaves_the_person_to_the_next_target(
    app: Starlette, ledger: Ledger
) -> None:
    refused = await send(app, obi("a", password="wrong"), people("a", range(1, 15)), ledger)
    assert {r.status for r in refused} == {Status.FAILED}
    assert any(r.attempts for r in refused), "the first request went out and was refused"

    second = await send(app, obi("b"), people("b", range(1, 15)), ledger)
    assert {r.status for r in second} == {Status.ACCEPTED}
    assert stored(app) == {f"b-{n:03d}" for n in range(1, 15)}


async def test_a_dry_run_shows_the_rows_the_limit_would_refuse_and_records_no_contact(
    app: Starlette, ledger: Ledger
) -> None:
    await send(app, obi("a"), people("a", range(1, 21)), ledger)
    again = Lead(source_row=31, external_id="b-again", phones=(Phone(f"+4915{25:08d}", "mobile"),))
    transport = httpx.ASGITransport(app=app)
    leads = [*people("b", range(1, 31)), again]
    predicted = await dispatch(obi("b"), leads, ledger=ledger, run_id="b", transport=transport, dry_run=True)

    limited = {r.source_row for r in predicted if r.reasons == (Issue.FREQUENCY_LIMIT.value,)}
    assert limited == set(range(1, 21)) | {31}, "the ledger's contacts, and the dry run's own person 25"
    assert {r.status for r in predicted if r.source_row in limited} == {Status.SUPPRESSED}
    assert Status.SUPPRESSED not in {r.status for r in predicted if 21 <= r.source_row <= 30}
    assert stored(app) == {f"a-{n:03d}" for n in range(1, 21)}, "nothing sent"

    sent = await send(app, obi("b"), people("b", range(1, 31)), ledger)
    assert {r.source_row for r in sent if r.status is Status.ACCEPTED} == set(range(21, 31)), (
        "the dry run recorded no contact"
    )
