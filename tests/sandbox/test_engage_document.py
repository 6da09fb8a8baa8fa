"""engage-campaign-methods.txt replayed against the simulated Engage: each documented rule of the
methods it serves, with the document's answer (``CODE – template`` as the faultstring).

Rules already replayed elsewhere (tests/sandbox/test_engage.py): the 100-contact array, the
10-day start and 12-hour maxDuration, the 96 kB payload, the null override, the Account owner,
the default campaign, Cancelled as the only state change, 100 campaigns at most.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from sandbox.clock import Clock
from sandbox.engage import EngageSimulator
from sandbox.engage_wire import STRICT
from sandbox.faults import Faults
from sandbox.soap import SOAP11_NS, text
from tests.sandbox.test_engage import CAMPAIGN, SERVICE, batch, call, contact, envelope


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> EngageSimulator:
    return EngageSimulator(clock, Faults(), profile=STRICT)


@pytest.fixture
async def client(sim: EngageSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app()), base_url="http://s") as http:
        yield http


async def faultstring(client: httpx.AsyncClient, operation: str, args: str) -> str | None:
    response = await client.post(
        SERVICE,
        content=envelope(operation, args).encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
    )
    assert response.status_code == 500, response.text
    fault = SafeET.fromstring(response.content).find(f"{{{SOAP11_NS}}}Body/{{{SOAP11_NS}}}Fault")
    return text(fault, "faultstring")


NIL = '<arg3 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
ENTERPRISE = "<owner><internalId>1001</internalId><type>Enterprise</type></owner>"
UNKNOWN_CAMPAIGN = "<campaign><externalId>NOPE</externalId></campaign>"


@pytest.mark.parametrize("operation", ["createContactBatch", "createContactBatchAsync"])
@pytest.mark.parametrize(
    ("rule", "args", "answer"),
    [
        (
            "contact array of at most 100",
            batch() + contact("C") * 101,
            "ARG_TOO_LARGE – Invalid Data, argument 'arg2' exceeds allowed size",
        ),
        ("contacts non-null", batch(), "ARG_NULL – Invalid Data, argument 'arg2' must be non-null"),
        (
            "owner non-null",
            batch(owner="") + contact("C1"),
            "ARG_NULL – Invalid Data, argument 'owner' must be non-null",
        ),
        (
            "owner must be an Account",
            batch(owner=ENTERPRISE) + contact("C1"),
            "ARG_INVALID_TYPE – Argument is of invalid type 'Enterprise'",
        ),
        (
            "referenced campaign exists",
            batch(campaign=UNKNOWN_CAMPAIGN) + contact("C1"),
            "OBJECT_NOT_EXISTS – Referenced object 'NOPE' does not exist",
        ),
        (
            "maxDuration must be set",
            batch(times="<requestedStartTime/>") + contact("C1"),
            "ARG_NULL – Invalid Data, argument 'maxDuration' must be non-null",
        ),
        (
            "payload within 96kB",
            batch() + contact("C1", extra=f"<customPayload>{'x' * 98305}</customPayload>"),
            "ARG_TOO_LARGE – Invalid Data, argument 'C1' exceeds allowed size",
        ),
    ],
)
async def test_create_contact_batch_refusals_are_the_documents_templates(
    client: httpx.AsyncClient, operation: str, rule: str, args: str, answer: str
) -> None:
    assert await faultstring(client, operation, args + NIL) == answer, rule


@pytest.mark.parametrize("operation", ["createContactBatch", "createContactBatchAsync"])
async def test_a_batch_external_id_found_in_the_campaign_is_an_error_naming_it(
    client: httpx.AsyncClient, operation: str
) -> None:
    """'If provided the externalId on the ContactBatch must be unique within the scope of a
    Campaign, if the name is found then an error will be returned.'"""
    await call(client, operation, batch("B1") + contact("C1"))
    assert await faultstring(client, operation, batch("B1") + contact("C2")) == (
        "OBJECT_EXISTS – Object 'B1' already exists"
    )


