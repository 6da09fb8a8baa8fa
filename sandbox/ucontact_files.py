"""uContact's upload files: base64 text of ``;``-separated lines, checked as the dialer reads them.

SMS lines are ``campaign;number;text;priority`` (ucontact-integra-api.txt's sample
``somecampaign;098344484;Hello World!;9999``). Email lines are
``campaign;email;body;;"Var1":"value","Var2":"value";priority``: six fields, the fifth a JSON
object body without its braces (may be empty). A file is accepted or refused whole: one bad line
refuses it, because the vendor's answer (``1``/``0``) is per file.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = ["FileError", "parse_email_file", "parse_sms_file", "valid_email", "valid_number"]

_NUMBER = re.compile(r"\+?[0-9]{6,15}")
_EMAIL = re.compile(r"[^@\s;]+@[^@\s;]+\.[^@\s;]+")


class FileError(ValueError):
    """Why an upload is refused (kept in the sandbox dump, not sent on the wire)."""


def valid_number(value: str) -> bool:
    return _NUMBER.fullmatch(value.strip()) is not None


def valid_email(value: str) -> bool:
    return _EMAIL.fullmatch(value.strip()) is not None


def _lines(fileb64: str, max_rows: int) -> list[tuple[int, str]]:
    try:
        text = base64.b64decode(fileb64, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise FileError(f"fileb64 is not base64 of UTF-8 text: {exc}") from exc
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise FileError("the file has no rows")
    if len(lines) > max_rows:
        raise FileError(f"the file has {len(lines)} rows, more than {max_rows}")
    return lines


def _priority(value: str, n: int) -> int:
    if not re.fullmatch(r"[0-9]+", value.strip()):
        raise FileError(f"line {n}: priority {value!r} is not an integer")
    return int(value)


def parse_sms_file(fileb64: str, campaigns: set[str], max_rows: int) -> list[dict[str, Any]]:
    rows = []
    for n, line in _lines(fileb64, max_rows):
        fields = line.split(";")
        if len(fields) != 4:
            raise FileError(f"line {n}: {len(fields)} fields, expected campaign;number;text;priority")
        campaign, number, text, priority = fields
        if campaign not in campaigns:
            raise FileError(f"line {n}: unknown campaign {campaign!r}")
        if not valid_number(number):
            raise FileError(f"line {n}: invalid number {number!r}")
        if not text.strip():
            raise FileError(f"line {n}: empty text")
        rows.append({"line": n, "campaign": campaign, "number": number.strip(), "text": text,
                     "priority": _priority(priority, n)})  # fmt: skip
    return rows


def parse_email_file(fileb64: str, campaigns: set[str], max_rows: int) -> list[dict[str, Any]]:
    rows = []
    for n, line in _lines(fileb64, max_rows):
        fields = line.split(";")
        if len(fields) != 6:
            raise FileError(
                f"line {n}: {len(fields)} fields, expected campaign;email;body;;variables;priority"
            )
        campaign, email, body, fourth, variables, priority = fields
        if campaign not in campaigns:
            raise FileError(f"line {n}: campaign {campaign!r} is not in the dialer")
        if not valid_email(email):
            raise FileError(f"line {n}: invalid email {email!r}")
        try:
            parsed = json.loads("{" + variables + "}")
        except ValueError as exc:
            raise FileError(f'line {n}: variables are not "Name":"value" pairs') from exc
        rows.append({"line": n, "campaign": campaign, "email": email.strip(), "body": body, "field4": fourth,
                     "variables": parsed, "priority": _priority(priority, n)})  # fmt: skip
    return rows
