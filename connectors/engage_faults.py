"""Engage's SOAP Faults read through the document's message templates.

engage-campaign-methods.txt lists, per method, "Errors returned" as ``CODE – template``, the
template holding ``'%s'`` (``OBJECT_EXISTS – Object '%s' already exists``). It says nothing of
how a Fault carries them. This module reads either shape a Java SOAP stack plausibly sends:

- a detail listing errors (``<errors><code/><message/></errors>``, any element with a ``code``
  child, as connectors.soap reads it), each message the template filled in, with or without a
  ``CODE – `` in front;
- no such detail: the ``faultstring`` itself, ``CODE – message``.

The dash between code and message may be an en dash (as the document writes it), an em dash, a
hyphen, a colon or an equals sign (the document's newer entries write ``CODE=message``); the
templates' own dashes match any dash. ``{0}`` placeholders (the newer entries) count as
``'%s'``. The value that filled ``%s`` is the error's ``subject``: which contact or batch it is
about is for the caller to decide (connectors.engage: a subject that is one of the envelope's
contact externalIds is that contact's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from connectors.soap import Fault

__all__ = ["DOCUMENT_TEMPLATES", "EngageError", "read_errors"]

DOCUMENT_TEMPLATES: dict[str, str] = {
    "ARG_INVALID_DATA": "Invalid Data '%s",
    "ARG_INVALID_TYPE": "Argument is of invalid type '%s'",
    "ARG_NULL": "Invalid Data, argument '%s' must be non-null",
    "ARG_TOO_LARGE": "Invalid Data, argument '%s' exceeds allowed size",
    "ATTRIBUTE_INVALID_DATA": "Attribute contains invalid data: '%s'.",
    "ATTRIBUTE_INVALID_FORMAT": "Attribute '%s' has an invalid format.",
    "ATTRIBUTE_NULL": "Attribute '%s' must be non-null.",
    "INTERNAL_ERROR": "Internal error while processing the request",
    "OBJECT_EXISTS": "Object '%s' already exists",
    "OBJECT_NOT_EXISTS": "Referenced object '%s' does not exist",
}
"""The document's words ("Errors returned"), verbatim: createContactBatch and
createContactBatchAsync list ARG_INVALID_TYPE, ARG_NULL, ARG_TOO_LARGE, OBJECT_EXISTS,
OBJECT_NOT_EXISTS, INTERNAL_ERROR; the attribute ones come from the same document's other methods."""

_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASH = re.compile(f"[{_DASHES}]")
_LEADING_CODE = re.compile(rf"^\s*([A-Z][A-Z0-9_]+)\s*[{_DASHES}:=]\s*(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class EngageError:
    code: str
    message: str
    """The message without a leading ``CODE –``."""
    subject: str | None
    """What filled the template's ``%s``; None when no template matched or it has no ``%s``."""


@cache
def _pattern(template: str) -> re.Pattern[str]:
    normal = _DASH.sub("-", template.replace("{0}", "%s")).strip()
    normal = normal.rstrip(".")
    head, hole, tail = normal.partition("%s")
    if not hole:
        return re.compile(rf"\s*{re.escape(head)}\.?\s*", re.IGNORECASE)
    # a template ending in its '%s' (ARG_INVALID_DATA's "Invalid Data '%s") ends where the subject does
    tail_pattern = re.escape(tail) + r"\.?" if tail else "'?"
    head_pattern = re.escape(head).replace(r"\ ", r"\s+")
    return re.compile(rf"\s*{head_pattern}(.*?){tail_pattern}\s*", re.IGNORECASE | re.DOTALL)


def _subject(code: str, message: str, templates: Mapping[str, str]) -> tuple[str, str | None]:
    """``(code, subject)``: the code's template matched, or any template when the code is unknown."""
    normal = _DASH.sub("-", message)
    candidates = [(code, templates[code])] if code in templates else list(templates.items())
    for known, template in candidates:
        match = _pattern(template).fullmatch(normal)
        if match is not None:
            subject = match.group(1) if match.groups() else None
            if subject is not None:
                start = match.start(1)
                subject = message[start : start + len(subject)]
            return (code or known), subject
    return code, None


def _split(text: str) -> tuple[str, str]:
    match = _LEADING_CODE.match(text)
    return (match.group(1), match.group(2).strip()) if match else ("", text.strip())


def read_errors(fault: Fault, templates: Mapping[str, str]) -> list[EngageError]:
    """The Fault's errors, each with its template's subject; the faultstring when no detail lists any."""
    entries = [(e.code, e.message) for e in fault.errors] or [_split(fault.faultstring)]
    found: list[EngageError] = []
    for listed_code, listed_message in entries:
        code, message = listed_code, listed_message
        said_code, rest = _split(message)
        if said_code and (not code or said_code == code):
            code, message = said_code, rest
        known, subject = _subject(code, message.strip(), templates)
        found.append(EngageError(known, message.strip(), subject))
    return found
