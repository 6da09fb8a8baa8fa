"""Every example of sinch-obi-v1.txt replayed against the strict sandbox, answered as documented
(the list examples and single-post example are in test_sinch_obi.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from tests.sandbox.test_sinch_obi import AUTH, BASE, DOC_LIST_EXAMPLE, JSON

TEST_CAMPAIGN = "8A7C98EAF1164F2FAA93B98EECB95D76"
PREVIEW_CAMPAIGN = "62718C7889CC44F7B944C1A6F6BE9B7F"
DOC_CAMPAIGN = {
    "dialerName": "Queue Dialer",
    "registered": "2020-09-25T07:07:50.243Z",
    "dialerId": "88B8B41C99E6484A94F402EA5E465FC5",
    "dialer": "88B8B41C99E6484A94F402EA5E465FC5",
    "endDate": "2021-02-20T22:00:00Z",
    "startDate": "2020-12-20T22:00:00Z",
    "dialerStatus": "PASSIVE",
    "maxCalls": 0,
    "filtered": 0,
    "dialingMode": "PREDICTIVE",
    "name": "Test Campaign",
    "timeZone": "Europe/Berlin",
    "queueId": "63AA93F493A54C5A8597FCFA670B2382",
    "status": "Passive",
    "queueName": "Test Queue",
    "id": TEST_CAMPAIGN,
}
"""The document's get /campaigns/{campaignId} example, but for the counts (the sandbox's
campaign has no customers yet, the example's has ten)."""


@pytest.fixture
async def obi(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.auth = httpx.BasicAuth(*AUTH)
    client.headers.update(JSON)
    return client


async def test_get_campaign_answers_the_documents_example(obi: httpx.AsyncClient) -> None:
    got = (await obi.get(f"/obi/campaigns/{TEST_CAMPAIGN}")).json()
    assert {k: got[k] for k in DOC_CAMPAIGN} == DOC_CAMPAIGN


async def test_get_campaigns_lists_both_of_the_documents_examples(obi: httpx.AsyncClient) -> None:
    got = {c["id"]: c for c in (await obi.get("/obi/campaigns")).json()}
    assert {TEST_CAMPAIGN, PREVIEW_CAMPAIGN} <= set(got)
    assert (got[PREVIEW_CAMPAIGN]["name"], got[PREVIEW_CAMPAIGN]["dialingMode"]) == (
        "Test Preview Campaign",
        "PREVIEW",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "TestCampaign*"}, set()),
        ({"name": "Test Campaign*"}, {TEST_CAMPAIGN}),
        ({"startDate": "2020-06-29T12:00:00.000Z"}, {TEST_CAMPAIGN}),
        ({"startDateEnd": "2020-09-29T12:00:00.000Z"}, set()),
        ({"endDate": "2020-06-29T12:00:00.000Z"}, {TEST_CAMPAIGN}),
        ({"endDateEnd": "2020-09-29T12:00:00.000Z"}, set()),
        ({"registered": "2020-06-29T12:00:00.000Z", "name": "Test*"}, {TEST_CAMPAIGN}),
        ({"registeredEnd": "2020-09-29T12:00:00.000Z"}, {TEST_CAMPAIGN, PREVIEW_CAMPAIGN}),
        ({"registeredEnd": "2020-01-01T00:00:00.000Z"}, {PREVIEW_CAMPAIGN}),
    ],
)
async def test_the_documents_campaign_search_examples(
    obi: httpx.AsyncClient, query: dict[str, str], expected: set[str]
) -> None:
    response = await obi.get("/obi/campaigns", params=query)
    assert response.status_code == 200
    assert {c["id"] for c in response.json()} == expected


async def test_put_status_example_answers_204(obi: httpx.AsyncClient) -> None:
    response = await obi.put(f"/obi/campaigns/{TEST_CAMPAIGN}/status", content="Active")
    assert (response.status_code, response.content) == (204, b"")
    assert (await obi.get(f"/obi/campaigns/{TEST_CAMPAIGN}")).json()["status"] == "Active"


@pytest.mark.parametrize(
    "query",
    [
        {"includeScript": "true"},
        {"callResult": "SUCCESS*"},
        {"date": "2020-06-29T12:00:00.000Z"},
        {"dateEnd": "2020-07-29T12:00:00.000Z"},
        {"modificationDate": "2020-04-29T12:00:00.000Z"},
        {"modificationDateEnd": "2020-07-29T12:00:00.000Z"},
        {"attributeName": "classification"},
        {"attributeName": "Classification", "attributeValue": "Gold"},
        {"offset": "20"},
        {"limit": "100"},
    ],
)
async def test_the_documents_customer_search_examples_are_answered(
    obi: httpx.AsyncClient, query: dict[str, str]
) -> None:
    await obi.post(f"{BASE}/customers/list", json=DOC_LIST_EXAMPLE)
    response = await obi.get(f"{BASE}/customers", params=query)
    assert response.status_code == 200
    assert isinstance(response.json(), list)


async def test_attribute_search_finds_the_examples_gold_customers(obi: httpx.AsyncClient) -> None:
    await obi.post(f"{BASE}/customers/list", json=DOC_LIST_EXAMPLE)
    params = {"attributeName": "Classification", "attributeValue": "Gold"}
    found = (await obi.get(f"{BASE}/customers", params=params)).json()
    assert len(found) == 4


async def test_a_stored_customer_reads_back_in_the_documents_shape(obi: httpx.AsyncClient) -> None:
    example: dict[str, Any] = {
        "attributes": {
            "attribute": [{"name": "City", "value": "New York"}, {"name": "First Name", "value": "Kathy"}]
        },
        "externalId": "10",
        "numbers": "0215428754",
    }
    created = await obi.post(f"{BASE}/customers", json=example, headers={"Accept": "text/html"})
    uid = created.text
    got = (await obi.get(f"{BASE}/customers/{uid}")).json()
    assert (got["id"], got["externalId"], got["numbers"], got["callCount"], got["lastBNumber"]) == (
        uid,
        "10",
        "0215428754",
        0,
        0,
    )
    assert {"name": "Phone1", "value": "0215428754"} in got["attributes"]["attribute"]
    assert (await obi.delete(f"{BASE}/customers/{uid}")).status_code == 204
    assert (await obi.get(f"{BASE}/customers/{uid}")).status_code == 404


async def test_post_single_answers_the_created_id_in_location(obi: httpx.AsyncClient) -> None:
    created = await obi.post(f"{BASE}/customers", json=DOC_LIST_EXAMPLE[0], headers={"Accept": "text/html"})
    assert created.status_code == 201
    assert created.headers["location"].endswith(f"/campaigns/{DEMO_CAMPAIGN_ID}/customers/{created.text}")
