"""ONC Dynamic Notifications: one contact per AddCampaignContact call, over SOAP 1.1 as WCF speaks it.

Every guess the document (onc-dynamic-notifications-api.txt) leaves to us is one row of
``ASSUMPTIONS`` below, with the document's words or "not documented", and an ``options`` key of
the same name with that default: the wire (service path, namespaces, contract, SOAPAction,
result element, member order), the error code table, the contact Id semantics, the Destination
format and what an absent RetryCount means. The sandbox reads none of them; the tests change
each one on our side and watch the strict sandbox refuse or drop it.

Wire: document/literal operations in the service namespace, parameters qualified with it in the
signature's order (documented), data members in the data-contract namespace in the order
``member_order`` says; a quoted ``SOAPAction`` made from ``soap_action``.

Auth: ``OpenAPISession(accountId, username, password)`` answers a SessionId that every later
call carries *in its body* (``sessionId``), sliding 20 minutes (documented). ``OncAuth`` is a
``TokenAuth`` whose ``apply`` rebuilds the body with the current session id: each request carries
a rebuild callback in ``request.extensions[REBUILD]``. An answer with a ``session_error_codes``
code makes the flow log in once more and replay the call; ``close()`` sends ``CloseAPISession``.

Results: AddCampaignContact returns an int, "successfully (zero) or unsuccessfully (a number
different than zero)": nothing more is documented. Codes in ``campaign_error_codes`` stop the
target (TARGET_MISCONFIGURED: an unknown campaign is the target's setting); any other non-zero
code is that row's ``vendor_rejected``, unless ONC's own record says otherwise: ``enrich`` looks
our contact Id up in GetCampaignContactsListing and, when it is there, reads the record in
GetCampaignContacts. A record that matches what we send (the
destination on every CommInfo, our TextToSendOverwrite) is our earlier send: ``accepted``,
``VENDOR_DUPLICATE``. One that does not is somebody else's data under our Id (the source reused
an external id for another person, or another channel was configured before): ``vendor_rejected``
with ``VENDOR_ID_CONFLICT`` and a message naming ONC's record. So no "already exists" code is
guessed at all. Cost: a listing (and, when our Id is listed, a full contact read), shared as
``_Snapshot`` says: a file sent again costs one of each, a contact really refused one listing.

External id (``contact_id = "client"``): the document gives a contact no field for a client
reference, but the contact's ``Id`` (a Guid) is part of the contact we send. We send a Guid
derived from (campaign, external id) (``contact_guid``), so a resend is the same contact and a
crashed run is settled by looking for that Guid in the listing. With ``contact_id = "vendor"``
no Id is sent: ONC assigns one we never learn, so a resend may store a contact twice
(``refuses_known_ids`` False: such rows are marked ``POSSIBLY_DUPLICATED``).

Target keys: credentials ``username``, ``password`` (and ``account_id`` unless set in options);
``campaign`` is the campaign's Guid; options (``OncOptions``): ``channel`` (voice, sms or email:
which CommInfo carries the destination), ``message`` (TextToSendOverwrite), ``account_id``, and
every ``ASSUMPTIONS`` name.

Extensions: CommunicationInfo has one Destination and no extension, and the strict sandbox takes
digits only. A voice notification is unattended (TextToSpeak played to whoever answers), so a
switchboard would hear a message meant for someone else: with ``extensions = "hold"`` (default)
the destination is the lead's first phone without an extension, and a lead whose phones all have
one is held (``ineligible``, ``EXTENSION_UNSUPPORTED``); ``drop`` sends the first phone alone.
SMS and email destinations take no extension: the option concerns voice only.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.auth import TokenAuth
from connectors.base import Channel, Chunk, Lead, Limits, RowOutcome
from connectors.config import ConfigError, TargetConfig, load_options
from connectors.errors import AuthenticationError, FatalTargetError, TransientError, redact, truncate
from connectors.retry import call_with_retries
from connectors.soap import (
    CONTENT_TYPE,
    Fault,
    SoapConnector,
    SoapParseError,
    add,
    envelope,
    find,
    local_name,
    read_reply,
    text,
)
from schemas.codes import Issue, Status

__all__ = [
    "ASSUMPTIONS",
    "LIMITS",
    "REBUILD",
    "Assumption",
    "OncAuth",
    "OncConnector",
    "OncOptions",
    "contact_guid",
]


@dataclass(frozen=True, slots=True)
class Assumption:
    """One undocumented guess: the ``options`` key that overrides it, its default, and why."""

    name: str
    value: Any
    source: str
    """The document's words with their section, or "not documented: ..." and what we went by."""


