"""Simulated ONC (Dynamic Notifications API), as onc-dynamic-notifications-api.txt says.

What the document says, and this simulator does: the thirteen methods and their signatures
(parameter names and order), the data types and their fields, "0 = Success" and "a number
different than zero" otherwise, Get* lists "null if there is an error", GetCampaign "null if the
specified campaign ID is not valid", a session that "will expire after 20 minutes of
inactivity", StatusCode "always ignored" on add and set to 0 for a blank Destination, else 1,
LastDeliveryError ignored on add and update, RetryCount "between 0...255".

What the document does not say is the sandbox's own choice, never the connector's (this module
imports nothing from ``connectors/``):

- Wire: SOAP 1.1 as a WCF basicHttpBinding service speaks it, service namespace, contract name,
  data-contract namespace and path in :class:`OncConfig` (WCF's defaults: ``http://tempuri.org/``,
  ``http://schemas.datacontract.org/2004/07/<CLR namespace>``).
- **Strict** (the default): requests are read as WCF reads them. The dispatcher picks the
  operation by the ``SOAPAction``, which must be exactly ``{namespace}{contract}/{operation}``
  (anything else: an ``a:ActionNotSupported`` fault); the Body must be that operation's wrapper
  in the service namespace (else ``a:DeserializationFailed``). Parameters (service namespace,
  signature order) and data members (data-contract namespace, ordinal alphabetical order, since
  no ``Order`` is documented) are read forward only, like DataContractSerializer: a member in
  another namespace, out of order or unknown is silently skipped (recorded in the dump's
  ``ignored_members``), a member absent takes its .NET default (no member is documented as
  required: Guid.Empty, 0, false, null). A value that is not of its type is
  ``a:DeserializationFailed``; a null ``contact``/``campaign`` argument ``a:InternalServiceFault``
  (the service would dereference it; not documented).
- **Lenient** (``strict=False``, or ``LEADFLOW_SANDBOX_LENIENT=onc`` / ``all`` in the
  environment): today's reading by local name in any order and namespace, either SOAPAction form
  or none, type errors as error code INVALID_ARGUMENT.
- Error code values (:class:`OncError`) are invented: only 0 is documented.
- A contact's ``Id`` is kept when supplied (the document lists the fields ignored on add,
  StatusCode and LastDeliveryError, and Id is not among them) and generated when absent or all
  zeros; a second contact with a known Id is refused (ALREADY_EXISTS). Inferred, not stated.
- "Active" campaigns are all campaigns not deleted (paused ones included); a non-blank
  Destination must be an E.164-like number (SMS, voice) or an email address; a campaign's
  ``*NotificationRequired`` flags are enforced on AddCampaignContact, as the document says for
  external applications.

Seed state: campaign ``6f1c1f1e-0000-4000-8000-000000000001`` ("Leadflow demo", SMS, voice and email
enabled, no channel required). Sessions slide: each call made with a session moves its 20-minute
expiry (measured on the sandbox Clock); the fault profile can expire one early.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.faults import Faults
from sandbox.soap import (
    SOAP11_NS,
    XSI_NS,
    SoapFault,
    SoapRequest,
    element,
    fault_response,
    find,
    is_nil,
    local_name,
    parse_request,
    soap_response,
    text,
)

__all__ = ["LENIENT_ENV", "LIMITS", "PARAMETERS", "OncConfig", "OncError", "OncLimits", "OncSimulator"]

ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
DISPATCHER_NS = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
"""Namespace of WCF's own fault codes (``ActionNotSupported``, ``DeserializationFailed``, ...)."""
LENIENT_ENV = "LEADFLOW_SANDBOX_LENIENT"
"""Comma-separated vendor kinds (or ``all``) whose simulator starts lenient: ``onc`` here."""
IGNORED_KEPT = 200
"""How many ignored members the state dump remembers (the most recent)."""


@dataclass(frozen=True)
class OncLimits:
    session_idle: timedelta = timedelta(minutes=20)
    max_retry_count: int = 255


LIMITS = OncLimits()


