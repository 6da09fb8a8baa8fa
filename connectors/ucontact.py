"""uContact (Integra API): SMS and email leads uploaded as base64 files of ``;``-separated lines.

Spec: ucontact-integra-api.txt and DESIGN.md's vendor table. Two target kinds share the token
auth: ``ucontact_sms`` (``Integra/resources/SMS/uploadbase``, lines ``campaign;number;text;priority``)
and ``ucontact_email`` (``IntegraChannels/resources/DialersResources/uploadDialerBase``, lines
``campaign;email;body;;"Var":"value",...;priority``). Both answer ``1`` when the file is queued
(the vendor processes it later, so every row of it is ``submitted``) and anything else (``0``,
``ERROR``) when the whole file is refused: there is no per-row answer. A ``200`` web page in
place of the answer (a proxy's or a login portal's, :func:`is_web_page`) is neither: the file's
rows fail ``VENDOR_ANSWER_INVALID`` (a rerun sends them), and at the login it stops the target
as an unreadable login, not as refused credentials.

Credentials (``[targets.X.credentials]``): ``username`` and ``password``. Options
(``[targets.X.options]``), validated on construction:

- ``template`` (required): the SMS text or email body, with ``{placeholders}`` naming lead fields
  (``external_id first_name last_name full_name email phone country timezone``) or the file's
  own columns kept as attributes, by their exact header (``{Account No}``). Attribute access,
  indexing, positional fields and conversions are refused on load. The template must hold some
  literal text, because a row whose message renders empty makes uContact refuse the whole file.
- ``missing_fields`` (default ``"refuse"``): a placeholder (or email ``variables`` name) that is
  neither a lead field nor a column of the file being imported would render empty in every
  message. With ``"refuse"`` the import checks the names once the file's columns are mapped
  (``check_columns``, connectors.ucontact_fields) and sends nothing to the target: its rows fail
  ``TARGET_MISCONFIGURED`` with a message naming the placeholder and the columns that could be
  meant, and the other targets go on. ``"blank"`` sends anyway with such names empty, and logs a
  warning naming them. Either way, a column that exists but is empty on a row renders empty for
  that row (a lead with no first name gets ``Hi ,``).
- ``priority`` (default 9999, the document's sample value; the SMS scheduler uses 1 for "now").
- email only: ``dialer`` (required), ``subject`` (optional), ``variables`` (names to send as
  uContact variables, each a lead field or a column of the file, checked as placeholders are;
  default every attribute) and ``external_id_variable`` (default
  ``ExternalId``; empty to leave it out).

Line format (the document gives no quoting rule, so nothing may break a line): in every field
``;`` becomes ``,`` and each control or line-separator character (``\\n``, ``\\r``, ``\\t``,
U+0085, U+2028, ...) becomes a space. Email variables are written as JSON strings
(``"Name":"value"``: the fifth field read as a JSON object body), so ``"`` and ``\\`` are escaped.
Files are UTF-8, ``\\n``-terminated, no header line; phones are written as E.164.

SMS phone: ``Lead.phones[0]``; the engine's eligibility orders a lead's phones for SMS (mobile
first), so the first one is the number to text. Its extension, if any, is not sent: a text goes
to the number itself (an extension routes a call inside a switchboard), and an email has no number.

Rows per file: the document sets no limit. ``LIMITS.max_items`` = 1000 is our assumption (a file
the vendor refuses costs every row in it, so files stay modest); by default a file holds
``LIMITS.default_items`` = 100 rows, and ``chunk_size`` sets it anywhere up to 1000. Why 100: a
file whose answer is lost after uContact queued it is sent again whole (see below), so the rows
per file are the texts or emails one lost answer can duplicate; 100 bounds that at a tenth of the
old default, and costs nothing that matters (an upload of 100 rows is ~15 kB; 30 uploads for
3,000 rows instead of 3 is still a few requests per second at concurrency 2). It is also the
size OBI and Engage take per request.

Exactly-once: the filename is ``chunk.batch_id + ".csv"``, deterministic, so a resend carries
the same name and shows in uContact's upload list as the same file twice; but the document
offers no way to ask what became of an upload or what a dialer base or campaign holds
(``reconcile`` returns None) and says nothing about the vendor refusing a known filename (the
sandbox does not). So delivery is at-least-once inside one window: a file the vendor queued whose
``1`` never reached us (crash, timeout, dropped connection after the upload) is sent again by a
retry or by the next run, and every row of it is marked ``POSSIBLY_DUPLICATED``
(``refuses_known_ids`` is False). Everything outside that window is exactly-once through the
ledger.

Session expiry: a 401, or a ``200`` whose whole body is one of ``session_expired_answers``
(default ``ERROR``, the document's only failure word), logs in again and replays the request
once (connectors.auth); the same answer after a fresh login is the file's refusal.

Declared assumptions (:data:`ASSUMPTIONS`, each overridable in the target's ``options``): the
document names the calls but not the login, the Authorization form or an expiry's answer.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import string
import unicodedata
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.assumptions import Assumption
from connectors.auth import TokenAuth
from connectors.base import Channel, Chunk, Connector, FileColumns, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.errors import (
    AuthenticationError,
    FatalTargetError,
    TransientError,
    redact,
    truncate,
    unreadable_login,
)
from connectors.ucontact_fields import LEAD_FIELDS, Named, missing_message, unknown_names
from schemas.codes import Issue, Status

__all__ = [
    "ASSUMPTIONS",
    "LIMITS",
    "UContactAuth",
    "UContactEmailConnector",
    "UContactEmailOptions",
    "UContactOptions",
    "UContactSmsConnector",
    "is_web_page",
    "line_field",
    "render_template",
    "template_names",
    "validate_template",
]

log = logging.getLogger("leadflow.connectors")

LIMITS = Limits(max_items=1000, default_items=100, max_bytes=None, default_concurrency=2)

_SMS_UPLOAD = "Integra/resources/SMS/uploadbase"
_EMAIL_UPLOAD = "IntegraChannels/resources/DialersResources/uploadDialerBase"

ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "login_path",
        "Integra/resources/auth/getUserToken",
        "Info: 'you need Authenticate and get a token for the session'; the call is not documented "
        "(DESIGN.md)",
    ),
    Assumption("login_user_field", "user", "not documented (DESIGN.md: getUserToken's form fields)"),
    Assumption("login_password_field", "password", "not documented (DESIGN.md: getUserToken's form fields)"),
    Assumption(
        "authorization",
        "basic_user_token",
        "Info: 'Use the token in the Header Authorization'; its form is not documented: "
        "basic_user_token = Basic base64(user:token), bearer = Bearer token, token = the bare token",
    ),
    Assumption(
        "logout_path",
        "Integra/resources/auth/EndSession",
        "Info: 'End session'; the call is not documented (DESIGN.md)",
    ),
    Assumption(
        "email_upload_path",
        "IntegraChannels/resources/DialersResources/uploadDialerBase",
        "Email: 'Relative URL: .../DialersResources/uploadMultiChannelBlacklistuploadDialerBase' "
        "(two method names run together); we call uploadDialerBase",
    ),
    Assumption(
        "session_expired_answers",
        ("ERROR",),
        "not documented: how an expired session answers; besides a 401, a 200 whose body is one "
        "of these (the document's results: 'TEXT OK / ERROR') logs in again and replays once",
    ),
)
"""Every guess these connectors make where the document is silent (README lists them)."""
_QUEUED = "1"
_REFUSALS = frozenset({"", "0", "ERROR"})


# --- auth ---------------------------------------------------------------------------------------


class UContactAuth(TokenAuth):
    """``getUserToken`` (form user, password) -> a plain-text token, then HTTP Basic user:token."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        target: str,
        options: UContactOptions | None = None,
    ) -> None:
        super().__init__()
        self._base_url = base_url
        self._username = username
        self._password = password
        self._target = target
        self._options = options or UContactOptions.model_construct(template="")
        self._expired = frozenset(a.strip().upper() for a in self._options.session_expired_answers)

    def login_request(self) -> httpx.Request:
        if not (self._username and self._password):
            raise AuthenticationError(
                f"{self._target}: credentials.username and credentials.password are required by uContact",
                target=self._target,
            )
        options = self._options
        return httpx.Request(
            "POST",
            f"{self._base_url}/{options.login_path.strip('/')}",
            data={options.login_user_field: self._username, options.login_password_field: self._password},
        )

    def parse_login(self, response: httpx.Response) -> str:
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"{self._target}: HTTP {status} from uContact getUserToken",
                status_code=status,
                target=self._target,
                request=response.request,
            )
        if is_web_page(response):
            raise unreadable_login(
                self._target,
                "uContact getUserToken answered a web page, not the session token as plain text",
                response,
            )
        token = _plain_answer(response.text) if status == 200 else ""
        if token.upper() in _REFUSALS or any(c.isspace() for c in token):
            raise AuthenticationError(
                f"{self._target}: uContact refused the login (HTTP {status}); "
                "check the target's username/password references",
                target=self._target,
                request=response.request,
            )
        return token

    def may_be_expired(self, response: httpx.Response) -> bool:
        """``200 ERROR`` (``session_expired_answers``): the document's only failure word
        (``Result: TEXT OK / ERROR``), which a uContact may answer for an expired session as for
        a bad request; the replay after a fresh login tells them apart (connectors.auth)."""
        return response.status_code == 200 and _plain_answer(response.text).upper() in self._expired

    def apply(self, request: httpx.Request, token: str) -> httpx.Request:
        form = self._options.authorization
        if form == "bearer":
            request.headers["Authorization"] = f"Bearer {token}"
        elif form == "token":
            request.headers["Authorization"] = token
        else:
            pair = base64.b64encode(f"{self._username}:{token}".encode()).decode("ascii")
            request.headers["Authorization"] = f"Basic {pair}"
        return request


