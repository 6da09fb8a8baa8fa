from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import build_app
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID

AUTH = ("demo", "demo-secret")
JSON = {"Accept": "application/json"}
BASE = f"/obi/campaigns/{DEMO_CAMPAIGN_ID}"


def _person(first: str, city: str, klass: str, numbers: str) -> dict[str, Any]:
    names = [("City", city), ("Classification", klass), ("First Name", first), ("Last Name", "Smith")]
    return {"attributes": {"attribute": [{"name": n, "value": v} for n, v in names]}, "numbers": numbers}


DOC_LIST_EXAMPLE = [
    _person("Kathy", "New York", "Gold", "+52145200;"),
    _person("Bob", "New York", "Silver", "+52145201;"),
    _person("John", "London", "Gold", "+52145202;"),
    _person("Keith", "Helsinki", "Gold", "+52145203;"),
    _person("Kate", "New York", "Gold", "+52145204;"),
]


@pytest.fixture
async def obi(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.auth = httpx.BasicAuth(*AUTH)
    client.headers.update(JSON)
    return client


async def _customers(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/customers", params=params)
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()
    return result


async def test_documents_list_example_is_all_created(obi: httpx.AsyncClient) -> None:
    response = await obi.post(f"{BASE}/customers/list", json=DOC_LIST_EXAMPLE)
    assert response.status_code == 200
    items = response.json()
    assert [i["statusCode"] for i in items] == [201] * 5
    assert all(len(i["id"]) == 32 for i in items)
    stored = await _customers(obi)
    assert [c["numbers"] for c in stored] == [f"+5214520{i}" for i in range(5)]
    kathy = stored[0]["attributes"]["attribute"]
    assert {"name": "Phone1", "value": "+52145200"} in kathy
    assert {"name": "First Name", "value": "Kathy"} in kathy


async def test_invalid_numbers_item_without_stop_matches_the_document(obi: httpx.AsyncClient) -> None:
    entries = [{"numbers": f"+4930123456{i}", "externalId": f"e{i}"} for i in range(8)]
    entries[3] = {"numbers": "+number;"}
    items = (await obi.post(f"{BASE}/customers/list", json=entries)).json()
    assert items[3] == {"error": "Invalid numbers: '+number;'", "statusCode": 400}
    assert [i["statusCode"] for i in items] == [201, 201, 201, 400, 201, 201, 201, 201]
    assert len(await _customers(obi)) == 7


async def test_stop_process_adds_nothing_and_matches_the_document(obi: httpx.AsyncClient) -> None:
    entries = [{"numbers": f"+4930123456{i}", "externalId": f"e{i}"} for i in range(10)]
    entries[5]["externalId"] = entries[7]["externalId"] = "007"
    response = await obi.post(f"{BASE}/customers/list?stopProcessIfInvalidEntriesFound=true", json=entries)
    error = {"error": "Invalid externalId: 007 : Value is not unique", "statusCode": 400}
    assert (
        response.json()
        == [{"statusCode": 200}] * 5 + [error, {"statusCode": 200}, error] + [{"statusCode": 200}] * 2
    )
    assert await _customers(obi) == []


async def test_stop_process_with_all_valid_creates_all(obi: httpx.AsyncClient) -> None:
    url = f"{BASE}/customers/list?stopProcessIfInvalidEntriesFound=true"
    items = (await obi.post(url, json=DOC_LIST_EXAMPLE)).json()
    assert {i["statusCode"] for i in items} == {201}


async def test_external_id_already_in_the_campaign_is_not_unique(obi: httpx.AsyncClient) -> None:
    await obi.post(f"{BASE}/customers/list", json=[{"externalId": "X1", "numbers": "+4930123456"}])
    items = (
        await obi.post(f"{BASE}/customers/list", json=[{"externalId": "X1", "numbers": "+4930999999"}])
    ).json()
    assert items == [{"statusCode": 400, "error": "Invalid externalId: X1 : Value is not unique"}]


async def test_same_external_id_in_another_campaign_is_fine(obi: httpx.AsyncClient) -> None:
    entry = [{"externalId": "X1", "numbers": "+4930123456"}]
    await obi.post(f"{BASE}/customers/list", json=entry)
    other = "/obi/campaigns/62718C7889CC44F7B944C1A6F6BE9B7F/customers/list"
    assert (await obi.post(other, json=entry)).json()[0]["statusCode"] == 201


async def test_more_than_100_customers_are_refused(obi: httpx.AsyncClient) -> None:
    entries = [{"numbers": f"+49301{i:06d}"} for i in range(101)]
    response = await obi.post(f"{BASE}/customers/list", json=entries)
    assert response.status_code == 400
    assert await _customers(obi) == []
    assert (await obi.post(f"{BASE}/customers/list", json=entries[:100])).status_code == 200


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"numbers": "+491;+492;+493;+494"}, "Invalid numbers: '+491;+492;+493;+494'"),
        ({"numbers": "12ab45"}, "Invalid numbers: '12ab45'"),
        ({"attributes": {"attribute": [{"name": "City", "value": "Oslo"}]}}, "Invalid numbers: ''"),
        (
            {"attributes": {"attribute": [{"name": "Phone2", "value": "+4930123456"}]}},
            "Invalid numbers: ';+4930123456'",
        ),
        ({"numbers": "+4930123456", "dialingMode": "ROBOT"}, "Invalid dialingMode: ROBOT"),
    ],
)
async def test_invalid_entries_are_refused_per_item(
    obi: httpx.AsyncClient, entry: dict[str, Any], error: str
) -> None:
    items = (await obi.post(f"{BASE}/customers/list", json=[entry])).json()
    assert items == [{"statusCode": 400, "error": error}]


