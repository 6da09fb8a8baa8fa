"""Engage (SoundBite) CampaignManagementService110: voice contacts in batches of 100 over SOAP 1.1.

Wire (engage-campaign-methods.txt, DESIGN.md): ``createContactBatch(arg1 ContactBatch, arg2
Contact repeated, arg3 nil)`` in the namespace ``http://www.soundbite.com/SOAPAPI2/110``, positional
unqualified ``argN`` with lowerCamel members, a WS-Security UsernameToken (PasswordText) header on
every call. The service keeps no session, so the header is built into each envelope from the
target's ``username``/``password`` secrets and ``auth()`` is a plain pass-through.

The batch's ``externalId`` is ``chunk.batch_id`` (deterministic, so a resend carries the same
one); the document says it must be unique within a campaign, so a resend of a batch Engage
already holds is refused with ``OBJECT_EXISTS`` on ``arg1``: its contacts count as accepted
(``VENDOR_DUPLICATE``). A run that crashed with a batch in flight asks ``showContactBatchState``.

Errors are SOAP Faults listing ``code``/``message``/``argumentIndex``/``attributeName``. An error on
``arg2`` whose message names one contact (``arg2[i]...`` or a contact's externalId) is that row's
result. Engage stores nothing of a request with any error, so ``enrich`` sends the other contacts
again under the same batch externalId (safe to retry: a batch that got through is then
``OBJECT_EXISTS``). Any other error is ours (owner, campaign, limits) and stops the target.

Checked before sending, from the document: the contact array holds at most 100; a contact's
custom payload (its attributes as a JSON object, UTF-8) is at most 96 kB; a voice contact needs a
phone. Assumptions where the document is silent: ``maxDuration`` counts minutes; devices are
``<devices><externalId>E.164 or email</externalId><type>Phone|Email</type></devices>``.

Target keys: credentials ``username``, ``password``; options (``EngageOptions``): ``account_id``
or ``account_external_id`` (the batch owner Account), and optionally ``campaign_ref``,
``start_delay_minutes`` (<= 10 days), ``max_duration_minutes`` (<= 12 h), ``outreach_strategy``,
``script``, ``agent_group``, ``send_email_device``, ``namespace``, ``service_path``.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import Channel, Chunk, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    FatalTargetError,
    TransientError,
    redact,
    truncate,
)
from connectors.retry import call_with_retries
from connectors.soap import (
    CONTENT_TYPE,
    Fault,
    FaultError,
    SoapConnector,
    SoapParseError,
    add,
    add_nil,
    envelope,
    find,
    read_reply,
    text,
    username_token,
)
from schemas.codes import Issue, Status

__all__ = ["LIMITS", "EngageConnector", "EngageOptions"]

log = logging.getLogger("leadflow.connectors")

LIMITS = Limits(max_items=100, default_concurrency=4)
"""createContactBatch: 'The maximum size of the contact array is 100.'"""
MAX_PAYLOAD_BYTES = 96 * 1024
"""'api.contact.payload.block.size', 96 kB by default."""

_CONTACT_AT = re.compile(r"arg2\[(\d+)\]")
_QUOTED = re.compile(r"'([^']*)'")


class EngageOptions(BaseModel):
    """``options`` of an ``engage`` target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str | None = None
    """internalId of the Account that owns the batches (the document: owner must be an Account)."""
    account_external_id: str | None = None
    campaign_ref: Literal["externalId", "internalId"] = "externalId"
    """Which id the target's ``campaign`` is."""
    start_delay_minutes: int = Field(0, ge=0, le=10 * 24 * 60)
    """requestedStartTime = now + this; 0 sends null (start now). At most 10 days ahead."""
    max_duration_minutes: int = Field(12 * 60, ge=1, le=12 * 60)
    """maxDuration: must be set, at most 12 hours."""
    outreach_strategy: str | None = None
    script: str | None = None
    agent_group: str | None = None
    """externalIds; null means the account's or campaign's default."""
    send_email_device: bool = True
    """Add the lead's email as an Email device next to its phones."""
    max_payload_bytes: int = Field(MAX_PAYLOAD_BYTES, ge=1)
    namespace: str = "http://www.soundbite.com/SOAPAPI2/110"
    service_path: str = "/SOAPAPI2/CampaignManagementService110"

    @model_validator(mode="after")
    def _one_owner(self) -> EngageOptions:
        if (self.account_id is None) == (self.account_external_id is None):
            raise ValueError("set exactly one of account_id or account_external_id (the batch owner)")
        return self


