"""Simulated uContact Integra API (ucontact-integra-api.txt, wire details from DESIGN.md).

Paths are the document's relative URLs below the mount (``/ucontact``). ``POST
Integra/resources/auth/getUserToken`` (form ``user``, ``password``) answers the token as plain
text; every other call needs ``Authorization: Basic base64(user:token)`` (401 otherwise) until
``auth/EndSession`` or ``TOKEN_LIFETIME`` on the sandbox clock (or an early expiry from the fault
profile). Calls are form-encoded except ``Forms/sendEmail`` (JSON).

Uploads are asynchronous: a file that passes every check answers ``1`` and its rows are queued
(see the dump); a refused one answers ``0`` and queues nothing, with the reason kept in the dump
under ``rejected_uploads`` (the document gives no error text, so none is invented on the wire).
- ``SMS/uploadbase`` (filename, fileb64, campaign): lines ``campaign;number;text;priority``.
- ``DialersResources/uploadDialerBase`` (channel=email, filename, fileb64, dialer, cant, optional
  user/subject): lines ``campaign;email;body;;"Var":"value",...;priority``; ``cant`` must equal
  the number of rows.
Rules the document implies and the sandbox enforces (``file_rules``): strict base64, UTF-8 text,
blank lines skipped, the field count exact, every campaign and the dialer known, numbers ``+``
optional then 6 to 15 digits, emails with one ``@`` and a dotted domain, priority an integer,
variables a JSON object body, at most ``LIMITS.max_rows_per_file`` rows. ``SendSMS`` answers
``OK``/``ERROR``; ``SendSMSv2`` ``{"id": ...}``; ``InboundSMS/ReceiveURLSMS`` (GET phone, message)
``OK``/``ERROR``; ``ScheduleDialerSMS`` ``1``; ``sendEmail``
``{"guid": ...}`` or 400.

How an expired (or unknown) session is answered is not documented: ``401 Unauthorized`` by
default; ``expired_answer = "ERROR"`` answers ``200 ERROR`` instead (the document's only failure
word), as a uContact behind a gateway or an older release may, so the client's expiry guess is
tested against both.

Seed state: SMS campaigns ``somecampaign`` (the document's sample line) and ``Ventas->`` (its
ScheduleDialerSMS example), email dialer ``EmailDialer`` with campaign ``CampName`` (the sample
line); the email campaign ``Email`` for ``sendEmail``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.faults import Faults, relative_path
from sandbox.ucontact_files import FileError, parse_email_file, parse_sms_file, valid_number

__all__ = ["LIMITS", "UContactLimits", "UContactSimulator"]

INTEGRA = "/Integra/resources"
CHANNELS = "/IntegraChannels/resources"


# --- LIMITS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UContactLimits:
    max_rows_per_file: int = 50_000
    """The document sets none; a large but finite bound."""
    token_lifetime: float = 3600.0
    """Seconds from getUserToken (the document is silent; not sliding)."""


LIMITS = UContactLimits()


@dataclass
class _State:
    sms_campaigns: set[str] = field(default_factory=lambda: {"somecampaign", "Ventas->"})
    email_dialers: dict[str, set[str]] = field(default_factory=lambda: {"EmailDialer": {"CampName"}})
    email_campaigns: set[str] = field(default_factory=lambda: {"Email", "CampName"})
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    logins: int = 0
    """Tokens issued by getUserToken since the last reset."""
    logouts: int = 0
    """Sessions ended by EndSession since the last reset."""
    sms_rows: list[dict[str, Any]] = field(default_factory=list)
    email_rows: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    rejected_uploads: list[dict[str, Any]] = field(default_factory=list)
    sms_sent: list[dict[str, Any]] = field(default_factory=list)
    sms_scheduled: list[dict[str, Any]] = field(default_factory=list)
    sms_received: list[dict[str, Any]] = field(default_factory=list)
    emails_sent: list[dict[str, Any]] = field(default_factory=list)


class _Unauthorized(Exception):
    pass


class UContactSimulator:
    kind = "ucontact"
    prefix = "/ucontact"

    def __init__(self, clock: Clock, faults: Faults, *, limits: UContactLimits = LIMITS) -> None:
        self.clock = clock
        self.faults = faults
        self.limits = limits
        self.credentials = {"user": "demo", "password": "demo-secret"}
        self._lock = threading.Lock()
        self._state = _State()
        self.expired_answer: str | None = None
        """None: a bad or expired session is 401; a text: it is that text with HTTP 200."""

    def reset(self) -> None:
        with self._lock:
            self._state = _State()

    # --- auth -------------------------------------------------------------------------------------

    async def _get_token(self, request: Request) -> Response:
        form = await _form(request)
        user_ok = secrets.compare_digest(form.get("user", ""), self.credentials["user"])
        if not (user_ok and secrets.compare_digest(form.get("password", ""), self.credentials["password"])):
            return PlainTextResponse("ERROR", status_code=401)
        token = secrets.token_hex(16)
        with self._lock:
            self._state.tokens[token] = (form["user"], self.clock.now() + self.limits.token_lifetime)
            self._state.logins += 1
        return PlainTextResponse(token)

    def _check(self, request: Request) -> str:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, token = "", ""
        with self._lock:
            known = self._state.tokens.get(token) if scheme.lower() == "basic" else None
            if known is not None and (
                known[1] <= self.clock.now()
                or self.faults.expire_session(self.kind, relative_path(request.scope))
            ):
                del self._state.tokens[token]
                known = None
        if known is None or known[0] != user:
            raise _Unauthorized
        return token

    async def _end_session(self, request: Request, form: dict[str, str], token: str) -> Response:
        with self._lock:
            self._state.tokens.pop(token, None)
            self._state.logouts += 1
        return PlainTextResponse("OK")

    # --- routes/handlers --------------------------------------------------------------------------

    def app(self) -> ASGIApp:
        guarded = [
            (f"{INTEGRA}/auth/EndSession", self._end_session),
            (f"{INTEGRA}/SMS/SendSMS", self._send_sms),
            (f"{INTEGRA}/SMS/SendSMSv2", self._send_sms),
            (f"{INTEGRA}/SMS/ScheduleDialerSMS", self._schedule_sms),
            (f"{INTEGRA}/SMS/uploadbase", self._upload_sms),
            (f"{CHANNELS}/DialersResources/uploadDialerBase", self._upload_email),
            (f"{CHANNELS}/Forms/sendEmail", self._send_email),
        ]
        routes = [Route(f"{INTEGRA}/auth/getUserToken", self._get_token, methods=["POST"])]
        routes += [Route(path, self._guard(handler), methods=["POST"]) for path, handler in guarded]
        routes.append(
            Route(f"{INTEGRA}/InboundSMS/ReceiveURLSMS", self._guard(self._receive_sms), methods=["GET"])
        )
        return Starlette(routes=routes)

    def _guard(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                token = self._check(request)
            except _Unauthorized:
                if self.expired_answer is not None:
                    return PlainTextResponse(self.expired_answer)
                return PlainTextResponse("Unauthorized", status_code=401)
            if request.method == "GET":
                form = dict(request.query_params)
            else:
                form = {} if request.url.path.endswith("/sendEmail") else await _form(request)
            response: Response = await handler(request, form, token)
            return response

        return endpoint

    async def _send_sms(self, request: Request, form: dict[str, str], token: str) -> Response:
        v2 = request.url.path.endswith("v2")
        ok = form.get("campaign") in self._state.sms_campaigns and valid_number(form.get("destination", ""))
        if not ok or not form.get("message"):
            return PlainTextResponse("ERROR", status_code=400 if v2 else 200)
        sms_id = uuid.uuid4().hex
        keys = ("destination", "message", "campaign", "agent", "source")
        with self._lock:
            self._state.sms_sent.append({"id": sms_id, **{k: form.get(k, "") for k in keys}})
        return JSONResponse({"id": sms_id}) if v2 else PlainTextResponse("OK")

    async def _receive_sms(self, request: Request, form: dict[str, str], token: str) -> Response:
        """``InboundSMS/ReceiveURLSMS`` (GET phone, message): ``OK``, or ``ERROR`` without both."""
        if not (valid_number(form.get("phone", "")) and form.get("message")):
            return PlainTextResponse("ERROR")
        with self._lock:
            self._state.sms_received.append({"phone": form["phone"], "message": form["message"]})
        return PlainTextResponse("OK")

    async def _schedule_sms(self, request: Request, form: dict[str, str], token: str) -> Response:
        try:
            sms = json.loads(form.get("sms", ""))
        except ValueError:
            sms = None
        valid = (
            isinstance(sms, dict)
            and sms.get("campaign") in self._state.sms_campaigns
            and valid_number(str(sms.get("destination", "")))
            and bool(sms.get("data"))
            and bool(sms.get("calldate"))
        )
        if not valid:
            return PlainTextResponse("0")
        with self._lock:
            self._state.sms_scheduled.append(dict(sms))
        return PlainTextResponse("1")

    async def _upload_sms(self, request: Request, form: dict[str, str], token: str) -> Response:
        filename, campaign = form.get("filename", ""), form.get("campaign", "")
        try:
            if not filename:
                raise FileError("filename is required")
            if campaign not in self._state.sms_campaigns:
                raise FileError(f"unknown campaign {campaign!r}")
            rows = parse_sms_file(
                form.get("fileb64", ""), self._state.sms_campaigns, self.limits.max_rows_per_file
            )
        except FileError as exc:
            return self._reject("sms", filename, str(exc))
        with self._lock:
            self._state.sms_rows += [
                {**row, "filename": filename, "upload_campaign": campaign} for row in rows
            ]
            self._state.uploads.append(
                {"channel": "sms", "filename": filename, "campaign": campaign, "rows": len(rows)}
            )
        return PlainTextResponse("1")

    async def _upload_email(self, request: Request, form: dict[str, str], token: str) -> Response:
        filename, dialer = form.get("filename", ""), form.get("dialer", "")
        try:
            if form.get("channel") != "email":
                raise FileError("channel must be 'email'")
            if not filename:
                raise FileError("filename is required")
            if dialer not in self._state.email_dialers:
                raise FileError(f"unknown dialer {dialer!r}")
            rows = parse_email_file(
                form.get("fileb64", ""), self._state.email_dialers[dialer], self.limits.max_rows_per_file
            )
            if form.get("cant", "").strip() != str(len(rows)):
                raise FileError(f"cant={form.get('cant', '')!r} but the file has {len(rows)} rows")
        except FileError as exc:
            return self._reject("email", filename, str(exc))
        extra = {
            "filename": filename,
            "dialer": dialer,
            "user": form.get("user", ""),
            "subject": form.get("subject", ""),
        }
        with self._lock:
            self._state.email_rows += [{**row, **extra} for row in rows]
            self._state.uploads.append(
                {"channel": "email", "filename": filename, "dialer": dialer, "rows": len(rows)}
            )
        return PlainTextResponse("1")

    def _reject(self, channel: str, filename: str, reason: str) -> Response:
        with self._lock:
            self._state.rejected_uploads.append({"channel": channel, "filename": filename, "reason": reason})
        return PlainTextResponse("0")

    async def _send_email(self, request: Request, form: dict[str, str], token: str) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        valid = (
            isinstance(body, dict)
            and body.get("campaign") in self._state.email_campaigns
            and isinstance(body.get("to"), str)
            and "@" in body["to"]
            and bool(body.get("body") or body.get("template"))
            and isinstance(body.get("attachments", []), list)
            and isinstance(body.get("variables", {}), dict)
        )
        if not valid:
            return PlainTextResponse("Wrong parameters", status_code=400)
        guid = str(uuid.uuid4())
        with self._lock:
            self._state.emails_sent.append({"guid": guid, **body})
        return JSONResponse({"guid": guid})

    # --- state dump -------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Queued SMS and email rows (parsed from the uploaded files, with filename), uploads, sends."""
        with self._lock:
            s = self._state
            return {
                "sms_campaigns": sorted(s.sms_campaigns),
                "email_dialers": {d: sorted(c) for d, c in s.email_dialers.items()},
                "email_campaigns": sorted(s.email_campaigns),
                "sms_rows": [dict(r) for r in s.sms_rows],
                "email_rows": [dict(r) for r in s.email_rows],
                "uploads": [dict(u) for u in s.uploads],
                "rejected_uploads": [dict(u) for u in s.rejected_uploads],
                "sms_sent": [dict(x) for x in s.sms_sent],
                "sms_scheduled": [dict(x) for x in s.sms_scheduled],
                "sms_received": [dict(x) for x in s.sms_received],
                "emails_sent": [dict(x) for x in s.emails_sent],
                "active_sessions": sum(1 for _, exp in s.tokens.values() if exp > self.clock.now()),
                "logins": s.logins,
                "logouts": s.logouts,
            }


async def _form(request: Request) -> dict[str, str]:
    """Form fields (first value of each); parsed here so no multipart package is needed."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}
