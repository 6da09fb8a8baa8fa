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

from sandbox.soap import SoapFault, element, find_all, local_name, text

__all__ = [
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
    max_description: int = 255
    """Assumption: ATTRIBUTE_TRUNCATED above this many characters."""
    default_window: timedelta = timedelta(hours=24)


LIMITS = EngageLimits()

MESSAGES = {
    "ARG_INVALID_DATA": "Invalid Data '%s'",
    "ARG_INVALID_TYPE": "Argument is of invalid type '%s'",
    "ARG_NULL": "Invalid Data, argument '%s' must be non-null",
    "ARG_TOO_LARGE": "Invalid Data, argument '%s' exceeds allowed size",
    "ATTRIBUTE_INVALID_CHAR": "Attribute '%s' contains invalid characters",
    "ATTRIBUTE_INVALID_DATA": "Attribute contains invalid data: '%s'.",
    "ATTRIBUTE_INVALID_FORMAT": "Attribute '%s' has an invalid format.",
    "ATTRIBUTE_NULL": "Attribute '%s' must be non-null.",
    "ATTRIBUTE_TRUNCATED": "Attribute '%s' is too long",
    "AUTHENTICATION_FAILURE": "Authentication failed",
    "INVALID_STATE": "Invalid state change '%s'",
    "OBJECT_EXISTS": "Object '%s' already exists",
    "OBJECT_NOT_EXISTS": "Referenced object '%s' does not exist",
    "RESULT_TOO_LARGE": "Result returned would be too large",
    "SYSTEM_LIMIT_EXCEEDED": "maximum number of active %s exceeded",
}
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

    def xml(self) -> ET.Element:
        node = element("errors", None, element("code", self.code))
        node.append(element("message", MESSAGES[self.code].replace("%s", self.subject)))
        if self.argument_index is not None:
            node.append(element("argumentIndex", self.argument_index))
        if self.attribute_name is not None:
            node.append(element("attributeName", self.attribute_name))
        return node


class EngageErrors(Exception):
    def __init__(self, *errors: ApiError) -> None:
        super().__init__("; ".join(f"{e.code}: {MESSAGES[e.code].replace('%s', e.subject)}" for e in errors))
        self.errors = errors

    def fault(self) -> SoapFault:
        detail = element(f"{{{NAMESPACE}}}ApiException", None, *(e.xml() for e in self.errors))
        return SoapFault("Server", str(self), detail)


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


def read_contact(
    node: ET.Element, index: int, errors: list[ApiError], limits: EngageLimits
) -> dict[str, Any]:
    """Contact ``index`` of a createContactBatch call as stored (every simple field as sent,
    devices as a list); what breaks the document's rules is added to ``errors``."""
    where = f"arg2[{index}]"
    fields: dict[str, Any] = {
        local_name(child.tag): child.text or ""
        for child in node
        if len(child) == 0 and local_name(child.tag) != "devices"
    }
    payload = fields.get("customPayload", "")
    if len(payload.encode()) > limits.max_custom_payload_bytes:
        errors.append(ApiError("ARG_TOO_LARGE", f"{where}.customPayload", 2, "customPayload"))
    devices = []
    for n, device in enumerate(find_all(node, "devices")):
        value = (text(device, "externalId") or "").strip()
        kind = DEVICE_TYPES.get((text(device, "type") or "").strip().lower())
        pattern = EMAIL if kind == "Email" else E164
        if kind is None or not pattern.fullmatch(value):
            errors.append(ApiError("ATTRIBUTE_INVALID_FORMAT", f"{where}.devices[{n}]", 2, "devices"))
        devices.append({"type": kind, "externalId": value})
    if not devices:
        errors.append(ApiError("ARG_NULL", f"{where}.devices", 2, "devices"))
    fields["devices"] = devices
    return fields
