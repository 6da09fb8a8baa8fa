"""Engage (SoundBite) CampaignManagementService110: voice contacts in batches of 100 over SOAP 1.1.

engage-campaign-methods.txt documents operations, argument types, limits and error templates,
nothing of the wire. Every guess this module makes where it is silent is in ``ASSUMPTIONS``
below, with the document's words or "not documented", and each is an ``options`` key of the
target (README, "Engage assumptions"); envelopes are written from them (connectors.engage_wire).
The sandbox (sandbox/engage.py) reads none of them: its strict
profile refuses a changed guess, so the tests test the guesses.

Unit sent: ``createContactBatch(ContactBatch, Contact[], OutreachStrategy override=nil)`` with a
WS-Security UsernameToken (PasswordText) header on every call; the service keeps no session.

Ids. The batch's ``externalId`` is ``chunk.batch_id`` (deterministic): "If provided the
externalId on the ContactBatch must be unique within the scope of a Campaign, if the name is
found then an error will be returned", so a resend of a batch Engage already holds is
``OBJECT_EXISTS``. Contact externalIds are unique per campaign only for createContactBatchAsync
("External ID must be unique within given account and campaign"), not documented for the
synchronous call, so nothing here relies on Engage refusing a known contact.

Honest duplicates (connectors.engage_held): an "already exists" counts as our earlier send only
when the stored record matches what we sent. A held batch's contacts, and a contact refused as
existing (the asynchronous call's rule, should a service apply it to this one), are looked up and
compared: held with our first device, accepted (``VENDOR_DUPLICATE``); with another device,
``vendor_rejected`` (``VENDOR_ID_CONFLICT``, naming Engage's record). A contact the held batch
lacks is sent again in a batch of its own (``<batch_id>-<hash of its externalIds>``, deterministic
too); contacts left out of a refused request are sent again under the same externalId.

Faults are read through the document's templates (connectors.engage_faults): an error whose
``%s`` is one of the envelope's contact externalIds is that row's result, and the rest of the
batch is sent again (Engage stores nothing of a refused request). A WS-Security
``FailedAuthentication`` (or another code in ``auth_fault_codes``) stops the target with
AUTH_FAILED; ``INTERNAL_ERROR`` is transient; any other error is about the batch (owner,
campaign, limits) and stops the target with TARGET_MISCONFIGURED (the same settings meet the same
refusal: a person fixes them).

Checked before sending, from the document: at most 100 contacts; a contact's custom payload (its
attributes as a JSON object, UTF-8) at most 96 kB; a voice contact needs a phone.

Extensions: the Contact and Device members are not documented, and the strict sandbox takes a
device's externalId as E.164 only, so a number is dialled without its extension. ``extensions``
says what becomes of it: ``payload`` (default) puts ``phone<n>_ext`` in the custom payload, where
a script or agent can read it; ``drop`` sends nothing; ``hold`` sends only the phones without an
extension and holds a lead that has none (``ineligible``, ``EXTENSION_UNSUPPORTED``), for
unattended outreach, where a switchboard would hear a message meant for someone else.
"""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import Channel, Chunk, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.engage_faults import DOCUMENT_TEMPLATES, EngageError, read_errors
from connectors.engage_held import compare_batch, compare_contacts, conflict
from connectors.engage_wire import EngageWire
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
    SoapConnector,
    envelope,
    find,
    text,
    username_token,
)
from schemas.codes import Issue, Status

__all__ = ["ASSUMPTIONS", "LIMITS", "Assumption", "EngageConnector", "EngageOptions"]

log = logging.getLogger("leadflow.connectors")


class Assumption(NamedTuple):
    default: Any
    document: str
    """The document's words (and section), or "not documented" and why this value."""


