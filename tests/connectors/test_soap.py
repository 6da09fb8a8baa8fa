"""connectors.soap: envelopes a SOAP stack accepts, replies and Faults read safely, 500+Fault not retried."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.config import TargetConfig
from connectors.engage import EngageConnector
from connectors.errors import FatalTargetError, TransientError
from connectors.soap import (
    SOAP11_NS,
    Fault,
    SoapParseError,
    add,
    add_nil,
    envelope,
    find,
    is_fault,
    read_reply,
    text,
    username_token,
)
from sandbox import soap as vendor_side

NS = "urn:test"

ENGAGE_FAULT = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><soap:Fault>
<faultcode>soap:Server</faultcode><faultstring>ARG_TOO_LARGE, OBJECT_EXISTS</faultstring>
<detail><ns:ApiException xmlns:ns="http://www.soundbite.com/SOAPAPI2/110">
<errors><code>ARG_TOO_LARGE</code>
<message>Invalid Data, argument 'arg2[3].customPayload' exceeds allowed size</message>
<argumentIndex>2</argumentIndex><attributeName>customPayload</attributeName></errors>
<errors><code>OBJECT_EXISTS</code><message>Object 'b1' already exists</message>
<argumentIndex>1</argumentIndex></errors>
</ns:ApiException></detail></soap:Fault></soap:Body></soap:Envelope>""".encode()

OK_REPLY = f"""<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body>
<r:opResponse xmlns:r="{NS}"><return><internalId>5001</internalId></return></r:opResponse>
</soap:Body></soap:Envelope>""".encode()


def _call(value: str) -> ET.Element:
    call = ET.Element(f"{{{NS}}}op")
    add(call, "arg1", value)
    return call


@given(st.text(max_size=200))
@example("\r\n")  # Windows line ends, once found by chance
@example("a\r\rb\r\n\rc")
def test_any_text_survives_an_envelope_round_trip_except_characters_xml_cannot_carry(value: str) -> None:
    reply = read_reply(envelope(_call(value)))
    assert isinstance(reply, ET.Element)
    expected = "".join(
        c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
    )
    parsed = find(reply, "arg1")
    assert parsed is not None
    # XML 1.0 section 2.11: a parser hands on CR LF, and a CR alone, as one LF
    assert (parsed.text or "") == expected.replace("\r\n", "\n").replace("\r", "\n")


def test_the_vendor_side_parser_accepts_our_envelope_header_and_nil_argument() -> None:
    call = _call("x")
    add_nil(call, "arg3")
    body = envelope(call, [username_token("demo", "s3cret<&>")])
    request = vendor_side.parse_request(
        body,
        "text/xml; charset=utf-8",
        '""',
        understood_headers=frozenset({f"{{{vendor_side.WSSE_NS}}}Security"}),
    )
    assert request.operation == "op"
    assert request.namespace == NS
    assert vendor_side.username_token(request.header) == ("demo", "s3cret<&>")
    assert vendor_side.is_nil(vendor_side.find(request.call, "arg3"))
    assert not vendor_side.is_nil(vendor_side.find(request.call, "arg1"))


def test_a_fault_becomes_structured_errors_with_argument_index_and_attribute() -> None:
    fault = read_reply(ENGAGE_FAULT)
    assert isinstance(fault, Fault)
    assert fault.code == "Server"
    assert fault.codes == ("ARG_TOO_LARGE", "OBJECT_EXISTS")
    too_large, exists = fault.errors
    assert too_large.argument_index == 2
    assert too_large.attribute_name == "customPayload"
    assert "arg2[3]" in too_large.message
    assert exists.argument_index == 1
    assert exists.attribute_name is None


def test_a_reply_body_is_its_one_operation_element() -> None:
    reply = read_reply(OK_REPLY)
    assert isinstance(reply, ET.Element)
    assert text(reply, "return", "internalId") == "5001"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<not-closed", id="malformed"),
        pytest.param(b"<html><body>Bad gateway</body></html>", id="not-an-envelope"),
        pytest.param(
            b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x/></e:Body></e:Envelope>',
            id="soap-1.2",
        ),
        pytest.param(f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body/></s:Envelope>'.encode(), id="empty-body"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<r>&b;</r>",
            id="entity-expansion",
        ),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            id="external-entity",
        ),
    ],
)
def test_unsafe_or_malformed_replies_are_refused(body: bytes) -> None:
    with pytest.raises(SoapParseError):
        read_reply(body)


def _connector() -> EngageConnector:
    target = TargetConfig(
        name="t", kind="engage", base_url="http://x", campaign="C", options={"account_id": "1"}
    )
    return EngageConnector(target=target, secrets={"username": "u", "password": "p"})


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers, request=httpx.Request("POST", "http://x/s"))


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (500, ENGAGE_FAULT, None, None),
        (500, b"Internal Server Error", None, TransientError),
        (502, b"<html>bad gateway</html>", None, TransientError),
        (503, ENGAGE_FAULT, None, TransientError),
        (429, b"slow down", {"Retry-After": "3"}, TransientError),
        (401, b"", None, FatalTargetError),
        (200, OK_REPLY, None, None),
    ],
)
def test_classify_treats_a_500_fault_as_an_answer_and_other_5xx_as_transient(
    status: int, body: bytes, headers: dict[str, str] | None, expected: type[Exception] | None
) -> None:
    response = _response(status, body, headers)
    if expected is None:
        _connector().classify(response)
        return
    with pytest.raises(expected) as caught:
        _connector().classify(response)
    if status == 429:
        assert isinstance(caught.value, TransientError)
        assert caught.value.retry_after == 3.0


def test_is_fault_is_false_for_bodies_that_merely_mention_fault() -> None:
    assert not is_fault(_response(500, b"Fault tolerance exceeded"))
    assert is_fault(_response(500, ENGAGE_FAULT))
