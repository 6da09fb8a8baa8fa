"""What the simulated Engage stores and says: limits, error vocabulary, campaigns and batches.

The data side of sandbox.engage (which holds the operations): the document's limits and error
messages, the records a call creates, and how a campaign or batch is written in an answer.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from sandbox.engage_wire import DASH, EngageProfile, check_members, jaxws_fault
from sandbox.soap import SoapFault, element, fault_response, find_all, local_name, text

__all__ = [
    "CONTACT_MEMBERS",
    "CONTROL_CHARS",
    "DEVICE_TYPES",
    "E164",
    "EMAIL",
    "LIMITS",
    "MESSAGES",
    "NAMESPACE",
    "SERVICE_PATHS",
    "ApiError",
    "Batch",
    "Campaign",
    "EngageErrors",
    "EngageLimits",
    "State",
    "batch_xml",
    "campaign_xml",
    "read_contact",
]

NAMESPACE = "http://www.soundbite.com/SOAPAPI2/110"
SERVICE_PATHS = ("/SOAPAPI2/CampaignManagementService110", "/CampaignManagementService110")


@dataclass(frozen=True)
class EngageLimits:
    max_contacts: int = 100
    max_start_ahead: timedelta = timedelta(days=10)
    max_duration: timedelta = timedelta(hours=12)
    duration_unit: timedelta = timedelta(minutes=1)
    """Assumption: ``maxDuration`` counts minutes."""
    max_custom_payload_bytes: int = 96 * 1024
    """'api.contact.payload.block.size', 96 kB by default."""
    max_campaigns: int = 100
    max_listed: int = 1000
    max_attempts_listed: int = 500
    """listContactAttempts: 'The maximum number of items returned using this method is 500.'"""
    max_description: int = 255
    """Assumption: ATTRIBUTE_TRUNCATED above this many characters."""
    default_window: timedelta = timedelta(hours=24)


LIMITS = EngageLimits()

MESSAGES = {
    "ARG_INVALID_DATA": "Invalid Data '%s",
    "ARG_INVALID_TYPE": "Argument is of invalid type '%s'",
    "ARG_NULL": "Invalid Data, argument '%s' must be non-null",
    "ARG_TOO_LARGE": "Invalid Data, argument '%s' exceeds allowed size",
    "ATTRIBUTE_INVALID_CHAR": "Contact list name contains invalid characters",
    "ATTRIBUTE_INVALID_DATA": "Attribute contains invalid data: '%s'.",
    "ATTRIBUTE_INVALID_FORMAT": "Attribute '%s' has an invalid format.",
    "ATTRIBUTE_NULL": "Attribute '%s' must be non-null.",
    "ATTRIBUTE_TRUNCATED": "Description for campaign is too long",
    "AUTHENTICATION_FAILURE": "Authentication failed",
    "INTERNAL_ERROR": "Internal error while processing the request",
    "INVALID_STATE": "Invalid state change '%s'",
    "OBJECT_EXISTS": "Object '%s' already exists",
    "OBJECT_NOT_EXISTS": "Referenced object '%s' does not exist",
    "RESULT_TOO_LARGE": "Result returned would be too large",
    "SYSTEM_LIMIT_EXCEEDED": "maximum number of active campaigns exceeded",
}
"""The document's templates ("Errors returned", verbatim, ``ARG_INVALID_DATA``'s missing quote
included), one per code; ``INVALID_STATE`` (the document describes it, gives no text) and
``AUTHENTICATION_FAILURE`` (lenient profile only) are the simulator's own."""
E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DEVICE_TYPES = {"phone": "Phone", "sms": "Sms", "email": "Email"}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ApiError:
    code: str
    subject: str
    argument_index: int | None = None
    attribute_name: str | None = None

    @property
    def message(self) -> str:
        return MESSAGES[self.code].replace("%s", self.subject)

    def xml(self) -> ET.Element:
        node = element("errors", None, element("code", self.code))
        node.append(element("message", self.message))
        if self.argument_index is not None:
            node.append(element("argumentIndex", self.argument_index))
        if self.attribute_name is not None:
            node.append(element("attributeName", self.attribute_name))
        return node


class EngageErrors(Exception):
    """The service's ApiException: the errors of one refused request."""

    def __init__(self, *errors: ApiError) -> None:
        super().__init__("; ".join(f"{e.code} {DASH} {e.message}" for e in errors))
        self.errors = errors

    def response(self, profile: EngageProfile) -> Response:
        """The Fault: one error (strict, Metro's shape) or all of them (lenient, as before)."""
        if not profile.one_error_per_fault:
            detail = element(f"{{{NAMESPACE}}}ApiException", None, *(e.xml() for e in self.errors))
            return fault_response(SoapFault("Server", str(self), detail))
        first = self.errors[0]
        said = f"{first.code} {DASH} {first.message}"
        bean = element(f"{{{NAMESPACE}}}ApiException", None, first.xml(), element("message", said))
        return jaxws_fault("Server", said, bean)