def is_web_page(response: httpx.Response) -> bool:
    """A ``200`` that is a page or a document (a proxy's, a login portal's), not uContact's bare
    text: not the vendor's answer at all, so neither a token nor a refusal."""
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and ("html" in content_type or response.text.lstrip().startswith("<"))


def _plain_answer(text: str) -> str:
    """uContact answers bare text (``1``, ``ERROR``, a token); tolerate a JSON-quoted string."""
    answer = text.strip()
    if len(answer) >= 2 and answer[0] == answer[-1] == '"':
        try:
            decoded = json.loads(answer)
        except ValueError:
            return answer
        return decoded.strip() if isinstance(decoded, str) else answer
    return answer


# --- options and message templates ------------------------------------------------------------


class UContactOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str
    priority: int = Field(9999, ge=0)
    missing_fields: Literal["refuse", "blank"] = "refuse"
    # Declared assumptions (ASSUMPTIONS above): the defaults are the guesses.
    login_path: str = Field("Integra/resources/auth/getUserToken", min_length=1)
    login_user_field: str = Field("user", min_length=1)
    login_password_field: str = Field("password", min_length=1)
    authorization: Literal["basic_user_token", "bearer", "token"] = "basic_user_token"
    logout_path: str = Field("Integra/resources/auth/EndSession", min_length=1)
    session_expired_answers: tuple[str, ...] = ("ERROR",)

    @field_validator("template")
    @classmethod
    def _template_is_safe(cls, value: str) -> str:
        validate_template(value)
        return value