async def test_numbers_from_phone_attributes_when_numbers_is_absent(obi: httpx.AsyncClient) -> None:
    attrs = [{"name": "Phone1", "value": "0215428754"}, {"name": "Phone2", "value": "951254875"}]
    await obi.post(f"{BASE}/customers/list", json=[{"externalId": "7", "attributes": {"attribute": attrs}}])
    assert (await _customers(obi))[0]["numbers"] == "0215428754;951254875"


async def test_numbers_replace_phone_attributes(obi: httpx.AsyncClient) -> None:
    attrs = [{"name": "Phone1", "value": "111111"}, {"name": "City", "value": "Oslo"}]
    entry = {"numbers": "+4930123456", "attributes": {"attribute": attrs}}
    await obi.post(f"{BASE}/customers/list", json=[entry])
    stored = (await _customers(obi))[0]["attributes"]["attribute"]
    assert stored == [{"name": "City", "value": "Oslo"}, {"name": "Phone1", "value": "+4930123456"}]


@pytest.mark.parametrize("auth", [None, ("demo", "wrong"), ("someone", "demo-secret")])
async def test_calls_without_the_right_basic_auth_are_401(client: httpx.AsyncClient, auth: Any) -> None:
    response = await client.get("/obi/campaigns", auth=auth, headers=JSON)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_single_post_answers_201_with_id_in_body_and_location(obi: httpx.AsyncClient) -> None:
    doc_example = {
        "attributes": {
            "attribute": [{"name": "City", "value": "New York"}, {"name": "First Name", "value": "Kathy"}]
        },
        "externalId": "10",
        "numbers": "0215428754;98521542",
        "timeZone": "Europe/Helsinki",
    }
    response = await obi.post(f"{BASE}/customers", json=doc_example, headers={"Accept": "text/html"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["location"].endswith(f"/customers/{response.text}")
    one = (await obi.get(f"{BASE}/customers/{response.text}")).json()
    assert (one["externalId"], one["numbers"], one["timeZone"]) == (
        "10",
        "0215428754;98521542",
        "Europe/Helsinki",
    )
    assert (await obi.delete(f"{BASE}/customers/{response.text}")).status_code == 204
    assert (await obi.get(f"{BASE}/customers/{response.text}")).status_code == 404


async def test_single_post_with_a_bad_entry_is_400(obi: httpx.AsyncClient) -> None:
    response = await obi.post(f"{BASE}/customers", json={"numbers": "+number;"})
    assert response.status_code == 400
    assert "Invalid numbers: '+number;'" in response.text


async def test_unknown_campaign_is_404(obi: httpx.AsyncClient) -> None:
    response = await obi.post("/obi/campaigns/NOPE/customers/list", json=DOC_LIST_EXAMPLE)
    assert response.status_code == 404


async def test_campaign_status_put_answers_204_and_refuses_other_values(obi: httpx.AsyncClient) -> None:
    url = "/obi/campaigns/8A7C98EAF1164F2FAA93B98EECB95D76"
    put = await obi.put(f"{url}/status", content="Active", headers={"Content-Type": "text/plain"})
    assert put.status_code == 204
    assert (await obi.get(url)).json()["status"] == "Active"
    bad = await obi.put(f"{url}/status", content="Handled", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"name": "Test*"}, ["Test Campaign", "Test Preview Campaign"]),
        ({"name": "Test?Campaign"}, ["Test Campaign"]),
        ({"status": "Active", "dialingMode": "PRE*"}, ["Test Preview Campaign", "Leadflow Demo"]),
        (
            {"registered": "2020-01-01T00:00:00.000Z", "registeredEnd": "2021-01-01T00:00:00.000Z"},
            ["Test Campaign"],
        ),
        ({"startDate": "2020-06-29T12:00:00.000Z"}, ["Test Campaign"]),
        ({"endDateEnd": "2020-09-29T12:00:00.000Z"}, []),
    ],
)
async def test_campaign_list_filters(
    obi: httpx.AsyncClient, params: dict[str, str], names: list[str]
) -> None:
    response = await obi.get("/obi/campaigns", params=params)
    assert [c["name"] for c in response.json()] == names


