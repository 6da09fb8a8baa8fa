from __future__ import annotations

import httpx
import pytest

from sandbox.app import Sandbox

OBI_AUTH = ("demo", "demo-secret")
DEMO_OBI = "/obi/campaigns/00000000000000000000000000000001"


async def test_every_vendor_is_listed_with_prefix_and_credentials(client: httpx.AsyncClient) -> None:
    vendors = (await client.get("/_sandbox/vendors")).json()
    by_kind = {v["kind"]: v for v in vendors}
    assert {"sinch_obi", "ucontact", "maxcontact"} <= by_kind.keys()
    assert by_kind["sinch_obi"]["prefix"] == "/obi"
    assert by_kind["sinch_obi"]["credentials"] == {"username": "demo", "password": "demo-secret"}


async def test_state_shows_each_vendor_and_its_seed(client: httpx.AsyncClient) -> None:
    state = (await client.get("/_sandbox/state")).json()
    assert "00000000000000000000000000000001" in state["vendors"]["sinch_obi"]["campaigns"]
    assert state["vendors"]["maxcontact"]["campaigns"]["1"]["CampaignName"] == "Leadflow Demo"
    assert (await client.get("/_sandbox/ucontact/state")).json()["sms_campaigns"]


async def test_unknown_vendor_state_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/nobody/state")).status_code == 404


async def test_reset_forgets_what_was_sent(client: httpx.AsyncClient) -> None:
    sent = await client.post(f"{DEMO_OBI}/customers/list", json=[{"numbers": "+4930123456"}], auth=OBI_AUTH)
    assert sent.status_code == 200
    assert (await client.post("/_sandbox/reset")).status_code == 200
    state = (await client.get("/_sandbox/sinch_obi/state")).json()
    assert state["campaigns"]["00000000000000000000000000000001"]["customers"] == []


async def test_one_vendor_reset_leaves_the_others(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await client.post(f"{DEMO_OBI}/customers/list", json=[{"numbers": "+4930123456"}], auth=OBI_AUTH)
    await client.post("/_sandbox/maxcontact/reset")
    customers = sandbox.simulators["sinch_obi"].dump()["campaigns"]["00000000000000000000000000000001"]
    assert len(customers["customers"]) == 1


async def test_fault_profile_set_through_the_api_applies_to_that_vendor_only(
    client: httpx.AsyncClient,
) -> None:
    profile = {"seed": 1, "vendors": {"sinch_obi": {"*": {"rate_503": 1.0}}}}
    assert (await client.put("/_sandbox/faults", json=profile)).status_code == 200
    assert (await client.get("/_sandbox/faults")).json()["vendors"]["sinch_obi"]["*"]["rate_503"] == 1.0
    assert (await client.get("/obi/campaigns", auth=OBI_AUTH)).status_code == 503
    login = await client.get(
        "/maxcontact/webservices/services/apitoken/login/demo", headers={"Authorization": "ZGVtby1zZWNyZXQ="}
    )
    assert login.status_code == 200
    assert (await client.get("/_sandbox/state")).status_code == 200


@pytest.mark.parametrize("body", [{"vendors": {"x": {"*": {"rate_503": 2}}}}, [1, 2], {"bogus": 1}])
async def test_invalid_fault_profile_is_refused_and_the_old_one_kept(
    client: httpx.AsyncClient, body: object
) -> None:
    response = await client.put("/_sandbox/faults", json=body)
    assert response.status_code == 400
    assert (await client.get("/_sandbox/faults")).json() == {}


async def test_clock_advance_moves_the_vendors_clock(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    before = sandbox.clock.now()
    assert (await client.post("/_sandbox/clock/advance", json={"seconds": 1200})).status_code == 200
    assert sandbox.clock.now() - before >= 1200


@pytest.mark.parametrize("body", [{"seconds": -5}, {"seconds": "ten"}, {}])
async def test_clock_refuses_to_go_back_or_nonsense(client: httpx.AsyncClient, body: object) -> None:
    assert (await client.post("/_sandbox/clock/advance", json=body)).status_code == 400
