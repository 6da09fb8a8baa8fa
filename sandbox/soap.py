"""SOAP 1.1 on the vendors' side: read a request envelope safely, answer with an envelope or a Fault.

Engage (a JAX-WS service) and ONC (a WCF service) both speak SOAP 1.1 over HTTP, document/literal
wrapped: one operation element in the Body, ``text/xml``, faults answered with HTTP 500. The
simulators share the strict part here so that a client sending a malformed envelope is told so
the way a real SOAP stack would, before any operation runs:

- parsing is defusedxml with DTDs, entity declarations and external references forbidden (SOAP
  1.1 forbids DTDs anyway), so an XML bomb or an XXE probe is a ``Client`` fault, never expanded;
- the root must be a SOAP 1.1 ``Envelope`` (a SOAP 1.2 one is a ``VersionMismatch`` fault), with
  an optional ``Header`` then exactly one ``Body`` holding exactly one operation element;
- a header entry with ``mustUnderstand="1"`` the simulator does not handle is a ``MustUnderstand``
  fault;
- when the ``SOAPAction`` HTTP header is not empty it must name the same operation as the Body's
  element (its last ``/`` or ``#`` segment); an empty or absent one routes by the Body alone.

Element lookups match local names: JAX-WS sends ``arg1..argN`` unqualified, WCF qualifies
parameters and data members; the envelope is where namespaces are checked. Answers are built with
the standard library ElementTree; the envelope shell is written with fixed ``soap`` prefix so
that QName fault codes (``soap:Client``) resolve.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from starlette.responses import Response

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "WSSE_NS",
    "XSI_NS",
    "SoapFault",
    "SoapRequest",
    "element",
    "fault_response",
    "find",
    "find_all",
    "is_nil",
    "local_name",
    "parse_request",
    "soap_response",
    "text",
    "username_token",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSS_USERNAME_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{WSS_USERNAME_PROFILE}#PasswordText"
CONTENT_TYPE = "text/xml; charset=utf-8"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""Requests above this are refused before parsing (Engage's largest legal batch is ~9.7 MB)."""