ASSUMPTIONS: dict[str, Assumption] = {
    "namespace": Assumption(
        "http://www.soundbite.com/SOAPAPI2/110",
        "not documented (DESIGN.md: public client code)",
    ),
    "service_path": Assumption(
        "/SOAPAPI2/CampaignManagementService110",
        "not documented (DESIGN.md: service CampaignManagementService110)",
    ),
    "soap_action": Assumption("", 'not documented (a Java-first JAX-WS service publishes soapAction="")'),
    "first_argument": Assumption(
        1,
        "not documented: the document names parameters (createContactBatch(ContactBatch contactBatch, "
        "Contact[] contacts, OutreachStrategy override)); JAX-WS positional names argN from this number",
    ),
    "qualified_members": Assumption(
        False, "not documented (JAX-WS without @XmlSchema: arguments and bean members unqualified)"
    ),
    "field_names": Assumption(
        {
            "batch_external_id": "externalId",
            "campaign": "campaign",
            "owner": "owner",
            "requested_start_time": "requestedStartTime",
            "max_duration": "maxDuration",
            "contact_external_id": "externalId",
            "first_name": "firstName",
            "last_name": "lastName",
            "custom_payload": "customPayload",
            "devices": "devices",
            "device_value": "externalId",
            "device_type": "type",
        },
        "partly documented: createContactBatch notes name the ContactBatch's externalId, campaign, "
        "owner, requestedStartTime, maxDuration; the Contact and Device members are not documented",
    ),
    "device_types": Assumption(
        {"phone": "Phone", "email": "Email"}, "not documented (Java enum constant names)"
    ),
    "max_duration_unit": Assumption(
        "minutes",
        "createContactBatch notes: 'The maxDuration on the ContactBatch must be set and cannot be more "
        "than 12 hours in the future.' No unit is documented",
    ),
    "error_templates": Assumption(
        DOCUMENT_TEMPLATES,
        "createContactBatch 'Errors returned': 'OBJECT_EXISTS – Object '%s' already exists', "
        "'ARG_TOO_LARGE – Invalid Data, argument '%s' exceeds allowed size', ... (templates documented; "
        "how a Fault carries them, and that '%s' of an error about one contact is its externalId, "
        "not documented)",
    ),
    "auth_fault_codes": Assumption(
        ("FailedAuthentication", "InvalidSecurityToken", "InvalidSecurity", "AUTHENTICATION_FAILURE"),
        "not documented (WS-Security 1.0 SOAP Message Security section 12 fault codes; "
        "AUTHENTICATION_FAILURE as an Engage error code)",
    ),
    "verify_operation": Assumption(
        "listContactAttemptsUsingContactBatch",
        "listContactAttemptsUsingContactBatch(ContactBatch contactBatch, dateTime fromTime, dateTime "
        "toTime): documented, 'Availability: Unscheduled'; that its attempts carry contact.externalId and "
        "device.externalId is not documented",
    ),
    "verify_contact_operation": Assumption(
        "listContactAttempts",
        "listContactAttempts(Org org, ContactAttempt sample, dateTime fromTime, dateTime toTime): "
        "'sample: Either externalId of contact or externalId of device[0] on contact' (Engage 7.7.0); "
        "the sample's shape (<contact><externalId/></contact>) is not documented",
    ),
    "extensions": Assumption(
        "payload",
        "not documented: no Contact or Device member for an extension is documented (the devices "
        "carry E.164 numbers, DESIGN.md); 'payload' sends phone<n>_ext in the custom payload and "
        "dials the number alone, 'drop' sends nothing, 'hold' dials only numbers without one",
    ),
    "verify_window_days": Assumption(
        (30, 11),
        "listContactAttemptsUsingContactBatch: 'fromTime → toTime (fromTime must be less than toTime)'; "
        "how far back data is 'currently available online' is not documented (days back, days ahead)",
    ),
}
"""Every guess where engage-campaign-methods.txt is silent; each key is an ``options`` key.

Also guessed, not configurable: the custom payload is the lead's attributes as a compact JSON
object ('custom payload must not exceed ... 96kB' documents only the size; the sandbox stores it
as text, so no test there can refuse another format) and requestedStartTime is ISO 8601 with
its UTC offset (xsd:dateTime)."""