ASSUMPTIONS: Mapping[str, Assumption] = MappingProxyType(
    {
        a.name: a
        for a in (
            Assumption(
                "service_path",
                "/DynamicNotificationsService.svc",
                "not documented: the document names no endpoint; a WCF service's <Name>.svc file",
            ),
            Assumption(
                "namespace",
                "http://tempuri.org/",
                "not documented: WCF's default service namespace when the contract names none",
            ),
            Assumption(
                "contract",
                "IDynamicNotificationsService",
                "not documented: the service contract's name, part of WCF's default SOAPAction",
            ),
            Assumption(
                "soap_action",
                "{namespace}{contract}/{operation}",
                "not documented: WCF's default Action for an operation",
            ),
            Assumption(
                "data_namespace",
                "http://schemas.datacontract.org/2004/07/DynamicNotifications",
                "not documented: DataContractSerializer's default http://schemas.datacontract.org/"
                "2004/07/<CLR namespace>; the CLR namespace 'DynamicNotifications' is a guess",
            ),
            Assumption(
                "member_order",
                "alphabetical",
                "not documented: the field tables list 'Id, CampaignId, SMSCommInfo, ...' "
                "(OutboundNotificationContactInfo) and 'Destination, TextToSendOverwrite, StatusCode, "
                "...' (CommInfo); DataContractSerializer reads members in ordinal alphabetical order "
                "unless an Order is given ('documented' sends the tables' order)",
            ),
            Assumption(
                "result_element",
                "{operation}Result",
                "not documented: 'The method returns an error code' (AddCampaignContact); WCF wraps "
                "a return value in <{operation}Response><{operation}Result>",
            ),
            Assumption(
                "session_error_codes",
                frozenset({2}),
                "not documented: 'A session will expire after 20 minutes of inactivity' "
                "(OpenAPISession Method) names no code; methods return 'a number different than "
                "zero' when unsuccessful",
            ),
            Assumption(
                "campaign_error_codes",
                frozenset({4}),
                "not documented: no code says a campaign is unknown; only GetCampaign 'returns "
                "null if the specified campaign ID is not valid' (Retrieving a campaign)",
            ),
            Assumption(
                "contact_id",
                "client",
                "not documented: Id is 'ID of the contact' (OutboundNotificationContactInfo) and "
                "part of the contact AddCampaignContact takes; its Notes name StatusCode and "
                "LastDeliveryError as ignored on add, not Id. 'client': we send a Guid of our own "
                "and rely on ONC keeping it and refusing a second contact with it; 'vendor': none",
            ),
            Assumption(
                "destination_format",
                "e164",
                "not documented: 'Destination (phone number or email address) to be contacted' "
                "(CommunicationInfo); 'e164' sends +<digits>, 'digits' the same without '+'",
            ),
            Assumption(
                "extensions",
                "hold",
                "not documented: CommunicationInfo has only 'Destination (phone number or email "
                "address)'; a voice notification plays to whoever answers, so 'hold' calls only a "
                "phone without an extension (none: the lead is held), 'drop' the first phone alone",
            ),
            Assumption(
                "retry_count",
                None,
                "not documented: RetryCount is 'Number of attempts left (value must be between "
                "0...255)' (CommunicationInfo), but not what an absent one means (an int member "
                "absent is 0 for DataContractSerializer); None sends none",
            ),
        )
    }
)
"""Every guess of this connector about ONC, each overridable per target in ``options``."""


T = TypeVar("T")


def _default(name: str) -> Any:
    return ASSUMPTIONS[name].value