@dataclass(frozen=True)
class OncConfig:
    namespace: str = "http://tempuri.org/"
    contract: str = "IDynamicNotificationsService"
    data_namespace: str = "http://schemas.datacontract.org/2004/07/DynamicNotifications"
    service_path: str = "/DynamicNotificationsService.svc"


class _WcfFault(Exception):
    """A fault as WCF writes it for SOAP 1.1: HTTP 500, ``faultcode`` a QName in WCF's
    dispatcher namespace (``a:ActionNotSupported``), ``faultstring`` with ``xml:lang``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def response(self) -> Response:
        fault = ET.Element(f"{{{SOAP11_NS}}}Fault")
        faultcode = ET.SubElement(fault, "faultcode", {"xmlns:a": DISPATCHER_NS})
        faultcode.text = f"a:{self.code}"
        faultstring = ET.SubElement(fault, "faultstring", {"xml:lang": "en-US"})
        faultstring.text = self.message
        return soap_response(fault, status=500)


class OncError(IntEnum):
    """Error codes this simulator answers. NOT DOCUMENTED: the document says only "0 = Success"
    (OpenAPISession's ErrorCode) and, for the int-returning methods, "successfully (zero) or
    unsuccessfully (a number different than zero)". The non-zero values are the sandbox's own
    invention; the connector declares which ones it guesses (connectors/onc.py ASSUMPTIONS)."""

    SUCCESS = 0
    INVALID_CREDENTIALS = 1
    INVALID_SESSION = 2
    """Unknown, closed or expired session."""
    INVALID_ARGUMENT = 3
    CAMPAIGN_NOT_FOUND = 4
    CONTACT_NOT_FOUND = 5
    ALREADY_EXISTS = 6
    INVALID_DESTINATION = 7
    REQUIRED_CHANNEL_MISSING = 8


Spec = dict[str, Any]
"""Field name -> ``"string" | "bool" | "int" | "guid" | "raw"`` or a nested Spec."""
SMS_INFO: Spec = {"Enabled": "bool", "FromNumber": "string", "TextToSend": "string"}
VOICE_INFO: Spec = {
    "Enabled": "bool",
    "DialMsTimeout": "int",
    "CallingName": "string",
    "CallingNumber": "string",
    "TextToSpeak": "string",
    "TTSVoiceName": "string",
    "MaxTextPlays": "int",
    "MaxDeliveryRetries": "int",
    "RetryMinutesInterval": "int",
}
EMAIL_INFO: Spec = {"Enabled": "bool", "FromEmail": "string", "Subject": "string", "HtmlContent": "string"}
CAMPAIGN: Spec = {
    "ID": "guid",
    "CreationDateUtc": "raw",
    "ShortName": "string",
    "Description": "string",
    "IsPaused": "bool",
    "ActiveFromDate": "raw",
    "ActiveFromTime": "raw",
    "ActiveToDate": "raw",
    "ActiveToTime": "raw",
    "OutboundSMSNotificationInfo": SMS_INFO,
    "OutboundVoiceNotificationInfo": VOICE_INFO,
    "OutboundEmailNotificationInfo": EMAIL_INFO,
    "AllowAddingContactsFromExternalApps": "bool",
    "SmsNotificationRequired": "bool",
    "VoiceNotificationRequired": "bool",
    "EmailNotificationRequired": "bool",
    "ProgressWSEndpoint": "string",
}
COMM_INFO: Spec = {
    "Destination": "string",
    "TextToSendOverwrite": "string",
    "StatusCode": "int",
    "LastDeliveryErrorCode": "int",
    "RetryCount": "int",
}
CONTACT: Spec = {
    "Id": "guid",
    "CampaignId": "guid",
    "SMSCommInfo": COMM_INFO,
    "VoiceCommInfo": COMM_INFO,
    "EmailCommInfo": COMM_INFO,
}
CHANNELS = {
    "SMSCommInfo": "SmsNotificationRequired",
    "VoiceCommInfo": "VoiceNotificationRequired",
    "EmailCommInfo": "EmailNotificationRequired",
}
PARAMETERS: dict[str, Spec] = {
    "OpenAPISession": {"accountId": "string", "username": "string", "password": "string"},
    "CloseAPISession": {"sessionId": "string"},
    "GetCampaignListing": {"sessionId": "string"},
    "GetCampaigns": {"sessionId": "string"},
    "AddCampaign": {"sessionId": "string", "campaign": CAMPAIGN},
    "GetCampaign": {"sessionId": "string", "campaignId": "guid"},
    "UpdateCampaign": {"sessionId": "string", "campaign": CAMPAIGN},
    "DeleteCampaign": {"sessionId": "string", "campaignId": "guid"},
    "GetCampaignContactsListing": {"sessionId": "string", "campaignId": "guid"},
    "GetCampaignContacts": {"sessionId": "string", "campaignId": "guid"},
    "AddCampaignContact": {"sessionId": "string", "contact": CONTACT},
    "UpdateCampaignContact": {"sessionId": "string", "contact": CONTACT},
    "DeleteCampaignContact": {"sessionId": "string", "campaignId": "guid", "contactId": "guid"},
}
"""Each operation's parameters, in the order of its documented "Method Signature" (the order a
WCF operation formatter reads them in), with their types."""


def in_order(spec: Spec) -> Spec:
    """A data contract's members in DataContractSerializer's order: no ``Order`` is documented,
    so ordinal (case-sensitive, ``ID`` before ``IsPaused``) alphabetical order."""
    return {name: spec[name] for name in sorted(spec)}


PHONE = re.compile(r"\+?[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SEED_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"
EMPTY_GUID = str(uuid.UUID(int=0))


class Refused(Exception):
    def __init__(self, code: OncError) -> None:
        super().__init__(code.name)
        self.code = code


class Malformed(Refused):
    """A value DataContractSerializer cannot read (``abc`` as a Guid, ``x`` as an int). Strict:
    WCF's ``DeserializationFailed`` fault; lenient: error code INVALID_ARGUMENT."""

    def __init__(self, what: str) -> None:
        super().__init__(OncError.INVALID_ARGUMENT)
        self.what = what