@dataclass
class EngageConnector(SoapConnector):
    """``kind = "engage"``: one createContactBatch per chunk of up to 100 voice contacts."""

    kind = "engage"
    channel = Channel.VOICE
    LIMITS = LIMITS
    refuses_known_ids = True  # a known batch or contact externalId is OBJECT_EXISTS

    options: EngageOptions = field(init=False, repr=False)
    _resend: dict[str, list[Lead]] = field(init=False, repr=False, default_factory=dict)
    """Per batch_id: leads Engage left out because of other contacts' errors (see ``enrich``)."""

    def __post_init__(self) -> None:
        self.options = load_options(self.target, EngageOptions)
        missing = [key for key in ("username", "password") if not self.secrets.get(key)]
        if missing:
            raise ConfigError(f"target {self.target.name!r}: credentials.{missing[0]} is required for engage")

    # --- auth ---------------------------------------------------------------------------
    def auth(self) -> httpx.Auth:
        """Stateless: the UsernameToken travels in every envelope (``_envelope``)."""
        return httpx.Auth()

    # --- payload ------------------------------------------------------------------------
    def item_size(self, lead: Lead) -> int:
        return len(ET.tostring(self._contact(lead), encoding="utf-8"))

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        sent, _ = self._plan(chunk)
        if not sent:
            return self._post(client, self._batch_ref(chunk))
        return self._post(client, self._create(chunk, sent))

    def _plan(self, chunk: Chunk) -> tuple[list[Lead], dict[int, RowOutcome]]:
        """The leads to put in the envelope, and the outcomes of those that cannot go."""
        sent: list[Lead] = []
        settled: dict[int, RowOutcome] = {}
        for lead in chunk.leads:
            problem = self._precheck(lead)
            if problem is None:
                sent.append(lead)
            else:
                settled[lead.source_row] = problem
        return sent, settled

    def _precheck(self, lead: Lead) -> RowOutcome | None:
        if not lead.phones:
            return RowOutcome(lead.source_row, Status.INELIGIBLE, (Issue.NEEDS_PHONE,))
        size = len(_payload(lead).encode())
        if size > self.options.max_payload_bytes:
            return RowOutcome(
                lead.source_row,
                Status.VENDOR_REJECTED,
                (Issue.CHUNK_TOO_LARGE,),
                vendor_status="ARG_TOO_LARGE",
                vendor_message=f"custom payload of {size} bytes exceeds Engage's "
                f"{self.options.max_payload_bytes} (not sent)",
            )
        return None

    def _create(self, chunk: Chunk, leads: list[Lead]) -> ET.Element:
        call = ET.Element(f"{{{self.options.namespace}}}createContactBatch")
        call.append(self._batch(chunk))
        for lead in leads:
            contact = self._contact(lead)
            contact.tag = "arg2"
            call.append(contact)
        add_nil(call, "arg3")
        return call

    def _batch(self, chunk: Chunk) -> ET.Element:
        options = self.options
        batch = ET.Element("arg1")
        add(batch, "externalId", chunk.batch_id)
        add(add(batch, "campaign"), options.campaign_ref, self.target.campaign)
        owner = add(batch, "owner")
        if options.account_id is not None:
            add(owner, "internalId", options.account_id)
        else:
            add(owner, "externalId", options.account_external_id)
        add(owner, "type", "Account")
        for tag, ref in (
            ("outreachStrategy", options.outreach_strategy),
            ("script", options.script),
            ("agentGroup", options.agent_group),
        ):
            if ref is not None:
                add(add(batch, tag), "externalId", ref)
        if options.start_delay_minutes:
            start = datetime.now(UTC) + timedelta(minutes=options.start_delay_minutes)
            add(batch, "requestedStartTime", start.isoformat(timespec="seconds"))
        add(batch, "maxDuration", options.max_duration_minutes)
        return batch

    def _contact(self, lead: Lead) -> ET.Element:
        contact = ET.Element("contact")
        add(contact, "externalId", lead.external_id)
        if lead.first_name:
            add(contact, "firstName", lead.first_name)
        if lead.last_name:
            add(contact, "lastName", lead.last_name)
        if lead.attributes:
            add(contact, "customPayload", _payload(lead))
        devices = [(phone.e164, "Phone") for phone in lead.phones]
        if self.options.send_email_device and lead.email:
            devices.append((lead.email, "Email"))
        for value, kind in devices:
            device = add(contact, "devices")
            add(device, "externalId", value)
            add(device, "type", kind)
        return contact

    def _batch_ref(self, chunk: Chunk) -> ET.Element:
        call = ET.Element(f"{{{self.options.namespace}}}showContactBatchState")
        ref = add(call, "arg1")
        add(ref, "externalId", chunk.batch_id)
        add(add(ref, "campaign"), self.options.campaign_ref, self.target.campaign)
        return call

    def _post(self, client: httpx.AsyncClient, call: ET.Element) -> httpx.Request:
        body = envelope(call, [username_token(self.secrets["username"], self.secrets["password"])])
        return client.build_request(
            "POST",
            f"{self.target.base_url}{self.options.service_path}",
            content=body,
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": '""'},
        )

    # --- response -----------------------------------------------------------------------
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        sent, settled = self._plan(chunk)
        if not sent:
            return list(settled.values())
        done, left = self._read(chunk, sent, response)
        if left:
            self._resend[chunk.batch_id] = left
        return done + [_unsent(lead, chunk) for lead in left] + list(settled.values())

    def _read(
        self, chunk: Chunk, sent: list[Lead], response: httpx.Response
    ) -> tuple[list[RowOutcome], list[Lead]]:
        """Outcomes for the rows this answer settles, and the leads Engage left out because of
        other contacts' errors (to be sent again by ``enrich``)."""
        try:
            reply = read_reply(response.content)
        except SoapParseError as exc:
            raise self.unexpected(response, str(exc)) from None
        if not isinstance(reply, Fault):
            batch_id = text(reply, "return", "internalId")
            if batch_id is None:
                raise self.unexpected(response, "createContactBatchResponse without the batch's internalId")
            return [RowOutcome(lead.source_row, Status.ACCEPTED, vendor_id=batch_id) for lead in sent], []
        self._raise_for(reply, response)
        batch_exists = [e for e in reply.errors if e.code == "OBJECT_EXISTS" and e.argument_index == 1]
        if batch_exists:
            others = tuple(e for e in reply.errors if e not in batch_exists)
            known = _per_contact(others, sent) or {}
            return [
                _row_outcome(lead, known[lead]) if lead in known else _duplicate(lead, "OBJECT_EXISTS", "")
                for lead in sent
            ], []
        per_row = _per_contact(reply.errors, sent)
        if per_row is None:
            raise FatalTargetError(
                f"{self.target.name}: Engage refused batch {chunk.batch_id} as a whole: {self._say(reply)}; "
                "check the target's campaign and options",
                target=self.target.name,
                request=response.request,
                reason=Issue.VENDOR_REJECTED,
            )
        done = [_row_outcome(lead, errors) for lead, errors in per_row.items()]
        return done, [lead for lead in sent if lead not in per_row]

    def _raise_for(self, fault: Fault, response: httpx.Response) -> None:
        """Faults that settle no row: refused credentials, server trouble."""
        if "AUTHENTICATION_FAILURE" in fault.codes:
            raise AuthenticationError(
                f"{self.target.name}: Engage refused the UsernameToken; check credentials.username/password",
                target=self.target.name,
                request=response.request,
            )
        if "INTERNAL_ERROR" in fault.codes or (not fault.errors and fault.code == "Server"):
            raise TransientError(
                f"{self.target.name}: Engage server fault: {self._say(fault)}",
                status_code=response.status_code,
                target=self.target.name,
                request=response.request,
            )

    def _say(self, fault: Fault) -> str:
        said = "; ".join(f"{e.code}: {e.message}" for e in fault.errors)
        said = said or f"{fault.faultcode} {fault.faultstring}"
        return truncate(redact(said, self.secrets.values()))

    async def enrich(
        self, client: httpx.AsyncClient, chunk: Chunk, outcomes: list[RowOutcome]
    ) -> list[RowOutcome]:
        """Send again, under the same batch externalId, the contacts Engage left out because
        others in the batch were refused (nothing of a refused request is stored)."""
        left = self._resend.pop(chunk.batch_id, None)
        by_row = {o.source_row: o for o in outcomes}
        secrets = tuple(self.secrets.values())
        while left:
            try:
                done, left = await call_with_retries(
                    partial(self._send_again, client, chunk, left),
                    self.target.retry,
                    what=f"{self.target.name}: batch {chunk.batch_id}",
                    secrets=secrets,
                )
            except (ConnectorError, httpx.HTTPError) as exc:
                message = redact(str(exc), secrets)
                log.warning("%s: resending the rest of batch %s failed: %s", self.target.name, chunk.batch_id,
                            message)  # fmt: skip
                break
            by_row.update((o.source_row, o) for o in done)
        return list(by_row.values())

    async def _send_again(
        self, client: httpx.AsyncClient, chunk: Chunk, leads: list[Lead]
    ) -> tuple[list[RowOutcome], list[Lead]]:
        response = await client.send(self._post(client, self._create(chunk, leads)))
        self.classify(response)
        return self._read(chunk, leads, response)

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        """showContactBatchState by our batch externalId. A batch Engage holds was created from
        exactly this chunk's leads (the id is a hash of their external ids): each lead we would
        send is accepted. Leads we know too little about (not in this run's input) stay unsettled."""
        sent = [lead for lead in chunk.leads if self._precheck(lead) is None]
        response = await client.send(self._post(client, self._batch_ref(chunk)))
        self.classify(response)
        try:
            reply = read_reply(response.content)
        except SoapParseError as exc:
            raise self.unexpected(response, str(exc)) from None
        if isinstance(reply, Fault):
            self._raise_for(reply, response)
            return None
        state = find(reply, "return")
        vendor_id, vendor_status = text(state, "contactBatch", "internalId"), text(state, "state")
        return [_duplicate(lead, vendor_status, "batch found after a crash", vendor_id) for lead in sent]