LIMITS = Limits(max_items=1, default_concurrency=8, max_answer_bytes=64 * 1024 * 1024)
"""One contact per call: concurrency is the only lever. Answers may be large: the reconcile after a
crash reads GetCampaignContactsListing, one Guid (~100 bytes of XML) per contact of the campaign."""
REBUILD = "leadflow.rebuild_body"
"""``request.extensions`` key: ``Callable[[str], bytes]``, the body for a given session id."""
_GUID_NAMESPACE = uuid.UUID("0b6f3d52-8a51-4c8e-9a3c-2f1e6c0d7a41")
_COMM_INFO = {Channel.VOICE: "VoiceCommInfo", Channel.SMS: "SMSCommInfo", Channel.EMAIL: "EmailCommInfo"}
_DOCUMENTED_ORDER = {
    "contact": ("Id", "CampaignId", "SMSCommInfo", "VoiceCommInfo", "EmailCommInfo"),
    "comm": ("Destination", "TextToSendOverwrite", "StatusCode", "LastDeliveryErrorCode", "RetryCount"),
}
"""The field tables' order in the document, for ``member_order = "documented"``."""
_CONFLICT = Issue.VENDOR_ID_CONFLICT.value


def _absolute_uri(value: str) -> str:
    if "://" not in value and not value.startswith("urn:"):
        raise ValueError("must be an absolute URI (http://... or urn:...)")
    return value


class OncOptions(BaseModel):
    """``options`` of an ``onc`` target: the channel and message, and every ``ASSUMPTIONS`` key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["voice", "sms", "email"] = "voice"
    message: str | None = None
    """TextToSendOverwrite; None sends none, so the campaign's text is used."""
    account_id: str | None = None
    """OpenAPISession's accountId, unless given as credentials.account_id."""
    retry_count: int | None = Field(_default("retry_count"), ge=0, le=255)
    """RetryCount ("attempts left", 0...255); None sends none."""
    namespace: str = _default("namespace")
    contract: str = Field(_default("contract"), min_length=1)
    data_namespace: str = _default("data_namespace")
    soap_action: str = _default("soap_action")
    service_path: str = Field(_default("service_path"), pattern=r"^/")
    result_element: str = _default("result_element")
    member_order: Literal["alphabetical", "documented"] = _default("member_order")
    session_error_codes: frozenset[int] = _default("session_error_codes")
    campaign_error_codes: frozenset[int] = _default("campaign_error_codes")
    """Codes that say the campaign itself is wrong: they stop the target instead of failing rows."""
    contact_id: Literal["client", "vendor"] = _default("contact_id")
    destination_format: Literal["e164", "digits"] = _default("destination_format")
    extensions: Literal["hold", "drop"] = _default("extensions")
    """Voice: call only phones without an extension (``hold``), or the first phone alone (``drop``)."""

    @field_validator("namespace", "data_namespace")
    @classmethod
    def _uri(cls, value: str) -> str:
        return _absolute_uri(value)

    @field_validator("soap_action")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            value.format(namespace="", contract="", operation="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may use only {namespace}, {contract} and {operation}") from exc
        return value

    @field_validator("result_element")
    @classmethod
    def _names_the_operation(cls, value: str) -> str:
        try:
            named = value.format(operation="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may use only {operation}") from exc
        if "{operation}" not in value or not named.replace("_", "").isalnum():
            raise ValueError("must contain {operation} and make an XML name, e.g. {operation}Result")
        return value

    @field_validator("session_error_codes", "campaign_error_codes")
    @classmethod
    def _non_zero(cls, value: frozenset[int]) -> frozenset[int]:
        if 0 in value:
            raise ValueError("0 is success (documented) and cannot be an error code")
        return value

    @model_validator(mode="after")
    def _disjoint_codes(self) -> OncOptions:
        both = self.session_error_codes & self.campaign_error_codes
        if both:
            raise ValueError(f"codes {sorted(both)} cannot mean both session and campaign errors")
        return self


def contact_guid(campaign: str, external_id: str) -> str:
    """The contact Id we give ONC for a lead: stable across runs, distinct per campaign."""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{campaign.lower()}\x1f{external_id}"))


