"""The shared SOAP 1.1 layer refuses what a real SOAP stack refuses, before any operation runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.soap import (
    SOAP11_NS,
    SoapFault,
    element,
    fault_response,
    parse_request,
    soap_response,
    text,
    username_token,
)

NS = "urn:test"
SECURITY = (
    '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'
    ' soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username> demo </wsse:Username>'
    "<wsse:Password{type}>demo-secret</wsse:Password></wsse:UsernameToken></wsse:Security>"
)
PASSWORD_TEXT = (
    ' Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"'
)


def envelope(body: str, header: str | None = None, env_ns: str = SOAP11_NS) -> bytes:
    head = "" if header is None else f"<soapenv:Header>{header}</soapenv:Header>"
    return (
        f'<soapenv:Envelope xmlns:soapenv="{env_ns}" xmlns:t="{NS}">{head}'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def refused(data: bytes, content_type: str = "text/xml", action: str | None = None) -> SoapFault:
    with pytest.raises(SoapFault) as caught:
        parse_request(data, content_type, action)
    return caught.value


def test_a_wrapped_call_is_opened_with_its_operation_namespace_and_header() -> None:
    request = parse_request(
        envelope("<t:ping><arg1>x</arg1></t:ping>", "<t:note>hi</t:note>"), "text/xml; charset=utf-8", None
    )
    assert (request.operation, request.namespace, request.action) == ("ping", NS, "")
    assert text(request.call, "arg1") == "x"
    assert request.header is not None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<t:ping xmlns:t="urn:test">&lol3;</t:ping></soapenv:Body></soapenv:Envelope>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<t:ping xmlns:t="urn:test">&xxe;</t:ping></soapenv:Body></soapenv:Envelope>"""
BARE_DOCTYPE = b"""<?xml version="1.0"?><!DOCTYPE soapenv:Envelope>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<t:ping xmlns:t="urn:test"/></soapenv:Body></soapenv:Envelope>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DOCTYPE], ids=["bomb", "xxe", "dtd"])
def test_dtds_and_entities_are_a_client_fault_never_expanded(data: bytes) -> None:
    fault = refused(data)
    assert fault.code == "Client"
    assert "not allowed" in fault.message
    assert "root:" not in fault.message


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"<soapenv:Envelope", "Client", "not well-formed"),
        (envelope("<t:ping/>", env_ns="http://www.w3.org/2003/05/soap-envelope"), "VersionMismatch", "1.2"),
        (f'<t:ping xmlns:t="{NS}"/>'.encode(), "Client", "SOAP 1.1 Envelope"),
        (envelope("<t:ping/><t:pong/>"), "Client", "exactly one operation"),
        (envelope(""), "Client", "exactly one operation"),
        (envelope("stray<t:ping/>"), "Client", "exactly one operation"),
        (
            f'<e:Envelope xmlns:e="{SOAP11_NS}"><e:Body><x/></e:Body><e:Header/></e:Envelope>'.encode(),
            "Client",
            "optional Header then one Body",
        ),
        (
            f'<e:Envelope xmlns:e="{SOAP11_NS}"><e:Body><x/></e:Body><e:Body/></e:Envelope>'.encode(),
            "Client",
            "optional Header then one Body",
        ),
    ],
    ids=[
        "malformed",
        "soap12",
        "no-envelope",
        "two-calls",
        "empty-body",
        "text-in-body",
        "header-last",
        "two-bodies",
    ],
)
def test_malformed_envelopes_are_refused_as_a_soap_stack_would(data: bytes, code: str, words: str) -> None:
    fault = refused(data)
    assert fault.code == code
    assert words in fault.message


def test_a_content_type_other_than_text_xml_is_415() -> None:
    fault = refused(envelope("<t:ping/>"), content_type="application/soap+xml")
    assert fault.status == 415


@pytest.mark.parametrize("action", ['"urn:test/ping"', "urn:test#ping", "ping", '""', ""])
def test_a_soapaction_naming_the_body_operation_or_empty_is_accepted(action: str) -> None:
    assert parse_request(envelope("<t:ping/>"), "text/xml", action).operation == "ping"


def test_a_soapaction_naming_another_operation_is_refused() -> None:
    assert "does not match" in refused(envelope("<t:ping/>"), action='"urn:test/pong"').message


def test_a_must_understand_header_not_handled_is_a_must_understand_fault() -> None:
    data = envelope("<t:ping/>", SECURITY.format(type=PASSWORD_TEXT))
    assert refused(data).code == "MustUnderstand"
    wsse = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security"
    assert parse_request(data, "text/xml", None, understood_headers=frozenset({wsse})).operation == "ping"


def test_a_request_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(SoapFault, match="exceeds"):
        parse_request(envelope("<t:ping/>"), "text/xml", None, max_bytes=10)


@pytest.mark.parametrize(
    ("password_type", "expected"),
    [
        (PASSWORD_TEXT, ("demo", "demo-secret")),
        ("", ("demo", "demo-secret")),
        (' Type="urn:x#PasswordDigest"', None),
    ],
    ids=["password-text", "type-absent", "digest"],
)
def test_username_token_reads_password_text_only(
    password_type: str, expected: tuple[str, str] | None
) -> None:
    header = SafeET.fromstring(f'<h xmlns:soapenv="{SOAP11_NS}">{SECURITY.format(type=password_type)}</h>')
    assert username_token(header) == expected


def test_text_tells_nil_from_empty() -> None:
    node = SafeET.fromstring(
        '<a xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><n i:nil="true"/><e/><v>1</v></a>'
    )
    assert (text(node, "n"), text(node, "e"), text(node, "v"), text(node, "missing")) == (None, "", "1", None)


def _body_child(raw: bytes) -> ET.Element:
    root = SafeET.fromstring(raw)
    body = root.find(f"{{{SOAP11_NS}}}Body")
    assert root.tag == f"{{{SOAP11_NS}}}Envelope"
    assert body is not None
    return body[0]


def test_a_fault_carries_a_resolvable_fault_code_and_its_detail_with_http_500() -> None:
    response = fault_response(SoapFault("Server", "boom", element("{urn:test}Oops", "x")))
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    fault = _body_child(bytes(response.body))
    assert fault.tag == f"{{{SOAP11_NS}}}Fault"
    assert text(fault, "faultcode") == "soap:Server"
    assert b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"' in bytes(response.body)
    assert text(fault, "detail", "Oops") == "x"


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200)


@given(XML_TEXT)
def test_any_answer_text_reaches_a_client_unchanged(value: str) -> None:
    response = soap_response(element("{urn:test}answer", None, element("value", value)))
    assert (text(_body_child(bytes(response.body)), "value") or "") == value
