"""Calling-hours rules: the shipped compliance profiles and the targets-file table that makes one.

A profile is a set of rules; every rule that applies to a lead must allow a local time for the
lead to be called then (the stricter rule wins, by intersection). A rule gives the allowed local
hours per weekday, and optionally a holiday calendar (``holidays`` package) whose days have
their own hours or none. Rules apply to every lead (``rules``), to the leads of a country
(``by_country``, ISO-2) and to US leads of a state (``by_state``, USPS code). A US lead whose
state is not known (or a lead of no known country) gets, in each of its zones, the rules of every
state that has that zone (``unknown_state = "strictest"``, the default: a 305 number with no
address is called on Florida's hours, in America/Chicago on Texas's and Florida's).

Each shipped rule names its source. Only rules whose text we could check are applied; those we
believe but could not check are in ``UNVERIFIED_US_STATES`` and applied only by the
``us-tcpa-strict`` profile (stricter is safe, so that profile errs on the side of not calling).
Nothing here is legal advice: the profiles are a floor the importer enforces, and a compliance
officer's table in the targets file replaces them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import holidays

__all__ = [
    "PROFILES",
    "UNVERIFIED_US_STATES",
    "US_STATE_RULES",
    "Profile",
    "Rule",
    "holiday_dates",
    "profile_of",
]

Span = tuple[int, int]
"""Allowed local minutes of a day, [start, end): (480, 1260) is 08:00-21:00."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _span(text: str) -> Span | None:
    """``"08:00-21:00"`` -> (480, 1260); ``""`` or ``"closed"`` -> None (no calls that day)."""
    text = text.strip().lower()
    if text in ("", "closed", "none"):
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
    if not match:
        raise ValueError(f"hours {text!r}: write HH:MM-HH:MM (24:00 for midnight) or 'closed'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= 24 * 60:
        raise ValueError(f"hours {text!r}: start must be before end, within 00:00-24:00")
    return start, end


def _week(weekdays: str, saturday: str | None = None, sunday: str | None = None) -> tuple[Span | None, ...]:
    """Monday-Friday ``weekdays``, Saturday and Sunday as given (default: as weekdays)."""
    monday = _span(weekdays)
    sat = monday if saturday is None else _span(saturday)
    sun = sat if sunday is None else _span(sunday)
    return (monday, monday, monday, monday, monday, sat, sun)


@dataclass(frozen=True)
class Rule:
    """Allowed local hours, by weekday (Monday first) and on the days of a holiday calendar."""

    name: str
    days: tuple[Span | None, ...]
    source: str
    holidays: str | None = None
    """Country code of the ``holidays`` calendar whose days take ``holiday_hours``; None: none."""
    subdivisions: tuple[str, ...] | Literal["*"] = ()
    """The calendar's subdivisions to add to the national days; ``"*"``: every subdivision's
    days (a lead of an unknown German Land or UK nation keeps every regional holiday)."""
    holiday_hours: Span | None = None
    """Hours on a holiday; None: no calls on a holiday."""

    def span(self, day: date, holiday: bool) -> Span | None:
        return self.holiday_hours if holiday else self.days[day.weekday()]


@dataclass(frozen=True)
class Profile:
    """The rules of a target's calls (connectors.config ``compliance``)."""

    name: str
    rules: tuple[Rule, ...]
    by_country: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    by_state: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    unknown_state: Literal["strictest", "ignore"] = "strictest"


@functools.cache
def holiday_dates(country: str, subdivisions: tuple[str, ...] | Literal["*"], year: int) -> frozenset[date]:
    """The holidays of ``country`` in ``year``, with those of ``subdivisions`` (all for ``"*"``)."""
    national = holidays.country_holidays(country, years=year)
    days = set(national)
    chosen = national.subdivisions if subdivisions == "*" else subdivisions
    for subdivision in chosen:
        days |= set(holidays.country_holidays(country, subdiv=subdivision, years=year))
    return frozenset(days)


# --- United States -------------------------------------------------------------------------
US_FEDERAL = Rule(
    "US federal (TCPA/TSR)",
    _week("08:00-21:00"),
    # 47 CFR 64.1200(c)(1): no telephone solicitation "before the hour of 8 a.m. or after 9 p.m.
    # (local time at the called party's location)"; 16 CFR 310.4(c) (TSR) the same for
    # telemarketing calls. No weekday or holiday rule.
    source="47 CFR 64.1200(c)(1); 16 CFR 310.4(c)",
)

US_STATE_RULES: dict[str, Rule] = {
    "FL": Rule(
        "Florida Telemarketing Act",
        # Fla. Stat. 501.616(6)(a): no commercial telephone solicitation call "before 8 a.m. or
        # after 8 p.m. local time at the called person's location". No Sunday or holiday rule
        # in 501.616 (the 3-calls-per-24-hours limit of (6)(b) is the frequency guardrail's).
        _week("08:00-20:00"),
        source="Fla. Stat. 501.616(6)(a)",
    ),
    "WA": Rule(
        "Washington",
        # RCW 80.36.390(2): a telephone solicitor may not call "before 8:00 a.m. or after 8:00
        # p.m. at the location of the called party".
        _week("08:00-20:00"),
        source="RCW 80.36.390(2)",
    ),
    "TX": Rule(
        "Texas",
        # Tex. Bus. & Com. Code 301.051: not before 9 a.m. or after 9 p.m. on a weekday or
        # Saturday, not before noon or after 9 p.m. on a Sunday (called person's time).
        _week("09:00-21:00", "09:00-21:00", "12:00-21:00"),
        source="Tex. Bus. & Com. Code 301.051",
    ),
}
"""Stricter US state hours whose text we checked; each rule's comment quotes it."""

UNVERIFIED_US_STATES: dict[str, Rule] = {
    # Believed, not checked against the statute's current text: applied only by us-tcpa-strict.
    "OK": Rule(
        "Oklahoma Telephone Solicitation Act (2022)",
        _week("08:00-20:00"),
        source="15 O.S. 775C.4 (unverified section): 8 a.m.-8 p.m. local",
    ),
    "MD": Rule(
        "Maryland Stop the Spam Calls Act (2023)",
        _week("08:00-20:00"),
        source="Md. Code, Com. Law 14-4500s (unverified section): 8 a.m.-8 p.m. local",
    ),
    "CT": Rule(
        "Connecticut (Public Act 23-98)",
        _week("09:00-20:00"),
        source="Conn. Gen. Stat. 42-288a (unverified): 9 a.m.-8 p.m. local",
    ),
    "LA": Rule(
        "Louisiana",
        _week("08:00-20:00", "08:00-20:00", "closed"),
        source="La. R.S. 45:844.17 (unverified): 8 a.m.-8 p.m., no Sundays or state holidays",
        holidays="US",
        subdivisions=("LA",),
    ),
    "AL": Rule(
        "Alabama",
        _week("08:00-20:00", "08:00-20:00", "closed"),
        source="Ala. Code 8-19A (unverified): 8 a.m.-8 p.m., no Sundays or state holidays",
        holidays="US",
        subdivisions=("AL",),
    ),
    "MS": Rule(
        "Mississippi",
        _week("08:00-20:00", "08:00-20:00", "closed"),
        source="Miss. Code 77-3-725 (unverified): 8 a.m.-8 p.m., no Sundays",
    ),
    "RI": Rule(
        "Rhode Island",
        _week("09:00-18:00", "10:00-17:00", "closed"),
        source="R.I. Gen. Laws 5-61-3.4 (unverified): weekdays 9-6, Saturday 10-5, no Sundays/holidays",
        holidays="US",
        subdivisions=("RI",),
    ),
}

# --- United Kingdom ------------------------------------------------------------------------
UK_PRACTICE = Rule(
    "UK industry practice",
    # No statute sets calling hours in the UK: PECR 2003 reg. 21 (TPS/consent) and Ofcom's
    # persistent-misuse policy (Communications Act 2003 ss.128-131) govern whether and how
    # often, not when; the FCA's CONC 7 (collections) forbids contact at unreasonable times
    # without naming hours (section not re-checked). So these hours are our conservative
    # choice, not a legal rule: weekdays 08:00-20:00, Saturday 09:00-17:00, no Sundays or bank
    # holidays (every UK nation's: the nation is not known).
    _week("08:00-20:00", "09:00-17:00", "closed"),
    source="no statute sets hours (PECR 2003 reg. 21, Ofcom persistent misuse, FCA CONC 7): our choice",
    holidays="GB",
    subdivisions="*",
)

# --- Germany -------------------------------------------------------------------------------
DE_PRACTICE = Rule(
    "Germany practice",
    # No statute sets calling hours: UWG 7(2) Nr. 1 requires the consumer's prior express
    # consent for any advertising call. Sundays and public holidays are days of rest (Art. 140
    # GG with Art. 139 WRV; the Laender's Sonn- und Feiertagsgesetze; ArbZG 9 for call-centre
    # staff), so: Monday-Saturday 09:00-20:00 (industry practice), no Sundays, no holiday of any
    # Land (the Land is not known).
    _week("09:00-20:00", "09:00-20:00", "closed"),
    source="no statute for hours; UWG 7(2) Nr. 1 consent, Sunday/holiday rest (Art. 140 GG, ArbZG 9)",
    holidays="DE",
    subdivisions="*",
)

PROFILES: dict[str, Profile] = {
    "us-tcpa": Profile("us-tcpa", (US_FEDERAL,), by_state={k: (v,) for k, v in US_STATE_RULES.items()}),
    "us-tcpa-strict": Profile(
        "us-tcpa-strict",
        (US_FEDERAL,),
        by_state={k: (v,) for k, v in {**US_STATE_RULES, **UNVERIFIED_US_STATES}.items()},
    ),
    "uk": Profile("uk", (UK_PRACTICE,)),
    "de": Profile("de", (DE_PRACTICE,)),
}
"""The named profiles a target's ``compliance`` may give."""


def _rule(name: str, table: Mapping[str, Any]) -> Rule:
    known = {"hours", "holidays", "subdivisions", "holiday_hours", "source"}
    unknown = set(table) - known
    if unknown:
        raise ValueError(
            f"{name}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    hours = table.get("hours", {})
    if isinstance(hours, str):
        days = tuple(_span(hours) for _ in WEEKDAYS)
    elif isinstance(hours, Mapping):
        bad = set(hours) - set(WEEKDAYS)
        if bad:
            raise ValueError(
                f"{name}.hours: unknown day(s) {', '.join(sorted(bad))}; use {', '.join(WEEKDAYS)}"
            )
        days = tuple(_span(str(hours.get(day, ""))) for day in WEEKDAYS)
    else:
        raise ValueError(f"{name}.hours: a string 'HH:MM-HH:MM' or a table of weekdays")
    calendar = table.get("holidays")
    subdivisions = table.get("subdivisions", ())
    if calendar is not None:
        calendar = str(calendar).upper()
        try:
            holidays.country_holidays(calendar, subdiv=None)
        except NotImplementedError:
            raise ValueError(
                f"{name}.holidays: {calendar!r} is not a country of the holidays package"
            ) from None
    subdivs: tuple[str, ...] | Literal["*"] = "*" if subdivisions == "*" else tuple(map(str, subdivisions))
    return Rule(
        name,
        days,
        source=str(table.get("source", "targets file")),
        holidays=calendar,
        subdivisions=subdivs,
        holiday_hours=_span(str(table.get("holiday_hours", ""))),
    )


def profile_of(value: str | Mapping[str, Any]) -> Profile:
    """A target's ``compliance``: a profile's name, or a table::

        [targets.x.compliance]
        base = "us-tcpa"                       # optional: start from a named profile
        hours = { mon = "09:00-20:00", ..., sun = "closed" }   # or one "HH:MM-HH:MM" for all days
        holidays = "DE"                        # optional calendar; subdivisions = ["BY"] or "*"
        holiday_hours = "closed"               # the default
        unknown_state = "strictest"            # or "ignore"
        [targets.x.compliance.states.FL]       # and [targets.x.compliance.countries.GB]
        hours = "08:00-20:00"

    Raises ValueError naming the key."""
    if isinstance(value, str):
        if value not in PROFILES:
            raise ValueError(
                f"unknown compliance profile {value!r}; use one of {', '.join(PROFILES)} or a table"
            )
        return PROFILES[value]
    table = dict(value)
    base = profile_of(str(table.pop("base"))) if "base" in table else Profile("table", ())
    states = table.pop("states", {})
    countries = table.pop("countries", {})
    unknown_state = table.pop("unknown_state", base.unknown_state)
    if unknown_state not in ("strictest", "ignore"):
        raise ValueError("unknown_state: 'strictest' or 'ignore'")
    rules = base.rules + ((_rule("compliance", table),) if table else ())
    by_state = dict(base.by_state)
    for state, rule in states.items():
        by_state[state.upper()] = (*by_state.get(state.upper(), ()), _rule(f"states.{state}", rule))
    by_country = dict(base.by_country)
    for country, rule in countries.items():
        by_country[country.upper()] = (
            *by_country.get(country.upper(), ()),
            _rule(f"countries.{country}", rule),
        )
    return Profile("table", rules, by_country, by_state, unknown_state)