class _Snapshot(Generic[T]):
    """One vendor read shared by the callers it can answer. A read that already shows what a
    caller looks for (our contact's Id) answers it whenever it was taken: a contact ONC held then
    it holds now. A caller it does not answer needs a read started after ``since`` (the moment
    its own send was answered: ONC may have stored the contact since), and one such read serves
    every caller waiting. A whole file sent again with ``--resend`` costs one listing, not one per
    contact; a contact ONC really refused costs one at most."""

    def __init__(self, read: Callable[[httpx.AsyncClient], Awaitable[T]]) -> None:
        self._read = read
        self._lock = asyncio.Lock()
        self._taken: tuple[float, T] | None = None

    async def get(self, client: httpx.AsyncClient, since: float, answers: Callable[[T], bool]) -> T:
        async with self._lock:
            taken = self._taken
            if taken is not None and (taken[0] >= since or answers(taken[1])):
                return taken[1]
            started = time.monotonic()
            value = await self._read(client)
            self._taken = (started, value)
            return value


class _Wire:
    """Envelopes for one target: operation names in, request bodies out."""

    def __init__(self, target: TargetConfig, options: OncOptions) -> None:
        self.url = f"{target.base_url}{options.service_path}"
        self.options = options

    def call(self, operation: str) -> ET.Element:
        return ET.Element(f"{{{self.options.namespace}}}{operation}")

    def param(self, call: ET.Element, name: str, value: object = None) -> ET.Element:
        return add(call, f"{{{self.options.namespace}}}{name}", value)

    def member(self, parent: ET.Element, name: str, value: object = None) -> ET.Element:
        return add(parent, f"{{{self.options.data_namespace}}}{name}", value)

    def members(
        self, parent: ET.Element, kind: Literal["contact", "comm"], values: Mapping[str, object]
    ) -> None:
        """Append data members in ``member_order``; a callable value fills a nested member."""
        if self.options.member_order == "alphabetical":
            names = sorted(values)  # ordinal, as DataContractSerializer sorts
        else:
            names = [name for name in _DOCUMENTED_ORDER[kind] if name in values]
        for name in names:
            value = values[name]
            if callable(value):
                value(self.member(parent, name))
            else:
                self.member(parent, name, value)

    def result_name(self, operation: str) -> str:
        return self.options.result_element.format(operation=operation)

    def request(self, call: ET.Element, rebuild: Callable[[str], bytes] | None = None) -> httpx.Request:
        operation = call.tag.rpartition("}")[2]
        action = self.options.soap_action.format(
            namespace=self.options.namespace, contract=self.options.contract, operation=operation
        )
        return httpx.Request(
            "POST",
            self.url,
            content=envelope(call) if rebuild is None else rebuild(""),
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": f'"{action}"'},
            extensions={} if rebuild is None else {REBUILD: rebuild},
        )

    def session_call(self, operation: str, **params: str) -> httpx.Request:
        """A call whose first parameter is ``sessionId``, filled in by ``OncAuth.apply``."""

        def rebuild(session_id: str) -> bytes:
            call = self.call(operation)
            self.param(call, "sessionId", session_id)
            for name, value in params.items():
                self.param(call, name, value)
            return envelope(call)

        return self.request(self.call(operation), rebuild)


_SERVER_FAULTS = frozenset({"Server", "Receiver", "InternalServiceFault"})
"""Fault codes that blame the service, not the request: worth another try. Not documented (the
document speaks of error codes only); SOAP 1.1's ``Server``, SOAP 1.2's ``Receiver``, and WCF's
``a:InternalServiceFault`` (an unhandled exception in the service, a Receiver fault in SOAP 1.2).
Every other fault (``Client``/``Sender``, WCF's ``ActionNotSupported`` and
``DeserializationFailed``, ``VersionMismatch``, ``MustUnderstand``) refuses what we send as we send
it: the same request meets the same answer, so the target stops as ``TARGET_MISCONFIGURED``."""


def _is_server_fault(fault: Fault) -> bool:
    """Whether ``fault`` blames the service (retry) rather than our request (stop the target)."""
    return fault.code in _SERVER_FAULTS