@dataclass
class Campaign:
    internal_id: int
    external_id: str
    name: str
    description: str
    created: datetime


@dataclass
class Batch:
    internal_id: int
    external_id: str | None
    campaign_id: int
    start: datetime
    duration: timedelta
    created: datetime
    asynchronous: bool
    contacts: list[dict[str, Any]]
    cancelled: bool = False

    def state(self, now: datetime) -> str:
        if self.cancelled:
            return "Cancelled"
        if now < self.start:
            return "Pending"
        return "Done" if now >= self.start + self.duration else "Running"


@dataclass
class State:
    """Everything the simulator holds between calls."""

    campaigns: dict[int, Campaign] = field(default_factory=dict)
    batches: list[Batch] = field(default_factory=list)


def campaign_xml(tag: str, campaign: Campaign, account_id: int) -> ET.Element:
    """A campaign as the service writes it (``return`` of showCampaign, items of listCampaigns)."""
    return element(
        tag,
        None,
        element("internalId", campaign.internal_id),
        element("externalId", campaign.external_id),
        element("name", campaign.name),
        element("description", campaign.description),
        element("owner", None, element("internalId", account_id), element("type", "Account")),
        element("createdDate", campaign.created.isoformat()),
    )


def batch_xml(
    tag: str, batch: Batch, campaign: Campaign, account_id: int, duration_unit: timedelta
) -> ET.Element:
    """A contact batch as the service writes it, its campaign named by internal and external id."""
    node = element(
        tag,
        None,
        element("internalId", batch.internal_id),
        element(
            "campaign",
            None,
            element("internalId", campaign.internal_id),
            element("externalId", campaign.external_id),
        ),
        element("owner", None, element("internalId", account_id), element("type", "Account")),
        element("requestedStartTime", batch.start.isoformat()),
        element("maxDuration", batch.duration // duration_unit),
    )
    if batch.external_id is not None:
        node.insert(1, element("externalId", batch.external_id))
    return node


CONTACT_MEMBERS = ("externalId", "firstName", "lastName", "customPayload", "timeZone", "devices")
DEVICE_MEMBERS = ("externalId", "type")
"""The Contact and Device beans' members (the simulator's reading; the document names none)."""


def read_contact(
    node: ET.Element, index: int, errors: list[ApiError], limits: EngageLimits, profile: EngageProfile
) -> dict[str, Any]:
    """Contact ``index`` of a createContactBatch call as stored (every simple field as sent,
    devices as a list); what breaks the document's rules is added to ``errors``, each naming the
    contact by its externalId (by ``contacts[index]`` when it has none).

    Strict: members outside the bean refused (``UnmarshalError``), device types exact Java enum
    names. Lenient: every simple member stored whatever its name, device types in any case."""
    if profile.schema_validation:
        check_members(node, CONTACT_MEMBERS)
    fields: dict[str, Any] = {
        local_name(child.tag): child.text or ""
        for child in node
        if len(child) == 0 and local_name(child.tag) != "devices"
    }
    subject = fields.get("externalId") or f"contacts[{index}]"
    payload = fields.get("customPayload", "")
    if len(payload.encode()) > limits.max_custom_payload_bytes:
        errors.append(ApiError("ARG_TOO_LARGE", subject, 2, "customPayload"))
    devices = []
    bad_device = False
    for device in find_all(node, "devices"):
        if profile.schema_validation:
            check_members(device, DEVICE_MEMBERS)
        value = (text(device, "externalId") or "").strip()
        raw_type = (text(device, "type") or "").strip()
        kind = raw_type if raw_type in DEVICE_TYPES.values() else None
        if not profile.exact_enums:
            kind = DEVICE_TYPES.get(raw_type.lower())
        pattern = EMAIL if kind == "Email" else E164
        bad_device = bad_device or kind is None or not pattern.fullmatch(value)
        devices.append({"type": kind, "externalId": value})
    if bad_device:
        errors.append(ApiError("ATTRIBUTE_INVALID_FORMAT", subject, 2, "devices"))
    if not devices:
        errors.append(ApiError("ARG_NULL", subject, 2, "devices"))
    fields["devices"] = devices
    return fields
