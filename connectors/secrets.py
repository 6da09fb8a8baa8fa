"""Every secret a run sends or receives, in every form it may come back in.

A vendor or a gateway that echoes what we sent puts our credentials back in front of us, and
rarely as we typed them: ``Authorization: Basic base64(user:password)`` (OBI),
``Basic base64(user:token)`` (uContact), ``Authorization: base64(password)`` (MaxContact's
login), ``Cookie: TokenKey=...`` (MaxContact), a SOAP body with the password or the session id
XML-escaped (Engage, ONC), a form body URL-encoded (uContact's login). A :class:`SecretSet`
holds each value with those derived forms, so that :meth:`redact` removes all of them with one
regular expression.

Secrets are registered where they come into being, so nothing has to be remembered later: the
credentials when a run starts (connectors.engine), a token or session id when the login answer
is parsed (connectors.auth.TokenAuth), and whatever an ``Authorization`` or ``Cookie`` header
carries when a request leaves (connectors.answers.harvest), which covers every scheme built on
headers, present and future.

Every live set also guards the connectors' log (``leadflow.connectors``): a
:class:`RedactingFilter` on that logger rewrites each record, traceback included, before any
handler sees it, so a log line a connector writes with only its raw credentials at hand is
redacted of every derived and received form too.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import traceback
import weakref
from collections.abc import Iterable, Iterator
from html import escape
from urllib.parse import quote, quote_plus

import httpx

__all__ = ["CONNECTORS_LOG", "MIN_SECRET_LENGTH", "RedactingFilter", "SecretSet"]

MIN_SECRET_LENGTH = 3
"""Shorter values are not redacted: they would blank out ordinary words."""

_SCHEMES = ("basic ", "bearer ", "token ")


def _b64_forms(raw: bytes) -> set[str]:
    standard = base64.b64encode(raw).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    return {standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")}


def _forms(value: str) -> set[str]:
    """``value`` as sent or echoed: raw, base64, URL-encoded, XML/HTML-escaped, JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), escape(value, quote=True)}
    forms.add(escape(value, quote=False))
    forms.add(value.replace("\\", "\\\\").replace('"', '\\"'))
    forms |= _b64_forms(value.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class SecretSet:
    """A growing set of secret values and their derived forms; iterating yields every form."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.update(values)
        _LIVE.add(self)

    def add(self, value: str | None) -> None:
        """Register ``value`` (a password, token or session id) and its derived forms."""
        if value and len(value) >= MIN_SECRET_LENGTH:
            self._merge(_forms(value))

    def update(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def add_pair(self, user: str, secret: str) -> None:
        """HTTP Basic's ``user:secret``: the secret alone and base64 of the pair."""
        self.add(secret)
        if secret:
            self._merge(_b64_forms(f"{user}:{secret}".encode()))

    def add_header(self, value: str) -> None:
        """An ``Authorization`` value we send: the value, its credential, and what its base64
        decodes to (``user:password`` -> the password; MaxContact's base64(password))."""
        credential = value.strip()
        if credential.lower().startswith(_SCHEMES):
            credential = credential.split(None, 1)[1].strip() if " " in credential else ""
        self.add(credential)
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return
        user, colon, secret = decoded.partition(":")
        if colon:
            self.add_pair(user, secret)
        elif decoded.isprintable():
            self.add(decoded)

    def add_cookies(self, value: str) -> None:
        """A ``Cookie`` header we send (or a ``Set-Cookie`` we receive): every cookie's value."""
        for pair in value.split(";"):
            name, equals, cookie = pair.partition("=")
            if equals and name.strip().lower() not in {"path", "domain", "expires", "max-age", "samesite"}:
                self.add(cookie.strip().strip('"'))

    def harvest(self, request: httpx.Request) -> None:
        """Register what ``request``'s headers carry (called as every request leaves)."""
        for value in request.headers.get_list("authorization"):
            self.add_header(value)
        for value in request.headers.get_list("cookie"):
            self.add_cookies(value)

    def redact(self, text: str) -> str:
        """``text`` with every registered form replaced by ``***``."""
        if not self._forms:
            return text
        if self._pattern is None:
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(form) for form in ordered))
        return self._pattern.sub("***", text)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._forms, key=len, reverse=True))

    def __len__(self) -> int:
        return len(self._forms)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __contains__(self, value: object) -> bool:
        return value in self._forms

    def _merge(self, forms: set[str]) -> None:
        fresh = forms - self._forms
        if fresh:
            self._forms |= fresh
            self._pattern = None


_LIVE: weakref.WeakSet[SecretSet] = weakref.WeakSet()
"""Every SecretSet still referenced (by a run, an auth flow): what the log filter redacts."""

CONNECTORS_LOG = "leadflow.connectors"


def redact_live(text: str) -> str:
    """``text`` redacted of every form any live :class:`SecretSet` holds."""
    for secrets in list(_LIVE):
        text = secrets.redact(text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback with :func:`redact_live` (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _LIVE:
            return True
        record.msg = redact_live(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact_live("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
            record.exc_info = None
        return True


_connectors_log = logging.getLogger(CONNECTORS_LOG)
if not any(isinstance(f, RedactingFilter) for f in _connectors_log.filters):
    _connectors_log.addFilter(RedactingFilter())
