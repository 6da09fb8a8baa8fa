"""MaxContact: voice leads added one per request to a list that the run creates and links.

Spec: maxcontact-management-api.txt (token service, ManagementActionResponse, lists and
campaigns) and DESIGN.md's vendor table (``LeadManagement/addlead``, 512000-byte requests).

Auth: ``GET webservices/services/apitoken/login/{login}`` with ``Authorization: base64(password)``
(ASCII, no scheme) answers ``{"TokenKey": ...}``; every later call carries
``Cookie: TokenKey=...``; a 401 logs in again once and replays, and a 401 on that replay is
transient (retried with backoff): only a refused login stops the target (connectors.auth).
Every call sends ``Accept`` and ``Content-Type: application/json``, without which the API
answers XML (the document's "Responses"). Credentials: ``login`` (or ``username``) and ``password``.

``open()`` prepares the campaign through the management API: find the list by name among
``GET management/lists`` (so a rerun reuses it) or ``POST management/lists`` a new one
(ListType 0, "Follow Campaign"), ``PUT lists/{id}/activitystatus {"Active": true}`` and
``PUT campaigns/{campaign}/lists {"ListId": id}``. The list name is ``options.list_name``, else
``Leadflow {campaign} {options.source}`` when the targets file sets ``source`` (nothing sets it
for you: every file then goes to the one list ``Leadflow {campaign}``). Options: ``list_name``,
``source``, ``list_description``, ``list_type``.

One lead per ``addlead`` request (``LIMITS.max_items = 1``): the document (DESIGN.md's wire
notes) shows ``addlead`` taking one lead object, ``{"ListID", "Name", "email",
"LeadPhones": [{"PhoneNum"}]}``, and one lead per request is also what lets a refusal land on its
own row; concurrency is the throughput lever. ``LIMITS.max_bytes`` is the documented 512000-byte
request size. Answers are ManagementActionResponses checked in the body (the Singer SDK's
``validate_response`` pattern): ``Success: true`` -> accepted (vendor id from ``Data``),
``Success: false`` -> vendor_rejected with ``ResponseCode``/``ResponseDetail`` (``VENDOR_ID_CONFLICT``
when the detail says the lead already exists, see below).

Duplicates, honestly: the document offers no lead lookup (the management API reads campaigns,
lists, teams and users; Get List returns a list's settings, not its leads), so a refusal that says
the lead already exists (``duplicate_pattern``) cannot be checked against what we sent: the row is
``vendor_rejected`` with ``VENDOR_ID_CONFLICT`` and the vendor's detail (which names its record),
never counted as accepted. ``reconcile`` cannot ask either and returns None. What keeps the
at-least-once window small: one lead per request (a lost answer or a crash leaves at most
``concurrency`` leads in doubt), the ledger (only those leads are resent), and the reused list. A
lead whose ``addlead`` reached the vendor but whose answer was lost can be added twice by a vendor
that does not refuse it (or refused as a conflict by one that does); its row is marked
``POSSIBLY_DUPLICATED`` (``refuses_known_ids`` is False).

Re-association: a rerun reuses its list, and associating it again may be refused ("already
associated", ``already_associated_pattern``); that refusal means the list is linked, so the run
goes on and every row gets its own answer. Any other refusal while preparing stops the target
with TARGET_MISCONFIGURED (an unknown campaign, a list type it refuses: the same settings meet the
same refusal).

Extensions: no lead field takes one (the document's only ``Extension`` is an agent's, on User;
the strict sandbox refuses an unknown lead field and a ``PhoneNum`` that is not digits), so a
number is dialled without it. Agents make MaxContact's calls and can ask a switchboard for the
lead by name, so ``extensions = "drop"`` (default) sends the number alone; ``hold`` sends only
the phones without an extension, and holds a lead that has none (``ineligible``,
``EXTENSION_UNSUPPORTED``: its request is a harmless Get List, as nothing may be left unsent).

Declared assumptions (:data:`ASSUMPTIONS`, each overridable in the target's ``options``): the
document describes neither ``addlead`` nor the cookie's name nor the refusals' wording.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.assumptions import Assumption
from connectors.auth import TokenAuth
from connectors.base import Channel, Chunk, Connector, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.errors import (
    AuthenticationError,
    FatalTargetError,
    TransientError,
    redact,
    truncate,
    unreadable_login,
)
from schemas.codes import Issue, Status

__all__ = [
    "ASSUMPTIONS",
    "LIMITS",
    "MaxContactAuth",
    "MaxContactConnector",
    "MaxContactOptions",
    "management_answer",
]

ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "auth_scheme",
        "",
        "Tokens API, Password: 'sent in the authorization header ... converted to Base64'; "
        "no scheme named, so none is sent",
    ),
    Assumption(
        "token_cookie",
        "TokenKey",
        "Tokens API: 'This token is stored in the HTTP cookie'; the cookie's name is not "
        "documented (the login answer's TokenKey, DESIGN.md)",
    ),
    Assumption("add_lead_path", "webservices/services/LeadManagement/addlead", "not documented (DESIGN.md)"),
    Assumption("list_id_field", "ListID", "not documented (DESIGN.md's addlead body)"),
    Assumption("name_field", "Name", "not documented (DESIGN.md's addlead body)"),
    Assumption("email_field", "email", "not documented (DESIGN.md's addlead body)"),
    Assumption("phones_field", "LeadPhones", "not documented (DESIGN.md's addlead body)"),
    Assumption("phone_number_field", "PhoneNum", "not documented (DESIGN.md's addlead body)"),
    Assumption("lead_id_field", "LeadIds", "not documented: where addlead's Data carries the new lead's id"),
    Assumption(
        "duplicate_pattern",
        "already exist",
        "not documented: the ResponseDetail of a lead the list already holds (regex, any case)",
    ),
    Assumption(
        "extensions",
        "drop",
        "not documented: no lead field takes an extension (Extension is a User's, the agent's); "
        "'drop' dials the number alone (an agent asks the switchboard), 'hold' only numbers without one",
    ),
    Assumption(
        "already_associated_pattern",
        "already associated",
        "Associate List with Campaign: 'ManagementActionResponse indicating success or failure'; "
        "the failure's wording for a list already associated is not documented (regex, any case)",
    ),
)
"""Every guess this connector makes where the document is silent (README lists them)."""

LIMITS = Limits(max_items=1, max_bytes=512_000, default_concurrency=8)

_SERVICES = "webservices/services"
_MANAGEMENT = f"{_SERVICES}/management"
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}
_NO_LIST_YET = 0


# --- auth ---------------------------------------------------------------------------------------


class MaxContactAuth(TokenAuth):
    """Token login by GET with the base64 password as the whole Authorization header."""

    def __init__(
        self,
        base_url: str,
        login: str,
        password: str,
        target: str,
        *,
        scheme: str = "",
        cookie: str = "TokenKey",
    ) -> None:
        super().__init__()
        self._base_url = base_url
        self._login = login
        self._password = password
        self._target = target
        self._scheme = scheme
        self._cookie = cookie

    def login_request(self) -> httpx.Request:
        if not (self._login and self._password):
            raise AuthenticationError(
                f"{self._target}: credentials.login and credentials.password are required by MaxContact",
                target=self._target,
            )
        encoded = base64.b64encode(self._password.encode("ascii")).decode("ascii")
        if self._scheme:
            encoded = f"{self._scheme} {encoded}"
        return httpx.Request(
            "GET",
            f"{self._base_url}/{_SERVICES}/apitoken/login/{quote(self._login, safe='')}",
            headers={"Authorization": encoded, "Accept": "application/json"},
        )

    def parse_login(self, response: httpx.Response) -> str:
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"{self._target}: HTTP {status} from the MaxContact token service",
                status_code=status,
                target=self._target,
            )
        body = _json(response) if status == 200 else None
        if status == 200 and not isinstance(body, dict):
            raise unreadable_login(
                self._target,
                "the MaxContact token service answered HTTP 200 with no JSON object, "
                "not a token or a refusal",
                response,
            )
        token = _field(body, "TokenKey")
        if not isinstance(token, str) or not token.strip():
            raise AuthenticationError(
                f"{self._target}: MaxContact refused the login (HTTP {status}); "
                "check the target's login/password references",
                target=self._target,
            )
        return token.strip()

    def apply(self, request: httpx.Request, token: str) -> httpx.Request:
        request.headers["Cookie"] = f"{self._cookie}={token}"
        return request


# --- options ------------------------------------------------------------------------------------


class MaxContactOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    list_name: str | None = Field(None, min_length=1, max_length=200)
    source: str | None = None
    """The lead file's name, set by the pipeline: part of the default list name."""
    list_description: str = "Created by Leadflow"
    list_type: int = Field(0, ge=0, le=2)
    """Appendix 5: 0 Follow Campaign, 1 Preview, 2 Acd."""
    # Declared assumptions (ASSUMPTIONS above): the defaults are the guesses.
    auth_scheme: str = ""
    token_cookie: str = Field("TokenKey", min_length=1)
    add_lead_path: str = Field("webservices/services/LeadManagement/addlead", min_length=1)
    list_id_field: str = Field("ListID", min_length=1)
    name_field: str = Field("Name", min_length=1)
    email_field: str = Field("email", min_length=1)
    phones_field: str = Field("LeadPhones", min_length=1)
    phone_number_field: str = Field("PhoneNum", min_length=1)
    lead_id_field: str = Field("LeadIds", min_length=1)
    duplicate_pattern: str = Field("already exist", min_length=1)
    already_associated_pattern: str = Field("already associated", min_length=1)
    extensions: Literal["drop", "hold"] = "drop"
    """``drop``: a number is sent without its extension; ``hold``: only numbers without one."""

    @field_validator("duplicate_pattern", "already_associated_pattern")
    @classmethod
    def _is_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