LIMITS = Limits(max_items=100, default_concurrency=4)
"""createContactBatch: 'The maximum size of the contact array is 100.'"""
MAX_PAYLOAD_BYTES = 96 * 1024
"""'api.contact.payload.block.size', 96 kB by default."""


class EngageOptions(BaseModel):
    """``options`` of an ``engage`` target; the last group are ``ASSUMPTIONS``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str | None = None
    """internalId of the Account that owns the batches (the document: owner must be an Account)."""
    account_external_id: str | None = None
    campaign_ref: Literal["externalId", "internalId"] = "externalId"
    """Which id the target's ``campaign`` is."""
    start_delay_minutes: int = Field(0, ge=0, le=10 * 24 * 60)
    """requestedStartTime = now + this; 0 sends null (start now). At most 10 days ahead."""
    max_duration_minutes: int = Field(12 * 60, ge=1, le=12 * 60)
    """maxDuration: must be set, at most 12 hours; sent in ``max_duration_unit``."""
    outreach_strategy: str | None = None
    script: str | None = None
    agent_group: str | None = None
    """externalIds; null means the account's or campaign's default."""
    send_email_device: bool = True
    """Add the lead's email as an Email device next to its phones."""
    max_payload_bytes: int = Field(MAX_PAYLOAD_BYTES, ge=1)

    namespace: str = ASSUMPTIONS["namespace"].default
    service_path: str = ASSUMPTIONS["service_path"].default
    soap_action: str = ASSUMPTIONS["soap_action"].default
    first_argument: int = Field(ASSUMPTIONS["first_argument"].default, ge=0)
    qualified_members: bool = ASSUMPTIONS["qualified_members"].default
    field_names: dict[str, str] = ASSUMPTIONS["field_names"].default
    device_types: dict[str, str] = ASSUMPTIONS["device_types"].default
    max_duration_unit: Literal["seconds", "minutes", "hours"] = ASSUMPTIONS["max_duration_unit"].default
    error_templates: dict[str, str] = ASSUMPTIONS["error_templates"].default
    auth_fault_codes: tuple[str, ...] = ASSUMPTIONS["auth_fault_codes"].default
    verify_operation: str = ASSUMPTIONS["verify_operation"].default
    verify_contact_operation: str = ASSUMPTIONS["verify_contact_operation"].default
    verify_window_days: tuple[int, int] = ASSUMPTIONS["verify_window_days"].default
    extensions: Literal["payload", "drop", "hold"] = ASSUMPTIONS["extensions"].default

    @model_validator(mode="after")
    def _one_owner(self) -> EngageOptions:
        if (self.account_id is None) == (self.account_external_id is None):
            raise ValueError("set exactly one of account_id or account_external_id (the batch owner)")
        if self.max_duration_unit == "hours" and self.max_duration_minutes % 60:
            raise ValueError("max_duration_minutes must be whole hours when max_duration_unit is 'hours'")
        return self

    @model_validator(mode="before")
    @classmethod
    def _merge_tables(cls, data: Any) -> Any:
        """``field_names``, ``device_types`` and ``error_templates`` override the defaults key by key."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for key in ("field_names", "device_types", "error_templates"):
            given = data.get(key)
            if isinstance(given, dict):
                unknown = set(given) - set(ASSUMPTIONS[key].default) if key != "error_templates" else set()
                if unknown:
                    raise ValueError(f"{key}: unknown key(s) {sorted(unknown)}")
                merged[key] = {**ASSUMPTIONS[key].default, **given}
        return merged


class _Reading(NamedTuple):
    """What one createContactBatch answer settles."""

    done: list[RowOutcome]
    left: list[Lead]
    """Leads to send again (nothing of a refused request is stored)."""
    existing: tuple[str, list[Lead]] | None = None
    """(batch externalId, its leads) when Engage already holds that batch: to compare."""
    batch_id: str = ""
    """The externalId the request had, under which ``left`` is sent again (Engage stored nothing)."""
    contacts_exist: tuple[Lead, ...] = ()
    """Leads refused with a contact-level OBJECT_EXISTS: to compare one by one."""

    @property
    def open(self) -> list[Lead]:
        """The leads this reading leaves for ``enrich``."""
        return self.left + (self.existing[1] if self.existing else []) + list(self.contacts_exist)


@dataclass
class EngageConnector(SoapConnector):
    """``kind = "engage"``: one createContactBatch per chunk of up to 100 voice contacts."""

    kind = "engage"
    channel = Channel.VOICE
    LIMITS = LIMITS
    refuses_known_ids = True  # a known batch externalId is OBJECT_EXISTS, compared before it counts

    options: EngageOptions = field(init=False, repr=False)
    wire: EngageWire = field(init=False, repr=False)
    _pending: dict[str, _Reading] = field(init=False, repr=False, default_factory=dict)
    """Per batch_id: what ``parse_response`` left to ``enrich`` (resends, comparisons)."""

    def __post_init__(self) -> None:
        self.options = load_options(self.target, EngageOptions)
        self.wire = EngageWire(self.options, self.target.campaign)
        missing = [key for key in ("username", "password") if not self.secrets.get(key)]
        if missing:
            raise ConfigError(f"target {self.target.name!r}: credentials.{missing[0]} is required for engage")

    # --- auth ---------------------------------------------------------------------------
    def auth(self) -> httpx.Auth:
        """Stateless: the UsernameToken travels in every envelope (``_post``)."""
        return httpx.Auth()

    def holds_extension_only(self) -> bool:
        """A lead whose every phone needs an extension is held before chunking (connectors.base)."""
        return self.options.extensions == "hold"

    # --- payload ------------------------------------------------------------------------
    def item_size(self, lead: Lead) -> int:
        return len(ET.tostring(self.wire.contact(lead, "contact"), encoding="utf-8"))

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        sent, _ = self._plan(chunk)
        if not sent:
            return self._post(client, self.wire.batch_ref(chunk.batch_id))
        return self._post(client, self.wire.create(chunk.batch_id, sent))

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
        if self.options.extensions == "hold" and all(phone.ext for phone in lead.phones):
            return RowOutcome(lead.source_row, Status.INELIGIBLE, (Issue.EXTENSION_UNSUPPORTED,))
        size = len(self.wire.payload(lead).encode())
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

    def _post(self, client: httpx.AsyncClient, call: ET.Element) -> httpx.Request:
        body = envelope(call, [username_token(self.secrets["username"], self.secrets["password"])])
        return client.build_request(
            "POST",
            f"{self.target.base_url}{self.options.service_path}",
            content=body,
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": f'"{self.options.soap_action}"'},
        )

    # --- response -----------------------------------------------------------------------
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        sent, settled = self._plan(chunk)
        if not sent:
            return list(settled.values())
        reading = self._read(chunk.batch_id, sent, response)
        if reading.open:
            self._pending[chunk.batch_id] = reading
        return reading.done + [_unsettled(lead, chunk) for lead in reading.open] + list(settled.values())

    def _read(self, batch_id: str, sent: list[Lead], response: httpx.Response) -> _Reading:
        """Outcomes for the rows this answer settles, the leads to send again, and the batch
        Engage already holds (to compare in ``enrich``)."""
        reply = self.read_answer(response)
        if not isinstance(reply, Fault):
            vendor_id = text(reply, "return", "internalId")
            if vendor_id is None:
                raise self.unexpected(response, "createContactBatchResponse without the batch's internalId")
            accepted = [RowOutcome(x.source_row, Status.ACCEPTED, vendor_id=vendor_id) for x in sent]
            return _Reading(accepted, [])
        errors = read_errors(reply, self.options.error_templates)
        self._raise_for(reply, errors, response)
        if any(e.code == "OBJECT_EXISTS" and e.subject == batch_id for e in errors):
            others = [e for e in errors if e.subject != batch_id]
            known = _per_contact(others, sent) or {}
            done, exist = _row_outcomes(known)
            held = (batch_id, [lead for lead in sent if lead not in known])
            return _Reading(done, [], held, batch_id, tuple(exist))
        per_row = _per_contact(errors, sent)
        if per_row is None:
            said = self._say(reply, errors)
            raise FatalTargetError(
                f"{self.target.name}: Engage refused batch {batch_id} as a whole: {said}; "
                "check the target's campaign and options",
                target=self.target.name,
                request=response.request,
                reason=Issue.TARGET_MISCONFIGURED,
            )
        done, exist = _row_outcomes(per_row)
        return _Reading(done, [lead for lead in sent if lead not in per_row], None, batch_id, tuple(exist))

    def _raise_for(self, fault: Fault, errors: list[EngageError], response: httpx.Response) -> None:
        """Faults that settle no row: refused credentials, server trouble."""
        auth = self.options.auth_fault_codes
        if fault.code in auth or any(e.code in auth for e in errors):
            raise AuthenticationError(
                f"{self.target.name}: Engage refused the UsernameToken ({fault.faultcode}); "
                "check credentials.username/password",
                target=self.target.name,
                request=response.request,
            )
        if any(e.code == "INTERNAL_ERROR" for e in errors) or (
            fault.code == "Server" and not any(e.code for e in errors)
        ):
            raise TransientError(
                f"{self.target.name}: Engage server fault: {self._say(fault, errors)}",
                status_code=response.status_code,
                target=self.target.name,
                request=response.request,
            )

    def _say(self, fault: Fault, errors: list[EngageError]) -> str:
        said = "; ".join(f"{e.code}: {e.message}" for e in errors if e.code)
        said = said or f"{fault.faultcode} {fault.faultstring}"
        return truncate(redact(said, self.secrets.values()))

    async def enrich(
        self, client: httpx.AsyncClient, chunk: Chunk, outcomes: list[RowOutcome]
    ) -> list[RowOutcome]:
        """Settle what the answer left open: compare a batch Engage already held with what we
        sent, and send again (each time in a batch of their own) the contacts Engage did not
        store because others were refused or because the batch it held lacks them."""
        reading = self._pending.pop(chunk.batch_id, None)
        by_row = {o.source_row: o for o in outcomes}
        secrets = tuple(self.secrets.values())
        for _ in range(len(chunk.leads) + 2):
            if reading is None or not reading.open:
                break
            try:
                reading = await call_with_retries(
                    partial(self._settle, client, chunk.batch_id, reading),
                    self.target.retry,
                    what=f"{self.target.name}: batch {chunk.batch_id}",
                    secrets=secrets,
                )
            except (ConnectorError, httpx.HTTPError) as exc:
                message = redact(str(exc), secrets)
                log.warning("%s: settling the rest of batch %s failed: %s", self.target.name, chunk.batch_id,
                            message)  # fmt: skip
                break
            by_row.update((o.source_row, o) for o in reading.done)
        return list(by_row.values())

    async def _settle(self, client: httpx.AsyncClient, chunk_id: str, reading: _Reading) -> _Reading:
        """One step: compare the batch Engage holds (the leads it lacks go next, in a batch of
        their own), or send the leads left again under the refused request's externalId."""
        done = await self._compare_contacts(client, reading.contacts_exist)
        left, batch_id = list(reading.left), reading.batch_id
        if reading.existing is not None:
            held, leads = reading.existing
            compared, left = await self._compare(client, held, leads)
            done += compared
            batch_id = _sub_batch_id(chunk_id, left)
            if left and batch_id == held:
                done += [conflict(lead, f"Engage's batch {held} does not hold it") for lead in left]
                left = []
        if not left:
            return _Reading(done, [])
        response = await client.send(self._post(client, self.wire.create(batch_id, left)))
        self.classify(response)
        sent = self._read(batch_id, left, response)
        return sent._replace(done=done + sent.done)

    async def _ask(self, client: httpx.AsyncClient, call: ET.Element) -> ET.Element | str:
        """A lookup's answer, or the words of the Fault refusing it (auth and server trouble raise)."""
        response = await client.send(self._post(client, call))
        self.classify(response)
        reply = self.read_answer(response)
        if isinstance(reply, Fault):
            errors = read_errors(reply, self.options.error_templates)
            self._raise_for(reply, errors, response)
            return self._say(reply, errors)
        return reply

    async def _compare(
        self, client: httpx.AsyncClient, batch_id: str, leads: list[Lead]
    ) -> tuple[list[RowOutcome], list[Lead]]:
        return await compare_batch(partial(self._ask, client), self.wire, batch_id, leads)

    async def _compare_contacts(self, client: httpx.AsyncClient, leads: tuple[Lead, ...]) -> list[RowOutcome]:
        return await compare_contacts(partial(self._ask, client), self.wire, leads)

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        """After a crash: does Engage hold this chunk's batch? Compared contact by contact as a
        resend's ``OBJECT_EXISTS`` is; unsettled (None) when it holds none, or not all of them."""
        sent = [lead for lead in chunk.leads if self._precheck(lead) is None]
        response = await client.send(self._post(client, self.wire.batch_ref(chunk.batch_id)))
        self.classify(response)
        reply = self.read_answer(response)
        if isinstance(reply, Fault):
            self._raise_for(reply, read_errors(reply, self.options.error_templates), response)
            return None
        outcomes, absent = await self._compare(client, chunk.batch_id, sent)
        if absent:
            return None
        state = text(find(reply, "return"), "state")
        return [o._replace(vendor_status=state) if o.status is Status.ACCEPTED else o for o in outcomes]


