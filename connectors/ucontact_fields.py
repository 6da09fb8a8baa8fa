"""Which names a uContact target's settings look up in a lead, and the file that lacks one.

A uContact template renders each ``{placeholder}`` from the lead (connectors.ucontact
``template_values``): a lead field (:data:`LEAD_FIELDS`) or, by its exact header, one of the
file's columns kept as attributes; the email kind's ``variables`` are looked up the same way. A
name that is neither would render empty in every message ("your balance on  is due"), so the
import checks the names against the file's columns before it sends (``Connector.check_columns``)
and :func:`missing_message` says, per name, which of the file's columns could be meant: the
header mapped to a lead field (write the field), a header the mapping file ignores, or a close
spelling (difflib), and what to do.

A column that exists but is empty on a row is that row's value: it renders empty, as a lead
without a first name renders ``{first_name}`` empty.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence

from connectors.base import FileColumns

__all__ = ["LEAD_FIELDS", "Named", "missing_message", "unknown_names"]

LEAD_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "country",
    "timezone",
)
"""The lead's own fields a template or ``variables`` can name (connectors.ucontact.template_values)."""

_CUTOFF = 0.7
_NEAR = 0.1
_SHOWN = 20
"""The file's columns named in a message, at most."""

Named = tuple[str, str]
"""(setting, name): ``("template", "Account No")`` or ``("variables", "Plan")``."""


def unknown_names(named: Sequence[Named], columns: FileColumns) -> list[Named]:
    """The ``named`` lookups that find nothing: neither a lead field nor an attribute header
    (exact names, as rendering looks them up)."""
    known = {*LEAD_FIELDS, *columns.attributes}
    return [(setting, name) for setting, name in dict.fromkeys(named) if name not in known]


def missing_message(target: str, missing: Sequence[Named], columns: FileColumns) -> str:
    """What is missing, which columns could be meant, and what to do; no trailing period."""
    problems = "; ".join(_problem(setting, name, columns) for setting, name in missing)
    settings = " and ".join(dict.fromkeys(f"options.{setting}" for setting, _ in missing))
    return (
        f"{target}: {problems}. The file's own columns: {_listed(columns.attributes)}; lead fields: "
        f"{', '.join(LEAD_FIELDS)}. Fix {settings} of the target in the targets file, or give the "
        "file the column (a header spelled exactly so; or map it in the mapping file), then import "
        "again"
    )


def _shown(setting: str, name: str) -> str:
    return "{" + name + "}" if setting == "template" else json.dumps(name, ensure_ascii=False)


def _problem(setting: str, name: str, columns: FileColumns) -> str:
    shown = f"{_shown(setting, name)} in {setting}"
    mapped = [column for column, header in columns.mapped.items() if header == name]
    if mapped and mapped[0] in LEAD_FIELDS:
        field, write = mapped[0], _shown(setting, mapped[0])
        return f"{shown}: the file's column {name!r} is read as the lead field {field}: write {write}"
    if mapped:
        return (
            f"{shown}: the file's column {name!r} is read as the lead's {mapped[0]}; a message can "
            f"name only {_shown(setting, 'phone')} (the lead's first phone; for SMS, the number texted)"
        )
    if name in columns.ignored:
        return f"{shown}: the mapping file ignores the file's column {name!r}"
    said = f"{shown} names no column of this file and no lead field"
    meant = _close(name, [*columns.attributes, *LEAD_FIELDS])
    if meant:
        return f"{said} (did you mean {' or '.join(_shown(setting, m) for m in meant)}?)"
    return said


def _close(name: str, candidates: Sequence[str]) -> list[str]:
    """The candidates ``name`` could be a misspelling of, best first: the same name but for case
    and surrounding spaces, else the closest spellings (difflib, case-insensitively: a ratio of
    :data:`_CUTOFF` or more and within :data:`_NEAR` of the best, so that ``Acount No`` is told
    ``Account No`` and not also ``country``)."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(candidate.strip().casefold(), candidate)
    key = name.strip().casefold()
    if key in by_key:
        return [by_key[key]]
    matcher = difflib.SequenceMatcher(b=key)
    scored = []
    for other in by_key:
        matcher.set_seq1(other)
        scored.append((matcher.ratio(), other))
    scored.sort(key=lambda pair: -pair[0])
    best = scored[0][0] if scored else 0.0
    return [by_key[k] for ratio, k in scored[:3] if ratio >= max(_CUTOFF, best - _NEAR)]


def _listed(headers: Sequence[str]) -> str:
    if not headers:
        return "none beyond the lead fields"
    shown = ", ".join(repr(header) for header in headers[:_SHOWN])
    more = len(headers) - _SHOWN
    return f"{shown} and {more:,} more" if more > 0 else shown
