"""Where the Engage document is silent the simulator answers as a strict JAX-WS service would,
and the lenient profile keeps what it did before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from sandbox.app import build_app
from sandbox.clock import Clock
from sandbox.engage import NAMESPACE, EngageSimulator
from sandbox.engage_wire import JAXWS_NS, LENIENT, STRICT, profile_from_env
from sandbox.faults import Faults
from sandbox.soap import SOAP11_NS, find, text
from tests.sandbox.test_engage import SERVICE, batch, contact, envelope, stored


@pytest.fixture
def sim() -> EngageSimulator:
    return EngageSimulator(Clock(), Faults(), profile=STRICT)


@pytest.fixture
async def client(sim: EngageSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app()), base_url="http://s") as http:
        yield http


async def _post(client: httpx.AsyncClient, body: str, action: str | None = '""') -> httpx.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    return await client.post(SERVICE, content=body.encode(), headers=headers)


def _fault(response: httpx.Response) -> tuple[str | None, str | None]:
    assert response.status_code == 500, response.text
    fault = SafeET.fromstring(response.content).find(f"{{{SOAP11_NS}}}Body/{{{SOAP11_NS}}}Fault")
    return text(fault, "faultcode"), text(fault, "faultstring")


CREATE = "createContactBatch"


@pytest.mark.parametrize(
    ("args", "unexpected"),
    [
        (batch() + contact("C1", extra="<customData>x</customData>"), 'local:"customData"'),
        (batch() + contact("C1").replace("<arg2>", "<arg2><givenName>A</givenName>"), 'local:"givenName"'),
        (batch().replace("maxDuration", "duration") + contact("C1"), 'local:"duration"'),
        (batch().replace("arg1", "arg0") + contact("C1"), 'local:"arg0"'),
        (batch().replace("<arg1>", f'<arg1 xmlns="{NAMESPACE}">') + contact("C1"), f'uri:"{NAMESPACE}"'),
        (batch() + contact("C1").replace("<type>", "<kind>").replace("</type>", "</kind>"), 'local:"kind"'),
    ],
    ids=["contact-member", "contact-first-member", "batch-member", "arg0", "qualified-arg", "device-member"],
)
async def test_members_outside_the_service_beans_are_refused_as_jaxb_unmarshalling_errors(
    client: httpx.AsyncClient, sim: EngageSimulator, args: str, unexpected: str
) -> None:
    code, said = _fault(await _post(client, envelope(CREATE, args)))
    assert code == "S:Client"
    assert said is not None and said.startswith("Unmarshalling Error: unexpected element (")
    assert unexpected in said and "Expected elements are <{}" in said
    assert sim.dump()["contact_count"] == 0
    sim.profile = LENIENT
    assert (await _post(client, envelope(CREATE, args.replace("arg0", "arg1")))).status_code in (200, 500)


async def test_the_lenient_profile_stores_unknown_members_as_before(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    sim.profile = LENIENT
    response = await _post(
        client, envelope(CREATE, batch() + contact("C1", extra="<customData>x</customData>"))
    )
    assert response.status_code == 200
    assert stored(sim)[0]["customData"] == "x"


@pytest.mark.parametrize("action", [None, '"createContactBatch"', f'"{NAMESPACE}/createContactBatch"'])
async def test_the_soap_action_must_be_the_empty_one_a_java_first_service_publishes(
    client: httpx.AsyncClient, sim: EngageSimulator, action: str | None
) -> None:
    body = envelope(CREATE, batch() + contact("C1"))
    assert _fault(await _post(client, body, action))[0] == "S:Client"
    sim.profile = LENIENT
    assert (await _post(client, body, action)).status_code == 200


@pytest.mark.parametrize("kind", ["phone", "PHONE", "Mobile"])
async def test_device_types_are_exact_enum_names(
    client: httpx.AsyncClient, sim: EngageSimulator, kind: str
) -> None:
    body = envelope(CREATE, batch() + contact("C1", kind=kind))
    assert _fault(await _post(client, body)) == (
        "S:Server",
        "ATTRIBUTE_INVALID_FORMAT – Attribute 'C1' has an invalid format.",
    )
    sim.profile = LENIENT
    assert (await _post(client, body)).status_code == (200 if kind.lower() == "phone" else 500)


async def test_a_refused_request_is_one_metro_fault_with_the_documents_template_and_a_stack_trace(
    client: httpx.AsyncClient,
) -> None:
    args = batch() + contact("C1", "12") + contact("C2", "34")
    response = await _post(client, envelope(CREATE, args))
    assert _fault(response) == (
        "S:Server",
        "ATTRIBUTE_INVALID_FORMAT – Attribute 'C1' has an invalid format.",
    )
    root = SafeET.fromstring(response.content)
    assert root.tag == f"{{{SOAP11_NS}}}Envelope" and response.text.count("<S:Envelope") == 1
    detail = find(root, "Body", "Fault", "detail")
    assert detail is not None
    bean, trace = list(detail)
    assert bean.tag == f"{{{NAMESPACE}}}ApiException"
    assert [text(e, "code") for e in bean.findall("errors")] == ["ATTRIBUTE_INVALID_FORMAT"]
    assert trace.tag == f"{{{JAXWS_NS}}}exception"


async def test_a_wrong_token_is_the_ws_security_layers_fault_before_the_service_runs(
    client: httpx.AsyncClient, sim: EngageSimulator
) -> None:
    body = envelope(CREATE, batch() + contact("C1"), header="")
    response = await _post(client, body)
    assert _fault(response) == (
        "wsse:FailedAuthentication",
        "The security token could not be authenticated or authorized",
    )
    assert b"oasis-200401-wss-wssecurity-secext-1.0.xsd" in response.content
    assert b"ApiException" not in response.content
    assert sim.dump()["contact_count"] == 0


@pytest.mark.parametrize(
    ("value", "lenient"),
    [("engage", True), ("onc, engage", True), ("all", True), ("onc", False), ("", False)],
)
def test_leadflow_sandbox_lenient_names_the_vendors_that_start_lenient(
    monkeypatch: pytest.MonkeyPatch, value: str, lenient: bool
) -> None:
    monkeypatch.setenv("LEADFLOW_SANDBOX_LENIENT", value)
    assert (profile_from_env("engage") is LENIENT) is lenient
    assert (EngageSimulator(Clock(), Faults()).profile is LENIENT) is lenient


def test_leadflow_sandbox_lenient_engage_selects_the_lenient_profile() -> None:
    app = build_app(lenient=["engage"])
    sim = app.state.sandbox.simulators["engage"]
    assert sim.lenient and sim.profile is LENIENT
    assert not build_app().state.sandbox.simulators["engage"].lenient