class OncAuth(TokenAuth):
    """OpenAPISession -> SessionId, put into each body; a new session when ONC says it is invalid."""

    def __init__(self, wire: _Wire, credentials: tuple[str, str, str], target: str) -> None:
        super().__init__()
        self._wire = wire
        self._credentials = credentials
        self._target = target

    def login_request(self) -> httpx.Request:
        call = self._wire.call("OpenAPISession")
        for name, value in zip(("accountId", "username", "password"), self._credentials, strict=True):
            self._wire.param(call, name, value)
        return self._wire.request(call)

    def parse_login(self, response: httpx.Response) -> str:
        if response.status_code == 429 or (response.status_code >= 500 and not _has_envelope(response)):
            raise TransientError(
                f"{self._target}: OpenAPISession answered HTTP {response.status_code}",
                status_code=response.status_code,
                target=self._target,
                request=response.request,
            )
        try:
            reply = read_reply(response.content)
        except SoapParseError as exc:
            raise FatalTargetError(
                f"{self._target}: OpenAPISession answer unreadable ({exc}): {truncate(response.text)}",
                target=self._target,
                request=response.request,
                reason=Issue.VENDOR_ANSWER_INVALID,
            ) from None
        if isinstance(reply, Fault):
            said = f"{reply.faultcode}: {truncate(redact(reply.faultstring, self._credentials))}"
            if _is_server_fault(reply):
                raise TransientError(
                    f"{self._target}: OpenAPISession server fault {said}",
                    status_code=response.status_code,
                    target=self._target,
                    request=response.request,
                )
            raise FatalTargetError(
                f"{self._target}: OpenAPISession fault {said}; "
                "check the target's namespace/soap_action/service_path options",
                target=self._target,
                request=response.request,
                reason=Issue.TARGET_MISCONFIGURED,
            )
        result = self._wire.result_name("OpenAPISession")
        if find(reply, result) is None:
            raise FatalTargetError(
                f"{self._target}: OpenAPISession answered no <{result}> (it has "
                f"{', '.join(local_name(c.tag) for c in reply) or 'nothing'}); "
                "check the target's result_element option",
                target=self._target,
                request=response.request,
                reason=Issue.VENDOR_ANSWER_INVALID,
            )
        code, description = text(reply, result, "ErrorCode"), text(reply, result, "Description")
        session = text(reply, result, "SessionId")
        if code != "0" or not session:
            said = redact(description or "no description", self._credentials)
            raise AuthenticationError(
                f"{self._target}: ONC refused the login (ErrorCode {code}: {truncate(said)}); "
                "check credentials.username/password and the account id",
                target=self._target,
                request=response.request,
            )
        return session

    def apply(self, request: httpx.Request, token: str) -> httpx.Request:
        rebuild: Callable[[str], bytes] | None = request.extensions.get(REBUILD)
        if rebuild is None:
            return request
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=rebuild(token),
            extensions=request.extensions,
        )

    def is_expired(self, response: httpx.Response) -> bool:
        if response.status_code == 401:
            return True
        try:
            reply = read_reply(response.content)
        except SoapParseError:
            return False
        return not isinstance(reply, Fault) and _session_refused(reply, self._wire.options)