async def test_only_the_async_call_rejects_a_known_contact_external_id_as_duplicated(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    """Async: 'External ID must be unique within given account and campaign, otherwise request is
    rejected as duplicated.' The synchronous call documents no such rule."""
    await call(client, "createContactBatch", batch("B1") + contact("C1"))
    await call(client, "createContactBatch", batch("B2") + contact("C1"))
    assert await faultstring(client, "createContactBatchAsync", batch("B3") + contact("C1")) == (
        "OBJECT_EXISTS – Object 'C1' already exists"
    )
    assert sim.dump()["contact_count"] == 2


HOUR = timedelta(hours=1)


@pytest.mark.parametrize("operation", ["listContactBatchStates", "listContactAttemptsUsingContactBatch"])
@pytest.mark.parametrize(
    ("row", "from_time", "to_time", "found"),
    [
        ("null null: now - 24 hours -> now", None, None, True),
        ("non-null null: fromTime -> fromTime + 24 hours", -HOUR, None, True),
        ("non-null null, after the batch", HOUR, None, False),
        ("null non-null: toTime - 24 hours -> toTime", None, HOUR, True),
        ("null non-null, before the batch", None, -HOUR, False),
        ("non-null non-null: fromTime -> toTime", -HOUR, HOUR, True),
        ("non-null non-null, a window missing the batch", -2 * HOUR, -HOUR, False),
    ],
)
async def test_the_documents_time_range_table(
    client: httpx.AsyncClient,
    clock: Clock,
    operation: str,
    row: str,
    from_time: timedelta | None,
    to_time: timedelta | None,
    found: bool,
) -> None:
    await call(client, "createContactBatch", batch("B1") + contact("C1"))
    at = clock.utcnow()
    clock.advance(60)
    times = "".join(
        f"<arg{n}>{(at + delta).isoformat()}</arg{n}>" if delta is not None else ""
        for n, delta in ((2, from_time), (3, to_time))
    )
    sample = f"<arg1><externalId>B1</externalId>{CAMPAIGN}</arg1>" if "Attempts" in operation else "<arg1/>"
    assert bool(await call(client, operation, sample + times)) is found, row


async def test_a_window_whose_from_time_is_not_before_its_to_time_is_refused(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    """'fromTime must be less than toTime'."""
    now = clock.utcnow().isoformat()
    assert await faultstring(
        client, "listContactBatchStates", f"<arg1/><arg2>{now}</arg2><arg3>{now}</arg3>"
    ) == ("ARG_INVALID_DATA – Invalid Data 'fromTime must be less than toTime")


async def test_a_null_date_in_list_campaigns_is_open_on_that_side(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    """'If fromDate and toDate are null then all items are returned.' 'If toDate is null then no end
    date is assumed', 'If fromDate is null then no start date is assumed'."""
    org = "<arg1><internalId>1001</internalId><type>Account</type></arg1>"
    clock.advance(3600)
    await call(
        client, "createCampaign", f"<arg1><externalId>LATER</externalId></arg1>{org.replace('arg1', 'arg2')}"
    )
    middle = (clock.utcnow() - timedelta(minutes=30)).isoformat()

    def names(found: list[object]) -> list[str | None]:
        return [text(c, "externalId") for c in found]  # type: ignore[arg-type]

    assert names(await call(client, "listCampaigns", org)) == ["DEFAULT", "LEADFLOW-DEMO", "LATER"]
    assert names(await call(client, "listCampaigns", f"{org}<arg2>{middle}</arg2>")) == ["LATER"]
    assert names(await call(client, "listCampaigns", f"{org}<arg3>{middle}</arg3>")) == [
        "DEFAULT",
        "LEADFLOW-DEMO",
    ]


async def test_campaign_and_batch_lookups_name_what_does_not_exist(client: httpx.AsyncClient) -> None:
    assert await faultstring(client, "showCampaign", "<arg1><internalId>77</internalId></arg1>") == (
        "OBJECT_NOT_EXISTS – Referenced object '77' does not exist"
    )
    assert await faultstring(client, "showContactBatchState", "<arg1><externalId>B9</externalId></arg1>") == (
        "OBJECT_NOT_EXISTS – Referenced object 'B9' does not exist"
    )
    assert await faultstring(client, "createCampaign", "<arg1><externalId>X</externalId></arg1>") == (
        "ARG_NULL – Invalid Data, argument 'arg2' must be non-null"
    )


async def test_list_contact_attempts_finds_a_contact_by_its_external_id_or_its_first_device(
    client: httpx.AsyncClient,
) -> None:
    """listContactAttempts: 'sample: Either externalId of contact or externalId of device[0] on contact.'"""
    await call(client, "createContactBatch", batch("B1") + contact("C1", "+15551230001") + contact("C2"))
    await call(client, "createContactBatch", batch("B2") + contact("C1", "+15551230009"))
    org = "<arg1><internalId>1001</internalId><type>Account</type></arg1>"

    def attempts(found: list[Any]) -> list[tuple[str | None, str | None]]:
        return [(text(a, "contactBatch", "externalId"), text(a, "device", "externalId")) for a in found]

    by_contact = await call(
        client, "listContactAttempts", f"{org}<arg2><contact><externalId>C1</externalId></contact></arg2>"
    )
    assert attempts(by_contact) == [("B1", "+15551230001"), ("B2", "+15551230009")]
    device = "<arg2><contact><devices><externalId>+15551230009</externalId></devices></contact></arg2>"
    assert attempts(await call(client, "listContactAttempts", org + device)) == [("B2", "+15551230009")]
    assert await faultstring(client, "listContactAttempts", org + "<arg2/>") == (
        "ARG_NULL – Invalid Data, argument 'arg2' must be non-null"
    )