async def test_unknown_search_field_is_400(obi: httpx.AsyncClient) -> None:
    assert (await obi.get("/obi/campaigns", params={"colour": "red"})).status_code == 400


async def test_customer_filters_and_paging(obi: httpx.AsyncClient) -> None:
    await obi.post(
        f"{BASE}/customers/list",
        json=[{**e, "externalId": f"ext-{i}"} for i, e in enumerate(DOC_LIST_EXAMPLE)],
    )
    assert [c["externalId"] for c in await _customers(obi, offset="1", limit="2")] == ["ext-1", "ext-2"]
    assert [c["externalId"] for c in await _customers(obi, externalId="ext-?", numbers="*204")] == ["ext-4"]
    gold = await _customers(obi, attributeName="Classification", attributeValue="Silver")
    assert [c["externalId"] for c in gold] == ["ext-1"]
    assert (await obi.get(f"{BASE}/customers", params={"attributeValue": "Gold"})).status_code == 400


async def test_xml_is_the_default_answer_and_xml_bodies_are_read(client: httpx.AsyncClient) -> None:
    body = (
        "<customers><customer><externalId>x-1</externalId><numbers>+4930123456</numbers>"
        "<attributes><attribute><name>City</name><value>Berlin</value></attribute></attributes>"
        "</customer></customers>"
    )
    response = await client.post(
        f"{BASE}/customers/list", content=body, headers={"Content-Type": "application/xml"}, auth=AUTH
    )
    assert response.headers["content-type"].startswith("application/xml")
    assert "<statusCode>201</statusCode>" in response.text
    listed = await client.get(f"{BASE}/customers", auth=AUTH)
    assert "<externalId>x-1</externalId>" in listed.text
    assert "<name>City</name><value>Berlin</value>" in listed.text


async def test_state_dump_lists_customers_per_campaign(obi: httpx.AsyncClient) -> None:
    await obi.post(f"{BASE}/customers/list", json=DOC_LIST_EXAMPLE[:2])
    dump = (await obi.get("/_sandbox/sinch_obi/state")).json()
    customers = dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]
    assert [c["numbers"] for c in customers] == ["+52145200", "+52145201"]
    assert dump["campaigns"][DEMO_CAMPAIGN_ID]["total"] == 2


_numbers = st.lists(st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True), min_size=1, max_size=3)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(_numbers, min_size=1, max_size=100))
def test_every_valid_entry_arrives_exactly_once(batch: list[list[str]]) -> None:
    entries = [{"externalId": f"id-{i}", "numbers": ";".join(nums)} for i, nums in enumerate(batch)]

    async def send() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        app = build_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s", auth=AUTH, headers=JSON) as c:
            items = (await c.post(f"{BASE}/customers/list", json=entries)).json()
        return items, app.state.sandbox.simulators["sinch_obi"].dump()

    items, dump = asyncio.run(send())
    assert [i["statusCode"] for i in items] == [201] * len(entries)
    stored = dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]
    assert [(c["externalId"], c["numbers"]) for c in stored] == [
        (e["externalId"], e["numbers"]) for e in entries
    ]
    assert sorted(i["id"] for i in items) == sorted(c["id"] for c in stored)
