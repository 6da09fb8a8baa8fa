"""Every method of maxcontact-management-api.txt replayed against the strict sandbox, with each
entity's every documented field, answered as the document says (a ManagementActionResponse)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from sandbox.app import Sandbox

SERVICES = "/maxcontact/webservices/services"
M = f"{SERVICES}/management"
JSON = {"Accept": "application/json", "Content-Type": "application/json"}

CAMPAIGN = {
    "CampaignName": "Spring",
    "Active": True,
    "Description": "from the document",
    "CallerId": "01234567890",
    "Type": 1,
    "MaxLines": 10,
    "DegradeToProgressive": True,
    "ProgressiveThreshold": 3,
    "TargetDropPercent": 2.5,
    "IsBlended": False,
    "AutoRecord": True,
    "DefaultListId": 0,
    "HoursPerWorkingDay": 7.5,
    "DefaultPhoneType": 0,
    "TeleParamPlanId": 1,
    "SchedulePlanId": 1,
    "ZipTone": 0,
    "ZipToneBeep": 10,
    "ZipToneWav": "tone.wav",
    "NotReadyWaitTime": 30,
    "Status": 0,
}
LIST = {
    "ListName": "Spring list",
    "Description": "from the document",
    "ListType": 2,
    "CallerIdEnabled": True,
    "CallerId": "01234567890",
    "MaxCallbackDays": 5,
    "UseMaxCallbackDays": True,
    "MaxCallbackDate": "2026-12-31T00:00:00",
    "FetchWeight": 1,
    "AlertsEnabled": False,
    "ScriptingEnabled": False,
    "ScriptProvider": 0,
    "ScriptId": 0,
    "Script": "",
    "RecallPlanId": 1,
    "CallingTimePlanId": 1,
    "ResultCodePlanId": 1,
    "IvrPlanId": 1,
    "AnswerMachinePlanId": 1,
    "DoNotCallPlanId": 1,
    "SchedulePlanId": 1,
}
TEAM = {
    "TenantId": 1,
    "TeamName": "Team A",
    "PrimarySupervisorId": 0,
    "MaxCallbacksPerDay": 20,
    "ServiceTime": 20,
    "HoursPerWorkingDay": 7.5,
    "WellBeingDeckId": 0,
}
USER = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Login": "ann",
    "RolePlanId": 1,
    "UseRTC": True,
    "Extension": "201",
    "AutoLogon": 0,
    "TeamId": 0,
    "AgentCapacityPlanId": 1,
    "SSOActive": False,
    "Password": "s3cret-pass",
}


@pytest.fixture
async def mc(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Logged in as the Tokens API says: the password base64 of its ASCII bytes, the token in a
    cookie; JSON asked for with Accept and Content-Type (Responses)."""
    password = base64.b64encode(b"demo-secret").decode("ascii")
    login = await client.get(f"{SERVICES}/apitoken/login/demo", headers={**JSON, "Authorization": password})
    assert login.status_code == 200
    client.headers.update(JSON)
    client.cookies.set("TokenKey", login.json()["TokenKey"])
    return client


