"""Simulated Engage (SoundBite) CampaignManagementService110, as engage-campaign-methods.txt says.

Wire (DESIGN.md and public client code): SOAP 1.1 POSTed to ``/SOAPAPI2/CampaignManagementService110``
(``/CampaignManagementService110`` also answers), operations in the namespace
``http://www.soundbite.com/SOAPAPI2/110``, positional unqualified ``arg1..argN`` with lowerCamel
members, a WS-Security UsernameToken (PasswordText) header on every call. The service is
stateless per request: credentials are checked on each call, so there are no sessions to expire.

Seed state: account ``1001`` (externalId ``DEMO-ACCOUNT``) with campaigns ``2001``/``DEFAULT``
(the account default a batch without campaign goes to) and ``2002``/``LEADFLOW-DEMO``.

Documented rules enforced: the 100-contact array, batch externalId unique per campaign, contact
externalId unique per campaign for createContactBatchAsync only (the synchronous call documents
no such rule, so it stores a known contact again), owner an Account, override null,
requestedStartTime at most 10 days ahead (past or null: now), maxDuration set and at most 12
hours, custom payload at most 96 kB, the time-range tables, Cancelled as the only state change.
Nothing is stored of a request with any error.

Where the document is silent, ``profile`` decides (sandbox.engage_wire): STRICT answers as a
schema-validating JAX-WS service (JAXB member checks, ``SOAPAction: ""``, one error per Metro
fault ``CODE – template`` with the ApiException bean, ``wsse:FailedAuthentication``), LENIENT as
this simulator did before. Errors name a contact or batch by its externalId in the template's
``%s``. The simulator's own readings, which no client option changes: ``maxDuration`` counts
minutes; a contact's devices are ``<devices><externalId/><type>Phone|Sms|Email</type></devices>``
holding E.164 numbers or emails (ATTRIBUTE_INVALID_FORMAT otherwise); the custom payload is the
contact's ``customPayload`` text in UTF-8 bytes; a batch is Pending before its start, Running
until start + maxDuration, then Done, unless Cancelled.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.engage_model import (
    CONTROL_CHARS,
    LIMITS,
    NAMESPACE,
    SERVICE_PATHS,
    ApiError,
    Batch,
    Campaign,
    EngageErrors,
    EngageLimits,
    State,
    batch_xml,
    campaign_xml,
    read_contact,
)
from sandbox.engage_wire import (
    LENIENT,
    STRICT,
    WSSE_FAULT,
    EngageProfile,
    UnmarshalError,
    check_members,
    jaxws_fault,
    profile_from_env,
)
from sandbox.faults import Faults
from sandbox.soap import (
    WSSE_NS,
    SoapFault,
    element,
    fault_response,
    find,
    find_all,
    is_nil,
    parse_request,
    soap_response,
    text,
    username_token,
)

__all__ = ["LIMITS", "NAMESPACE", "SERVICE_PATHS", "EngageLimits", "EngageSimulator"]

ARGUMENTS = {
    "createContactBatch": ("arg1", "arg2", "arg3"),
    "createContactBatchAsync": ("arg1", "arg2", "arg3"),
    "showContactBatchState": ("arg1",),
    "listContactBatchStates": ("arg1", "arg2", "arg3"),
    "listContactAttemptsUsingContactBatch": ("arg1", "arg2", "arg3"),
    "listContactAttempts": ("arg1", "arg2", "arg3", "arg4"),
}
"""JAX-WS's positional parameter names per operation, in the document's argument order."""
BATCH_MEMBERS = (
    "internalId",
    "externalId",
    "campaign",
    "owner",
    "outreachStrategy",
    "script",
    "agentGroup",
    "agent",
    "requestedStartTime",
    "maxDuration",
)
REF_MEMBERS = ("internalId", "externalId", "name", "type", "parent")


class EngageSimulator:
    """Engage's CampaignManagementService110 with the contact batch rules of the document."""

    kind = "engage"
    prefix = "/engage"
    account_id = 1001
    account_external_id = "DEMO-ACCOUNT"

    def __init__(
        self,
        clock: Clock,
        faults: Faults,
        *,
        limits: EngageLimits = LIMITS,
        profile: EngageProfile | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.limits = limits
        self.profile = profile or profile_from_env(self.kind)
        """STRICT or LENIENT (sandbox.engage_wire): how the service reads what the document leaves open."""
        self.credentials = {"username": "demo", "password": "demo-secret", "account": str(self.account_id)}
        self._ids = itertools.count(5001)
        self._state = State()
        self.reset()

    @property
    def lenient(self) -> bool:
        """The switch every simulator with a lenient profile has (``build_app(lenient=...)``,
        ``leadflow sandbox --lenient engage``): LENIENT or STRICT."""
        return self.profile == LENIENT

    @lenient.setter
    def lenient(self, value: bool) -> None:
        self.profile = LENIENT if value else STRICT

    def reset(self) -> None:
        self._ids = itertools.count(5001)
        now = self.clock.utcnow()
        self._state = State(
            campaigns={
                2001: Campaign(2001, "DEFAULT", "Default", "Account default campaign", now),
                2002: Campaign(2002, "LEADFLOW-DEMO", "Leadflow demo", "Seeded for the demo", now),
            }
        )

    def app(self) -> ASGIApp:
        routes = [Route(path, self._endpoint, methods=["POST"]) for path in SERVICE_PATHS]
        return Starlette(routes=routes)

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        strict = self.profile
        try:
            call = parse_request(
                body,
                request.headers.get("content-type"),
                request.headers.get("soapaction"),
                understood_headers=frozenset({f"{{{WSSE_NS}}}Security"}),
            )
            if strict.empty_soap_action and (request.headers.get("soapaction") is None or call.action):
                said = request.headers.get("soapaction", "none")
                raise SoapFault("Client", f'SOAPAction {said} does not match the service\'s soapAction ""')
            operation = self._operations().get(call.operation)
            if call.namespace != NAMESPACE or operation is None:
                qname = f"{{{call.namespace}}}{call.operation}"
                raise SoapFault("Client", f"Cannot find dispatch method for {qname}")
            if not self._authenticated(call.header):
                if strict.wss_auth_fault:
                    return jaxws_fault(*WSSE_FAULT, prefix="wsse")
                raise EngageErrors(ApiError("AUTHENTICATION_FAILURE", ""))
            if strict.schema_validation and call.operation in ARGUMENTS:
                check_members(call.call, ARGUMENTS[call.operation])
            result = operation(call.call)
        except EngageErrors as errors:
            return errors.response(self.profile)
        except UnmarshalError as refused:
            return jaxws_fault("Client", str(refused))
        except SoapFault as fault:
            if strict.one_error_per_fault:
                return jaxws_fault(fault.code, fault.message, status=fault.status)
            return fault_response(fault)
        answer = element(f"{{{NAMESPACE}}}{call.operation}Response")
        answer.extend(result)
        return soap_response(answer)

    # auth

    def _authenticated(self, header: ET.Element | None) -> bool:
        return username_token(header) == (self.credentials["username"], self.credentials["password"])

    # operations

    def _operations(self) -> dict[str, Any]:
        return {
            "createCampaign": self.create_campaign,
            "showCampaign": self.show_campaign,
            "listCampaigns": self.list_campaigns,
            "createContactBatch": self.create_contact_batch,
            "createContactBatchAsync": self.create_contact_batch_async,
            "showContactBatchState": self.show_contact_batch_state,
            "listContactBatchStates": self.list_contact_batch_states,
            "listContactAttemptsUsingContactBatch": self.list_contact_attempts_using_contact_batch,
            "listContactAttempts": self.list_contact_attempts,
            "changeContactBatchState": self.change_contact_batch_state,
        }

    def create_campaign(self, call: ET.Element) -> list[ET.Element]:
        arg1, arg2 = find(call, "arg1"), find(call, "arg2")
        if is_nil(arg1):
            raise EngageErrors(ApiError("ARG_NULL", "arg1", 1))
        self._org(arg2, 2, allow_enterprise=True)
        external_id = (text(arg1, "externalId") or "").strip()
        name = text(arg1, "name") or external_id
        description = text(arg1, "description") or ""
        errors = []
        if not external_id:
            errors.append(ApiError("ATTRIBUTE_NULL", "externalId", 1, "externalId"))
        for attribute, value in (("externalId", external_id), ("name", name)):
            if CONTROL_CHARS.search(value):
                errors.append(ApiError("ATTRIBUTE_INVALID_CHAR", attribute, 1, attribute))
        if len(description) > self.limits.max_description:
            errors.append(ApiError("ATTRIBUTE_TRUNCATED", "description", 1, "description"))
        if any(c.external_id.lower() == external_id.lower() for c in self._state.campaigns.values()):
            errors.append(ApiError("OBJECT_EXISTS", external_id, 1, "externalId"))
        if len(self._state.campaigns) >= self.limits.max_campaigns:
            errors.append(ApiError("SYSTEM_LIMIT_EXCEEDED", "campaigns"))
        if errors:
            raise EngageErrors(*errors)
        campaign = Campaign(next(self._ids), external_id, name, description, self.clock.utcnow())
        self._state.campaigns[campaign.internal_id] = campaign
        return [self._campaign_xml("return", campaign)]

    def show_campaign(self, call: ET.Element) -> list[ET.Element]:
        return [self._campaign_xml("return", self._campaign(find(call, "arg1"), 1, required=True))]

    def list_campaigns(self, call: ET.Element) -> list[ET.Element]:
        self._org(find(call, "arg1"), 1, allow_enterprise=True)
        start = self._time(find(call, "arg2"), 2) or datetime.min.replace(tzinfo=UTC)
        end = self._time(find(call, "arg3"), 3) or datetime.max.replace(tzinfo=UTC)
        found = [c for c in self._state.campaigns.values() if start <= c.created <= end]
        if len(found) > self.limits.max_listed:
            raise EngageErrors(ApiError("RESULT_TOO_LARGE", ""))
        return [self._campaign_xml("return", c) for c in found]

    def create_contact_batch(self, call: ET.Element) -> list[ET.Element]:
        return [self._batch_xml("return", self._create_batch(call, asynchronous=False))]

    def create_contact_batch_async(self, call: ET.Element) -> list[ET.Element]:
        return [self._batch_xml("return", self._create_batch(call, asynchronous=True))]

    def _create_batch(self, call: ET.Element, *, asynchronous: bool) -> Batch:
        arg1, contacts, arg3 = find(call, "arg1"), find_all(call, "arg2"), find(call, "arg3")
        if is_nil(arg1):
            raise EngageErrors(ApiError("ARG_NULL", "arg1", 1))
        if not contacts:
            raise EngageErrors(ApiError("ARG_NULL", "arg2", 2))
        if len(contacts) > self.limits.max_contacts:
            raise EngageErrors(ApiError("ARG_TOO_LARGE", "arg2", 2))
        errors: list[ApiError] = []
        if self.profile.schema_validation:
            check_members(arg1, BATCH_MEMBERS)
            for member in ("campaign", "owner", "outreachStrategy", "script", "agentGroup", "agent"):
                check_members(find(arg1, member), REF_MEMBERS)
        if not is_nil(arg3):
            errors.append(ApiError("ARG_INVALID_DATA", "arg3: override OutreachStrategy must be null", 3))
        owner = find(arg1, "owner")
        if is_nil(owner):
            errors.append(ApiError("ARG_NULL", "owner", 1, "owner"))
        else:
            errors.extend(self._org_errors(owner, 1, "owner", allow_enterprise=False))
        campaign = self._batch_campaign(arg1, errors)
        now = self.clock.utcnow()
        start, duration = self._batch_times(arg1, now, errors)
        external_id = text(arg1, "externalId")
        if (
            campaign
            and external_id
            in {b.external_id for b in self._state.batches if b.campaign_id == campaign.internal_id}
            and external_id
        ):
            errors.append(ApiError("OBJECT_EXISTS", external_id, 1, "externalId"))
        parsed = [read_contact(c, i, errors, self.limits, self.profile) for i, c in enumerate(contacts)]
        if campaign and (asynchronous or self.profile.unique_contacts_sync):
            # "External ID must be unique within given account and campaign": createContactBatchAsync only
            errors.extend(self._duplicate_contacts(parsed, campaign.internal_id))
        if errors:
            raise EngageErrors(*errors)
        assert campaign is not None
        batch = Batch(
            next(self._ids),
            external_id or None,
            campaign.internal_id,
            start,
            duration,
            now,
            asynchronous,
            parsed,
        )
        self._state.batches.append(batch)
        return batch

    def _batch_campaign(self, arg1: ET.Element | None, errors: list[ApiError]) -> Campaign | None:
        node = find(arg1, "campaign")
        if is_nil(node):
            return self._state.campaigns[2001]
        try:
            return self._campaign(node, 1)
        except EngageErrors as failed:
            errors.extend(failed.errors)
            return None

    def _batch_times(
        self, arg1: ET.Element | None, now: datetime, errors: list[ApiError]
    ) -> tuple[datetime, timedelta]:
        try:
            start = max(self._time(find(arg1, "requestedStartTime"), 1) or now, now)
        except EngageErrors as failed:
            errors.extend(failed.errors)
            start = now
        if start > now + self.limits.max_start_ahead:
            errors.append(ApiError("ATTRIBUTE_INVALID_DATA", "requestedStartTime", 1, "requestedStartTime"))
        raw = text(arg1, "maxDuration")
        if raw is None or not raw.strip():
            errors.append(ApiError("ARG_NULL", "maxDuration", 1, "maxDuration"))
            return start, timedelta(0)
        if not raw.strip().isdigit():
            errors.append(ApiError("ARG_INVALID_TYPE", "maxDuration", 1, "maxDuration"))
            return start, timedelta(0)
        duration = int(raw) * self.limits.duration_unit
        if not timedelta(0) < duration <= self.limits.max_duration:
            errors.append(ApiError("ATTRIBUTE_INVALID_DATA", "maxDuration", 1, "maxDuration"))
        return start, duration

    def _duplicate_contacts(self, contacts: list[dict[str, Any]], campaign_id: int) -> list[ApiError]:
        seen = {
            c.get("externalId")
            for b in self._state.batches
            if b.campaign_id == campaign_id
            for c in b.contacts
        }
        errors = []
        for contact in contacts:
            external_id = contact.get("externalId")
            if not external_id:
                continue
            if external_id in seen:
                errors.append(ApiError("OBJECT_EXISTS", external_id, 2, "externalId"))
            seen.add(external_id)
        return errors

    def show_contact_batch_state(self, call: ET.Element) -> list[ET.Element]:
        return [self._batch_state_xml(self._batch(find(call, "arg1"), 1))]

    def list_contact_batch_states(self, call: ET.Element) -> list[ET.Element]:
        sample = find(call, "arg1")
        campaign = None if is_nil(find(sample, "campaign")) else self._campaign(find(sample, "campaign"), 1)
        start, end = self._window(call)
        found = [
            b
            for b in self._state.batches
            if start <= b.created <= end and (campaign is None or b.campaign_id == campaign.internal_id)
        ]
        if len(found) > self.limits.max_listed:
            raise EngageErrors(ApiError("RESULT_TOO_LARGE", ""))
        return [self._batch_state_xml(b) for b in found]

    def list_contact_attempts_using_contact_batch(self, call: ET.Element) -> list[ET.Element]:
        batch = self._batch(find(call, "arg1"), 1)
        start, end = self._window(call)
        if not start <= batch.start <= end:
            return []
        if len(batch.contacts) > self.limits.max_listed:
            raise EngageErrors(ApiError("RESULT_TOO_LARGE", ""))
        return [self._attempt_xml(batch, n) for n in range(len(batch.contacts))]

    def list_contact_attempts(self, call: ET.Element) -> list[ET.Element]:
        """'sample: Either externalId of contact or externalId of device[0] on contact', in the
        document's time range (of the attempts' start), at most 500."""
        self._org(find(call, "arg1"), 1, allow_enterprise=True)
        sample = find(call, "arg2", "contact")
        by_contact, by_device = text(sample, "externalId"), text(sample, "devices", "externalId")
        if not by_contact and not by_device:
            raise EngageErrors(ApiError("ARG_NULL", "arg2", 2))
        start, end = self._window(call, first=3)
        found = [
            (batch, n)
            for batch in self._state.batches
            if start <= batch.start <= end
            for n, contact in enumerate(batch.contacts)
            if (by_contact and contact.get("externalId") == by_contact)
            or (
                not by_contact and contact["devices"][:1] and contact["devices"][0]["externalId"] == by_device
            )
        ]
        if len(found) > self.limits.max_attempts_listed:
            raise EngageErrors(ApiError("RESULT_TOO_LARGE", ""))
        return [self._attempt_xml(batch, n) for batch, n in found]

    def _attempt_xml(self, batch: Batch, n: int) -> ET.Element:
        contact = batch.contacts[n]
        device = contact["devices"][0]
        state = {"Pending": "Pending", "Running": "InProgress", "Done": "Completed"}.get(
            batch.state(self.clock.utcnow()), "Cancelled"
        )
        return element(
            "return",
            None,
            element("internalId", f"{batch.internal_id}-{n + 1}"),
            element("contact", None, element("externalId", contact.get("externalId"))),
            element(
                "device", None, element("externalId", device["externalId"]), element("type", device["type"])
            ),
            self._batch_xml("contactBatch", batch),
            element("state", state),
            element("attemptTime", batch.start.isoformat()),
        )

    def change_contact_batch_state(self, call: ET.Element) -> list[ET.Element]:
        arg1 = find(call, "arg1")
        if is_nil(arg1):
            raise EngageErrors(ApiError("ARG_NULL", "arg1", 1))
        batch = self._batch(find(arg1, "contactBatch"), 1)
        wanted = (text(arg1, "state") or "").strip()
        if wanted != "Cancelled":
            raise EngageErrors(ApiError("ARG_INVALID_DATA", f"state {wanted or 'null'}", 1, "state"))
        current = batch.state(self.clock.utcnow())
        if current in {"Done", "Cancelled"}:
            raise EngageErrors(ApiError("INVALID_STATE", f"{current} -> Cancelled", 1, "state"))
        batch.cancelled = True
        return [self._batch_state_xml(batch)]

    # lookups and values

    def _org(self, node: ET.Element | None, index: int, *, allow_enterprise: bool) -> None:
        if is_nil(node):
            raise EngageErrors(ApiError("ARG_NULL", f"arg{index}", index))
        errors = self._org_errors(node, index, None, allow_enterprise=allow_enterprise)
        if errors:
            raise EngageErrors(*errors)

    def _org_errors(
        self, node: ET.Element | None, index: int, attribute: str | None, *, allow_enterprise: bool
    ) -> list[ApiError]:
        kind = (text(node, "type") or "Account").strip()
        if kind not in ({"Account", "Enterprise"} if allow_enterprise else {"Account"}):
            return [ApiError("ARG_INVALID_TYPE", kind, index, attribute)]
        internal_id, external_id = text(node, "internalId"), text(node, "externalId")
        if internal_id is None and external_id is None:
            return [ApiError("ARG_NULL", attribute or f"arg{index}", index, attribute)]
        if (
            kind == "Enterprise"
            or internal_id == str(self.account_id)
            or (internal_id is None and external_id == self.account_external_id)
        ):
            return []
        return [ApiError("OBJECT_NOT_EXISTS", internal_id or external_id or "", index, attribute)]

    def _campaign(self, node: ET.Element | None, index: int, *, required: bool = False) -> Campaign:
        if is_nil(node):
            raise EngageErrors(ApiError("ARG_NULL", f"arg{index}", index))
        internal_id, external_id = text(node, "internalId"), text(node, "externalId")
        if internal_id is None and external_id is None:
            raise EngageErrors(ApiError("ATTRIBUTE_NULL", "internalId", index, "internalId"))
        for campaign in self._state.campaigns.values():
            if str(campaign.internal_id) == internal_id or (
                internal_id is None and campaign.external_id == external_id
            ):
                return campaign
        attribute = None if required else "campaign"
        raise EngageErrors(ApiError("OBJECT_NOT_EXISTS", internal_id or external_id or "", index, attribute))

    def _batch(self, node: ET.Element | None, index: int) -> Batch:
        if is_nil(node):
            raise EngageErrors(ApiError("ARG_NULL", f"arg{index}", index))
        internal_id, external_id = text(node, "internalId"), text(node, "externalId")
        if internal_id is None and external_id is None:
            raise EngageErrors(ApiError("ATTRIBUTE_NULL", "externalId", index, "externalId"))
        campaign = None if is_nil(find(node, "campaign")) else self._campaign(find(node, "campaign"), index)
        for batch in self._state.batches:
            if campaign is not None and batch.campaign_id != campaign.internal_id:
                continue
            by_external = internal_id is None and batch.external_id == external_id
            if str(batch.internal_id) == internal_id or by_external:
                return batch
        raise EngageErrors(ApiError("OBJECT_NOT_EXISTS", internal_id or external_id or "", index))

    def _time(self, node: ET.Element | None, index: int) -> datetime | None:
        raw = text(node)
        if raw is None or not raw.strip():
            return None
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise EngageErrors(ApiError("ARG_INVALID_TYPE", raw.strip(), index)) from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _window(self, call: ET.Element, first: int = 2) -> tuple[datetime, datetime]:
        """The document's fromTime/toTime table (``arg{first}``, the next): 24 hours ending now,
        after fromTime or before toTime."""
        after, before = first, first + 1
        start, end = (
            self._time(find(call, f"arg{after}"), after),
            self._time(find(call, f"arg{before}"), before),
        )
        day = self.limits.default_window
        if start is None and end is None:
            end = self.clock.utcnow()
        if start is None:
            assert end is not None
            return end - day, end
        if end is None:
            return start, start + day
        if start >= end:
            raise EngageErrors(ApiError("ARG_INVALID_DATA", "fromTime must be less than toTime", after))
        return start, end

    # XML answers and state dump

    def _campaign_xml(self, tag: str, campaign: Campaign) -> ET.Element:
        return campaign_xml(tag, campaign, self.account_id)

    def _batch_xml(self, tag: str, batch: Batch) -> ET.Element:
        campaign = self._state.campaigns[batch.campaign_id]
        return batch_xml(tag, batch, campaign, self.account_id, self.limits.duration_unit)

    def _batch_state_xml(self, batch: Batch) -> ET.Element:
        return element(
            "return",
            None,
            self._batch_xml("contactBatch", batch),
            element("state", batch.state(self.clock.utcnow())),
            element("contactCount", len(batch.contacts)),
            element("createdDate", batch.created.isoformat()),
        )

    def dump(self) -> dict[str, Any]:
        """Campaigns -> batches -> contacts (every field as sent, devices as a list)."""
        now = self.clock.utcnow()
        campaigns = []
        for campaign in self._state.campaigns.values():
            batches = [
                {
                    "internalId": b.internal_id,
                    "externalId": b.external_id,
                    "state": b.state(now),
                    "async": b.asynchronous,
                    "requestedStartTime": b.start.isoformat(),
                    "maxDuration": b.duration // self.limits.duration_unit,
                    "contacts": b.contacts,
                }
                for b in self._state.batches
                if b.campaign_id == campaign.internal_id
            ]
            campaigns.append(
                {
                    "internalId": campaign.internal_id,
                    "externalId": campaign.external_id,
                    "name": campaign.name,
                    "batches": batches,
                }
            )
        return {
            "kind": self.kind,
            "account": {"internalId": self.account_id, "externalId": self.account_external_id},
            "open_sessions": 0,
            "contact_count": sum(len(b.contacts) for b in self._state.batches),
            "campaigns": campaigns,
        }
