"""How the simulated Engage reads and writes the wire where engage-campaign-methods.txt is silent.

The document gives operations, argument types, limits and error templates (``CODE – message``
with ``'%s'``), nothing of the wire. The real service is a Java (JAX-WS) SOAP 1.1 service, so
the simulator answers as one where the document says nothing, in one of two profiles:

``STRICT`` (the default): what the stricter plausible real service does.
  - members are read as a schema-validating JAXB unmarshaller reads them: ``argN`` and every
    bean member unqualified, named as the service names them; anything else (a qualified
    member, an unknown name, ``arg0``) is refused with JAXB's ``Unmarshalling Error:
    unexpected element (uri:"...", local:"..."). Expected elements are <{}...>`` as a
    ``S:Client`` fault;
  - ``SOAPAction`` must be present and empty (``""``), as the WSDL a Java-first service
    publishes says (``soapAction=""``);
  - a refused request answers one error, the first found (a Java service throws once), as a
    Metro fault: ``S:`` prefixes, ``faultstring`` = ``CODE – message`` from the document's
    template, ``detail`` = the ``ApiException`` fault bean (``errors`` of ``code``/``message``)
    then Metro's captured stack trace (``{http://jax-ws.dev.java.net/}exception``);
  - a missing or wrong UsernameToken is refused by the WS-Security layer before the service
    runs, with the standard ``wsse:FailedAuthentication`` fault (WSS 1.0 SOAP Message
    Security, section 12);
  - device types are Java enum values: exact case (``Phone``, ``Sms``, ``Email``).

``LENIENT``: the simulator as it was before (members found by local name in any namespace,
unknown members stored, any SOAPAction naming the operation, every error of a request listed,
``AUTHENTICATION_FAILURE`` in an ``ApiException``, device types in any case), for the cases
where a real installation is known to be lenient. ``LEADFLOW_SANDBOX_LENIENT`` (a comma list of
vendor kinds, or ``all``) or ``leadflow sandbox --lenient engage`` selects it when the sandbox
starts (``EngageSimulator.lenient``, the switch every simulator with a lenient profile has);
tests set ``EngageSimulator.profile``.

Messages are the document's templates with ``%s`` filled: with the contact's or batch's
externalId for an error about one contact or batch (``OBJECT_EXISTS – Object 'C1' already
exists``), else with the argument or attribute name.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from starlette.responses import Response

__all__ = [
    "DASH",
    "JAXWS_NS",
    "LENIENT",
    "STRICT",
    "WSSE_FAULT",
    "EngageProfile",
    "check_members",
    "jaxws_fault",
    "profile_from_env",
]

DASH = "\u2013"
"""The document writes ``CODE – message`` with an en dash."""
JAXWS_NS = "http://jax-ws.dev.java.net/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_FAULT = ("FailedAuthentication", "The security token could not be authenticated or authorized")
"""WSS 1.0 SOAP Message Security, section 12, table of fault codes."""


@dataclass(frozen=True)
class EngageProfile:
    """Where the document is silent: strict (True) or as the simulator was before (False)."""

    schema_validation: bool = True
    empty_soap_action: bool = True
    one_error_per_fault: bool = True
    wss_auth_fault: bool = True
    exact_enums: bool = True
    unique_contacts_sync: bool = False
    """Refuse a known contact externalId on createContactBatch too (the document says it of the
    asynchronous call only): a variant of the real service for tests, in neither profile."""


STRICT = EngageProfile()
LENIENT = EngageProfile(False, False, False, False, False)


def profile_from_env(kind: str) -> EngageProfile:
    """``LENIENT`` when ``LEADFLOW_SANDBOX_LENIENT`` names ``kind`` (or ``all``), else ``STRICT``."""
    named = {k.strip() for k in os.environ.get("LEADFLOW_SANDBOX_LENIENT", "").split(",")}
    return LENIENT if named & {kind, "all", "*"} else STRICT


class UnmarshalError(Exception):
    """A member JAXB would not bind: answered as a ``Client`` fault with JAXB's wording."""


def check_members(node: ET.Element | None, expected: tuple[str, ...]) -> None:
    """Refuse a child of ``node`` that is qualified or not one of ``expected`` (JAXB's message)."""
    if node is None:
        return
    for child in node:
        qualified = child.tag.startswith("{")
        namespace, _, local = child.tag[1:].partition("}") if qualified else ("", "", child.tag)
        if namespace or local not in expected:
            wanted = ",".join(f"<{{}}{name}>" for name in expected)
            raise UnmarshalError(
                f'Unmarshalling Error: unexpected element (uri:"{namespace}", local:"{local}"). '
                f"Expected elements are {wanted}"
            )


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def jaxws_fault(
    code: str, faultstring: str, detail: ET.Element | None = None, *, prefix: str = "S", status: int = 500
) -> Response:
    """A SOAP 1.1 Fault written as Metro writes it: ``S:`` envelope, unqualified fault members,
    the fault bean then the captured stack trace in ``detail``. ``code`` is a QName whose prefix
    is ``S`` (the envelope) or ``wsse`` (declared on the Fault)."""
    parts = [
        f'<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body>',
        f'<S:Fault xmlns:ns4="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="{WSSE_NS}">',
        f"<faultcode>{prefix}:{code}</faultcode><faultstring>{_escape(faultstring)}</faultstring>",
    ]
    if detail is not None:
        trace = (
            f'<ns3:exception xmlns:ns3="{JAXWS_NS}" class="com.soundbite.api.ApiException" '
            'note="To disable this feature, set com.sun.xml.ws.fault.SOAPFaultBuilder.'
            'disableCaptureStackTrace system property to false">'
            f"<message>{_escape(faultstring)}</message><ns3:stackTrace>"
            '<ns3:frame class="com.soundbite.api.CampaignManagementService110" '
            'file="CampaignManagementService110.java"'
            ' line="412" method="createContactBatch"/></ns3:stackTrace></ns3:exception>'
        )
        parts.append(f"<detail>{ET.tostring(detail, encoding='unicode')}{trace}</detail>")
    parts.append("</S:Fault></S:Body></S:Envelope>")
    body = '<?xml version="1.0" encoding="UTF-8"?>' + "".join(parts)
    return Response(body.encode(), status_code=status, media_type="text/xml; charset=utf-8")
