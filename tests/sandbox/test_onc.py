"""ONC's simulator follows onc-dynamic-notifications-api.txt, spoken as a WCF SOAP 1.1 service."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import build_app
from sandbox.clock import Clock
from sandbox.faults import Faults
from sandbox.onc import SEED_CAMPAIGN, OncConfig, OncError, OncSimulator
from sandbox.soap import SOAP11_NS, XSI_NS, find, find_all, text

SERVICE = OncConfig().service_path
TEMPURI = "http://tempuri.org/"
DATA = OncConfig().data_namespace
MINUTE = 60.0


def envelope(operation: str, params: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>'
        f'<{operation} xmlns="{TEMPURI}" xmlns:d="{DATA}">{params}</{operation}>'
        "</s:Body></s:Envelope>"
    ).encode()


def comm(destination: str, *, status: int = 4, last_error: int = 9, retries: int = 3) -> str:
    return (
        f"<d:Destination>{destination}</d:Destination><d:LastDeliveryErrorCode>{last_error}</d:LastDeliveryErrorCode>"
        f"<d:RetryCount>{retries}</d:RetryCount><d:StatusCode>{status}</d:StatusCode>"
    )


def contact(campaign: str = SEED_CAMPAIGN, contact_id: str | None = None, **channels: str) -> str:
    members = f"<d:CampaignId>{campaign}</d:CampaignId>"
    if contact_id:
        members += f"<d:Id>{contact_id}</d:Id>"
    members += "".join(f"<d:{name}>{value}</d:{name}>" for name, value in channels.items())
    return f"<contact>{members}</contact>"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> OncSimulator:
    return OncSimulator(clock, Faults())


@pytest.fixture
async def client(sim: OncSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app()), base_url="http://sandbox"
    ) as http:
        yield http


async def post(
    client: httpx.AsyncClient, operation: str, params: str, action: str | None = None
) -> httpx.Response:
    action = f'"{TEMPURI}IDynamicNotificationsService/{operation}"' if action is None else action
    return await client.post(
        SERVICE,
        content=envelope(operation, params),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
    )


async def result(
    client: httpx.AsyncClient, operation: str, params: str, action: str | None = None
) -> ET.Element:
    response = await post(client, operation, params, action)
    assert response.status_code == 200, response.text
    found = SafeET.fromstring(response.content).find(
        f"{{{SOAP11_NS}}}Body/{{{TEMPURI}}}{operation}Response/{{{TEMPURI}}}{operation}Result"
    )
    assert found is not None
    return found


async def code(client: httpx.AsyncClient, operation: str, params: str) -> int:
    return int((await result(client, operation, params)).text or "")


async def open_session(client: httpx.AsyncClient) -> str:
    answer = await result(
        client,
        "OpenAPISession",
        "<accountId>demo-account</accountId><username>demo</username><password>demo-secret</password>",
    )
    assert text(answer, "ErrorCode") == "0"
    return text(answer, "SessionId") or ""


def nil(node: ET.Element) -> bool:
    return node.get(f"{{{XSI_NS}}}nil") == "true"


def seed_contacts(sim: OncSimulator) -> list[dict[str, Any]]:
    campaigns: list[dict[str, Any]] = sim.dump()["campaigns"]
    contacts: list[dict[str, Any]] = next(c for c in campaigns if c["ID"] == SEED_CAMPAIGN)["contacts"]
    return contacts


async def test_open_session_answers_a_session_id_in_the_datacontract_member_order(
    client: httpx.AsyncClient,
) -> None:
    answer = await result(
        client,
        "OpenAPISession",
        "<accountId>demo-account</accountId><username>demo</username><password>demo-secret</password>",
    )
    assert [child.tag for child in answer] == [
        f"{{{DATA}}}{name}" for name in ("Description", "ErrorCode", "SessionId")
    ]
    assert text(answer, "ErrorCode") == "0"
    assert len(text(answer, "SessionId") or "") >= 16


@pytest.mark.parametrize(
    "params",
    [
        "<accountId>demo-account</accountId><username>demo</username><password>wrong-secret</password>",
        "<accountId>other</accountId><username>demo</username><password>demo-secret</password>",
        "<username>demo</username><password>demo-secret</password>",
        "<accountId>demo-account</accountId><username>demo</username><password>dämo-secret</password>",
    ],
    ids=["password", "account", "no-account", "non-ascii"],
)
async def test_bad_credentials_give_a_non_zero_error_code_and_no_session(
    client: httpx.AsyncClient, sim: OncSimulator, params: str
) -> None:
    response = await post(client, "OpenAPISession", params)
    answer = await result(client, "OpenAPISession", params)
    assert int(text(answer, "ErrorCode") or "0") == OncError.INVALID_CREDENTIALS
    assert text(answer, "SessionId") == ""
    assert b"secret" not in response.content
    assert sim.dump()["open_sessions"] == 0


async def test_a_session_slides_and_expires_after_20_idle_minutes(
    client: httpx.AsyncClient, clock: Clock, sim: OncSimulator
) -> None:
    session = await open_session(client)
    listing = f"<sessionId>{session}</sessionId>"
    for _ in range(3):
        clock.advance(19 * MINUTE)
        assert not nil(await result(client, "GetCampaignListing", listing))
    clock.advance(20 * MINUTE + 1)
    assert nil(await result(client, "GetCampaignListing", listing))
    assert sim.dump()["open_sessions"] == 0
    clock.advance(1)
    assert await code(client, "AddCampaignContact", listing + contact(SMSCommInfo=comm("+15551230000"))) == (
        OncError.INVALID_SESSION
    )


async def test_a_closed_session_is_refused_and_no_longer_counted(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = await open_session(client)
    await open_session(client)
    assert sim.dump()["open_sessions"] == 2
    closed = await result(client, "CloseAPISession", f"<sessionId>{session}</sessionId>")
    assert text(closed, "ErrorCode") == "0"
    assert sim.dump()["open_sessions"] == 1
    again = await result(client, "CloseAPISession", f"<sessionId>{session}</sessionId>")
    assert int(text(again, "ErrorCode") or "0") == OncError.INVALID_SESSION
    assert (
        await code(
            client,
            "DeleteCampaign",
            f"<sessionId>{session}</sessionId><campaignId>{SEED_CAMPAIGN}</campaignId>",
        )
        == OncError.INVALID_SESSION
    )


async def test_the_fault_profile_can_expire_a_valid_session_early(clock: Clock) -> None:
    sim = OncSimulator(clock, Faults({"vendors": {"onc": {"*": {"rate_expire": 1.0, "max_faults": 1}}}}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app()), base_url="http://sandbox"
    ) as client:
        session = await open_session(client)
        assert nil(await result(client, "GetCampaigns", f"<sessionId>{session}</sessionId>"))
        assert sim.dump()["open_sessions"] == 0
        session = await open_session(client)
        assert not nil(await result(client, "GetCampaigns", f"<sessionId>{session}</sessionId>"))


async def test_add_contact_sets_status_from_destination_and_ignores_status_and_last_error(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    sent = contact(
        SMSCommInfo=comm("+15551230000", status=4, last_error=9),
        VoiceCommInfo=comm("  ", status=4, last_error=9),
        EmailCommInfo=comm("ann@example.com", status=7)
        + "<d:TextToSendOverwrite>Hi Ann</d:TextToSendOverwrite>",
    )
    assert await code(client, "AddCampaignContact", session + sent) == 0
    (stored,) = seed_contacts(sim)
    assert {
        k: (v["Destination"], v["StatusCode"], v["LastDeliveryErrorCode"])
        for k, v in stored.items()
        if k.endswith("CommInfo")
    } == {
        "SMSCommInfo": ("+15551230000", 1, 0),
        "VoiceCommInfo": ("", 0, 0),
        "EmailCommInfo": ("ann@example.com", 1, 0),
    }
    assert stored["EmailCommInfo"]["TextToSendOverwrite"] == "Hi Ann"
    assert stored["EmailCommInfo"]["RetryCount"] == 3


async def test_contacts_are_listed_by_id_and_in_full(client: httpx.AsyncClient) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    contact_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "leadflow:row-1"))
    await code(
        client,
        "AddCampaignContact",
        session + contact(contact_id=contact_id, SMSCommInfo=comm("+15551230000")),
    )
    await code(client, "AddCampaignContact", session + contact(SMSCommInfo=comm("+15551230001")))
    campaign = f"<campaignId>{SEED_CAMPAIGN}</campaignId>"
    listing = await result(client, "GetCampaignContactsListing", session + campaign)
    ids = [g.text for g in listing]
    assert len(ids) == 2
    assert ids[0] == contact_id
    assert all(g.tag == "{http://schemas.microsoft.com/2003/10/Serialization/Arrays}guid" for g in listing)
    full = find_all(
        await result(client, "GetCampaignContacts", session + campaign), "OutboundNotificationContactInfo"
    )
    assert [text(c, "SMSCommInfo", "Destination") for c in full] == ["+15551230000", "+15551230001"]
    assert [text(c, "CampaignId") for c in full] == [SEED_CAMPAIGN] * 2
    assert [local.tag.split("}")[1] for local in full[0]] == sorted(
        ["CampaignId", "EmailCommInfo", "Id", "SMSCommInfo", "VoiceCommInfo"]
    )
    email = find(full[0], "EmailCommInfo")
    assert email is not None
    assert nil(email)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (contact(campaign=str(uuid.uuid4()), SMSCommInfo=comm("+15551230000")), OncError.CAMPAIGN_NOT_FOUND),
        (contact(campaign="not-a-guid", SMSCommInfo=comm("+15551230000")), OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("+15551230000", retries=256)), OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("+15551230000", retries=-1)), OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("call me maybe")), OncError.INVALID_DESTINATION),
        (contact(EmailCommInfo=comm("+15551230000")), OncError.INVALID_DESTINATION),
        ("", OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("+15551230000", retries=255)), 0),
    ],
    ids=[
        "unknown-campaign",
        "bad-guid",
        "retries-256",
        "retries-negative",
        "bad-phone",
        "bad-email",
        "no-contact",
        "retries-255",
    ],
)
async def test_add_contact_answers_an_error_code_for_each_refusal(
    client: httpx.AsyncClient, sim: OncSimulator, sent: str, expected: int
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    assert await code(client, "AddCampaignContact", session + sent) == expected
    assert len(seed_contacts(sim)) == (1 if expected == 0 else 0)


async def test_a_contact_id_already_in_the_campaign_is_refused(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    sent = contact(contact_id=str(uuid.uuid4()), SMSCommInfo=comm("+15551230000"))
    assert await code(client, "AddCampaignContact", session + sent) == 0
    assert await code(client, "AddCampaignContact", session + sent) == OncError.ALREADY_EXISTS
    assert len(seed_contacts(sim)) == 1


async def test_update_keeps_the_status_and_delete_removes_the_contact(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    contact_id = str(uuid.uuid4())
    await code(
        client,
        "AddCampaignContact",
        session + contact(contact_id=contact_id, SMSCommInfo=comm("+15551230000")),
    )
    changed = contact(contact_id=contact_id, SMSCommInfo=comm("+15559990000", status=6, last_error=3))
    assert await code(client, "UpdateCampaignContact", session + changed) == 0
    (stored,) = seed_contacts(sim)
    assert (stored["SMSCommInfo"]["Destination"], stored["SMSCommInfo"]["StatusCode"]) == ("+15559990000", 1)
    unknown = contact(contact_id=str(uuid.uuid4()), SMSCommInfo=comm("+15559990000"))
    assert await code(client, "UpdateCampaignContact", session + unknown) == OncError.CONTACT_NOT_FOUND
    delete = f"{session}<campaignId>{SEED_CAMPAIGN}</campaignId><contactId>{contact_id}</contactId>"
    assert await code(client, "DeleteCampaignContact", delete) == 0
    assert await code(client, "DeleteCampaignContact", delete) == OncError.CONTACT_NOT_FOUND
    assert seed_contacts(sim) == []


async def test_campaigns_are_added_listed_read_updated_and_deleted(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    new_id = str(uuid.uuid4())
    info = (
        f"<campaign><d:ID>{new_id}</d:ID><d:IsPaused>false</d:IsPaused><d:ShortName>Spring</d:ShortName>"
        "<d:OutboundSMSNotificationInfo><d:Enabled>true</d:Enabled><d:FromNumber>+15550100</d:FromNumber>"
        "<d:TextToSend>Hello</d:TextToSend></d:OutboundSMSNotificationInfo>"
        "<d:SmsNotificationRequired>true</d:SmsNotificationRequired></campaign>"
    )
    assert await code(client, "AddCampaign", session + info) == 0
    assert await code(client, "AddCampaign", session + info) == OncError.ALREADY_EXISTS
    assert (
        await code(client, "AddCampaign", session + "<campaign><d:ShortName> </d:ShortName></campaign>")
        == OncError.INVALID_ARGUMENT
    )
    listing = await result(client, "GetCampaignListing", session)
    assert [g.text for g in listing] == [SEED_CAMPAIGN, new_id]
    infos = find_all(await result(client, "GetCampaigns", session), "OutboundNotificationCampaignInfo")
    assert [text(c, "ShortName") for c in infos] == ["Leadflow demo", "Spring"]
    one = await result(client, "GetCampaign", f"{session}<campaignId>{new_id}</campaignId>")
    assert text(one, "OutboundSMSNotificationInfo", "TextToSend") == "Hello"
    assert nil(await result(client, "GetCampaign", f"{session}<campaignId>{uuid.uuid4()}</campaignId>"))

    required = contact(campaign=new_id, EmailCommInfo=comm("ann@example.com"))
    assert await code(client, "AddCampaignContact", session + required) == OncError.REQUIRED_CHANNEL_MISSING

    renamed = info.replace("Spring", "Summer")
    assert await code(client, "UpdateCampaign", session + renamed) == 0
    assert (
        text(await result(client, "GetCampaign", f"{session}<campaignId>{new_id}</campaignId>"), "ShortName")
        == "Summer"
    )
    assert await code(client, "UpdateCampaign", session + renamed.replace(new_id, str(uuid.uuid4()))) == (
        OncError.CAMPAIGN_NOT_FOUND
    )
    assert await code(client, "DeleteCampaign", f"{session}<campaignId>{new_id}</campaignId>") == 0
    assert await code(client, "DeleteCampaign", f"{session}<campaignId>{new_id}</campaignId>") == (
        OncError.CAMPAIGN_NOT_FOUND
    )
    assert nil(await result(client, "GetCampaignContacts", f"{session}<campaignId>{new_id}</campaignId>"))
    assert [c["ID"] for c in sim.dump()["campaigns"]] == [SEED_CAMPAIGN]


@pytest.mark.parametrize("action", [f'"{TEMPURI}OpenAPISession"', '""', ""])
async def test_either_soapaction_form_or_none_routes_by_the_body(
    client: httpx.AsyncClient, action: str
) -> None:
    params = "<accountId>demo-account</accountId><username>demo</username><password>demo-secret</password>"
    assert text(await result(client, "OpenAPISession", params, action), "ErrorCode") == "0"


@pytest.mark.parametrize(
    "action",
    [
        f'"{TEMPURI}IDynamicNotificationsService/CloseAPISession"',
        '"http://example.org/IDynamicNotificationsService/OpenAPISession"',
    ],
    ids=["other-operation", "other-namespace"],
)
async def test_a_soapaction_that_does_not_match_the_contract_is_a_client_fault(
    client: httpx.AsyncClient, action: str
) -> None:
    response = await post(client, "OpenAPISession", "<accountId/>", action)
    assert response.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in response.content


async def test_an_external_entity_is_a_client_fault_and_not_read(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        + envelope(
            "OpenAPISession", "<accountId>&xxe;</accountId><username>demo</username><password>x</password>"
        ).decode()
    )
    response = await client.post(
        SERVICE, content=body, headers={"Content-Type": "text/xml", "SOAPAction": '""'}
    )
    assert response.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in response.content
    assert sim.dump()["open_sessions"] == 0


async def test_parallel_adds_with_one_session_each_arrive_exactly_once(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    sends = [
        code(
            client,
            "AddCampaignContact",
            session + contact(contact_id=str(uuid.UUID(int=n + 1)), SMSCommInfo=comm(f"+1555123{n:04d}")),
        )
        for n in range(20)
    ]
    assert await asyncio.gather(*sends) == [0] * 20
    assert sorted(c["SMSCommInfo"]["Destination"] for c in seed_contacts(sim)) == [
        f"+1555123{n:04d}" for n in range(20)
    ]


@settings(max_examples=25, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 19 * 60 + 50) | st.integers(20 * 60 + 10, 25 * 60), min_size=1, max_size=6)
)
def test_a_session_lives_exactly_while_every_gap_is_at_most_20_minutes(gaps: list[int]) -> None:
    clock = Clock()
    sim = OncSimulator(clock, Faults())

    async def scenario() -> list[bool]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app()), base_url="http://s"
        ) as client:
            session = f"<sessionId>{await open_session(client)}</sessionId>"
            alive = []
            for gap in gaps:
                clock.advance(gap)
                alive.append(not nil(await result(client, "GetCampaignListing", session)))
            return alive

    alive = asyncio.run(scenario())
    expected, living = [], True
    for gap in gaps:
        living = living and gap < 20 * 60
        expected.append(living)
    assert alive == expected


@pytest.mark.parametrize("outcome", ["429", "500", "502", "503", "drop"])
async def test_faults_on_the_service_path_reach_a_plain_client_and_the_state_dump_is_json(
    outcome: str,
) -> None:
    rule: dict[str, Any] = {f"rate_{outcome}": 1.0, "retry_after": 7, "max_faults": 1}
    app = build_app(Faults({"seed": 1, "vendors": {"onc": {SERVICE: rule}}}))
    params = "<accountId>demo-account</accountId><username>demo</username><password>demo-secret</password>"
    body = envelope("OpenAPISession", params)
    headers = {"Content-Type": "text/xml", "SOAPAction": f'"{TEMPURI}OpenAPISession"'}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        if outcome == "drop":
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(f"/onc{SERVICE}", content=body, headers=headers)
        else:
            faulted = await http.post(f"/onc{SERVICE}", content=body, headers=headers)
            assert faulted.status_code == int(outcome)
            assert faulted.headers.get("retry-after") == ("7" if outcome == "429" else None)
        retried = await http.post(f"/onc{SERVICE}", content=body, headers=headers)
        assert retried.status_code == 200
        state = (await http.get("/_sandbox/onc/state")).json()
        assert state["open_sessions"] == 1
