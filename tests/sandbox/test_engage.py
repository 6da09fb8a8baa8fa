"""Engage's simulator enforces engage-campaign-methods.txt and answers with SOAP Faults as it says."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import build_app
from sandbox.clock import Clock
from sandbox.engage import NAMESPACE, EngageSimulator
from sandbox.engage_wire import LENIENT
from sandbox.faults import Faults
from sandbox.soap import SOAP11_NS, WSSE_NS, find, find_all, text

SERVICE = "/SOAPAPI2/CampaignManagementService110"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
OWNER = "<owner><internalId>1001</internalId><type>Account</type></owner>"
CAMPAIGN = "<campaign><externalId>LEADFLOW-DEMO</externalId></campaign>"


def security(username: str, password: str) -> str:
    return (
        f'<wsse:Security xmlns:wsse="{WSSE_NS}">'
        f"<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_TEXT}">{password}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security>"
    )


def envelope(operation: str, args: str, header: str | None = None) -> str:
    header = security("demo", "demo-secret") if header is None else header
    return (
        f'<soapenv:Envelope xmlns:ns="{NAMESPACE}" xmlns:soapenv="{SOAP11_NS}">'
        f"<soapenv:Header>{header}</soapenv:Header>"
        f"<soapenv:Body><ns:{operation}>{args}</ns:{operation}></soapenv:Body></soapenv:Envelope>"
    )


def contact(external_id: str, device: str = "+15551230000", kind: str = "Phone", extra: str = "") -> str:
    return (
        f"<arg2><externalId>{external_id}</externalId>{extra}"
        f"<devices><externalId>{device}</externalId><type>{kind}</type></devices></arg2>"
    )


def batch(external_id: str = "B1", *, campaign: str = CAMPAIGN, owner: str = OWNER, times: str = "") -> str:
    times = times or "<maxDuration>60</maxDuration>"
    return f"<arg1><externalId>{external_id}</externalId>{campaign}{owner}{times}</arg1>"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> EngageSimulator:
    return EngageSimulator(clock, Faults())


@pytest.fixture
async def client(sim: EngageSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


async def post(client: httpx.AsyncClient, body: str, action: str = '""') -> httpx.Response:
    return await client.post(
        SERVICE,
        content=body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
    )


async def call(client: httpx.AsyncClient, operation: str, args: str) -> list[ET.Element]:
    """The ``return`` elements of a successful call."""
    response = await post(client, envelope(operation, args))
    assert response.status_code == 200, response.text
    answer = SafeET.fromstring(response.content).find(
        f"{{{SOAP11_NS}}}Body/{{{NAMESPACE}}}{operation}Response"
    )
    assert answer is not None
    return find_all(answer, "return")


async def errors(
    client: httpx.AsyncClient, operation: str, args: str, header: str | None = None
) -> list[dict[str, str]]:
    """The error objects of a SOAP Fault answer."""
    response = await post(client, envelope(operation, args, header))
    assert response.status_code == 500, response.text
    fault = SafeET.fromstring(response.content).find(f"{{{SOAP11_NS}}}Body/{{{SOAP11_NS}}}Fault")
    assert (text(fault, "faultcode") or "").endswith(":Server")
    detail = find(fault, "detail", "ApiException")
    assert detail is not None
    assert detail.tag == f"{{{NAMESPACE}}}ApiException"
    return [{child.tag: child.text or "" for child in error} for error in find_all(detail, "errors")]


def codes(found: list[dict[str, str]]) -> list[tuple[str, str | None, str | None]]:
    return [(e["code"], e.get("argumentIndex"), e.get("attributeName")) for e in found]


def stored(sim: EngageSimulator, campaign: str = "LEADFLOW-DEMO") -> list[dict[str, Any]]:
    found = next(c for c in sim.dump()["campaigns"] if c["externalId"] == campaign)
    return [c for b in found["batches"] for c in b["contacts"]]


@pytest.mark.parametrize("operation", ["createContactBatch", "createContactBatchAsync"])
async def test_a_valid_batch_is_stored_once_with_its_devices(
    client: httpx.AsyncClient, sim: EngageSimulator, operation: str
) -> None:
    args = (
        batch()
        + contact("C1", extra="<firstName>Ann</firstName>")
        + contact("C2", "ann@example.com", "Email")
        + '<arg3 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    )
    (answer,) = await call(client, operation, args)
    assert text(answer, "externalId") == "B1"
    assert text(answer, "campaign", "externalId") == "LEADFLOW-DEMO"
    assert stored(sim) == [
        {
            "externalId": "C1",
            "firstName": "Ann",
            "devices": [{"type": "Phone", "externalId": "+15551230000"}],
        },
        {"externalId": "C2", "devices": [{"type": "Email", "externalId": "ann@example.com"}]},
    ]
    assert sim.dump()["campaigns"][1]["batches"][0]["async"] is (operation == "createContactBatchAsync")


@pytest.mark.parametrize(
    "header",
    [
        "",
        security("demo", "wrong-secret"),
        security("nobody", "demo-secret"),
        security("demo", "demo-secret").replace(PASSWORD_TEXT, PASSWORD_TEXT.replace("Text", "Digest")),
    ],
    ids=["no-token", "wrong-password", "wrong-user", "digest"],
)
async def test_calls_without_the_right_username_token_fail_authentication_without_echoing_it(
    client: httpx.AsyncClient, sim: EngageSimulator, header: str
) -> None:
    response = await post(client, envelope("createContactBatch", batch() + contact("C1"), header))
    assert response.status_code == 500
    fault = SafeET.fromstring(response.content).find(f"{{{SOAP11_NS}}}Body/{{{SOAP11_NS}}}Fault")
    assert text(fault, "faultcode") == "wsse:FailedAuthentication"
    assert f'xmlns:wsse="{WSSE_NS}"'.encode() in response.content
    assert b"secret" not in response.content
    assert sim.dump()["contact_count"] == 0
    sim.profile = LENIENT
    response = await post(client, envelope("createContactBatch", batch() + contact("C1"), header))
    assert b"<code>AUTHENTICATION_FAILURE</code>" in response.content
    assert b"secret" not in response.content


@pytest.mark.parametrize("operation", ["createContactBatch", "createContactBatchAsync"])
async def test_more_than_100_contacts_is_arg_too_large_and_100_is_accepted(
    client: httpx.AsyncClient, sim: EngageSimulator, operation: str
) -> None:
    too_many = "".join(contact(f"C{i}") for i in range(101))
    assert codes(await errors(client, operation, batch("B1") + too_many)) == [("ARG_TOO_LARGE", "2", None)]
    hundred = "".join(contact(f"C{i}") for i in range(100))
    await call(client, operation, batch("B2") + hundred)
    assert sim.dump()["contact_count"] == 100


async def test_a_batch_external_id_is_unique_per_campaign(client: httpx.AsyncClient) -> None:
    await call(client, "createContactBatch", batch("B1") + contact("C1"))
    found = await errors(client, "createContactBatch", batch("B1") + contact("C2"))
    assert codes(found) == [("OBJECT_EXISTS", "1", "externalId")]
    assert found[0]["message"] == "Object 'B1' already exists"
    other = "<campaign><externalId>DEFAULT</externalId></campaign>"
    await call(client, "createContactBatch", batch("B1", campaign=other) + contact("C2"))


async def test_contact_external_ids_are_unique_per_campaign_for_the_async_call_only_as_documented(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    """createContactBatchAsync: 'External ID must be unique within given account and campaign,
    otherwise request is rejected as duplicated.' createContactBatch says nothing of it."""
    await call(client, "createContactBatchAsync", batch("B1") + contact("C1"))
    args = batch("B2") + contact("C9") + contact("C1") + contact("C9")
    (found,) = await errors(client, "createContactBatchAsync", args)
    assert (found["code"], found["message"]) == ("OBJECT_EXISTS", "Object 'C1' already exists")
    assert [c["externalId"] for c in stored(sim)] == ["C1"]
    sim.profile = LENIENT
    found_all = await errors(client, "createContactBatchAsync", args)
    assert [e["message"] for e in found_all] == ["Object 'C1' already exists", "Object 'C9' already exists"]
    other = "<campaign><externalId>DEFAULT</externalId></campaign>"
    await call(client, "createContactBatchAsync", batch("B2", campaign=other) + contact("C1"))
    await call(client, "createContactBatch", batch("B3") + contact("C1") + contact("C1"))
    assert [c["externalId"] for c in stored(sim)] == ["C1", "C1", "C1"]


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.mark.parametrize(
    ("start_in", "minutes", "expected"),
    [
        (timedelta(days=10, minutes=5), 60, [("ATTRIBUTE_INVALID_DATA", "1", "requestedStartTime")]),
        (timedelta(days=9, hours=23), 60, []),
        (-timedelta(days=3), 60, []),
        (timedelta(0), 721, [("ATTRIBUTE_INVALID_DATA", "1", "maxDuration")]),
        (timedelta(0), 720, []),
        (timedelta(0), 0, [("ATTRIBUTE_INVALID_DATA", "1", "maxDuration")]),
    ],
    ids=["start-10d-ahead", "start-9d23h", "start-in-past", "duration-12h01", "duration-12h", "duration-0"],
)
async def test_start_at_most_10_days_ahead_and_duration_at_most_12_hours(
    client: httpx.AsyncClient, clock: Clock, start_in: timedelta, minutes: int, expected: list[Any]
) -> None:
    start = iso(clock.utcnow() + start_in)
    times = f"<requestedStartTime>{start}</requestedStartTime><maxDuration>{minutes}</maxDuration>"
    if expected:
        assert (
            codes(await errors(client, "createContactBatch", batch(times=times) + contact("C1"))) == expected
        )
        return
    (answer,) = await call(client, "createContactBatch", batch(times=times) + contact("C1"))
    answered = datetime.fromisoformat(text(answer, "requestedStartTime") or "")
    assert answered >= clock.utcnow() - timedelta(minutes=1), "a start in the past is moved to now"