class SoapFault(Exception):
    """A SOAP 1.1 Fault to answer with; ``code`` is the local part of a ``soap:`` fault code."""

    def __init__(
        self, code: str, message: str, detail: ET.Element | None = None, *, status: int = 500
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class SoapRequest:
    operation: str
    """Local name of the Body's element, e.g. ``createContactBatch``."""
    namespace: str
    """Namespace of that element."""
    call: ET.Element
    header: ET.Element | None
    action: str
    """The ``SOAPAction`` header without quotes, ``""`` when absent."""


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def parse_request(
    body: bytes,
    content_type: str | None,
    soap_action: str | None,
    *,
    understood_headers: frozenset[str] = frozenset(),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SoapRequest:
    """Check and open one SOAP 1.1 request; raises :class:`SoapFault` for anything malformed.

    ``understood_headers`` are Clark names (``{ns}local``) of header entries the caller handles.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "text/xml":
        raise SoapFault(
            "Client", f"SOAP 1.1 expects Content-Type text/xml, got '{media or 'none'}'", status=415
        )
    if len(body) > max_bytes:
        raise SoapFault("Client", f"request of {len(body)} bytes exceeds the {max_bytes} byte limit")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        refused = type(exc).__name__
        raise SoapFault("Client", f"DTDs and entities are not allowed in SOAP messages ({refused})") from None
    except ET.ParseError as exc:
        raise SoapFault("Client", f"request is not well-formed XML: {exc}") from None
    if root.tag == f"{{{SOAP12_NS}}}Envelope":
        raise SoapFault("VersionMismatch", "SOAP 1.2 envelope sent to a SOAP 1.1 endpoint")
    if root.tag != f"{{{SOAP11_NS}}}Envelope":
        raise SoapFault("Client", f"root element must be a SOAP 1.1 Envelope, got '{local_name(root.tag)}'")
    header, soap_body = _envelope_parts(root)
    if header is not None:
        _check_must_understand(header, understood_headers)
    calls = list(soap_body)
    if len(calls) != 1 or (soap_body.text or "").strip():
        raise SoapFault("Client", f"Body must hold exactly one operation element, found {len(calls)}")
    call = calls[0]
    operation = local_name(call.tag)
    action = (soap_action or "").strip().strip('"')
    if action and action.replace("#", "/").rsplit("/", 1)[-1] != operation:
        raise SoapFault("Client", f"SOAPAction '{action}' does not match the Body operation '{operation}'")
    return SoapRequest(operation, _namespace(call.tag), call, header, action)


def _envelope_parts(root: ET.Element) -> tuple[ET.Element | None, ET.Element]:
    parts = list(root)
    names = [p.tag for p in parts]
    header_tag, body_tag = f"{{{SOAP11_NS}}}Header", f"{{{SOAP11_NS}}}Body"
    if names == [body_tag]:
        return None, parts[0]
    if names == [header_tag, body_tag]:
        return parts[0], parts[1]
    shown = ", ".join(local_name(n) for n in names) or "nothing"
    raise SoapFault("Client", f"Envelope must hold an optional Header then one Body, found {shown}")


def _check_must_understand(header: ET.Element, understood: frozenset[str]) -> None:
    for entry in header:
        flag = entry.get(f"{{{SOAP11_NS}}}mustUnderstand", "0").strip()
        if flag in {"1", "true"} and entry.tag not in understood:
            raise SoapFault("MustUnderstand", f"header '{local_name(entry.tag)}' was not understood")


def find(parent: ET.Element | None, *path: str) -> ET.Element | None:
    """The first descendant along ``path`` of local names, or ``None``."""
    node = parent
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local_name(c.tag) == name), None)
    return node


def find_all(parent: ET.Element | None, name: str) -> list[ET.Element]:
    if parent is None:
        return []
    return [c for c in parent if local_name(c.tag) == name]


def is_nil(node: ET.Element | None) -> bool:
    return node is None or node.get(f"{{{XSI_NS}}}nil", "false").strip() in {"true", "1"}


def text(parent: ET.Element | None, *path: str) -> str | None:
    """Text at ``path``: ``None`` when absent or ``xsi:nil``, ``""`` when empty."""
    node = find(parent, *path) if path else parent
    if node is None or is_nil(node):
        return None
    return node.text or ""


def username_token(header: ET.Element | None) -> tuple[str, str] | None:
    """(username, password) from a WS-Security UsernameToken with a PasswordText password.

    A digest password (or any type but PasswordText) yields ``None``: the vendors document
    PasswordText only. An absent ``Type`` means PasswordText, as the token profile says.
    """
    token = find(header, "Security", "UsernameToken")
    if token is None or _namespace(token.tag) != WSSE_NS:
        return None
    username, password = find(token, "Username"), find(token, "Password")
    if username is None or password is None or password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        return None
    return (username.text or "").strip(), password.text or ""


def element(tag: str, value: object = None, *children: ET.Element, **attrib: str) -> ET.Element:
    """An element with optional text (``str()`` of ``value``; bools as ``true``/``false``)."""
    node = ET.Element(tag, attrib)
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)
    node.extend(children)
    return node


def _envelope(inner: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<soap:Envelope xmlns:soap="'
        + SOAP11_NS.encode()
        + b'"><soap:Body>'
        + inner
        + b"</soap:Body></soap:Envelope>"
    )


def soap_response(payload: ET.Element, *, status: int = 200) -> Response:
    return Response(
        _envelope(ET.tostring(payload, encoding="utf-8", xml_declaration=False)),
        status_code=status,
        media_type=CONTENT_TYPE,
    )


def fault_response(fault: SoapFault) -> Response:
    node = ET.Element(f"{{{SOAP11_NS}}}Fault")
    ET.SubElement(node, "faultcode").text = f"soap:{fault.code}"
    ET.SubElement(node, "faultstring").text = fault.message
    if fault.detail is not None:
        ET.SubElement(node, "detail").append(fault.detail)
    return soap_response(node, status=fault.status)