class NullArgument(Refused):
    """A data-contract parameter (``contact``, ``campaign``) that arrived null or was dropped.
    Strict: the service dereferences it, WCF answers ``InternalServiceFault``; lenient: code 3."""

    def __init__(self, name: str) -> None:
        super().__init__(OncError.INVALID_ARGUMENT)
        self.name = name


def _decode(node: ET.Element | None, spec: Spec) -> dict[str, Any] | None:
    """A DataContract object as a dict; absent members take .NET defaults."""
    if node is None or node.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    values: dict[str, Any] = {}
    for name, kind in spec.items():
        raw = text(node, name)
        if isinstance(kind, dict):
            values[name] = _decode(find(node, name), kind)
        elif kind == "bool":
            if (raw or "false").strip() not in {"true", "false", "1", "0"}:
                raise Malformed(f"{name}: '{raw}' is not a Boolean")
            values[name] = (raw or "false").strip() in {"true", "1"}
        elif kind == "int":
            try:
                values[name] = int((raw or "0").strip())
            except ValueError:
                raise Malformed(f"{name}: '{raw}' is not an Int32") from None
        elif kind == "guid":
            values[name] = _guid(raw)
        else:
            values[name] = raw
    return values


def _guid(raw: str | None) -> str:
    try:
        return str(uuid.UUID((raw or EMPTY_GUID).strip()))
    except ValueError:
        raise Malformed(f"'{raw}' is not a valid Guid") from None


