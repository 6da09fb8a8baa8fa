from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from sandbox.app import Sandbox

SERVICES = "/maxcontact/webservices/services"
MGMT = f"{SERVICES}/management"
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _password(secret: str) -> dict[str, str]:
    return {"Authorization": base64.b64encode(secret.encode("ascii")).decode()}


async def _login(client: httpx.AsyncClient) -> str:
    response = await client.get(
        f"{SERVICES}/apitoken/login/demo", headers={**JSON, **_password("demo-secret")}
    )
    assert response.status_code == 200
    token: str = response.json()["TokenKey"]
    return token


@pytest.fixture
async def mc(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers.update(JSON)
    client.cookies.set("TokenKey", await _login(client))
    return client


async def _ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert (body["Success"], body["ResponseCode"]) == (True, "Success")
    return body["Data"]


async def _new_list(mc: httpx.AsyncClient, name: str = "Leads") -> int:
    created = await _ok(await mc.post(f"{MGMT}/lists", json={"ListName": name, "ListType": 0}))
    list_id: int = created["Id"]
    return list_id


@pytest.mark.parametrize(("login", "secret"), [("demo", "wrong"), ("nobody", "demo-secret")])
async def test_login_with_wrong_credentials_is_401(
    client: httpx.AsyncClient, login: str, secret: str
) -> None:
    response = await client.get(f"{SERVICES}/apitoken/login/{login}", headers={**JSON, **_password(secret)})
    assert response.status_code == 401
    assert "TokenKey" not in response.text


async def test_calls_without_a_token_are_401(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{MGMT}/campaigns", headers=JSON)
    assert response.status_code == 401
    assert response.json()["Success"] is False


async def test_token_expires_on_the_sandbox_clock(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    assert (await mc.get(f"{MGMT}/campaigns")).status_code == 200
    sandbox.clock.advance(3601)
    assert (await mc.get(f"{MGMT}/campaigns")).status_code == 401


async def test_early_expiry_from_the_fault_profile(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.faults.configure({"vendors": {"maxcontact": {"*/lists": {"rate_expire": 1.0, "max_faults": 1}}}})
    assert (await mc.get(f"{MGMT}/lists")).status_code == 401
    mc.cookies.set("TokenKey", await _login(mc))
    assert (await mc.get(f"{MGMT}/lists")).status_code == 200


async def test_xml_is_the_default_answer(client: httpx.AsyncClient) -> None:
    login = await client.get(f"{SERVICES}/apitoken/login/demo", headers=_password("demo-secret"))
    assert login.headers["content-type"].startswith("application/xml")
    token = login.text.split("<TokenKey>")[1].split("</TokenKey>")[0]
    client.cookies.set("TokenKey", token)
    listed = await client.get(f"{MGMT}/campaigns")
    assert "<ManagementActionResponse><Success>true</Success>" in listed.text


async def test_seeded_campaign_is_there(mc: httpx.AsyncClient) -> None:
    campaigns = await _ok(await mc.get(f"{MGMT}/campaigns"))
    assert [(c["Id"], c["CampaignName"]) for c in campaigns] == [(1, "Leadflow Demo")]


async def test_list_lifecycle_create_update_activate_associate(
    mc: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    list_id = await _new_list(mc)
    updated = await _ok(await mc.put(f"{MGMT}/lists/{list_id}", json={"Description": "spring"}))
    assert (updated["ListName"], updated["Description"]) == ("Leads", "spring")
    assert await _ok(await mc.put(f"{MGMT}/lists/{list_id}/activitystatus", json={"Active": True})) == {
        "Active": True
    }
    await _ok(await mc.put(f"{MGMT}/campaigns/1/lists", json={"ListId": list_id}))
    assert sandbox.simulators["maxcontact"].dump()["campaigns"][1]["ListIds"] == [list_id]
    await _ok(await mc.request("DELETE", f"{MGMT}/campaigns/1/lists", json={"ListId": list_id}))
    assert sandbox.simulators["maxcontact"].dump()["campaigns"][1]["ListIds"] == []


async def test_campaign_status_type_and_activity(mc: httpx.AsyncClient) -> None:
    assert (
        await _ok(await mc.patch(f"{MGMT}/campaigns/1/status", json={"CampaignStatus": "Running"}))
        == "Running"
    )
    assert await _ok(await mc.patch(f"{MGMT}/campaigns/1/type", json={"CampaignType": "2"})) == "Preview"
    campaign = await _ok(await mc.patch(f"{MGMT}/campaigns/1/activityStatus", json={"Active": False}))
    assert (campaign["Status"], campaign["Type"], campaign["Active"]) == (1, 2, False)


async def test_teams_and_users(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    team = await _ok(await mc.post(f"{MGMT}/teams", json={"TeamName": "Blue"}))
    user = await _ok(
        await mc.post(f"{MGMT}/users", json={"Login": "ann", "Password": "pw", "FirstName": "Ann"})
    )
    assert "Password" not in user
    await _ok(await mc.put(f"{MGMT}/teams/{team['Id']}/users", json={"UserId": user["Id"]}))
    await _ok(await mc.put(f"{MGMT}/campaigns/1/teams", json={"TeamId": team["Id"]}))
    dump = sandbox.simulators["maxcontact"].dump()
    assert dump["teams"][team["Id"]]["UserIds"] == [user["Id"]]
    assert "Password" not in dump["users"][user["Id"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PATCH", "/campaigns/1/status", {"CampaignStatus": "Sleeping"}, 400, "Invalid Parameters"),
        ("PATCH", "/campaigns/1/type", {"CampaignType": 99}, 400, "Invalid Parameters"),
        ("POST", "/lists", {"Description": "no name"}, 400, "Invalid Parameters"),
        ("POST", "/lists", {"ListName": "x", "Colour": "red"}, 400, "Invalid Parameters"),
        ("POST", "/lists", {"ListName": "x", "FetchWeight": "heavy"}, 400, "Invalid Parameters"),
        ("GET", "/lists/42", None, 404, "Error"),
        ("PUT", "/campaigns/1/lists", {"ListId": 42}, 404, "Error"),
        (
            "PUT",
            "/users/skills",
            {"SkillId": 1, "Proficiency": 11, "UserIds": [1]},
            400,
            "Invalid Parameters",
        ),
    ],
)
async def test_bad_management_calls_are_refused(
    mc: httpx.AsyncClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = await mc.request(method, f"{MGMT}{path}", json=body)
    assert response.status_code == status
    assert (response.json()["Success"], response.json()["ResponseCode"]) == (False, code)


async def test_addlead_stores_leads_in_the_list(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    list_id = await _new_list(mc)
    lead = {
        "ListID": list_id,
        "Name": "Ann Lee",
        "email": "ann@example.com",
        "LeadPhones": [{"PhoneNum": "+447700900123"}],
    }
    data = await _ok(await mc.post(f"{SERVICES}/LeadManagement/addlead", json=lead))
    assert data == {"LeadIds": [1]}
    batch = [
        {**lead, "Name": f"Lead {i}", "LeadPhones": [{"PhoneNum": f"+44770090020{i}"}]} for i in range(3)
    ]
    assert (await _ok(await mc.post(f"{SERVICES}/LeadManagement/addlead", json=batch)))["LeadIds"] == [
        2,
        3,
        4,
    ]
    leads = sandbox.simulators["maxcontact"].dump()["lists"][list_id]["leads"]
    assert [x["Name"] for x in leads] == ["Ann Lee", "Lead 0", "Lead 1", "Lead 2"]
    assert leads[0]["LeadPhones"] == [{"PhoneNum": "+447700900123"}]


@pytest.mark.parametrize(
    "lead",
    [
        {"ListID": 999, "Name": "x", "LeadPhones": [{"PhoneNum": "+447700900123"}]},
        {"Name": "x", "LeadPhones": [{"PhoneNum": "+447700900123"}]},
        {"ListID": "LIST", "Name": "x", "email": "x@example.com"},
        {"ListID": 1, "Name": "", "email": "x@example.com"},
        {"ListID": 1, "Name": "x", "LeadPhones": [{"PhoneNum": "call me"}]},
        {"ListID": 1, "Name": "x"},
    ],
)
async def test_addlead_refuses_bad_leads(
    mc: httpx.AsyncClient, sandbox: Sandbox, lead: dict[str, Any]
) -> None:
    await _new_list(mc)
    response = await mc.post(f"{SERVICES}/LeadManagement/addlead", json=lead)
    assert response.status_code == 400
    assert response.json()["ResponseCode"] == "Invalid Parameters"
    assert sandbox.simulators["maxcontact"].dump()["lists"][1]["leads"] == []


async def test_requests_over_512000_bytes_are_refused(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    list_id = await _new_list(mc)
    lead = {"ListID": list_id, "Name": "x" * 1000, "email": "a@example.com"}
    batch = [lead] * 520
    response = await mc.post(f"{SERVICES}/LeadManagement/addlead", json=batch)
    assert response.status_code == 413
    assert response.json()["Success"] is False
    assert sandbox.simulators["maxcontact"].dump()["lists"][list_id]["leads"] == []


# --- strict where the document is silent (issue 15), lenient as the old profile ---------------------


def _lead(list_id: int, phone: str = "+447700900123", **extra: Any) -> dict[str, Any]:
    return {"ListID": list_id, "Name": "Ann Lee", "LeadPhones": [{"PhoneNum": phone}], **extra}


async def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["Success"] is False
    return response.status_code, body["ResponseCode"], body["ResponseDetail"]


async def test_addlead_refuses_a_phone_the_list_already_holds_naming_the_lead(mc: httpx.AsyncClient) -> None:
    list_id = await _new_list(mc)
    await _ok(await mc.post(f"{SERVICES}/LeadManagement/addlead", json=_lead(list_id)))
    again = await mc.post(f"{SERVICES}/LeadManagement/addlead", json={**_lead(list_id), "Name": "Other"})
    assert await _refusal(again) == (
        409,
        "Error",
        f"Lead already exists in list {list_id}: PhoneNum +447700900123 (LeadId 1)",
    )


async def test_addlead_refuses_a_request_repeating_one_phone(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    list_id = await _new_list(mc)
    response = await mc.post(f"{SERVICES}/LeadManagement/addlead", json=[_lead(list_id), _lead(list_id)])
    assert (await _refusal(response))[0] == 409
    assert "lead 1 of this request" in (await _refusal(response))[2]
    assert sandbox.simulators["maxcontact"].dump()["lists"][list_id]["leads"] == []


@pytest.mark.parametrize(
    "extra",
    [{"ExternalId": "src-1"}, {"Phone": "+447700900123"}],
    ids=["lead-field", "another-lead-field"],
)
async def test_addlead_refuses_unknown_lead_fields(mc: httpx.AsyncClient, extra: dict[str, Any]) -> None:
    list_id = await _new_list(mc)
    response = await mc.post(f"{SERVICES}/LeadManagement/addlead", json=_lead(list_id, **extra))
    assert await _refusal(response) == (400, "Invalid Parameters", f"Unknown Lead field: {next(iter(extra))}")


async def test_addlead_refuses_unknown_phone_fields(mc: httpx.AsyncClient) -> None:
    list_id = await _new_list(mc)
    lead = {**_lead(list_id), "LeadPhones": [{"PhoneNum": "+447700900123", "Type": "mobile"}]}
    response = await mc.post(f"{SERVICES}/LeadManagement/addlead", json=lead)
    assert await _refusal(response) == (400, "Invalid Parameters", "Unknown Lead field: Type")


async def test_associating_a_list_twice_is_refused(mc: httpx.AsyncClient) -> None:
    list_id = await _new_list(mc)
    await _ok(await mc.put(f"{MGMT}/campaigns/1/lists", json={"ListId": list_id}))
    again = await mc.put(f"{MGMT}/campaigns/1/lists", json={"ListId": list_id})
    assert await _refusal(again) == (409, "Error", f"ListId {list_id} is already associated with campaign 1")


async def test_the_lenient_profile_keeps_the_old_tolerance(mc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.simulators["maxcontact"].lenient = True  # type: ignore[attr-defined]
    list_id = await _new_list(mc)
    lead = _lead(list_id, ExternalId="src-1")
    await _ok(await mc.post(f"{SERVICES}/LeadManagement/addlead", json=lead))
    await _ok(await mc.post(f"{SERVICES}/LeadManagement/addlead", json=lead))
    await _ok(await mc.put(f"{MGMT}/campaigns/1/lists", json={"ListId": list_id}))
    await _ok(await mc.put(f"{MGMT}/campaigns/1/lists", json={"ListId": list_id}))
    assert len(sandbox.simulators["maxcontact"].dump()["lists"][list_id]["leads"]) == 2


def test_build_app_switches_a_vendor_to_its_lenient_profile_by_kind() -> None:
    from sandbox.app import build_app

    sims = build_app(lenient=["maxcontact"]).state.sandbox.simulators
    assert (sims["maxcontact"].lenient, build_app().state.sandbox.simulators["maxcontact"].lenient) == (
        True,
        False,
    )
    with pytest.raises(ValueError, match="no lenient profile for 'nosuch'"):
        build_app(lenient=["nosuch"])
