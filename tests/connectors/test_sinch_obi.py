"""Sinch OBI connector: payload mapping, per-item outcomes, duplicates, reconcile, config errors.

Requests are built by the connector and answered by the OBI sandbox over in-process HTTP.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.base import Chunk, Lead, Phone
from connectors.config import ConfigError, TargetConfig
from connectors.errors import FatalTargetError
from connectors.sinch_obi import SinchObiConnector
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Issue, Status

SECRETS = {"username": "demo", "password": "demo-secret"}


def connector(**options: Any) -> SinchObiConnector:
    target = TargetConfig(
        name="obi",
        kind="sinch_obi",
        base_url="http://sandbox/obi",
        campaign=DEMO_CAMPAIGN_ID,
        options=options,
    )
    return SinchObiConnector(target=target, secrets=dict(SECRETS))


def lead(i: int, *phones: str, **fields: Any) -> Lead:
    numbers = phones or (f"+4930{i:07d}",)
    return Lead(i, f"ext-{i}", phones=tuple(Phone(p) for p in numbers), **fields)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    obi = connector()
    async with httpx.AsyncClient(
        base_url=obi.target.base_url, auth=obi.auth(), transport=httpx.ASGITransport(app=app)
    ) as opened:
        yield opened


async def post(client: httpx.AsyncClient, obi: SinchObiConnector, leads: list[Lead]) -> list[Any]:
    chunk = Chunk("obi", "b", tuple(leads))
    response = await client.send(obi.build_request(client, chunk))
    obi.classify(response)
    return await obi.enrich(client, chunk, obi.parse_response(chunk, response))


def test_a_lead_maps_to_the_documented_customer_fields() -> None:
    mapped = connector(priority=3, dialing_mode="PREVIEW").customer(
        lead(
            1,
            "+4930111",
            "+4930222",
            "+4930333",
            "+4930444",
            first_name="Kathy",
            last_name="Smith",
            email="k@example.org",
            timezone="Europe/Helsinki",
            attributes=(("City", "New York"), ("First Name", "ignored"), ("Phone1", "ignored")),
        )
    )
    assert mapped == {
        "externalId": "ext-1",
        "numbers": "+4930111;+4930222;+4930333",
        "timeZone": "Europe/Helsinki",
        "dialingMode": "PREVIEW",
        "priority": 3,
        "attributes": {
            "attribute": [
                {"name": "First Name", "value": "Kathy"},
                {"name": "Last Name", "value": "Smith"},
                {"name": "Email", "value": "k@example.org"},
                {"name": "City", "value": "New York"},
            ]
        },
    }


def test_the_request_is_json_to_customers_list_with_the_stop_flag_only_when_asked() -> None:
    client = httpx.AsyncClient(base_url="http://sandbox/obi")
    chunk = Chunk("obi", "b", (lead(1), lead(2)))
    plain = connector().build_request(client, chunk)
    assert plain.url.path == f"/obi/campaigns/{DEMO_CAMPAIGN_ID}/customers/list"
    assert plain.url.query == b""
    assert plain.headers["content-type"] == plain.headers["accept"] == "application/json"
    assert [c["externalId"] for c in json.loads(plain.content)] == ["ext-1", "ext-2"]
    stopping = connector(stop_process_if_invalid=True).build_request(client, chunk)
    assert stopping.url.params["stopProcessIfInvalidEntriesFound"] == "true"


async def test_per_item_answers_become_outcomes_on_the_right_rows(client: httpx.AsyncClient) -> None:
    outcomes = await post(client, connector(), [lead(1), lead(2, "+number"), lead(3)])
    assert [o.status for o in outcomes] == [Status.ACCEPTED, Status.VENDOR_REJECTED, Status.ACCEPTED]
    assert outcomes[1].reasons == (Issue.VENDOR_REJECTED.value,)
    assert (outcomes[1].vendor_status, outcomes[1].vendor_message) == ("400", "Invalid numbers: '+number'")
    assert outcomes[0].vendor_id and outcomes[2].vendor_id


async def test_our_own_id_already_there_counts_as_accepted_with_its_vendor_id(
    client: httpx.AsyncClient,
) -> None:
    [first] = await post(client, connector(), [lead(7)])
    [again, new] = await post(client, connector(), [lead(7), lead(8)])
    assert again.status is Status.ACCEPTED
    assert again.reasons == (Issue.VENDOR_DUPLICATE.value,)
    assert again.vendor_id == first.vendor_id
    assert new.status is Status.ACCEPTED


async def test_a_request_held_back_by_the_stop_flag_reports_nothing_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    outcomes = await post(client, connector(stop_process_if_invalid=True), [lead(1), lead(2, "+x"), lead(3)])
    assert [o.status for o in outcomes] == [Status.VENDOR_REJECTED] * 3
    assert outcomes[0].vendor_status == "200"
    assert "held the request back" in (outcomes[0].vendor_message or "")
    dump = app.state.sandbox.simulators["sinch_obi"].dump()
    assert dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"] == []


async def test_reconcile_finds_what_the_vendor_has_by_exact_external_id(client: httpx.AsyncClient) -> None:
    obi = connector()
    [stored] = await post(client, obi, [lead(10)])
    await post(client, obi, [Lead(11, "ext-10x", phones=(Phone("+4930999"),))])
    outcomes = await obi.reconcile(client, Chunk("obi", "b", (lead(10), lead(12))))
    assert outcomes is not None
    assert [(o.status, o.vendor_id) for o in outcomes] == [
        (Status.ACCEPTED, stored.vendor_id),
        (Status.FAILED, None),
    ]


async def test_reconcile_raises_when_the_vendor_cannot_be_asked(app: Starlette) -> None:
    obi = connector()
    async with httpx.AsyncClient(
        base_url=obi.target.base_url,
        auth=httpx.BasicAuth("demo", "wrong-password"),
        transport=httpx.ASGITransport(app=app),
    ) as refused:
        with pytest.raises(FatalTargetError, match="refused our credentials"):
            await obi.reconcile(refused, Chunk("obi", "b", (lead(1),)))


@pytest.mark.parametrize(
    ("options", "secrets", "message"),
    [
        ({"priority": "high"}, SECRETS, r"target 'obi': options.priority: "),
        ({"stop_on_error": True}, SECRETS, r"target 'obi': options.stop_on_error: unknown key; known keys: "),
        ({}, {"username": "demo"}, r"target 'obi': credentials.password is required"),
    ],
)
def test_configuration_errors_name_the_target_and_key(
    options: dict[str, Any], secrets: dict[str, str], message: str
) -> None:
    target = TargetConfig(name="obi", kind="sinch_obi", base_url="http://x", campaign="1", options=options)
    with pytest.raises(ConfigError, match=message):
        SinchObiConnector(target=target, secrets=secrets)
