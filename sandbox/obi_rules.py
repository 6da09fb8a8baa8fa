"""Sinch OBI's validation and search rules (sinch-obi-v1.txt), kept apart from its routes.

Customer entries: phone numbers come from ``numbers`` ("a;b;c", up to 3, empty parts ignored as
in the document's ``"+52145200;"``) or, when ``numbers`` is absent or blank, from the attributes
Phone1..Phone3 (Phone1 required). When ``numbers`` is given, phone attributes are replaced by
Phone1..n built from it. The errors are the document's strings: ``Invalid numbers: '<value>'`` and
``Invalid externalId: <id> : Value is not unique``.

Assumptions where the document is silent (class-level knobs on the simulator):
- a valid number is ``+`` optional then 3 to 20 digits (:data:`NUMBER_PATTERN`); the document's
  invalid example is ``'+number;'``;
- an externalId repeated inside one request fails on every occurrence, like one already in the
  campaign; the document's stop=true example shows both ``007`` entries refused;
- ``attributes`` is taken only in the wrapped form every example shows (``{"attribute": [...]}``),
  although the field table calls it an array: a real service binds one of the two, and the
  examples are the evidence; ``strict=False`` (the simulator's lenient profile) takes both;
- an attribute item is ``name: required(string)`` and ``value: required(string)`` (the field
  table): strict, a missing or non-string value (a number, null) is ``Invalid attributes``.

Speed: a campaign's externalIds are checked against an index the caller keeps (any container
with ``in``), never rebuilt per request, so a request costs the same in a campaign of ten
customers or of a million.

Search: any searchable field with ``*`` and ``?`` wildcards (case-sensitive), ``X``/``XEnd`` date
ranges (after / before the given UTC time), ``attributeName`` (+ ``attributeValue``), and
``offset``/``limit`` for customers. An unknown search field is refused (400) so a misspelt
filter fails loudly instead of returning everything.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Container
from datetime import datetime
from typing import Any

__all__ = [
    "CAMPAIGN_DATES",
    "CAMPAIGN_FIELDS",
    "CUSTOMER_DATES",
    "CUSTOMER_FIELDS",
    "NUMBER_PATTERN",
    "SearchError",
    "attribute_list",
    "matches",
    "parse_time",
    "validate_entries",
]

NUMBER_PATTERN = re.compile(r"\+?[0-9]{3,20}")
MAX_NUMBERS = 3
CAMPAIGN_FIELDS = frozenset(
    [
        "name",
        "dialerId",
        "dialerName",
        "dialingMode",
        "status",
        "dialerStatus",
        "queueId",
        "queueName",
        "customIvrNumber",
        "total",
        "handled",
        "maxCalls",
        "filtered",
        "timeZone",
    ]
)
CAMPAIGN_DATES = frozenset({"startDate", "endDate", "registered"})
CUSTOMER_FIELDS = frozenset(
    [
        "externalId",
        "numbers",
        "result",
        "callResult",
        "classifier",
        "callCount",
        "lastBNumber",
        "agentId",
        "dialingMode",
        "previewTime",
        "priority",
        "timeZone",
    ]
)
CUSTOMER_DATES = frozenset({"date", "modificationDate"})
DIALING_MODES = frozenset({"PREVIEW", "PREDICTIVE"})
_INTEGER = re.compile(r"-?[0-9]+")
_OPTIONAL = ("date", "agentId", "dialingMode", "previewTime", "priority", "timeZone")
_PHONE_ATTRIBUTES = frozenset({"Phone1", "Phone2", "Phone3"})
_EMPTY = (None, "")


class SearchError(ValueError):
    """A query the vendor refuses (400)."""


def parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"Invalid date: {value}") from exc


def attribute_list(raw: Any, *, strict: bool = False) -> list[dict[str, str]]:
    """Attributes as name/value pairs, from the wrapped (``{"attribute": [...]}``) form, or also
    the bare array unless ``strict``."""
    if raw is None or raw == "":
        return []
    if strict and not isinstance(raw, dict):
        raise ValueError("Invalid attributes")
    if isinstance(raw, dict):
        raw = raw.get("attribute", [])
        raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        raise ValueError("Invalid attributes")
    pairs: list[dict[str, str]] = []
    for a in raw:
        if not isinstance(a, dict) or "name" not in a:
            raise ValueError("Invalid attributes")
        if strict and not (isinstance(a["name"], str) and isinstance(a.get("value"), str)):
            raise ValueError("Invalid attributes")
        pairs.append({"name": str(a["name"]), "value": str(a.get("value", ""))})
    return pairs


def _numbers(entry: dict[str, Any], attributes: list[dict[str, str]]) -> tuple[list[str], str] | str:
    raw = entry.get("numbers")
    if isinstance(raw, str) and raw.strip():
        parts = [p for p in map(str.strip, raw.split(";")) if p]
    else:
        phones = {a["name"]: a["value"].strip() for a in attributes}
        raw = ";".join(phones.get(f"Phone{i}", "") for i in range(1, MAX_NUMBERS + 1)).rstrip(";")
        parts = [phones[f"Phone{i}"] for i in range(1, MAX_NUMBERS + 1) if phones.get(f"Phone{i}")]
        if not phones.get("Phone1"):
            return f"Invalid numbers: '{raw}'"
    if not parts or len(parts) > MAX_NUMBERS:
        return f"Invalid numbers: '{raw}'"
    valid = NUMBER_PATTERN.fullmatch
    for part in parts:
        if not valid(part):
            return f"Invalid numbers: '{raw}'"
    return parts, ";".join(parts)


def _check_fields(entry: dict[str, Any]) -> str | None:
    mode = entry.get("dialingMode")
    if mode not in _EMPTY and mode not in DIALING_MODES:
        return f"Invalid dialingMode: {mode}"
    for name in ("priority", "previewTime"):
        value = entry.get(name)
        if value not in _EMPTY and not _INTEGER.fullmatch(str(value)):
            return f"Invalid {name}: {value}"
    if entry.get("date") not in _EMPTY:
        try:
            parse_time(str(entry["date"]))
        except SearchError:
            return f"Invalid date: {entry['date']}"
    return None


def validate_entries(
    entries: list[Any], existing_ids: Container[str], *, strict: bool = False
) -> list[dict[str, Any] | str]:
    """Per entry: the customer fields to store (no id yet), or the error string.

    ``existing_ids`` are the campaign's externalIds (a set or dict kept by the caller; only
    ``in`` is used, so the check does not grow with the campaign)."""
    in_batch = Counter(
        str(e["externalId"]) for e in entries if isinstance(e, dict) and e.get("externalId") not in _EMPTY
    )
    results: list[dict[str, Any] | str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            results.append("Invalid customer: not an object")
            continue
        try:
            attributes = attribute_list(entry.get("attributes"), strict=strict)
        except ValueError as exc:
            results.append(str(exc))
            continue
        numbers = _numbers(entry, attributes)
        if isinstance(numbers, str):
            results.append(numbers)
            continue
        external_id = entry.get("externalId")
        if external_id not in _EMPTY and (str(external_id) in existing_ids or in_batch[str(external_id)] > 1):
            results.append(f"Invalid externalId: {external_id} : Value is not unique")
            continue
        problem = _check_fields(entry)
        if problem:
            results.append(problem)
            continue
        parts, joined = numbers
        if entry.get("numbers") not in _EMPTY:
            attributes = [a for a in attributes if a["name"] not in _PHONE_ATTRIBUTES]
            attributes += [{"name": f"Phone{i}", "value": p} for i, p in enumerate(parts, start=1)]
        fields = {k: entry[k] for k in _OPTIONAL if entry.get(k) not in _EMPTY}
        for name in ("priority", "previewTime"):
            if name in fields:
                fields[name] = int(fields[name])
        stored_id = None if external_id in _EMPTY else str(external_id)
        results.append({"externalId": stored_id, "numbers": joined, "attributes": attributes, **fields})
    return results


def _pattern(value: str) -> Callable[[str], bool]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    compiled = re.compile(regex, re.DOTALL)
    return lambda text: compiled.fullmatch(text) is not None


def matches(
    record: dict[str, Any], query: dict[str, str], fields: frozenset[str], dates: frozenset[str]
) -> bool:
    """Whether one campaign/customer passes every filter in ``query`` (paging keys already removed)."""
    for key, value in query.items():
        if key in fields:
            if record.get(key) is None or not _pattern(value)(str(record[key])):
                return False
        elif key.endswith("End") and key[:-3] in dates:
            if record.get(key[:-3]) is None or parse_time(str(record[key[:-3]])) > parse_time(value):
                return False
        elif key in dates:
            if record.get(key) is None or parse_time(str(record[key])) < parse_time(value):
                return False
        else:
            raise SearchError(f"Invalid search field: {key}")
    return True
