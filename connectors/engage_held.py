"""Is what Engage holds under an id ours? The comparison behind every Engage "already exists".

An ``OBJECT_EXISTS`` only says the id is taken. The row counts as our earlier send
(``accepted``, ``VENDOR_DUPLICATE``) when Engage holds the contact with the first device we send
(the first phone); held with another device it is ``vendor_rejected`` with
``VENDOR_ID_CONFLICT`` naming Engage's record. The lookups are declared guesses
(connectors.engage ``ASSUMPTIONS``: ``verify_operation``, ``verify_contact_operation``,
``verify_window_days``): ``listContactAttemptsUsingContactBatch`` for a batch,
``listContactAttempts`` with a contact sample for one contact, both over the document's
fromTime -> toTime window.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from connectors.base import Lead, RowOutcome
from connectors.engage_wire import EngageWire
from connectors.errors import truncate
from connectors.soap import add, find_all, text
from schemas.codes import Issue, Status

__all__ = ["Ask", "compare_batch", "compare_contacts", "conflict", "duplicate"]

Ask = Callable[[ET.Element], Awaitable[ET.Element | str]]
"""Send a lookup; its answer, or the words of the Fault that refused it."""
Held = dict[str, list[tuple[str | None, str | None]]]
"""Per contact externalId: (device externalId, batch internalId) of each attempt listed."""


async def compare_batch(
    ask: Ask, wire: EngageWire, batch_id: str, leads: list[Lead]
) -> tuple[list[RowOutcome], list[Lead]]:
    """Outcomes of the leads the held batch has (ours or a conflict), and the leads it lacks."""
    held = await _attempts(ask, wire, wire.batch_ref(batch_id, wire.options.verify_operation), 2)
    if isinstance(held, str):
        return [conflict(lead, f"batch {batch_id} exists; comparing it failed: {held}") for lead in leads], []
    where = f"batch {batch_id}"
    outcomes = [
        _match(wire, lead, held[lead.external_id], where) for lead in leads if held.get(lead.external_id)
    ]
    return outcomes, [lead for lead in leads if not held.get(lead.external_id)]


async def compare_contacts(ask: Ask, wire: EngageWire, leads: tuple[Lead, ...]) -> list[RowOutcome]:
    """A contact-level OBJECT_EXISTS (the asynchronous call's rule, or a service that applies it
    to the synchronous one too): each contact looked up by its externalId and compared."""
    outcomes = []
    for lead in leads:
        call = ET.Element(f"{{{wire.options.namespace}}}{wire.options.verify_contact_operation}")
        call.append(wire.owner(wire.arg(1)))
        sample = ET.SubElement(ET.SubElement(call, wire.arg(2)), wire.tag("contact"))
        add(sample, wire.field("contact_external_id"), lead.external_id)
        held = await _attempts(ask, wire, call, 3)
        if isinstance(held, str) or not held.get(lead.external_id):
            said = held if isinstance(held, str) else "Engage lists no attempt of it"
            outcomes.append(
                conflict(lead, f"Engage holds a contact with this externalId; comparing failed: {said}")
            )
        else:
            outcomes.append(_match(wire, lead, held[lead.external_id], "a contact"))
    return outcomes


async def _attempts(ask: Ask, wire: EngageWire, call: ET.Element, window_arg: int) -> Held | str:
    back, ahead = wire.options.verify_window_days
    now = datetime.now(UTC)
    add(call, wire.arg(window_arg), (now - timedelta(days=back)).isoformat(timespec="seconds"))
    add(call, wire.arg(window_arg + 1), (now + timedelta(days=ahead)).isoformat(timespec="seconds"))
    reply = await ask(call)
    if isinstance(reply, str):
        return reply
    held: Held = {}
    for attempt in find_all(reply, "return"):
        held.setdefault(text(attempt, "contact", "externalId") or "", []).append(
            (text(attempt, "device", "externalId"), text(attempt, "contactBatch", "internalId"))
        )
    return held


def _match(
    wire: EngageWire, lead: Lead, stored: list[tuple[str | None, str | None]], where: str
) -> RowOutcome:
    ours = wire.devices(lead)[0][0]
    match = next((vendor_id for device, vendor_id in stored if device == ours), None)
    if match is not None:
        return duplicate(lead, "OBJECT_EXISTS", f"Engage holds it as sent ({where})", match)
    devices = ", ".join(sorted({d or "none" for d, _ in stored}))
    return conflict(lead, f"Engage holds {where} ({stored[0][1]}) with it on device {devices}, not ours")


def conflict(lead: Lead, message: str) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.VENDOR_REJECTED,
        (Issue.VENDOR_ID_CONFLICT,),
        vendor_status="OBJECT_EXISTS",
        vendor_message=truncate(message),
    )


def duplicate(
    lead: Lead, vendor_status: str | None, message: str, vendor_id: str | None = None
) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.ACCEPTED,
        (Issue.VENDOR_DUPLICATE,),
        vendor_id=vendor_id,
        vendor_status=vendor_status,
        vendor_message=message,
    )