class UContactEmailOptions(UContactOptions):
    dialer: str
    email_upload_path: str = Field(
        "IntegraChannels/resources/DialersResources/uploadDialerBase", min_length=1
    )
    subject: str | None = None
    variables: list[str] | None = None
    external_id_variable: str = "ExternalId"


class _TemplateFormatter(string.Formatter):
    """Named fields only, looked up flat: ``{a.b}`` or ``{a[0]}`` never reach an object."""

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        return kwargs.get(field_name, ""), field_name


_FORMATTER = _TemplateFormatter()


def _fields(template: str) -> Iterator[tuple[str, str | None, str]]:
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            yield name, conversion, spec or ""
            yield from _fields(spec or "")


def validate_template(template: str) -> None:
    """Raise ValueError naming the problem when ``template`` is not a safe message template."""
    try:
        fields = list(_fields(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
    for name, conversion, _ in fields:
        if not name.strip() or name.strip().isdigit():
            raise ValueError("placeholders must name a lead field or attribute, e.g. {first_name}")
        if any(c in name for c in ".[]"):
            raise ValueError(f"{{{name}}}: attribute access and indexing are not allowed")
        if conversion is not None:
            raise ValueError(f"{{{name}!{conversion}}}: conversions are not allowed")
    literal = "".join(text for text, *_ in string.Formatter().parse(template))
    if not line_field(literal).strip():
        raise ValueError("the template needs some literal text, so that no message renders empty")
    try:
        render_template(template, {})
    except ValueError as exc:
        raise ValueError(f"a format spec does not apply to text: {exc}") from None


def template_names(template: str) -> tuple[str, ...]:
    """The names ``template``'s placeholders look up (those inside a format spec too), each once."""
    return tuple(dict.fromkeys(name for name, _, _ in _fields(template)))


def render_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled from ``values``; unknown names render empty (an
    import refuses a template naming a column its file lacks first: ``check_columns``)."""
    return _FORMATTER.vformat(template, (), values)


def template_values(lead: Lead) -> dict[str, str]:
    """What a template can name: the lead's attributes, then its own fields (which win)."""
    values = dict(lead.attributes)
    own = (
        lead.external_id,
        lead.first_name or "",
        lead.last_name or "",
        lead.full_name,
        lead.email or "",
        lead.phones[0].e164 if lead.phones else "",
        lead.country or "",
        lead.timezone or "",
    )
    values.update(zip(LEAD_FIELDS, own, strict=True))
    return values


def line_field(text: str) -> str:
    """``text`` made safe for one field of a ``;``-separated line (see the module docstring)."""
    return "".join(
        "," if c == ";" else " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    )


# --- the connectors -----------------------------------------------------------------------------


@dataclass
class _UContactConnector(Connector):
    """What both uContact kinds share: auth, options, the upload, the ``1``/``0`` answer."""

    LIMITS: ClassVar[Limits] = LIMITS
    options_model: ClassVar[type[UContactOptions]] = UContactOptions

    @property
    @abstractmethod
    def upload_path(self) -> str:
        """The upload call, relative to the target's base URL."""

    options: UContactOptions = field(init=False, repr=False)
    _auth: UContactAuth | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.target.name
        self.options = load_options(self.target, self.options_model)
        if line_field(self.target.campaign) != self.target.campaign or not self.target.campaign.strip():
            raise ConfigError(f"target {name!r}: campaign: must be a name without ';' or line breaks")

    # --- auth ---------------------------------------------------------------------------------
    def auth(self) -> UContactAuth:
        if self._auth is None:
            self._auth = UContactAuth(
                self.target.base_url,
                self.secrets.get("username", ""),
                self.secrets.get("password", ""),
                self.target.name,
                self.options,
            )
        return self._auth

    async def close(self, client: httpx.AsyncClient) -> None:
        """``auth/EndSession`` with the session's token (once; the session retries a transient
        failure and then forgets the token, connectors.base)."""
        auth = self._auth
        token = auth.token if auth is not None else None
        if auth is None or token is None:
            return
        request = auth.apply(
            client.build_request("POST", f"{self.target.base_url}/{self.options.logout_path.strip('/')}"),
            token,
        )
        response = await client.send(request, auth=None)
        self.check_logout(response, "EndSession")

    # --- the file's columns -------------------------------------------------------------------
    def named_fields(self) -> list[Named]:
        """(setting, name) of every name the target looks up in a lead: the template's."""
        return [("template", name) for name in template_names(self.options.template)]

    def check_columns(self, columns: FileColumns) -> None:
        """A name the target looks up that is no lead field and no column of the file: refused
        (``TARGET_MISCONFIGURED``) before anything is sent, or with ``missing_fields = "blank"``
        a warning, and the messages go out with it empty (module docstring)."""
        missing = unknown_names(self.named_fields(), columns)
        if not missing:
            return
        said = missing_message(self.target.name, missing, columns)
        if self.options.missing_fields == "blank":
            log.warning('%s. Sending anyway with them empty (missing_fields = "blank")', said)
            return
        raise FatalTargetError(
            f"{said}. Nothing was sent to this target, so no message went out with a hole",
            target=self.target.name,
            reason=Issue.TARGET_MISCONFIGURED,
        )

    # --- payload ------------------------------------------------------------------------------
    @abstractmethod
    def line(self, lead: Lead) -> str:
        """One line of the upload file for ``lead`` (no line terminator)."""

    @abstractmethod
    def form(self, chunk: Chunk, filename: str, fileb64: str) -> dict[str, str]:
        """The form fields of the upload request."""

    def item_size(self, lead: Lead) -> int:
        raw = len(self.line(lead).encode("utf-8")) + 1
        encoded = 4 * math.ceil(raw / 3)
        return encoded + encoded // 16

    def file_bytes(self, chunk: Chunk) -> bytes:
        return "".join(f"{self.line(lead)}\n" for lead in chunk.leads).encode("utf-8")

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        fileb64 = base64.b64encode(self.file_bytes(chunk)).decode("ascii")
        form = self.form(chunk, f"{chunk.batch_id}.csv", fileb64)
        return client.build_request("POST", f"{self.target.base_url}/{self.upload_path}", data=form)

    def message(self, lead: Lead) -> str:
        return line_field(render_template(self.options.template, template_values(lead)))

    # --- response -----------------------------------------------------------------------------
    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        answer = _plain_answer(response.text)
        if response.status_code == 200 and answer == _QUEUED:
            return [
                RowOutcome(lead.source_row, Status.SUBMITTED, vendor_status=_QUEUED) for lead in chunk.leads
            ]
        if is_web_page(response):
            # Not the vendor's "refused": whether it queued the file is unknown (VENDOR_ANSWER_INVALID,
            # failed in the ledger, so a rerun sends it again), never a refusal for good.
            raise self.unreadable(response, "a web page, not uContact's '1' or refusal")
        known = [*self.secrets.values(), *([self._auth.token] if self._auth and self._auth.token else [])]
        text = redact(answer, known)
        status = response.status_code
        code = text.split()[0][:32] if status == 200 and text else f"HTTP {status}"
        message = truncate(text) if text else "uContact refused the file without a reason"
        return [
            RowOutcome(
                lead.source_row,
                Status.VENDOR_REJECTED,
                reasons=(Issue.VENDOR_REJECTED,),
                vendor_status=code,
                vendor_message=message,
            )
            for lead in chunk.leads
        ]

    def _missing(self, lead: Lead, what: str) -> FatalTargetError:
        return FatalTargetError(
            f"{self.target.name}: row {lead.source_row} has no {what}; "
            "channel eligibility should have marked it ineligible",
            target=self.target.name,
            reason=Issue.TARGET_MISCONFIGURED,
        )


@dataclass
class UContactSmsConnector(_UContactConnector):
    """``ucontact_sms``: ``SMS/uploadbase`` (filename, fileb64, campaign)."""

    kind: ClassVar[str] = "ucontact_sms"
    channel: ClassVar[Channel] = Channel.SMS

    @property
    def upload_path(self) -> str:
        return _SMS_UPLOAD

    def line(self, lead: Lead) -> str:
        if not lead.phones:
            raise self._missing(lead, "phone")
        number = line_field(lead.phones[0].e164)
        return f"{self.target.campaign};{number};{self.message(lead)};{self.options.priority}"

    def form(self, chunk: Chunk, filename: str, fileb64: str) -> dict[str, str]:
        return {"filename": filename, "fileb64": fileb64, "campaign": self.target.campaign}


@dataclass
class UContactEmailConnector(_UContactConnector):
    """``ucontact_email``: ``DialersResources/uploadDialerBase`` (channel=email, filename, fileb64,
    dialer, cant, user, and subject when configured)."""

    kind: ClassVar[str] = "ucontact_email"
    channel: ClassVar[Channel] = Channel.EMAIL

    @property
    def upload_path(self) -> str:
        return self.email_options.email_upload_path.strip("/")

    options_model: ClassVar[type[UContactOptions]] = UContactEmailOptions

    @property
    def email_options(self) -> UContactEmailOptions:
        assert isinstance(self.options, UContactEmailOptions)
        return self.options

    def named_fields(self) -> list[Named]:
        """The template's names, then the ``variables`` named (every attribute by default:
        nothing to check)."""
        named = super().named_fields()
        return [*named, *(("variables", name) for name in self.email_options.variables or ())]

    def line(self, lead: Lead) -> str:
        if not lead.email:
            raise self._missing(lead, "email")
        email = line_field(lead.email)
        variables = self.variables(lead)
        return f"{self.target.campaign};{email};{self.message(lead)};;{variables};{self.options.priority}"

    def variables(self, lead: Lead) -> str:
        """The fifth field: ``"Name":"value"`` pairs as JSON strings, comma-separated."""
        opts = self.email_options
        if opts.variables is None:
            pairs = list(lead.attributes)
        else:
            values = template_values(lead)
            pairs = [(name, values.get(name, "")) for name in opts.variables]
        if opts.external_id_variable:
            pairs.append((opts.external_id_variable, lead.external_id))
        return ",".join(
            f"{json.dumps(line_field(k), ensure_ascii=False)}:{json.dumps(line_field(v), ensure_ascii=False)}"
            for k, v in pairs
        )

    def form(self, chunk: Chunk, filename: str, fileb64: str) -> dict[str, str]:
        opts = self.email_options
        form = {
            "channel": "email",
            "filename": filename,
            "fileb64": fileb64,
            "dialer": opts.dialer,
            "cant": str(len(chunk)),
            "user": self.secrets.get("username", ""),
        }
        if opts.subject:
            form["subject"] = opts.subject
        return form
