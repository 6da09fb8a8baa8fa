"""ONC Dynamic Notifications: one contact per AddCampaignContact call, over SOAP 1.1 as WCF speaks it.

Wire (onc-dynamic-notifications-api.txt, DESIGN.md): document/literal operations in the service
namespace (default ``http://tempuri.org/``), parameters qualified with it, data members in a
DataContract namespace and, as DataContractSerializer requires, in alphabetical order; a quoted
``SOAPAction`` of ``{namespace}{contract}/{operation}``. All of these are options.

Auth: ``OpenAPISession(accountId, username, password)`` answers a SessionId that every later
call carries *in its body* (``sessionId``), sliding 20 minutes. ``OncAuth`` is a ``TokenAuth``
whose ``apply`` rebuilds the body with the current session id: each request carries a rebuild
callback in ``request.extensions[REBUILD]``. An answer saying the session is invalid makes the
flow log in once more and replay the call; ``close()`` sends ``CloseAPISession``.

Results: AddCampaignContact returns an int, ``0 = success``. The document lists no other values,
so which codes mean "session invalid", "already exists" and "campaign unknown" are options whose
defaults are the values the sandbox uses (2, 6, 4); any other non-zero code is that row's
``vendor_rejected`` with the code in ``vendor_status``.

External id: the document gives a contact no field for a client reference, but the contact's
``Id`` (a Guid) is part of the contact we send. We send a Guid derived from (campaign, external
id) (``contact_guid``), so a resend is the same contact ("already exists" counts as accepted) and
a crashed run is settled by looking for that Guid in ``GetCampaignContactsListing``. That a
client-chosen ``Id`` is kept is an assumption the document neither states nor excludes.

Target keys: credentials ``username``, ``password`` (and ``account_id`` unless set in options);
``campaign`` is the campaign's Guid; options (``OncOptions``): ``channel`` (voice, sms or email:
which CommInfo carries the destination), ``message`` (TextToSendOverwrite), ``retry_count``,
``account_id``, the wire names and the error code sets.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.auth import TokenAuth
from connectors.base import Channel, Chunk, Lead, Limits, RowOutcome
from connectors.config import ConfigError, TargetConfig, load_options
from connectors.errors import AuthenticationError, FatalTargetError, TransientError, redact, truncate
from connectors.soap import (
    CONTENT_TYPE,
    Fault,
    SoapConnector,
    SoapParseError,
    add,
    envelope,
    read_reply,
    text,
)
from schemas.codes import Issue, Status

__all__ = ["LIMITS", "REBUILD", "OncAuth", "OncConnector", "OncOptions", "contact_guid"]

LIMITS = Limits(max_items=1, default_concurrency=8, max_answer_bytes=64 * 1024 * 1024)
"""One contact per call: concurrency is the only lever. Answers may be large: the reconcile after a
crash reads GetCampaignContactsListing, one Guid (~100 bytes of XML) per contact of the campaign."""
REBUILD = "leadflow.rebuild_body"
"""``request.extensions`` key: ``Callable[[str], bytes]``, the body for a given session id."""
_GUID_NAMESPACE = uuid.UUID("0b6f3d52-8a51-4c8e-9a3c-2f1e6c0d7a41")
_COMM_INFO = {Channel.VOICE: "VoiceCommInfo", Channel.SMS: "SMSCommInfo", Channel.EMAIL: "EmailCommInfo"}


class OncOptions(BaseModel):
    """``options`` of an ``onc`` target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["voice", "sms", "email"] = "voice"
    message: str | None = None
    """TextToSendOverwrite; None sends none, so the campaign's text is used."""
    retry_count: int | None = Field(None, ge=0, le=255)
    """RetryCount ("attempts left", 0...255); None leaves it to the vendor."""
    account_id: str | None = None
    """OpenAPISession's accountId, unless given as credentials.account_id."""
    namespace: str = "http://tempuri.org/"
    contract: str = "IDynamicNotificationsService"
    data_namespace: str = "http://schemas.datacontract.org/2004/07/DynamicNotifications"
    soap_action: str = "{namespace}{contract}/{operation}"
    service_path: str = "/DynamicNotificationsService.svc"
    session_error_codes: frozenset[int] = frozenset({2})
    duplicate_codes: frozenset[int] = frozenset({6})
    campaign_error_codes: frozenset[int] = frozenset({4})
    """Codes that say the campaign itself is wrong: they stop the target instead of failing rows."""

    @field_validator("soap_action")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            value.format(namespace="", contract="", operation="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may use only {namespace}, {contract} and {operation}") from exc
        return value