# --- ManagementActionResponse ---------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _field(data: Any, name: str) -> Any:
    """A field by name, case-insensitively (the API is ASP.NET: ``Success`` or ``success``)."""
    if not isinstance(data, dict):
        return None
    return next((value for key, value in data.items() if key.lower() == name.lower()), None)


def management_answer(response: httpx.Response) -> tuple[bool, Any, str, str] | None:
    """``(Success, Data, ResponseCode, ResponseDetail)``, or None when the body is not one."""
    body = _json(response)
    success = _field(body, "Success")
    if not isinstance(success, bool):
        return None
    code, detail = _field(body, "ResponseCode"), _field(body, "ResponseDetail")
    return success, _field(body, "Data"), str(code or ""), str(detail or "")


def _lead_id(data: Any, field_name: str) -> str | None:
    if isinstance(data, int | str) and not isinstance(data, bool):
        return str(data)
    ids = _field(data, field_name)
    if isinstance(ids, list) and len(ids) == 1:
        return str(ids[0])
    if ids is not None and not isinstance(ids, list):
        return str(ids)
    return None


def _dialled(lead: Lead, options: MaxContactOptions) -> list[str]:
    """The numbers sent: every phone, or with ``extensions = "hold"`` those without an extension."""
    hold = options.extensions == "hold"
    return [phone.e164 for phone in lead.phones if not (hold and phone.ext)]