@dataclass
class OncConnector(SoapConnector):
    """``kind = "onc"``: AddCampaignContact for each lead, on the channel the options name."""

    kind = "onc"
    channel = Channel.VOICE
    LIMITS = LIMITS
    refuses_known_ids = True  # the contact's Guid comes from its external id: a resend is refused

    options: OncOptions = field(init=False, repr=False)
    _wire: _Wire = field(init=False, repr=False)
    _auth: OncAuth | None = field(init=False, repr=False, default=None)
    _listing: _Snapshot[set[str] | None] = field(init=False, repr=False)
    _contacts: _Snapshot[dict[str, ET.Element] | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.options = load_options(self.target, OncOptions)
        try:
            uuid.UUID(self.target.campaign)
        except ValueError:
            raise ConfigError(
                f"target {self.target.name!r}: campaign must be the ONC campaign's Guid"
            ) from None
        missing = [key for key in ("username", "password") if not self.secrets.get(key)]
        if not (self.options.account_id or self.secrets.get("account_id")):
            missing.append("account_id")
        if missing:
            raise ConfigError(
                f"target {self.target.name!r}: credentials.{missing[0]} is required for onc"
                + (" (or options.account_id)" if missing[0] == "account_id" else "")
            )
        self._wire = _Wire(self.target, self.options)
        self._listing = _Snapshot(self._read_listing)
        self._contacts = _Snapshot(self._read_contacts)
        # per target here, not per class: these shadow the class defaults
        self.__dict__["channel"] = Channel(self.options.channel)
        self.__dict__["refuses_known_ids"] = self.options.contact_id == "client"

    # --- auth ---------------------------------------------------------------------------
    def auth(self) -> httpx.Auth:
        account = self.options.account_id or self.secrets["account_id"]
        credentials = (account, self.secrets["username"], self.secrets["password"])
        self._auth = OncAuth(self._wire, credentials, self.target.name)
        return self._auth

    async def close(self, client: httpx.AsyncClient) -> None:
        """CloseAPISession, as the document recommends, when a session was opened (once; the
        session retries a transient failure and then forgets the token, connectors.base)."""
        auth = self._auth
        if auth is None or auth.token is None:
            return
        request = self._wire.session_call("CloseAPISession")
        request = auth.apply(request, auth.token)
        response = await client.send(request, auth=None)
        self.check_logout(response, "CloseAPISession")

    def holds_extension_only(self) -> bool:
        """A lead whose every phone needs an extension is held before chunking (connectors.base)."""
        return self.channel is Channel.VOICE and self.options.extensions == "hold"

    # --- payload ------------------------------------------------------------------------
    def destination(self, lead: Lead) -> str | None:
        """What the channel's CommInfo gets: the first phone (voice, SMS) or the email; for voice
        with ``extensions = "hold"`` the first phone without an extension."""
        if self.channel is Channel.EMAIL:
            return lead.email or None
        phones = lead.phones
        if self.channel is Channel.VOICE and self.options.extensions == "hold":
            phones = tuple(p for p in phones if not p.ext)
        if not phones:
            return None
        phone = phones[0].e164
        return phone.lstrip("+") if self.options.destination_format == "digits" else phone

    def guid(self, lead: Lead) -> str | None:
        """The contact Id we send for ``lead``; None when ONC assigns it (``contact_id = "vendor"``)."""
        if self.options.contact_id != "client":
            return None
        return contact_guid(self.target.campaign, lead.external_id)

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        lead = self._one(chunk)
        destination = self.destination(lead)
        if destination is None:
            return self._wire.session_call("GetCampaign", campaignId=self.target.campaign)
        wire = self._wire
        guid = self.guid(lead)

        def comm_info(info: ET.Element) -> None:
            values: dict[str, object] = {"Destination": destination}
            if self.options.retry_count is not None:
                values["RetryCount"] = self.options.retry_count
            if self.options.message is not None:
                values["TextToSendOverwrite"] = self.options.message
            wire.members(info, "comm", values)

        def rebuild(session_id: str) -> bytes:
            call = wire.call("AddCampaignContact")
            wire.param(call, "sessionId", session_id)
            members: dict[str, object] = {
                "CampaignId": self.target.campaign,
                _COMM_INFO[self.channel]: comm_info,
            }
            if guid is not None:
                members["Id"] = guid
            wire.members(wire.param(call, "contact"), "contact", members)
            return envelope(call)

        return wire.request(wire.call("AddCampaignContact"), rebuild)

    def _one(self, chunk: Chunk) -> Lead:
        if len(chunk) != 1:
            raise FatalTargetError(
                f"{self.target.name}: ONC takes one contact per call, got a chunk of {len(chunk)}",
                target=self.target.name,
                reason=Issue.TARGET_MISCONFIGURED,
            )
        return chunk.leads[0]

    # --- response -----------------------------------------------------------------------
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        lead = self._one(chunk)
        if self.destination(lead) is None:
            reason = Issue.NEEDS_EMAIL if self.channel is Channel.EMAIL else Issue.NEEDS_PHONE
            if self.channel is Channel.VOICE and lead.phones:
                reason = Issue.EXTENSION_UNSUPPORTED
            return [RowOutcome(lead.source_row, Status.INELIGIBLE, (reason,))]
        reply = self._reply(response)
        raw = text(reply, self._wire.result_name("AddCampaignContact"))
        try:
            code = int(raw or "")
        except ValueError:
            raise self.unexpected(
                response,
                f"no integer {self._wire.result_name('AddCampaignContact')} (options.result_element)",
            ) from None
        options = self.options
        if code == 0:
            return [
                RowOutcome(lead.source_row, Status.ACCEPTED, vendor_id=self.guid(lead), vendor_status="0")
            ]
        if code in options.session_error_codes:
            raise TransientError(
                f"{self.target.name}: ONC refused the session again after a new login (code {code})",
                target=self.target.name,
                request=response.request,
            )
        if code in options.campaign_error_codes:
            raise FatalTargetError(
                f"{self.target.name}: ONC says campaign {self.target.campaign} is unknown (code {code}); "
                "check the target's campaign Guid (and options.campaign_error_codes)",
                target=self.target.name,
                request=response.request,
                reason=Issue.TARGET_MISCONFIGURED,
            )
        message = f"AddCampaignContact returned error code {code}"
        return [
            RowOutcome(
                lead.source_row, Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,), None, str(code), message
            )
        ]

    def _reply(self, response: httpx.Response) -> ET.Element:
        reply = self.read_answer(response)
        if not isinstance(reply, Fault):
            return reply
        said = truncate(redact(f"{reply.faultcode}: {reply.faultstring}", self.secrets.values()))
        if _is_server_fault(reply):
            raise TransientError(
                f"{self.target.name}: ONC server fault {said}",
                status_code=response.status_code,
                target=self.target.name,
                request=response.request,
            )
        raise FatalTargetError(
            f"{self.target.name}: ONC refused the call ({said}); check the target's namespace, "
            "contract, soap_action, service_path, data_namespace, member_order and message options",
            target=self.target.name,
            request=response.request,
            reason=Issue.TARGET_MISCONFIGURED,
        )

    # --- honest duplicates ----------------------------------------------------------------
    async def enrich(
        self, client: httpx.AsyncClient, chunk: Chunk, outcomes: list[RowOutcome]
    ) -> list[RowOutcome]:
        """A refused contact whose Id ONC holds: ours when ONC's record matches what we send
        (``VENDOR_DUPLICATE``, accepted), else ``VENDOR_ID_CONFLICT``. Best effort: a lookup that
        fails (after the target's retries: the answer to the send may have been lost on the same
        path) leaves the refusal as it was, saying so."""
        (outcome,) = outcomes
        lead = chunk.leads[0]
        guid = self.guid(lead)
        if outcome.status is not Status.VENDOR_REJECTED or guid is None:
            return outcomes

        answered = time.monotonic()

        async def look_up() -> ET.Element | None:
            listed = await self._listing.get(client, answered, _holding(guid))
            if listed is None or guid not in listed:
                return None
            contacts = await self._contacts.get(client, answered, _holding(guid))
            return None if contacts is None else contacts.get(guid)

        try:
            record = await call_with_retries(
                look_up,
                self.target.retry,
                what=f"{self.target.name}: look up ONC contact {guid}",
                secrets=self.secrets.values(),
            )
        except Exception as exc:  # enrich must not raise: the refusal stands, with why
            said = truncate(redact(str(exc), self.secrets.values()), 200)
            return [outcome._replace(vendor_message=f"{outcome.vendor_message}; ONC's record unread: {said}")]
        if record is None:
            return outcomes
        return [self._judge(lead, guid, record, outcome.vendor_status)]

    def _judge(self, lead: Lead, guid: str, record: ET.Element, code: str | None) -> RowOutcome:
        """Our earlier send, or somebody else's data under our Id."""
        ours = self._sent_record(lead)
        differences = [
            f"{name} '{theirs}' (we send '{mine}')"
            for name, mine in ours.items()
            if (theirs := _stored_value(record, name)) != mine
        ]
        if not differences:
            said = f"ONC already holds contact {guid} as we send it: our earlier send"
            return RowOutcome(lead.source_row, Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,), guid, code, said)
        said = f"ONC contact {guid} already exists with other data: " + "; ".join(differences)
        return RowOutcome(lead.source_row, Status.VENDOR_REJECTED, (_CONFLICT,), None, code, said)

    def _sent_record(self, lead: Lead) -> dict[str, str]:
        """What ONC stores of our contact: the channel's Destination and TextToSendOverwrite, and
        no destination on the other CommInfos."""
        ours = {f"{info}/Destination": "" for info in _COMM_INFO.values()}
        info = _COMM_INFO[self.channel]
        ours[f"{info}/Destination"] = _comparable(self.destination(lead) or "")
        ours[f"{info}/TextToSendOverwrite"] = _comparable(self.options.message or "")
        return ours

    async def _read_listing(self, client: httpx.AsyncClient) -> set[str] | None:
        """Contact Ids of the campaign (GetCampaignContactsListing), None when ONC answers null."""
        request = self._wire.session_call("GetCampaignContactsListing", campaignId=self.target.campaign)
        response = await client.send(request)
        self.classify(response)
        listing = find_result(self._reply(response), self._wire.result_name("GetCampaignContactsListing"))
        return None if listing is None else {(node.text or "").strip().lower() for node in listing}

    async def _read_contacts(self, client: httpx.AsyncClient) -> dict[str, ET.Element] | None:
        """ONC's stored contacts by Id (GetCampaignContacts), None when ONC answers null."""
        request = self._wire.session_call("GetCampaignContacts", campaignId=self.target.campaign)
        response = await client.send(request)
        self.classify(response)
        contacts = find_result(self._reply(response), self._wire.result_name("GetCampaignContacts"))
        if contacts is None:
            return None
        return {(text(c, "Id") or "").lower(): c for c in contacts}

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        """GetCampaignContactsListing: a lead whose contact Guid is listed was delivered, if ONC's
        record matches what we send (else ``VENDOR_ID_CONFLICT``); one that is not (or a listing
        ONC would not give) is sent again under the same Guid. A lead of the crashed run that is
        not in this run's input (no data to compare) counts as delivered by its Guid alone."""
        if self.options.contact_id != "client":
            return None
        now = time.monotonic()
        guids = {contact_guid(self.target.campaign, lead.external_id) for lead in chunk.leads}
        listed = await self._listing.get(client, now, _holding(*guids))
        if listed is None:
            return None
        found = []
        for lead in chunk.leads:
            guid = contact_guid(self.target.campaign, lead.external_id)
            if guid not in listed:
                continue
            record = None
            if lead.source_row >= 0:
                contacts = await self._contacts.get(client, now, _holding(guid))
                record = None if contacts is None else contacts.get(guid)
            if record is None:
                message = "contact found in the campaign after a crash"
                found.append(
                    RowOutcome(
                        lead.source_row, Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,), guid, None, message
                    )
                )
            else:
                found.append(self._judge(lead, guid, record, None))
        return found or None