class OncSimulator:
    """ONC's Dynamic Notifications service: sessions, campaigns and one-contact-per-call adds."""

    kind = "onc"
    prefix = "/onc"

    def __init__(
        self,
        clock: Clock,
        faults: Faults,
        *,
        config: OncConfig | None = None,
        limits: OncLimits = LIMITS,
        strict: bool | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.config = config or OncConfig()
        self.limits = limits
        if strict is None:
            lenient = {k.strip() for k in os.environ.get(LENIENT_ENV, "").split(",")}
            strict = not ({"all", self.kind} & lenient)
        self.strict = strict
        """True: read requests as WCF does (see the module docstring); False: by local name."""
        self.ignored: list[str] = []
        """Members and parameters the strict reader skipped, ``Op/param/Member {namespace}``."""
        self.credentials = {"accountId": "demo-account", "username": "demo", "password": "demo-secret"}
        self._sessions: dict[str, float] = {}
        self.logins = 0
        """Sessions opened since the last reset (what a vendor's account activity report counts)."""
        self.logouts = 0
        """Sessions closed by ``CloseAPISession`` since the last reset."""
        self._campaigns: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, dict[str, dict[str, Any]]] = {}
        self.reset()

    def reset(self) -> None:
        self._sessions.clear()
        self.logins = self.logouts = 0
        self.ignored.clear()
        seed = _decode(ET.Element("seed"), CAMPAIGN)
        assert seed is not None
        seed.update(
            ID=SEED_CAMPAIGN,
            ShortName="Leadflow demo",
            Description="Seeded for the demo",
            CreationDateUtc=self.clock.utcnow().isoformat(),
            AllowAddingContactsFromExternalApps=True,
            OutboundSMSNotificationInfo={"Enabled": True, "FromNumber": "+15550100", "TextToSend": "Hi"},
            OutboundVoiceNotificationInfo={
                "Enabled": True,
                "DialMsTimeout": 30000,
                "CallingName": "Leadflow",
                "CallingNumber": "+15550100",
                "TextToSpeak": "Hello",
                "TTSVoiceName": "en-US",
                "MaxTextPlays": 2,
                "MaxDeliveryRetries": 3,
                "RetryMinutesInterval": 10,
            },
            OutboundEmailNotificationInfo={
                "Enabled": True,
                "FromEmail": "demo@example.com",
                "Subject": "Hello",
                "HtmlContent": "<p>Hi</p>",
            },
        )
        self._campaigns = {SEED_CAMPAIGN: seed}
        self._contacts = {SEED_CAMPAIGN: {}}

    @property
    def lenient(self) -> bool:
        """The switch every simulator with a lenient profile has (``build_app(lenient=...)``,
        ``leadflow sandbox --lenient onc``): the reverse of :attr:`strict`."""
        return not self.strict

    @lenient.setter
    def lenient(self, value: bool) -> None:
        self.strict = not value

    def app(self) -> ASGIApp:
        return Starlette(routes=[Route(self.config.service_path, self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        try:
            call = parse_request(body, request.headers.get("content-type"), request.headers.get("soapaction"))
            op, ns = call.operation, self.config.namespace
            operation = self._operations().get(op)
            if self.strict:
                self._dispatch_as_wcf(call)
            elif (
                call.namespace != ns
                or operation is None
                or call.action not in {"", ns + op, f"{ns}{self.config.contract}/{op}"}
            ):
                raise SoapFault(
                    "Client",
                    f"The message with Action '{call.action}' and operation '{op}' "
                    "cannot be processed at the receiver (ContractFilter mismatch)",
                )
        except SoapFault as fault:
            return fault_response(fault)
        except _WcfFault as fault:
            return fault.response()
        assert operation is not None
        arguments = self._admit(call.call, PARAMETERS[op], ns, op) if self.strict else call.call
        result = element(f"{{{ns}}}{op}Result")
        try:
            value = operation(arguments)
        except Refused as refused:
            if self.strict and isinstance(refused, Malformed):
                return _WcfFault(
                    "DeserializationFailed",
                    "The formatter threw an exception while trying to deserialize the message: "
                    f"There was an error while trying to deserialize parameter {ns}:{op}. {refused.what}",
                ).response()
            if self.strict and isinstance(refused, NullArgument):
                return _WcfFault(
                    "InternalServiceFault",
                    "The server was unable to process the request due to an internal error.",
                ).response()
            value = None if op.startswith("Get") else int(refused.code)
        self._fill(result, value)
        return soap_response(element(f"{{{ns}}}{op}Response", None, result))

    def _dispatch_as_wcf(self, call: SoapRequest) -> None:
        """WCF's dispatcher: the operation is the one whose Action is the SOAPAction, exactly
        ``{namespace}{contract}/{operation}``; the Body must then be that operation's wrapper in
        the service namespace."""
        ns, contract = self.config.namespace, self.config.contract
        wanted = next((op for op in PARAMETERS if call.action == f"{ns}{contract}/{op}"), None)
        if wanted is None:
            raise _WcfFault(
                "ActionNotSupported",
                f"The message with Action '{call.action}' cannot be processed at the receiver, due to "
                "a ContractFilter mismatch at the EndpointDispatcher. This may be because of either a "
                "contract mismatch (mismatched Actions between sender and receiver) or a "
                "binding/security mismatch between the sender and the receiver.",
            )
        if (call.namespace, call.operation) != (ns, wanted):
            raise _WcfFault(
                "DeserializationFailed",
                "The formatter threw an exception while trying to deserialize the message: Error in "
                f"deserializing body of request message for operation '{wanted}'. OperationFormatter "
                f"encountered an invalid Message body. Expected to find node type 'Element' with name "
                f"'{wanted}' and namespace '{ns}'. Found node type 'Element' with name "
                f"'{call.operation}' and namespace '{call.namespace}'",
            )

    def _admit(self, node: ET.Element, members: Spec, ns: str, path: str) -> ET.Element:
        """What DataContractSerializer reads of ``node``: a copy holding only the children it
        would bind, each recursively cleaned.

        Its reader only moves forward through the expected members (``members``, in their wire
        order: a signature's parameters, or data members in data-contract order): a child whose
        name and namespace match a member at or after the current position is read and the
        position moves past it; any other child (unknown, in another namespace, or out of order:
        a member already passed) is skipped as extension data. Skipped children are recorded in
        ``ignored`` (the state dump's ``ignored_members``), so tests can see it.
        """
        kept = ET.Element(node.tag, node.attrib)
        kept.text = node.text
        names = list(members)
        position = 0
        for child in node:
            child_ns = child.tag[1:].partition("}")[0] if child.tag.startswith("{") else ""
            name = local_name(child.tag)
            match = None
            if child_ns == ns:
                match = next((i for i in range(position, len(names)) if names[i] == name), None)
            if match is None:
                self.ignored.append(f"{path}/{name} {{{child_ns}}}")
                del self.ignored[:-IGNORED_KEPT]
                continue
            position = match + 1
            spec = members[name]
            if isinstance(spec, dict) and not is_nil(child):
                kept.append(self._admit(child, in_order(spec), self.config.data_namespace, f"{path}/{name}"))
            else:
                kept.append(child)
        return kept

    # auth

    def _operations(self) -> dict[str, Callable[[ET.Element], Any]]:
        return {
            "OpenAPISession": self.open_api_session,
            "CloseAPISession": self.close_api_session,
            "GetCampaignListing": self.get_campaign_listing,
            "GetCampaigns": self.get_campaigns,
            "AddCampaign": self.add_campaign,
            "GetCampaign": self.get_campaign,
            "UpdateCampaign": self.update_campaign,
            "DeleteCampaign": self.delete_campaign,
            "GetCampaignContactsListing": self.get_campaign_contacts_listing,
            "GetCampaignContacts": self.get_campaign_contacts,
            "AddCampaignContact": self.add_campaign_contact,
            "UpdateCampaignContact": self.update_campaign_contact,
            "DeleteCampaignContact": self.delete_campaign_contact,
        }

    def open_api_session(self, call: ET.Element) -> dict[str, Any]:
        given = {name: text(call, name) or "" for name in ("accountId", "username", "password")}
        if not all(secrets.compare_digest(given[k].encode(), self.credentials[k].encode()) for k in given):
            return {
                "ErrorCode": int(OncError.INVALID_CREDENTIALS),
                "Description": "Invalid credentials",
                "SessionId": "",
            }
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = self.clock.now()
        self.logins += 1
        return {"ErrorCode": 0, "Description": "", "SessionId": session_id}

    def close_api_session(self, call: ET.Element) -> dict[str, Any]:
        try:
            self._session(call)
        except Refused as refused:
            return {"ErrorCode": int(refused.code), "Description": "Invalid or expired session"}
        self._sessions.pop(text(call, "sessionId") or "", None)
        self.logouts += 1
        return {"ErrorCode": 0, "Description": ""}

    def _session(self, call: ET.Element) -> None:
        """Check the call's session and slide its expiry; expired sessions are forgotten."""
        session_id = text(call, "sessionId") or ""
        last = self._sessions.get(session_id)
        now = self.clock.now()
        if last is None:
            raise Refused(OncError.INVALID_SESSION)
        idle = now - last > self.limits.session_idle.total_seconds()
        if idle or self.faults.expire_session(self.kind, self.config.service_path):
            del self._sessions[session_id]
            raise Refused(OncError.INVALID_SESSION)
        self._sessions[session_id] = now

    def open_sessions(self) -> int:
        cutoff = self.clock.now() - self.limits.session_idle.total_seconds()
        return sum(1 for last in self._sessions.values() if last >= cutoff)

    # operations

    def get_campaign_listing(self, call: ET.Element) -> list[str]:
        self._session(call)
        return list(self._campaigns)

    def get_campaigns(self, call: ET.Element) -> list[tuple[str, dict[str, Any], Spec]]:
        self._session(call)
        return [("OutboundNotificationCampaignInfo", c, CAMPAIGN) for c in self._campaigns.values()]

    def get_campaign(self, call: ET.Element) -> tuple[dict[str, Any], Spec] | None:
        self._session(call)
        found = self._campaigns.get(_guid(text(call, "campaignId")))
        return None if found is None else (found, CAMPAIGN)

    def add_campaign(self, call: ET.Element) -> int:
        self._session(call)
        campaign = self._campaign_arg(call)
        if campaign["ID"] == EMPTY_GUID:
            campaign["ID"] = str(uuid.uuid4())
        if campaign["ID"] in self._campaigns:
            raise Refused(OncError.ALREADY_EXISTS)
        campaign["CreationDateUtc"] = self.clock.utcnow().isoformat()
        self._campaigns[campaign["ID"]] = campaign
        self._contacts[campaign["ID"]] = {}
        return 0

    def update_campaign(self, call: ET.Element) -> int:
        self._session(call)
        campaign = self._campaign_arg(call)
        current = self._campaigns.get(campaign["ID"])
        if current is None:
            raise Refused(OncError.CAMPAIGN_NOT_FOUND)
        campaign["CreationDateUtc"] = current["CreationDateUtc"]
        self._campaigns[campaign["ID"]] = campaign
        return 0

    def _campaign_arg(self, call: ET.Element) -> dict[str, Any]:
        campaign = _decode(find(call, "campaign"), CAMPAIGN)
        if campaign is None:
            raise NullArgument("campaign")
        if not (campaign["ShortName"] or "").strip():
            raise Refused(OncError.INVALID_ARGUMENT)
        return campaign

    def delete_campaign(self, call: ET.Element) -> int:
        self._session(call)
        campaign_id = self._known_campaign(text(call, "campaignId"))
        del self._campaigns[campaign_id], self._contacts[campaign_id]
        return 0

    def get_campaign_contacts_listing(self, call: ET.Element) -> list[str]:
        self._session(call)
        return list(self._contacts[self._known_campaign(text(call, "campaignId"))])

    def get_campaign_contacts(self, call: ET.Element) -> list[tuple[str, dict[str, Any], Spec]]:
        self._session(call)
        contacts = self._contacts[self._known_campaign(text(call, "campaignId"))].values()
        return [("OutboundNotificationContactInfo", c, CONTACT) for c in contacts]

    def add_campaign_contact(self, call: ET.Element) -> int:
        """One contact: StatusCode 0 when Destination is blank else 1; LastDeliveryError ignored."""
        self._session(call)
        contact = self._contact_arg(call)
        campaign = self._campaigns[contact["CampaignId"]]
        contacts = self._contacts[contact["CampaignId"]]
        for channel, required in CHANNELS.items():
            info = contact[channel]
            if campaign[required] and not (info and info["Destination"]):
                raise Refused(OncError.REQUIRED_CHANNEL_MISSING)
            if info is not None:
                info["StatusCode"] = 1 if info["Destination"] else 0
                info["LastDeliveryErrorCode"] = 0
        if contact["Id"] == EMPTY_GUID:
            contact["Id"] = str(uuid.uuid4())
        if contact["Id"] in contacts:
            raise Refused(OncError.ALREADY_EXISTS)
        contacts[contact["Id"]] = contact
        return 0

    def update_campaign_contact(self, call: ET.Element) -> int:
        """StatusCode and LastDeliveryErrorCode keep their values, as the document's restriction."""
        self._session(call)
        contact = self._contact_arg(call)
        current = self._contacts[contact["CampaignId"]].get(contact["Id"])
        if current is None:
            raise Refused(OncError.CONTACT_NOT_FOUND)
        for channel in CHANNELS:
            info, old = contact[channel], current[channel]
            if info is not None:
                info["StatusCode"] = old["StatusCode"] if old else (1 if info["Destination"] else 0)
                info["LastDeliveryErrorCode"] = old["LastDeliveryErrorCode"] if old else 0
        self._contacts[contact["CampaignId"]][contact["Id"]] = contact
        return 0

    def delete_campaign_contact(self, call: ET.Element) -> int:
        self._session(call)
        contacts = self._contacts[self._known_campaign(text(call, "campaignId"))]
        if contacts.pop(_guid(text(call, "contactId")), None) is None:
            raise Refused(OncError.CONTACT_NOT_FOUND)
        return 0

    def _contact_arg(self, call: ET.Element) -> dict[str, Any]:
        contact = _decode(find(call, "contact"), CONTACT)
        if contact is None:
            raise NullArgument("contact")
        self._known_campaign(contact["CampaignId"])
        for channel in CHANNELS:
            info = contact[channel]
            if info is None:
                continue
            info["Destination"] = (info["Destination"] or "").strip()
            pattern = EMAIL if channel == "EmailCommInfo" else PHONE
            if info["Destination"] and not pattern.fullmatch(info["Destination"]):
                raise Refused(OncError.INVALID_DESTINATION)
            if not 0 <= info["RetryCount"] <= self.limits.max_retry_count:
                raise Refused(OncError.INVALID_ARGUMENT)
        return contact

    def _known_campaign(self, raw: str | None) -> str:
        campaign_id = _guid(raw)
        if campaign_id not in self._campaigns:
            raise Refused(OncError.CAMPAIGN_NOT_FOUND)
        return campaign_id

    # XML answers and state dump

    def _fill(self, node: ET.Element, value: Any) -> None:
        """Write an operation's result the way a DataContractSerializer would."""
        data_ns = self.config.data_namespace
        if value is None:
            node.set(f"{{{XSI_NS}}}nil", "true")
        elif isinstance(value, int):
            node.text = str(value)
        elif isinstance(value, tuple):
            self._members(node, *value)
        elif isinstance(value, dict):
            self._members(node, value, dict.fromkeys(value, "string"))
        elif value and isinstance(value[0], tuple):
            for tag, item, spec in value:
                self._members(ET.SubElement(node, f"{{{data_ns}}}{tag}"), item, spec)
        else:
            node.extend(element(f"{{{ARRAYS_NS}}}guid", guid) for guid in value)

    def _members(self, node: ET.Element, values: dict[str, Any], spec: Spec) -> None:
        for name in sorted(spec):
            child = ET.SubElement(node, f"{{{self.config.data_namespace}}}{name}")
            value = values.get(name)
            if value is None:
                child.set(f"{{{XSI_NS}}}nil", "true")
            elif isinstance(spec[name], dict):
                self._members(child, value, spec[name])
            else:
                child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)

    def dump(self) -> dict[str, Any]:
        """Campaigns -> contacts (with their CommInfo as stored), plus the open session count."""
        return {
            "kind": self.kind,
            "open_sessions": self.open_sessions(),
            "logins": self.logins,
            "logouts": self.logouts,
            "strict": self.strict,
            "ignored_members": self.ignored[-IGNORED_KEPT:],
            "campaigns": [
                {**campaign, "contacts": list(self._contacts[campaign_id].values())}
                for campaign_id, campaign in self._campaigns.items()
            ],
        }
