"""The envelopes the ``engage`` connector sends, written with its declared guesses.

Every element name, namespace, unit and enum value comes from ``EngageOptions``, whose
defaults are ``connectors.engage.ASSUMPTIONS``; nothing here is a guess of its own.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from connectors.base import Lead
from connectors.soap import add, add_nil

if TYPE_CHECKING:
    from connectors.engage import EngageOptions

__all__ = ["EngageWire", "payload"]

_UNIT_MINUTES = {"seconds": 1 / 60, "minutes": 1, "hours": 60}


def payload(lead: Lead, *, extensions: bool = False) -> str:
    """The custom payload: the lead's attributes as a compact JSON object ('' without any), and
    with ``extensions`` each phone's extension as ``phone<n>_ext`` (n: its device's position, the
    results' column name), over an attribute of that name."""
    values = dict(lead.attributes)
    if extensions:
        values.update((f"phone{n}_ext", p.ext) for n, p in enumerate(lead.phones, start=1) if p.ext)
    if not values:
        return ""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class EngageWire:
    """Elements of createContactBatch and the batch lookups for one target."""

    options: EngageOptions
    campaign: str

    def tag(self, name: str) -> str:
        """A member's tag: unqualified, or in the service namespace (``qualified_members``)."""
        return f"{{{self.options.namespace}}}{name}" if self.options.qualified_members else name

    def field(self, key: str) -> str:
        return self.tag(self.options.field_names[key])

    def arg(self, n: int) -> str:
        return self.tag(f"arg{self.options.first_argument + n - 1}")

    def create(self, batch_id: str, leads: list[Lead]) -> ET.Element:
        call = ET.Element(f"{{{self.options.namespace}}}createContactBatch")
        ends = [lead.call_window_end for lead in leads if lead.call_window_end is not None]
        call.append(self.batch(batch_id, until=min(ends) if ends else None))
        call.extend(self.contact(lead, self.arg(2)) for lead in leads)
        add_nil(call, self.arg(3))
        return call

    def batch(self, batch_id: str, until: datetime | None = None) -> ET.Element:
        """The ContactBatch; ``until``: the earliest calling-window end of its leads, which its
        maxDuration may not pass (Engage dials a batch's contacts for up to maxDuration)."""
        options, tag = self.options, self.tag
        batch = ET.Element(self.arg(1))
        add(batch, self.field("batch_external_id"), batch_id)
        add(add(batch, self.field("campaign")), tag(options.campaign_ref), self.campaign)
        batch.append(self.owner(self.field("owner")))
        for member, ref in (
            ("outreachStrategy", options.outreach_strategy),
            ("script", options.script),
            ("agentGroup", options.agent_group),
        ):
            if ref is not None:
                add(add(batch, tag(member)), tag("externalId"), ref)
        start = datetime.now(UTC) + timedelta(minutes=options.start_delay_minutes)
        if options.start_delay_minutes:
            add(batch, self.field("requested_start_time"), start.isoformat(timespec="seconds"))
        minutes = options.max_duration_minutes
        if until is not None:  # at least one unit: maxDuration must be set and positive
            minutes = min(minutes, int((until - start).total_seconds() // 60))
        unit = _UNIT_MINUTES[options.max_duration_unit]
        add(batch, self.field("max_duration"), max(1, int(minutes / unit)))
        return batch

    def owner(self, tag: str) -> ET.Element:
        """The Account (the batch's owner, the Org of a lookup)."""
        options, owner = self.options, ET.Element(tag)
        if options.account_id is not None:
            add(owner, self.tag("internalId"), options.account_id)
        else:
            add(owner, self.tag("externalId"), options.account_external_id)
        add(owner, self.tag("type"), "Account")
        return owner

    def contact(self, lead: Lead, tag: str) -> ET.Element:
        contact = ET.Element(tag)
        add(contact, self.field("contact_external_id"), lead.external_id)
        if lead.first_name:
            add(contact, self.field("first_name"), lead.first_name)
        if lead.last_name:
            add(contact, self.field("last_name"), lead.last_name)
        custom = self.payload(lead)
        if custom:
            add(contact, self.field("custom_payload"), custom)
        for value, kind in self.devices(lead):
            device = add(contact, self.field("devices"))
            add(device, self.field("device_value"), value)
            add(device, self.field("device_type"), kind)
        return contact

    def payload(self, lead: Lead) -> str:
        return payload(lead, extensions=self.options.extensions == "payload")

    def devices(self, lead: Lead) -> list[tuple[str, str]]:
        """Phones (with ``extensions = "hold"`` only those without an extension), then the email."""
        types = self.options.device_types
        hold = self.options.extensions == "hold"
        devices = [(phone.e164, types["phone"]) for phone in lead.phones if not (hold and phone.ext)]
        if self.options.send_email_device and lead.email:
            devices.append((lead.email, types["email"]))
        return devices

    def batch_ref(self, batch_id: str, operation: str = "showContactBatchState") -> ET.Element:
        call = ET.Element(f"{{{self.options.namespace}}}{operation}")
        ref = add(call, self.arg(1))
        add(ref, self.field("batch_external_id"), batch_id)
        add(add(ref, self.field("campaign")), self.tag(self.options.campaign_ref), self.campaign)
        return call