async def call(mc: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await mc.request(method, f"{M}{path}", json=body)
    answer = response.json()
    assert set(answer) == {"Success", "Data", "ResponseCode", "ResponseDetail"}, answer
    assert (response.status_code, answer["Success"], answer["ResponseCode"]) == (200, True, "Success"), answer
    return answer["Data"]


async def test_every_documented_method_answers_a_successful_management_action_response(
    mc: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    campaign = await call(mc, "POST", "/campaigns", CAMPAIGN)
    cid = campaign["Id"]
    assert {k: campaign[k] for k in CAMPAIGN} == CAMPAIGN
    assert cid in [c["Id"] for c in await call(mc, "GET", "/campaigns")]
    assert (await call(mc, "GET", f"/campaigns/{cid}"))["CampaignName"] == "Spring"
    assert (await call(mc, "PUT", f"/campaigns/{cid}", {**CAMPAIGN, "MaxLines": 12}))["MaxLines"] == 12
    assert (await call(mc, "PATCH", f"/campaigns/{cid}/activityStatus", {"Active": False}))["Active"] is False
    assert await call(mc, "PATCH", f"/campaigns/{cid}/status", {"CampaignStatus": "Running"}) == "Running"
    assert await call(mc, "PATCH", f"/campaigns/{cid}/type", {"CampaignType": "Preview"}) == "Preview"

    created = await call(mc, "POST", "/lists", LIST)
    lid = created["Id"]
    assert {k: created[k] for k in LIST} == LIST
    assert lid in [x["Id"] for x in await call(mc, "GET", "/lists")]
    assert (await call(mc, "GET", f"/lists/{lid}"))["ListName"] == "Spring list"
    updated = await call(mc, "PUT", f"/lists/{lid}", {"Description": "kept flag"})
    assert updated["UseMaxCallbackDays"] is True, "UseMaxCallbackDays omitted from a PUT is preserved"
    assert await call(mc, "PUT", f"/lists/{lid}/activitystatus", {"Active": True}) == {"Active": True}
    await call(mc, "PUT", f"/campaigns/{cid}/lists", {"ListId": lid})
    await call(mc, "DELETE", f"/campaigns/{cid}/lists", {"ListId": lid})

    team = await call(mc, "POST", "/teams", TEAM)
    tid = team["Id"]
    assert tid in [t["Id"] for t in await call(mc, "GET", "/teams")]
    assert (await call(mc, "GET", f"/teams/{tid}"))["TeamName"] == "Team A"
    assert (await call(mc, "PUT", f"/teams/{tid}", {**TEAM, "ServiceTime": 30}))["ServiceTime"] == 30
    await call(mc, "PUT", f"/teams/{tid}/activitystatus", {"Active": False})
    await call(mc, "PUT", f"/campaigns/{cid}/teams", {"TeamId": tid})
    await call(mc, "DELETE", f"/campaigns/{cid}/teams", {"TeamId": tid})

    user = await call(mc, "POST", "/users", USER)
    uid = user["Id"]
    assert "Password" not in user, "When getting an existing user the Password field is omitted"
    assert uid in [u["Id"] for u in await call(mc, "GET", "/users")]
    assert "Password" not in await call(mc, "GET", f"/users/{uid}")
    assert (await call(mc, "PUT", f"/users/{uid}", {**USER, "Extension": "202"}))["Extension"] == "202"
    assert (await call(mc, "PATCH", f"/users/{uid}/activitystatus", {"Active": False}))["Active"] is False
    await call(mc, "PUT", f"/teams/{tid}/users", {"UserId": uid})
    await call(mc, "DELETE", f"/teams/{tid}/users", {"UserId": uid})
    await call(mc, "PUT", "/users/skills", {"SkillId": 4, "Proficiency": 10, "UserIds": [uid]})
    await call(mc, "DELETE", "/users/skills", {"SkillId": 4, "UserIds": [uid]})

    await call(mc, "POST", "/globalemergency/enable")
    assert sandbox.simulators["maxcontact"].dump()["global_emergency"] is True
    await call(mc, "POST", "/globalemergency/disable")
    assert sandbox.simulators["maxcontact"].dump()["global_emergency"] is False


@pytest.mark.parametrize(
    ("appendix", "path", "body", "field"),
    [
        ("Appendix 1", "type", "CampaignType", ["Predictive", "Progressive", "Preview", "IVR", "Bridge",
                                                "Ping", "Inbound", "Coach", "Interaction"]),
        ("Appendix 2", "status", "CampaignStatus", ["Not Running", "Running", "Paused", "Flushed"]),
    ],
)  # fmt: skip
async def test_every_appendix_value_is_taken(
    mc: httpx.AsyncClient, appendix: str, path: str, body: str, field: list[str]
) -> None:
    for value in field:
        assert await call(mc, "PATCH", f"/campaigns/1/{path}", {body: value}) == value, appendix


async def test_the_default_answer_is_xml_as_responses_says(client: httpx.AsyncClient) -> None:
    password = base64.b64encode(b"demo-secret").decode("ascii")
    login = await client.get(f"{SERVICES}/apitoken/login/demo", headers={"Authorization": password})
    assert login.headers["content-type"].startswith("application/xml")
    assert b"TokenKey" in login.content
