"""Simulated ONC (Dynamic Notifications API), as onc-dynamic-notifications-api.txt says.

Wire (DESIGN.md): SOAP 1.1 the way a WCF basicHttpBinding service speaks it. Operations and their
parameters are in the service namespace (default ``http://tempuri.org/``), answers are
``<OpResponse><OpResult>`` with data members in a DataContract namespace, in alphabetical order,
``i:nil="true"`` for null, and ``List<Guid>`` as ``<guid>`` items in the serialization Arrays
namespace. A ``SOAPAction`` header, when sent, must be ``{namespace}{op}`` or
``{namespace}{contract}/{op}``. All of it is configurable in :class:`OncConfig`.

Seed state: campaign ``6f1c1f1e-0000-4000-8000-000000000001`` ("Leadflow demo", SMS, voice and email
enabled, no channel required). Sessions slide: each call made with a session moves its 20-minute
expiry (measured on the sandbox Clock); the fault profile can expire one early.

The document gives no error code values, only "0 = success, non-zero otherwise"; the values are
:class:`OncError`. Where it says a list "will be null if there is an error", the answer is a nil
Result. Assumptions: "active" campaigns are all campaigns not deleted (paused ones included);
a contact's ``Id`` may be supplied (a client can then find it again in GetCampaignContacts) and is
generated when absent or all zeros; a non-blank Destination must be an E.164-like number (SMS,
voice) or an email address; a campaign's ``*NotificationRequired`` flags are enforced on
AddCampaignContact, as the document says for external applications.
"""

from __future__ import annotations

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
from sandbox.soap import XSI_NS, SoapFault, element, fault_response, find, parse_request, soap_response, text

__all__ = ["LIMITS", "OncConfig", "OncError", "OncLimits", "OncSimulator"]

ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"


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


class OncError(IntEnum):
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
PHONE = re.compile(r"\+?[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SEED_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"
EMPTY_GUID = str(uuid.UUID(int=0))


class Refused(Exception):
    def __init__(self, code: OncError) -> None:
        super().__init__(code.name)
        self.code = code


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
                raise Refused(OncError.INVALID_ARGUMENT)
            values[name] = (raw or "false").strip() in {"true", "1"}
        elif kind == "int":
            try:
                values[name] = int((raw or "0").strip())
            except ValueError:
                raise Refused(OncError.INVALID_ARGUMENT) from None
        elif kind == "guid":
            values[name] = _guid(raw)
        else:
            values[name] = raw
    return values


def _guid(raw: str | None) -> str:
    try:
        return str(uuid.UUID((raw or EMPTY_GUID).strip()))
    except ValueError:
        raise Refused(OncError.INVALID_ARGUMENT) from None


class OncSimulator:
    """ONC's Dynamic Notifications service: sessions, campaigns and one-contact-per-call adds."""

    kind = "onc"
    prefix = "/onc"

    def __init__(
        self, clock: Clock, faults: Faults, *, config: OncConfig | None = None, limits: OncLimits = LIMITS
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.config = config or OncConfig()
        self.limits = limits
        self.credentials = {"accountId": "demo-account", "username": "demo", "password": "demo-secret"}
        self._sessions: dict[str, float] = {}
        self._campaigns: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, dict[str, dict[str, Any]]] = {}
        self.reset()

    def reset(self) -> None:
        self._sessions.clear()
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

    def app(self) -> ASGIApp:
        return Starlette(routes=[Route(self.config.service_path, self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        try:
            call = parse_request(body, request.headers.get("content-type"), request.headers.get("soapaction"))
            operation = self._operations().get(call.operation)
            ns, op = self.config.namespace, call.operation
            if (
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
        result = element(f"{{{ns}}}{op}Result")
        try:
            value = operation(call.call)
        except Refused as refused:
            value = None if op.startswith("Get") else int(refused.code)
        self._fill(result, value)
        return soap_response(element(f"{{{ns}}}{op}Response", None, result))

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
        return {"ErrorCode": 0, "Description": "", "SessionId": session_id}

    def close_api_session(self, call: ET.Element) -> dict[str, Any]:
        try:
            self._session(call)
        except Refused as refused:
            return {"ErrorCode": int(refused.code), "Description": "Invalid or expired session"}
        self._sessions.pop(text(call, "sessionId") or "", None)
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
        if campaign is None or not (campaign["ShortName"] or "").strip():
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
            raise Refused(OncError.INVALID_ARGUMENT)
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
            "campaigns": [
                {**campaign, "contacts": list(self._contacts[campaign_id].values())}
                for campaign_id, campaign in self._campaigns.items()
            ],
        }