def _payload(lead: Lead) -> str:
    if not lead.attributes:
        return ""
    return json.dumps(dict(lead.attributes), ensure_ascii=False, separators=(",", ":"))


def _per_contact(errors: tuple[FaultError, ...], sent: list[Lead]) -> dict[Lead, list[FaultError]] | None:
    """Each error's contact, or None when any error is not about one contact of the envelope."""
    by_external_id = {lead.external_id: lead for lead in sent}
    found: dict[Lead, list[FaultError]] = {}
    for error in errors:
        lead: Lead | None = None
        if error.argument_index == 2:
            at = _CONTACT_AT.search(error.message)
            if at is not None and int(at.group(1)) < len(sent):
                lead = sent[int(at.group(1))]
            elif error.code == "OBJECT_EXISTS":
                quoted = _QUOTED.search(error.message)
                lead = by_external_id.get(quoted.group(1)) if quoted else None
        if lead is None:
            return None
        found.setdefault(lead, []).append(error)
    return found or None


def _unsent(lead: Lead, chunk: Chunk) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.FAILED,
        (Issue.TRANSPORT_FAILED,),
        vendor_message=f"Engage refused batch {chunk.batch_id} for other contacts' errors and "
        "sending this one again failed; the next run retries it",
    )


def _row_outcome(lead: Lead, errors: list[FaultError]) -> RowOutcome:
    if all(e.code == "OBJECT_EXISTS" for e in errors):
        return _duplicate(lead, "OBJECT_EXISTS", errors[0].message)
    return RowOutcome(
        lead.source_row,
        Status.VENDOR_REJECTED,
        (Issue.VENDOR_REJECTED,),
        vendor_status=",".join(dict.fromkeys(e.code for e in errors)),
        vendor_message=truncate("; ".join(e.message for e in errors)),
    )


def _duplicate(
    lead: Lead, vendor_status: str | None, message: str, vendor_id: str | None = None
) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.ACCEPTED,
        (Issue.VENDOR_DUPLICATE,),
        vendor_id=vendor_id,
        vendor_status=vendor_status,
        vendor_message=message or "Engage already had this contact's batch",
    )
