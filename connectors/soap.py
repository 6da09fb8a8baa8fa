"""SOAP 1.1 for the vendors that speak it (Engage, ONC): envelopes out, replies and Faults in.

Envelopes are built with the standard library's ElementTree; vendor bytes are only ever parsed
with defusedxml (DTDs, entity declarations and external references refused), because a reply is
untrusted input. Lookups go by local name: Engage (JAX-WS) answers with unqualified children,
ONC (WCF) qualifies every data member, and what matters to us is the element's name.

A SOAP 1.1 Fault travels as HTTP 500 (SOAP 1.1 section 6.2). For the engine that is not a
server hiccup to retry but an answer to read, so :class:`SoapConnector` overrides
``Connector.classify``: a 500 whose body is a Fault goes on to ``parse_response``, which turns
the :class:`Fault` into per-row outcomes or a fatal error; a 5xx without a Fault body (a proxy,
an overloaded server) stays transient.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import httpx
from defusedxml import DefusedXmlException

from connectors.base import Connector

__all__ = [
    "CONTENT_TYPE",
    "SOAP11_NS",
    "WSSE_NS",
    "XSI_NS",
    "Fault",
    "FaultError",
    "SoapConnector",
    "SoapParseError",
    "add",
    "add_nil",
    "envelope",
    "find",
    "find_all",
    "is_fault",
    "local_name",
    "read_reply",
    "text",
    "username_token",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSS_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{_WSS_PROFILE}#PasswordText"
"""The WS-Security password *type* URI."""
CONTENT_TYPE = "text/xml; charset=utf-8"

_NOT_XML_1_0 = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry even escaped; ElementTree would write them and break the envelope."""
_OPEN = f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11_NS}">'.encode()


class SoapParseError(ValueError):
    """The bytes are not a well-formed SOAP 1.1 envelope with one element in its Body."""


@dataclass(frozen=True, slots=True)
class FaultError:
    """One error listed in a Fault's detail (Engage's ``ApiException/errors``)."""

    code: str
    message: str = ""
    argument_index: int | None = None
    """1-based ``argN`` the error is about, when the vendor says."""
    attribute_name: str | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP 1.1 Fault, read into plain data."""

    faultcode: str
    """As sent, e.g. ``soap:Server``; ``code`` is its local part."""
    faultstring: str
    errors: tuple[FaultError, ...] = ()

    @property
    def code(self) -> str:
        return self.faultcode.rpartition(":")[2]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.errors)


# --- building ------------------------------------------------------------------------------
def _clean(value: str) -> str:
    return _NOT_XML_1_0.sub("", value)


def add(parent: ET.Element, tag: str, value: object = None) -> ET.Element:
    """Append ``<tag>value</tag>``; bools as ``true``/``false``, characters XML cannot hold dropped."""
    node = ET.SubElement(parent, tag)
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = _clean(str(value))
    return node


def add_nil(parent: ET.Element, tag: str) -> ET.Element:
    """Append ``<tag xsi:nil="true"/>``: an argument that is present and null (Engage's ``arg3``)."""
    return ET.SubElement(parent, tag, {f"{{{XSI_NS}}}nil": "true"})


def username_token(username: str, password: str) -> ET.Element:
    """A WS-Security header with a UsernameToken carrying a PasswordText password."""
    security = ET.Element(f"{{{WSSE_NS}}}Security", {f"{{{SOAP11_NS}}}mustUnderstand": "1"})
    token = ET.SubElement(security, f"{{{WSSE_NS}}}UsernameToken")
    add(token, f"{{{WSSE_NS}}}Username", username)
    ET.SubElement(token, f"{{{WSSE_NS}}}Password", {"Type": PASSWORD_TEXT}).text = _clean(password)
    return security


def envelope(call: ET.Element, headers: Iterable[ET.Element] = ()) -> bytes:
    """A UTF-8 SOAP 1.1 envelope around one operation element, with optional header entries."""
    parts = [_OPEN]
    header_entries = [ET.tostring(h, encoding="utf-8", xml_declaration=False) for h in headers]
    if header_entries:
        parts += [b"<soap:Header>", *header_entries, b"</soap:Header>"]
    parts += [b"<soap:Body>", ET.tostring(call, encoding="utf-8", xml_declaration=False)]
    parts.append(b"</soap:Body></soap:Envelope>")
    return b"".join(parts)


# --- reading -------------------------------------------------------------------------------
def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def find(parent: ET.Element | None, *path: str) -> ET.Element | None:
    """The first child along ``path`` of local names, or None."""
    node = parent
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local_name(c.tag) == name), None)
    return node


def find_all(parent: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if parent is None else [c for c in parent if local_name(c.tag) == name]


def text(parent: ET.Element | None, *path: str) -> str | None:
    """Stripped text at ``path``; None when absent or ``xsi:nil``."""
    node = find(parent, *path) if path else parent
    if node is None or node.get(f"{{{XSI_NS}}}nil", "false").strip() in ("true", "1"):
        return None
    return (node.text or "").strip()


def read_reply(content: bytes) -> ET.Element | Fault:
    """The Body's one element (the operation's response), or the Fault it carries."""
    try:
        root = SafeET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise SoapParseError(f"not well-formed XML ({type(exc).__name__})") from None
    if root.tag != f"{{{SOAP11_NS}}}Envelope":
        raise SoapParseError(f"root element is {local_name(root.tag)!r}, not a SOAP 1.1 Envelope")
    body = root.find(f"{{{SOAP11_NS}}}Body")
    if body is None or len(body) != 1:
        raise SoapParseError("the Envelope has no Body with exactly one element")
    payload = body[0]
    if payload.tag == f"{{{SOAP11_NS}}}Fault":
        return _fault(payload)
    return payload


def _fault(node: ET.Element) -> Fault:
    errors = tuple(
        FaultError(
            code=text(entry, "code") or "",
            message=text(entry, "message") or "",
            argument_index=_int(text(entry, "argumentIndex")),
            attribute_name=text(entry, "attributeName") or None,
        )
        for entry in node.iter()
        if entry is not node and find(entry, "code") is not None
    )
    return Fault(text(node, "faultcode") or "", text(node, "faultstring") or "", errors)


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def is_fault(response: httpx.Response) -> bool:
    """Whether the body is a SOAP Fault (anything unreadable is not)."""
    if b"Fault" not in response.content:
        return False
    try:
        return isinstance(read_reply(response.content), Fault)
    except SoapParseError:
        return False


class SoapConnector(Connector):
    """A Connector whose vendor answers SOAP 1.1: a Fault is an answer, not a transient error."""

    def classify(self, response: httpx.Response) -> None:
        if response.status_code == 500 and is_fault(response):
            return
        super().classify(response)

    def read_answer(self, response: httpx.Response) -> ET.Element | Fault:
        """The answer's body or Fault. No envelope at all is, in a ``200``, a page or garbage in
        the answer's place (:meth:`Connector.unreadable`: this request's rows fail, the target
        goes on), and otherwise an answer that breaks the contract (:meth:`Connector.unexpected`)."""
        try:
            return read_reply(response.content)
        except SoapParseError as exc:
            if response.status_code == 200:
                raise self.unreadable(response, str(exc)) from None
            raise self.unexpected(response, str(exc)) from None