def contact_guid(campaign: str, external_id: str) -> str:
    """The contact Id we give ONC for a lead: stable across runs, distinct per campaign."""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{campaign.lower()}\x1f{external_id}"))


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
            ) from None
        if isinstance(reply, Fault):
            raise FatalTargetError(
                f"{self._target}: OpenAPISession fault {reply.faultcode}: {truncate(reply.faultstring)}; "
                "check the target's namespace/soap_action/service_path options",
                target=self._target,
                request=response.request,
            )
        code, description = (
            text(reply, "OpenAPISessionResult", "ErrorCode"),
            text(reply, "OpenAPISessionResult", "Description"),
        )
        session = text(reply, "OpenAPISessionResult", "SessionId")
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
    refuses_known_ids = True  # the contact's Guid comes from its external id: ALREADY_EXISTS

    options: OncOptions = field(init=False, repr=False)
    _wire: _Wire = field(init=False, repr=False)
    _auth: OncAuth | None = field(init=False, repr=False, default=None)

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
        # the channel is per target here, not per class: it shadows the class default
        self.__dict__["channel"] = Channel(self.options.channel)

    # --- auth ---------------------------------------------------------------------------
    def auth(self) -> httpx.Auth:
        account = self.options.account_id or self.secrets["account_id"]
        credentials = (account, self.secrets["username"], self.secrets["password"])
        self._auth = OncAuth(self._wire, credentials, self.target.name)
        return self._auth

    async def close(self, client: httpx.AsyncClient) -> None:
        """CloseAPISession, as the document recommends, when a session was opened."""
        auth = self._auth
        if auth is None or auth.token is None:
            return
        request = self._wire.session_call("CloseAPISession")
        request = auth.apply(request, auth.token)
        auth.forget()
        response = await client.send(request, auth=None)
        self.classify(response)

    # --- payload ------------------------------------------------------------------------
    def destination(self, lead: Lead) -> str | None:
        """What the channel's CommInfo gets: the first phone (voice, SMS) or the email."""
        if self.channel is Channel.EMAIL:
            return lead.email or None
        return lead.phones[0].e164 if lead.phones else None

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        lead = self._one(chunk)
        destination = self.destination(lead)
        if destination is None:
            return self._wire.session_call("GetCampaign", campaignId=self.target.campaign)
        wire = self._wire
        guid = contact_guid(self.target.campaign, lead.external_id)

        def rebuild(session_id: str) -> bytes:
            call = wire.call("AddCampaignContact")
            wire.param(call, "sessionId", session_id)
            contact = wire.param(call, "contact")
            wire.member(contact, "CampaignId", self.target.campaign)
            comm_info = _COMM_INFO[self.channel]
            if comm_info == "EmailCommInfo":
                self._comm_info(contact, comm_info, destination)
            wire.member(contact, "Id", guid)
            if comm_info != "EmailCommInfo":
                self._comm_info(contact, comm_info, destination)
            return envelope(call)

        return wire.request(wire.call("AddCampaignContact"), rebuild)

    def _comm_info(self, contact: ET.Element, name: str, destination: str) -> None:
        info = self._wire.member(contact, name)
        self._wire.member(info, "Destination", destination)
        if self.options.retry_count is not None:
            self._wire.member(info, "RetryCount", self.options.retry_count)
        if self.options.message is not None:
            self._wire.member(info, "TextToSendOverwrite", self.options.message)

    def _one(self, chunk: Chunk) -> Lead:
        if len(chunk) != 1:
            raise FatalTargetError(
                f"{self.target.name}: ONC takes one contact per call, got a chunk of {len(chunk)}",
                target=self.target.name,
            )
        return chunk.leads[0]

    # --- response -----------------------------------------------------------------------
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        lead = self._one(chunk)
        if self.destination(lead) is None:
            reason = Issue.NEEDS_EMAIL if self.channel is Channel.EMAIL else Issue.NEEDS_PHONE
            return [RowOutcome(lead.source_row, Status.INELIGIBLE, (reason,))]
        reply = self._reply(response)
        raw = text(reply, "AddCampaignContactResult")
        try:
            code = int(raw or "")
        except ValueError:
            raise self.unexpected(response, "AddCampaignContactResult is not an integer") from None
        guid = contact_guid(self.target.campaign, lead.external_id)
        options = self.options
        if code == 0:
            return [RowOutcome(lead.source_row, Status.ACCEPTED, vendor_id=guid, vendor_status="0")]
        if code in options.duplicate_codes:
            message = "ONC already has a contact with this Id"
            return [
                RowOutcome(
                    lead.source_row, Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,), guid, str(code), message
                )
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
                "check the target's campaign Guid",
                target=self.target.name,
                request=response.request,
                reason=Issue.VENDOR_REJECTED,
            )
        message = f"AddCampaignContact returned error code {code}"
        return [
            RowOutcome(
                lead.source_row, Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,), None, str(code), message
            )
        ]

    def _reply(self, response: httpx.Response) -> ET.Element:
        try:
            reply = read_reply(response.content)
        except SoapParseError as exc:
            raise self.unexpected(response, str(exc)) from None
        if not isinstance(reply, Fault):
            return reply
        said = truncate(redact(f"{reply.faultcode}: {reply.faultstring}", self.secrets.values()))
        if reply.code == "Server":
            raise TransientError(
                f"{self.target.name}: ONC server fault {said}",
                status_code=response.status_code,
                target=self.target.name,
                request=response.request,
            )
        raise FatalTargetError(
            f"{self.target.name}: ONC refused the call ({said}); check the target's namespace, "
            "contract, soap_action and service_path options",
            target=self.target.name,
            request=response.request,
        )

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        """GetCampaignContactsListing: a lead whose contact Guid is listed was delivered; one that
        is not (or a listing ONC would not give) is sent again under the same Guid."""
        request = self._wire.session_call("GetCampaignContactsListing", campaignId=self.target.campaign)
        response = await client.send(request)
        self.classify(response)
        listing = find_result(self._reply(response), "GetCampaignContactsListingResult")
        if listing is None:
            return None
        listed = {(node.text or "").strip().lower() for node in listing}
        found = []
        for lead in chunk.leads:
            guid = contact_guid(self.target.campaign, lead.external_id)
            if guid in listed:
                message = "contact found in the campaign after a crash"
                found.append(
                    RowOutcome(
                        lead.source_row, Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,), guid, None, message
                    )
                )
        return found or None


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