async def test_missing_max_duration_and_null_owner_are_arg_null(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    args = "<arg1><externalId>B1</externalId><requestedStartTime/></arg1>" + contact("C1")
    assert codes(await errors(client, "createContactBatch", args)) == [("ARG_NULL", "1", "owner")]
    sim.profile = LENIENT
    assert codes(await errors(client, "createContactBatch", args)) == [
        ("ARG_NULL", "1", "owner"),
        ("ARG_NULL", "1", "maxDuration"),
    ]
    nil_owner = '<owner xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    assert codes(await errors(client, "createContactBatch", batch(owner=nil_owner) + contact("C1"))) == [
        ("ARG_NULL", "1", "owner")
    ]


async def test_an_owner_that_is_not_an_account_is_refused(client: httpx.AsyncClient) -> None:
    enterprise = "<owner><internalId>1000</internalId><type>Enterprise</type></owner>"
    assert codes(await errors(client, "createContactBatch", batch(owner=enterprise) + contact("C1"))) == [
        ("ARG_INVALID_TYPE", "1", "owner")
    ]
    unknown = "<owner><internalId>999</internalId><type>Account</type></owner>"
    assert codes(await errors(client, "createContactBatch", batch(owner=unknown) + contact("C1"))) == [
        ("OBJECT_NOT_EXISTS", "1", "owner")
    ]