def _holding(*guids: str) -> Callable[[Collection[str] | None], bool]:
    """Does a snapshot (Ids, or records by Id) hold all of ``guids``?"""
    return lambda held: held is not None and all(guid in held for guid in guids)


def _stored_value(record: ET.Element, path: str) -> str:
    """``CommInfo/Member`` of ONC's record as text; absent or nil is ``""``."""
    return _comparable(text(record, *path.split("/")) or "")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What connectors.soap.add drops from a value: XML 1.0 cannot carry it."""


def _comparable(value: str) -> str:
    """A value as it survives the round trip through ONC: characters XML cannot carry dropped,
    line ends and runs of whitespace made one space, ends stripped (XML parsers normalize line
    ends; a service may trim). Whitespace alone never makes another person's data."""
    return " ".join(_NOT_XML.sub("", value).split())


def find_result(reply: ET.Element, name: str) -> ET.Element | None:
    """The operation's ``...Result`` element, or None when absent or nil (ONC's "error")."""
    result = next((c for c in reply if c.tag.rpartition("}")[2] == name), None)
    return None if result is None or text(result) is None else result


def _session_refused(reply: ET.Element, options: OncOptions) -> bool:
    """Does this answer say the session is invalid? An int result (or an ErrorCode member) in
    the session codes, or the nil result a Get* operation gives for any error."""
    result = next(iter(reply), None)
    if result is None:
        return False
    if text(result) is None:
        return result.tag.rpartition("}")[2].startswith("Get")
    raw = text(result, "ErrorCode") if len(result) else text(result)
    try:
        return int(raw or "") in options.session_error_codes
    except ValueError:
        return False


def _has_envelope(response: httpx.Response) -> bool:
    try:
        read_reply(response.content)
    except SoapParseError:
        return False
    return True