def _sub_batch_id(chunk_id: str, leads: list[Lead]) -> str:
    """The externalId of a batch sent again for some of a chunk's leads: deterministic, so a
    resend of it is ``OBJECT_EXISTS`` too."""
    digest = hashlib.sha256("\n".join(lead.external_id for lead in leads).encode()).hexdigest()[:10]
    return f"{chunk_id}-{digest}"


def _per_contact(errors: list[EngageError], sent: list[Lead]) -> dict[Lead, list[EngageError]] | None:
    """Each error's contact (the one whose externalId filled the template's ``%s``), or None when
    any error is not about one contact of the envelope."""
    by_external_id = {lead.external_id: lead for lead in sent}
    found: dict[Lead, list[EngageError]] = {}
    for error in errors:
        lead = by_external_id.get(error.subject) if error.subject is not None else None
        if lead is None:
            return None
        found.setdefault(lead, []).append(error)
    return found or None


def _unsettled(lead: Lead, chunk: Chunk) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.FAILED,
        (Issue.TRANSPORT_FAILED,),
        vendor_message=f"Engage's answer for batch {chunk.batch_id} left this contact open (sent again or "
        "compared with what Engage holds) and that failed; the next run retries it",
    )


def _row_outcomes(per_row: dict[Lead, list[EngageError]]) -> tuple[list[RowOutcome], list[Lead]]:
    """Refused rows' outcomes, and the leads refused only as existing (to compare)."""
    exist = [lead for lead, errors in per_row.items() if all(e.code == "OBJECT_EXISTS" for e in errors)]
    return [_row_outcome(lead, errors) for lead, errors in per_row.items() if lead not in exist], exist


def _row_outcome(lead: Lead, errors: list[EngageError]) -> RowOutcome:
    return RowOutcome(
        lead.source_row,
        Status.VENDOR_REJECTED,
        (Issue.VENDOR_REJECTED,),
        vendor_status=",".join(dict.fromkeys(e.code for e in errors)),
        vendor_message=truncate("; ".join(e.message for e in errors)),
    )
