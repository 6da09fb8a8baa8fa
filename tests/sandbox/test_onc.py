"""ONC's simulator follows onc-dynamic-notifications-api.txt, spoken as a WCF SOAP 1.1 service."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import build_app
from sandbox.clock import Clock
from sandbox.faults import Faults
from sandbox.onc import LENIENT_ENV, SEED_CAMPAIGN, OncConfig, OncError, OncSimulator
from sandbox.soap import SOAP11_NS, XSI_NS, find, find_all, text

SERVICE = OncConfig().service_path
TEMPURI = "http://tempuri.org/"
DATA = OncConfig().data_namespace
MINUTE = 60.0
LOGIN = "<accountId>demo-account</accountId><username>demo</username><password>demo-secret</password>"


def soap_action(operation: str) -> str:
    """WCF's default Action for an operation of the sandbox's contract, quoted."""
    return f'"{TEMPURI}IDynamicNotificationsService/{operation}"'


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
    """A contact with its data members in data-contract (ordinal alphabetical) order."""
    members = {"CampaignId": campaign, **({"Id": contact_id} if contact_id else {}), **channels}
    return "<contact>" + "".join(f"<d:{k}>{members[k]}</d:{k}>" for k in sorted(members)) + "</contact>"


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
    action = soap_action(operation) if action is None else action
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
        (contact(SMSCommInfo=comm("+15551230000", retries=256)), OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("+15551230000", retries=-1)), OncError.INVALID_ARGUMENT),
        (contact(SMSCommInfo=comm("call me maybe")), OncError.INVALID_DESTINATION),
        (contact(EmailCommInfo=comm("+15551230000")), OncError.INVALID_DESTINATION),
        (contact(SMSCommInfo=comm("+15551230000", retries=255)), 0),
    ],
    ids=[
        "unknown-campaign",
        "retries-256",
        "retries-negative",
        "bad-phone",
        "bad-email",
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
        f"<campaign><d:ID>{new_id}</d:ID><d:IsPaused>false</d:IsPaused>"
        "<d:OutboundSMSNotificationInfo><d:Enabled>true</d:Enabled><d:FromNumber>+15550100</d:FromNumber>"
        "<d:TextToSend>Hello</d:TextToSend></d:OutboundSMSNotificationInfo><d:ShortName>Spring</d:ShortName>"
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
async def test_lenient_accepts_either_soapaction_form_or_none_and_routes_by_the_body(
    clock: Clock, action: str
) -> None:
    lenient = OncSimulator(clock, Faults(), strict=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lenient.app()), base_url="http://sandbox"
    ) as client:
        assert text(await result(client, "OpenAPISession", LOGIN, action), "ErrorCode") == "0"


@pytest.mark.parametrize(
    ("action", "faultcode"),
    [
        (f'"{TEMPURI}IDynamicNotificationsService/CloseAPISession"', "soap:Client"),
        ('"http://example.org/IDynamicNotificationsService/OpenAPISession"', "a:ActionNotSupported"),
    ],
    ids=["other-operation", "other-namespace"],
)
async def test_a_soapaction_that_does_not_match_the_contract_is_a_fault(
    client: httpx.AsyncClient, action: str, faultcode: str
) -> None:
    response = await post(client, "OpenAPISession", "<accountId/>", action)
    assert response.status_code == 500
    assert text(SafeET.fromstring(response.content), "Body", "Fault", "faultcode") == faultcode


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
    headers = {"Content-Type": "text/xml", "SOAPAction": soap_action("OpenAPISession")}
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


# --- strict: requests read as WCF's DataContractSerializer reads them ------------------------


def ignored(sim: OncSimulator) -> list[str]:
    members: list[str] = sim.dump()["ignored_members"]
    return members


async def fault_code(response: httpx.Response) -> str | None:
    assert response.status_code == 500, response.text
    return text(SafeET.fromstring(response.content), "Body", "Fault", "faultcode")


async def test_strict_drops_a_data_member_in_another_namespace_and_says_so(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    # CampaignId in the service namespace (the envelope's default) instead of the data contract's
    sent = (
        f"<contact><CampaignId>{SEED_CAMPAIGN}</CampaignId>"
        f"<d:SMSCommInfo>{comm('+15551230000')}</d:SMSCommInfo></contact>"
    )
    assert await code(client, "AddCampaignContact", session + sent) == OncError.CAMPAIGN_NOT_FOUND
    assert seed_contacts(sim) == []
    assert ignored(sim) == [f"AddCampaignContact/contact/CampaignId {{{TEMPURI}}}"]


async def test_strict_drops_data_members_out_of_data_contract_order(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    # the document's table order (Id, CampaignId, ...): CampaignId comes after Id, too late
    table_order = (
        f"<contact><d:Id>{uuid.uuid4()}</d:Id><d:CampaignId>{SEED_CAMPAIGN}</d:CampaignId>"
        f"<d:SMSCommInfo>{comm('+15551230000')}</d:SMSCommInfo></contact>"
    )
    assert await code(client, "AddCampaignContact", session + table_order) == OncError.CAMPAIGN_NOT_FOUND
    # inside a CommInfo: RetryCount after TextToSendOverwrite is skipped, the contact is stored
    info = (
        "<d:Destination>+15551230000</d:Destination>"
        "<d:TextToSendOverwrite>Hi</d:TextToSendOverwrite><d:RetryCount>7</d:RetryCount>"
    )
    assert await code(client, "AddCampaignContact", session + contact(SMSCommInfo=info)) == 0
    (stored,) = seed_contacts(sim)
    assert (stored["SMSCommInfo"]["TextToSendOverwrite"], stored["SMSCommInfo"]["RetryCount"]) == ("Hi", 0)
    assert ignored(sim) == [
        f"AddCampaignContact/contact/CampaignId {{{DATA}}}",
        f"AddCampaignContact/contact/SMSCommInfo/RetryCount {{{DATA}}}",
    ]


async def test_strict_ignores_unknown_members_and_reads_the_rest(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    info = (
        "<d:Destination>+15551230000</d:Destination><d:Nickname>Ann</d:Nickname>"
        "<d:RetryCount>7</d:RetryCount><d:TextToSendOverwrite>Hi</d:TextToSendOverwrite>"
    )
    assert await code(client, "AddCampaignContact", session + contact(SMSCommInfo=info)) == 0
    (stored,) = seed_contacts(sim)
    assert (stored["SMSCommInfo"]["RetryCount"], stored["SMSCommInfo"]["TextToSendOverwrite"]) == (7, "Hi")
    assert ignored(sim) == [f"AddCampaignContact/contact/SMSCommInfo/Nickname {{{DATA}}}"]


@pytest.mark.parametrize(
    "arguments",
    [
        lambda session: contact(SMSCommInfo=comm("+15551230000")) + f"<sessionId>{session}</sessionId>",
        lambda session: f"<d:sessionId>{session}</d:sessionId>" + contact(SMSCommInfo=comm("+15551230000")),
    ],
    ids=["after-contact", "data-namespace"],
)
async def test_strict_reads_parameters_in_signature_order_and_the_service_namespace(
    client: httpx.AsyncClient, sim: OncSimulator, arguments: Callable[[str], str]
) -> None:
    session = await open_session(client)
    assert await code(client, "AddCampaignContact", arguments(session)) == OncError.INVALID_SESSION
    assert seed_contacts(sim) == []
    assert len(ignored(sim)) == 1 and "sessionId" in ignored(sim)[0]


@pytest.mark.parametrize(
    "sent",
    [
        contact(campaign="not-a-guid", SMSCommInfo=comm("+15551230000")),
        contact(SMSCommInfo="<d:Destination>+15551230000</d:Destination><d:RetryCount>x</d:RetryCount>"),
    ],
    ids=["guid", "int"],
)
async def test_strict_answers_deserialization_failed_for_a_value_not_of_its_type(
    client: httpx.AsyncClient, sim: OncSimulator, sent: str
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    response = await post(client, "AddCampaignContact", session + sent)
    assert await fault_code(response) == "a:DeserializationFailed"
    assert seed_contacts(sim) == []


@pytest.mark.parametrize("sent", ["", f'<contact xmlns:i="{XSI_NS}" i:nil="true"/>'], ids=["absent", "nil"])
async def test_strict_answers_an_internal_service_fault_for_a_null_contact(
    client: httpx.AsyncClient, sent: str
) -> None:
    session = f"<sessionId>{await open_session(client)}</sessionId>"
    response = await post(client, "AddCampaignContact", session + sent)
    assert await fault_code(response) == "a:InternalServiceFault"


@pytest.mark.parametrize("action", [f'"{TEMPURI}OpenAPISession"', '""', ""], ids=["asmx", "empty", "none"])
async def test_strict_dispatches_only_on_wcfs_exact_soapaction(
    client: httpx.AsyncClient, sim: OncSimulator, action: str
) -> None:
    response = await post(client, "OpenAPISession", LOGIN, action)
    assert await fault_code(response) == "a:ActionNotSupported"
    assert b"ContractFilter mismatch" in response.content
    assert sim.dump()["open_sessions"] == 0


async def test_strict_refuses_an_operation_element_in_another_namespace(
    client: httpx.AsyncClient, sim: OncSimulator
) -> None:
    body = envelope("OpenAPISession", LOGIN).replace(TEMPURI.encode(), b"http://example.org/", 1)
    response = await client.post(
        SERVICE,
        content=body,
        headers={"Content-Type": "text/xml", "SOAPAction": soap_action("OpenAPISession")},
    )
    assert await fault_code(response) == "a:DeserializationFailed"
    assert sim.dump()["open_sessions"] == 0


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(["Destination", "RetryCount", "StatusCode", "TextToSendOverwrite"]))
def test_a_member_is_read_exactly_when_no_member_before_it_sorts_after_it(order: list[str]) -> None:
    values = {
        "Destination": "+15551230000",
        "RetryCount": "7",
        "StatusCode": "4",
        "TextToSendOverwrite": "Hi",
    }
    sim = OncSimulator(Clock(), Faults())

    async def scenario() -> int:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app()), base_url="http://s"
        ) as client:
            session = f"<sessionId>{await open_session(client)}</sessionId>"
            info = "".join(f"<d:{name}>{values[name]}</d:{name}>" for name in order)
            return await code(client, "AddCampaignContact", session + contact(SMSCommInfo=info))

    assert asyncio.run(scenario()) == 0
    (stored,) = seed_contacts(sim)
    read = {name for i, name in enumerate(order) if all(before < name for before in order[:i])}
    info = stored["SMSCommInfo"]
    assert (info["Destination"] == "+15551230000") == ("Destination" in read)
    assert (info["RetryCount"] == 7) == ("RetryCount" in read)
    assert (info["TextToSendOverwrite"] == "Hi") == ("TextToSendOverwrite" in read)
    assert len(ignored(sim)) == len(order) - len(read)


# --- lenient: today's reading, for what the real service is known to accept ---------------


async def test_the_environment_switches_the_onc_sandbox_to_lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_app().state.sandbox.simulators["onc"].strict is True
    monkeypatch.setenv(LENIENT_ENV, "engage, onc")
    app = build_app()
    sim: OncSimulator = app.state.sandbox.simulators["onc"]
    assert sim.strict is False
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        headers = {"Content-Type": "text/xml", "SOAPAction": '""'}
        login = await http.post(f"/onc{SERVICE}", content=envelope("OpenAPISession", LOGIN), headers=headers)
        session = text(
            SafeET.fromstring(login.content),
            "Body",
            "OpenAPISessionResponse",
            "OpenAPISessionResult",
            "SessionId",
        )
        out_of_order = (
            f"<contact><d:SMSCommInfo>{comm('+15551230000')}</d:SMSCommInfo>"
            f"<CampaignId>{SEED_CAMPAIGN}</CampaignId></contact><sessionId>{session}</sessionId>"
        )
        added = await http.post(
            f"/onc{SERVICE}", content=envelope("AddCampaignContact", out_of_order), headers=headers
        )
    assert b">0</" in added.content
    assert len(seed_contacts(sim)) == 1


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (contact(campaign="not-a-guid", SMSCommInfo=comm("+15551230000")), OncError.INVALID_ARGUMENT),
        ("", OncError.INVALID_ARGUMENT),
    ],
    ids=["bad-guid", "no-contact"],
)
async def test_lenient_answers_error_codes_where_strict_answers_faults(
    clock: Clock, sent: str, expected: int
) -> None:
    lenient = OncSimulator(clock, Faults(), strict=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lenient.app()), base_url="http://sandbox"
    ) as client:
        session = f"<sessionId>{await open_session(client)}</sessionId>"
        assert await code(client, "AddCampaignContact", session + sent) == expected


# --- every example the document gives, replayed against the strict sandbox ------------------
# The document has no XML samples: its examples are the statements of what each method answers.
# Each one here is sent as a WCF client would (read in full: nothing ignored) and its documented
# answer asserted; the id quotes the document's section.


async def _listing(client: httpx.AsyncClient, op: str, session: str, campaign: str = "") -> ET.Element:
    campaign_id = f"<campaignId>{campaign}</campaignId>" if campaign else ""
    return await result(client, op, f"<sessionId>{session}</sessionId>{campaign_id}")


async def _doc_open_valid(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """OpenAPISession: "If the credentials are valid a new API session is opened" (ErrorCode 0 = Success)."""
    answer = await result(client, "OpenAPISession", LOGIN)
    assert text(answer, "ErrorCode") == "0"
    assert text(answer, "SessionId")


async def _doc_open_invalid(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """OpenAPISession: "otherwise an error code is returned"; SessionId "Empty otherwise"."""
    answer = await result(client, "OpenAPISession", LOGIN.replace("demo-secret", "wrong"))
    assert text(answer, "ErrorCode") != "0"
    assert text(answer, "SessionId") == ""


async def _doc_close(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """CloseAPISession "closes an existing API session" (ErrorCode 0); the session is gone."""
    assert (
        text(await result(client, "CloseAPISession", f"<sessionId>{session}</sessionId>"), "ErrorCode") == "0"
    )
    assert nil(await _listing(client, "GetCampaignListing", session))


async def _doc_expiry(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """OpenAPISession: "A session will expire after 20 minutes of inactivity"."""
    sim.clock.advance(20 * MINUTE + 1)
    assert nil(await _listing(client, "GetCampaignListing", session))


async def _doc_campaign_listing(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignListing "returns a list containing the ID ... of each active campaign"."""
    listing = await _listing(client, "GetCampaignListing", session)
    assert [g.text for g in listing] == [SEED_CAMPAIGN]