def _lead_body(lead: Lead, list_id: int, options: MaxContactOptions) -> bytes:
    body = {
        options.list_id_field: list_id,
        options.name_field: lead.full_name or lead.external_id,
        options.email_field: lead.email or "",
        options.phones_field: [{options.phone_number_field: e164} for e164 in _dialled(lead, options)],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- the connector ------------------------------------------------------------------------------


@dataclass
class MaxContactConnector(Connector):
    """``maxcontact`` (voice): ``LeadManagement/addlead`` into a list linked to the campaign."""

    kind: ClassVar[str] = "maxcontact"
    channel: ClassVar[Channel] = Channel.VOICE
    LIMITS: ClassVar[Limits] = LIMITS

    options: MaxContactOptions = field(init=False, repr=False)
    list_id: int | None = field(default=None, init=False)
    """Set by ``open()``."""
    _auth: MaxContactAuth | None = field(default=None, init=False, repr=False)
    _duplicate: re.Pattern[str] = field(init=False, repr=False)
    _associated: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.target.name
        self.options = load_options(self.target, MaxContactOptions)
        self._duplicate = re.compile(self.options.duplicate_pattern, re.IGNORECASE)
        self._associated = re.compile(self.options.already_associated_pattern, re.IGNORECASE)
        if not self.target.campaign.isdigit():
            raise ConfigError(f"target {name!r}: campaign: MaxContact campaign ids are integers")

    @property
    def list_name(self) -> str:
        if self.options.list_name:
            return self.options.list_name
        source = f" {self.options.source}" if self.options.source else ""
        return f"Leadflow {self.target.campaign}{source}"

    # --- auth ---------------------------------------------------------------------------------
    def auth(self) -> MaxContactAuth:
        if self._auth is None:
            login = self.secrets.get("login") or self.secrets.get("username", "")
            self._auth = MaxContactAuth(
                self.target.base_url,
                login,
                self.secrets.get("password", ""),
                self.target.name,
                scheme=self.options.auth_scheme,
                cookie=self.options.token_cookie,
            )
        return self._auth

    async def open(self, client: httpx.AsyncClient) -> None:
        """Find or create the run's list, activate it and associate it with the campaign."""
        if self.list_id is not None:
            return
        name = self.list_name
        lists = await self._manage(client, "GET", "lists", None, "listing lists")
        found = (
            [item for item in lists if isinstance(item, dict) and _field(item, "ListName") == name]
            if isinstance(lists, list)
            else []
        )
        if found:
            list_id = _field(found[0], "Id")
        else:
            body = {
                "ListName": name,
                "Description": self.options.list_description,
                "ListType": self.options.list_type,
            }
            list_id = _field(
                await self._manage(client, "POST", "lists", body, f"creating list {name!r}"), "Id"
            )
        if not isinstance(list_id, int) or isinstance(list_id, bool):
            raise FatalTargetError(
                f"{self.target.name}: MaxContact gave no integer Id for list {name!r}",
                target=self.target.name,
                reason=Issue.VENDOR_ANSWER_INVALID,
            )
        await self._manage(
            client, "PUT", f"lists/{list_id}/activitystatus", {"Active": True}, f"activating list {list_id}"
        )
        await self._manage(
            client,
            "PUT",
            f"campaigns/{self.target.campaign}/lists",
            {"ListId": list_id},
            f"associating list {list_id} with campaign {self.target.campaign}",
            tolerate=self._associated,
        )
        self.list_id = list_id

    async def _manage(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        what: str,
        *,
        tolerate: re.Pattern[str] | None = None,
    ) -> Any:
        """One management call; its ``Data`` on success, FatalTargetError on a refusal (except a
        refusal whose detail matches ``tolerate``: the state asked for already holds)."""
        content = json.dumps(body).encode() if body is not None else None
        request = client.build_request(
            method, f"{self.target.base_url}/{_MANAGEMENT}/{path}", content=content, headers=_JSON
        )
        response = await client.send(request, auth=self.auth())
        self.classify(response)
        answer = management_answer(response)
        if answer is None:
            raise self.unexpected(response, f"{what}: not a ManagementActionResponse")
        success, data, code, detail = answer
        if not success and tolerate is not None and tolerate.search(detail):
            return None
        if not success:
            raise FatalTargetError(
                f"{self.target.name}: MaxContact refused {what} (HTTP {response.status_code}, "
                f"{code}): {truncate(self._redact(detail))}",
                target=self.target.name,
                request=response.request,
                reason=Issue.TARGET_MISCONFIGURED,
            )
        return data

    def holds_extension_only(self) -> bool:
        """A lead whose every phone needs an extension is held before chunking (connectors.base)."""
        return self.options.extensions == "hold"

    # --- payload ------------------------------------------------------------------------------
    def payload(self, lead: Lead) -> bytes:
        """The ``addlead`` body for one lead (a lead without a name goes by its external id).
        Before ``open()`` (a dry run: the engine never sends before open succeeded) ``ListID``
        is the placeholder 0, which no MaxContact list has."""
        return _lead_body(lead, self.list_id if self.list_id is not None else _NO_LIST_YET, self.options)

    def item_size(self, lead: Lead) -> int:
        return len(self.payload(lead))

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        if len(chunk) != 1:
            raise ValueError(f"MaxContact takes one lead per addlead request, got {len(chunk)}")
        if self._held(chunk.leads[0]):
            list_id = self.list_id if self.list_id is not None else _NO_LIST_YET
            return client.build_request(
                "GET", f"{self.target.base_url}/{_MANAGEMENT}/lists/{list_id}", headers=_JSON
            )
        return client.build_request(
            "POST",
            f"{self.target.base_url}/{self.options.add_lead_path.strip('/')}",
            content=self.payload(chunk.leads[0]),
            headers=_JSON,
        )

    # --- response -----------------------------------------------------------------------------
    def _held(self, lead: Lead) -> bool:
        return bool(lead.phones) and not _dialled(lead, self.options)

    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        if self._held(chunk.leads[0]):
            return [RowOutcome(chunk.leads[0].source_row, Status.INELIGIBLE, (Issue.EXTENSION_UNSUPPORTED,))]
        answer = management_answer(response)
        if answer is None:
            if response.status_code == 200 and _json(response) is None:  # a page or garbage in its place
                raise self.unreadable(response, "addlead: not JSON")
            if response.status_code == 200:
                raise self.unexpected(response, "addlead: not a ManagementActionResponse")
            return [
                RowOutcome(
                    lead.source_row,
                    Status.VENDOR_REJECTED,
                    reasons=(Issue.VENDOR_REJECTED,),
                    vendor_status=f"HTTP {response.status_code}",
                    vendor_message=truncate(self._redact(response.text)),
                )
                for lead in chunk.leads
            ]
        success, data, code, detail = answer
        vendor_id = _lead_id(data, self.options.lead_id_field) if success else None
        message = truncate(self._redact(detail)) if detail else None
        reasons: tuple[str, ...] = ()
        if success:
            status = Status.ACCEPTED
        elif self._duplicate.search(detail):
            # No lead lookup is documented: the vendor's record cannot be compared with ours.
            status, reasons = Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT,)
            message = truncate(
                f"MaxContact holds a lead that conflicts with this one ({self._redact(detail)}); "
                "no lead lookup is documented to tell whether it is our earlier send"
            )
        else:
            status, reasons = Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,)
        return [
            RowOutcome(
                lead.source_row,
                status,
                reasons=reasons,
                vendor_id=vendor_id,
                vendor_status=code or None,
                vendor_message=message,
            )
            for lead in chunk.leads
        ]

    def _redact(self, text: str) -> str:
        token = self._auth.token if self._auth is not None else None
        return redact(text, [*self.secrets.values(), *([token] if token else [])])