async def test_custom_payload_over_96_kb_is_arg_too_large(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    over = f"<customPayload>{'x' * (96 * 1024 + 1)}</customPayload>"
    found = await errors(client, "createContactBatch", batch("B1") + contact("C1", extra=over))
    assert codes(found) == [("ARG_TOO_LARGE", "2", "customPayload")]
    limit = f"<customPayload>{'é' * (48 * 1024)}</customPayload>"
    await call(client, "createContactBatch", batch("B2") + contact("C1", extra=limit))
    assert len(stored(sim)[0]["customPayload"].encode()) == 96 * 1024


async def test_a_batch_without_campaign_goes_to_the_default_and_an_unknown_campaign_is_refused(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    await call(client, "createContactBatch", batch(campaign="") + contact("C1"))
    assert [c["externalId"] for c in stored(sim, "DEFAULT")] == ["C1"]
    unknown = "<campaign><externalId>NOPE</externalId></campaign>"
    assert codes(await errors(client, "createContactBatch", batch(campaign=unknown) + contact("C2"))) == [
        ("OBJECT_NOT_EXISTS", "1", "campaign")
    ]


@pytest.mark.parametrize(
    ("device", "kind"), [("5551230000", "Phone"), ("+15551230000", "Fax"), ("not-an-email", "Email")]
)
async def test_devices_must_be_e164_numbers_or_emails(
    client: httpx.AsyncClient, device: str, kind: str
) -> None:
    assert codes(await errors(client, "createContactBatch", batch() + contact("C1", device, kind))) == [
        ("ATTRIBUTE_INVALID_FORMAT", "2", "devices")
    ]


async def test_an_override_strategy_and_an_empty_contact_list_are_refused(client: httpx.AsyncClient) -> None:
    override = "<arg3><externalId>S1</externalId></arg3>"
    assert codes(await errors(client, "createContactBatch", batch() + contact("C1") + override)) == [
        ("ARG_INVALID_DATA", "3", None)
    ]
    assert codes(await errors(client, "createContactBatch", batch())) == [("ARG_NULL", "2", None)]


async def test_batch_state_runs_then_is_done_and_only_a_running_batch_can_be_cancelled(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await call(client, "createContactBatch", batch("B1") + contact("C1"))
    await call(client, "createContactBatch", batch("B2") + contact("C2"))
    ref = "<arg1><externalId>{}</externalId>" + CAMPAIGN + "</arg1>"
    (state,) = await call(client, "showContactBatchState", ref.format("B1"))
    assert (text(state, "state"), text(state, "contactCount")) == ("Running", "1")

    cancel = "<arg1><contactBatch><externalId>{}</externalId></contactBatch><state>Cancelled</state></arg1>"
    (cancelled,) = await call(client, "changeContactBatchState", cancel.format("B2"))
    assert text(cancelled, "state") == "Cancelled"
    assert codes(await errors(client, "changeContactBatchState", cancel.format("B2"))) == [
        ("INVALID_STATE", "1", "state")
    ]
    clock.advance(61 * 60)
    (state,) = await call(client, "showContactBatchState", ref.format("B1"))
    assert text(state, "state") == "Done"
    assert codes(await errors(client, "changeContactBatchState", cancel.format("B1"))) == [
        ("INVALID_STATE", "1", "state")
    ]
    running = cancel.format("B1").replace("Cancelled", "Running")
    assert codes(await errors(client, "changeContactBatchState", running)) == [
        ("ARG_INVALID_DATA", "1", "state")
    ]
    assert codes(await errors(client, "showContactBatchState", ref.format("B9"))) == [
        ("OBJECT_NOT_EXISTS", "1", None)
    ]


async def test_batch_states_list_by_campaign_and_attempts_list_one_per_contact(
    client: httpx.AsyncClient,
) -> None:
    await call(client, "createContactBatch", batch("B1") + contact("C1") + contact("C2", "+15551230001"))
    default = "<campaign><externalId>DEFAULT</externalId></campaign>"
    await call(client, "createContactBatch", batch("B2", campaign=default) + contact("C3"))
    states = await call(client, "listContactBatchStates", f"<arg1>{CAMPAIGN}</arg1>")
    assert [text(s, "contactBatch", "externalId") for s in states] == ["B1"]
    assert len(await call(client, "listContactBatchStates", "<arg1/>")) == 2
    attempts = await call(
        client, "listContactAttemptsUsingContactBatch", "<arg1><externalId>B1</externalId></arg1>"
    )
    assert [(text(a, "contact", "externalId"), text(a, "device", "externalId")) for a in attempts] == [
        ("C1", "+15551230000"),
        ("C2", "+15551230001"),
    ]
    assert {text(a, "state") for a in attempts} == {"InProgress"}
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    window = f"<arg1><externalId>B1</externalId></arg1><arg2>{later}</arg2>"
    assert await call(client, "listContactAttemptsUsingContactBatch", window) == []
    backwards = f"<arg1/><arg2>{later}</arg2><arg3>{datetime.now(UTC).isoformat()}</arg3>"
    assert codes(await errors(client, "listContactBatchStates", backwards)) == [
        ("ARG_INVALID_DATA", "2", None)
    ]


async def test_campaigns_are_created_shown_and_listed_with_the_documented_refusals(
    client: httpx.AsyncClient,
) -> None:
    org = "<arg2><internalId>1001</internalId><type>Account</type></arg2>"
    (created,) = await call(client, "createCampaign", "<arg1><externalId>SPRING</externalId></arg1>" + org)
    internal_id = text(created, "internalId")
    (shown,) = await call(client, "showCampaign", f"<arg1><internalId>{internal_id}</internalId></arg1>")
    assert text(shown, "externalId") == "SPRING"
    listed = await call(
        client, "listCampaigns", "<arg1><internalId>1001</internalId><type>Account</type></arg1>"
    )
    assert [text(c, "externalId") for c in listed] == ["DEFAULT", "LEADFLOW-DEMO", "SPRING"]

    duplicate = await errors(client, "createCampaign", "<arg1><externalId>spring</externalId></arg1>" + org)
    assert codes(duplicate) == [("OBJECT_EXISTS", "1", "externalId")]
    assert codes(await errors(client, "createCampaign", "<arg1><name>x</name></arg1>" + org)) == [
        ("ATTRIBUTE_NULL", "1", "externalId")
    ]
    long = f"<arg1><externalId>LONG</externalId><description>{'d' * 256}</description></arg1>"
    assert codes(await errors(client, "createCampaign", long + org)) == [
        ("ATTRIBUTE_TRUNCATED", "1", "description")
    ]
    assert codes(await errors(client, "createCampaign", "<arg1><externalId>X</externalId></arg1>")) == [
        ("ARG_NULL", "2", None)
    ]
    assert codes(await errors(client, "showCampaign", "<arg1><internalId>77</internalId></arg1>")) == [
        ("OBJECT_NOT_EXISTS", "1", None)
    ]


async def test_more_than_100_campaigns_is_a_system_limit(client: httpx.AsyncClient) -> None:
    org = "<arg2><internalId>1001</internalId><type>Account</type></arg2>"
    for n in range(98):
        await call(client, "createCampaign", f"<arg1><externalId>C{n}</externalId></arg1>{org}")
    assert codes(
        await errors(client, "createCampaign", f"<arg1><externalId>ONE-MORE</externalId></arg1>{org}")
    ) == [("SYSTEM_LIMIT_EXCEEDED", None, None)]


async def test_an_xml_bomb_is_a_client_fault_and_nothing_runs(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + envelope("createContactBatch", batch() + contact("&b;"))
    )
    response = await post(client, bomb)
    assert response.status_code == 500
    assert b"<faultcode>S:Client</faultcode>" in response.content
    assert b"aaaaaaaaaa" not in response.content
    assert sim.dump()["contact_count"] == 0


async def test_unknown_operations_namespaces_and_mismatched_soapactions_are_client_faults(
    client: httpx.AsyncClient,
) -> None:
    wrong_ns = envelope("listCampaigns", "<arg1/>").replace(
        NAMESPACE, "http://www.soundbite.com/SOAPAPI2/100"
    )
    for body, action in [
        (envelope("dropTables", ""), '""'),
        (wrong_ns, '""'),
        (envelope("listCampaigns", "<arg1/>"), f'"{NAMESPACE}/createCampaign"'),
    ]:
        response = await post(client, body, action)
        assert response.status_code == 500
        assert b"<faultcode>S:Client</faultcode>" in response.content


async def test_concurrent_batches_with_the_same_contact_store_it_once(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    bodies = [envelope("createContactBatchAsync", batch(f"B{n}") + contact("SAME")) for n in range(5)]
    answers = await asyncio.gather(*(post(client, body) for body in bodies))
    assert sorted(r.status_code for r in answers) == [200, 500, 500, 500, 500]
    assert [c["externalId"] for c in stored(sim)] == ["SAME"]


NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=30, deadline=None)
@given(first=NAMES, last=NAMES)
def test_any_contact_name_arrives_exactly_as_sent(first: str, last: str) -> None:
    sim = EngageSimulator(Clock(), Faults())

    async def send() -> None:
        transport = httpx.ASGITransport(app=sim.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            names = f"<firstName>{escape(first)}</firstName><lastName>{escape(last)}</lastName>"
            await call(http, "createContactBatch", batch() + contact("C1", extra=names))

    asyncio.run(send())
    (stored_contact,) = stored(sim)
    assert (stored_contact["firstName"], stored_contact["lastName"]) == (first, last)


@pytest.mark.parametrize("outcome", ["429", "500", "502", "503", "drop"])
async def test_faults_on_the_service_path_reach_a_plain_client_and_the_state_dump_is_json(
    outcome: str,
) -> None:
    rule: dict[str, Any] = {f"rate_{outcome}": 1.0, "retry_after": 7, "max_faults": 1}
    app = build_app(Faults({"seed": 1, "vendors": {"engage": {SERVICE: rule}}}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        body = envelope("createContactBatch", batch() + contact("C1")).encode()
        headers = {"Content-Type": "text/xml", "SOAPAction": '""'}
        if outcome == "drop":
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(f"/engage{SERVICE}", content=body, headers=headers)
        else:
            faulted = await http.post(f"/engage{SERVICE}", content=body, headers=headers)
            assert faulted.status_code == int(outcome)
            assert faulted.headers.get("retry-after") == ("7" if outcome == "429" else None)
        retried = await http.post(f"/engage{SERVICE}", content=body, headers=headers)
        assert retried.status_code == 200
        state = (await http.get("/_sandbox/engage/state")).json()
        assert state["contact_count"] == 1