async def _doc_campaign_listing_empty(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignListing: "The list will be empty if no campaign is active"."""
    await code(
        client, "DeleteCampaign", f"<sessionId>{session}</sessionId><campaignId>{SEED_CAMPAIGN}</campaignId>"
    )
    listing = await _listing(client, "GetCampaignListing", session)
    assert not nil(listing) and len(listing) == 0


async def _doc_campaign_listing_null(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignListing: "The list will be null if there is an error"."""
    assert nil(await _listing(client, "GetCampaignListing", "not-a-session"))


async def _doc_campaigns(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaigns "returns a list containing objects of type OutboundNotificationCampaignInfo"."""
    infos = find_all(await _listing(client, "GetCampaigns", session), "OutboundNotificationCampaignInfo")
    assert [text(c, "ID") for c in infos] == [SEED_CAMPAIGN]
    assert [local.tag.split("}")[1] for local in infos[0]] == sorted(
        local.tag.split("}")[1] for local in infos[0]
    )


async def _doc_campaigns_null(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaigns: "The list will be null if there is an error"."""
    assert nil(await _listing(client, "GetCampaigns", "not-a-session"))


def _campaign(campaign_id: str, name: str) -> str:
    return (
        f"<campaign><d:ID>{campaign_id}</d:ID><d:IsPaused>false</d:IsPaused>"
        f"<d:ShortName>{name}</d:ShortName></campaign>"
    )


async def _doc_add_campaign(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """AddCampaign returns "successfully (zero) or unsuccessfully (a number different than zero)"."""
    new = str(uuid.uuid4())
    assert (
        await code(client, "AddCampaign", f"<sessionId>{session}</sessionId>{_campaign(new, 'Spring')}") == 0
    )
    assert (
        await code(client, "AddCampaign", f"<sessionId>{session}</sessionId>{_campaign(new, 'Spring')}") != 0
    )
    assert new in [g.text for g in await _listing(client, "GetCampaignListing", session)]


async def _doc_get_campaign(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaign "returns null if the specified campaign ID is not valid, otherwise ... an object"."""
    found = await _listing(client, "GetCampaign", session, SEED_CAMPAIGN)
    assert text(found, "ShortName") == "Leadflow demo"
    assert nil(await _listing(client, "GetCampaign", session, str(uuid.uuid4())))


async def _doc_update_campaign(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """UpdateCampaign "updates general information about a specific campaign" (zero)."""
    renamed = _campaign(SEED_CAMPAIGN, "Renamed")
    assert await code(client, "UpdateCampaign", f"<sessionId>{session}</sessionId>{renamed}") == 0
    assert text(await _listing(client, "GetCampaign", session, SEED_CAMPAIGN), "ShortName") == "Renamed"


async def _doc_delete_campaign(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """DeleteCampaign "deletes a specific campaign" (zero; non-zero when it is not there)."""
    params = f"<sessionId>{session}</sessionId><campaignId>{SEED_CAMPAIGN}</campaignId>"
    assert await code(client, "DeleteCampaign", params) == 0
    assert await code(client, "DeleteCampaign", params) != 0


async def _doc_contacts_listing(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignContactsListing "returns a list containing the IDs of all contacts within a campaign"."""
    contact_id = str(uuid.uuid4())
    sent = contact(contact_id=contact_id, SMSCommInfo=comm("+15551230000"))
    assert await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{sent}") == 0
    assert [g.text for g in await _listing(client, "GetCampaignContactsListing", session, SEED_CAMPAIGN)] == [
        contact_id
    ]


async def _doc_contacts_listing_null(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignContactsListing: "The list will be null if there is an error"."""
    assert nil(await _listing(client, "GetCampaignContactsListing", session, str(uuid.uuid4())))


async def _doc_contacts(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """GetCampaignContacts "returns a list containing the information about all contacts"; empty first."""
    empty = await _listing(client, "GetCampaignContacts", session, SEED_CAMPAIGN)
    assert not nil(empty) and len(empty) == 0
    sent = contact(SMSCommInfo=comm("+15551230000"))
    assert await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{sent}") == 0
    (info,) = find_all(
        await _listing(client, "GetCampaignContacts", session, SEED_CAMPAIGN),
        "OutboundNotificationContactInfo",
    )
    assert (text(info, "CampaignId"), text(info, "SMSCommInfo", "Destination")) == (
        SEED_CAMPAIGN,
        "+15551230000",
    )


async def _doc_add_contact_status(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """AddCampaignContact Notes: StatusCode "always ignored", "set to 0 if the value of the
    Destination field is blank, otherwise ... 1"; "The LastDeliveryError will also be ignored"."""
    sent = contact(
        SMSCommInfo=comm("+15551230000", status=6, last_error=9),
        VoiceCommInfo=comm("", status=4, last_error=9),
    )
    assert await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{sent}") == 0
    (stored,) = seed_contacts(sim)
    assert (stored["SMSCommInfo"]["StatusCode"], stored["SMSCommInfo"]["LastDeliveryErrorCode"]) == (1, 0)
    assert (stored["VoiceCommInfo"]["StatusCode"], stored["VoiceCommInfo"]["LastDeliveryErrorCode"]) == (0, 0)


async def _doc_retry_count_range(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """CommunicationInfo: RetryCount "value must be between 0...255"."""
    for retries, ok in ((0, True), (255, True), (256, False)):
        sent = contact(contact_id=str(uuid.uuid4()), SMSCommInfo=comm("+15551230000", retries=retries))
        answered = await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{sent}")
        assert (answered == 0) is ok


async def _doc_update_contact(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """UpdateCampaignContact: StatusCode and LastDeliveryError "will be ignored when updating"."""
    contact_id = str(uuid.uuid4())
    first = contact(contact_id=contact_id, SMSCommInfo=comm("+15551230000"))
    assert await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{first}") == 0
    changed = contact(contact_id=contact_id, SMSCommInfo=comm("+15559990000", status=6, last_error=3))
    assert await code(client, "UpdateCampaignContact", f"<sessionId>{session}</sessionId>{changed}") == 0
    (stored,) = seed_contacts(sim)
    info = stored["SMSCommInfo"]
    assert (info["Destination"], info["StatusCode"], info["LastDeliveryErrorCode"]) == ("+15559990000", 1, 0)


async def _doc_delete_contact(client: httpx.AsyncClient, sim: OncSimulator, session: str) -> None:
    """DeleteCampaignContact "deletes a contact from a campaign" (zero)."""
    contact_id = str(uuid.uuid4())
    sent = contact(contact_id=contact_id, SMSCommInfo=comm("+15551230000"))
    assert await code(client, "AddCampaignContact", f"<sessionId>{session}</sessionId>{sent}") == 0
    params = f"<campaignId>{SEED_CAMPAIGN}</campaignId><contactId>{contact_id}</contactId>"
    assert await code(client, "DeleteCampaignContact", f"<sessionId>{session}</sessionId>{params}") == 0
    assert seed_contacts(sim) == []


DOCUMENT_EXAMPLES = {
    "OpenAPISession-valid": _doc_open_valid,
    "OpenAPISession-invalid": _doc_open_invalid,
    "OpenAPISession-20-minutes": _doc_expiry,
    "CloseAPISession": _doc_close,
    "GetCampaignListing": _doc_campaign_listing,
    "GetCampaignListing-empty": _doc_campaign_listing_empty,
    "GetCampaignListing-null": _doc_campaign_listing_null,
    "GetCampaigns": _doc_campaigns,
    "GetCampaigns-null": _doc_campaigns_null,
    "AddCampaign": _doc_add_campaign,
    "GetCampaign": _doc_get_campaign,
    "UpdateCampaign": _doc_update_campaign,
    "DeleteCampaign": _doc_delete_campaign,
    "GetCampaignContactsListing": _doc_contacts_listing,
    "GetCampaignContactsListing-null": _doc_contacts_listing_null,
    "GetCampaignContacts": _doc_contacts,
    "AddCampaignContact-notes": _doc_add_contact_status,
    "CommunicationInfo-RetryCount": _doc_retry_count_range,
    "UpdateCampaignContact-notes": _doc_update_contact,
    "DeleteCampaignContact": _doc_delete_contact,
}


@pytest.mark.parametrize("example", list(DOCUMENT_EXAMPLES))
async def test_every_documented_example_is_read_in_full_and_answered_as_documented(
    client: httpx.AsyncClient, sim: OncSimulator, example: str
) -> None:
    session = await open_session(client)
    await DOCUMENT_EXAMPLES[example](client, sim, session)
    assert sim.strict
    assert ignored(sim) == []


def test_the_sandboxs_lenient_switch_covers_onc_as_the_other_vendors() -> None:
    """``leadflow sandbox --lenient onc`` and ``build_app(lenient=["onc"])``: one mechanism."""
    assert build_app(lenient=["onc"]).state.sandbox.simulators["onc"].strict is False
    assert build_app().state.sandbox.simulators["onc"].strict is True
