"""Each lead's next callable window in UTC, under a target's compliance profile (transforms.calling_rules).

A lead may be in several zones (``timezone_candidates``: a US toll-free number, a Spanish mobile
in Madrid or the Canaries): its window is the intersection of every candidate zone's allowed
times, so it is never called outside legal hours in any zone it may be in. The window is the
first stretch of allowed time that ends after the reference time (the run's start), cut to
start no earlier than it; null when none begins within ``HORIZON_DAYS`` or the lead has no zone.

A window depends only on (candidate zones, US state, country), and a file has few such
combinations: each is computed once in Python, and the answers go back to the rows by a 64-bit
hash of the combination (checked by a second one; the exact join on the zones joined into one
string when the two disagree).

Local times are turned into UTC conservatively across DST changes: a window's start is the
later of a local time's two possible instants, its end the earlier, and a local time that does
not exist (a spring-forward gap) starts after the gap and ends before it.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from schemas.codes import Issue
from transforms.calling_rules import Profile, Rule, Span, holiday_dates
from transforms.timezones import linked_zone
from transforms.us_state_zones import STATE_ZONES
from transforms.us_zones import US_REGIONS, address_values, state_codes

__all__ = [
    "HORIZON_DAYS",
    "WINDOW_COLUMNS",
    "allowed_at",
    "hold_outside_windows",
    "lead_rules",
    "next_window",
    "with_call_windows",
]

HORIZON_DAYS = 14
"""How far ahead a window is looked for (two weeks cover any run of Sundays and holidays)."""

WINDOW_COLUMNS: dict[str, pl.DataType] = {
    "call_window_start": pl.Datetime("us", "UTC"),
    "call_window_end": pl.Datetime("us", "UTC"),
}

Interval = tuple[datetime, datetime]


def _day_span(rules: Sequence[Rule], day: date) -> Span | None:
    """The local minutes of ``day`` every rule allows (their intersection), or None."""
    start, end = 0, 24 * 60
    for rule in rules:
        holiday = rule.holidays is not None and day in holiday_dates(
            rule.holidays, rule.subdivisions, day.year
        )
        span = rule.span(day, holiday)
        if span is None:
            return None
        start, end = max(start, span[0]), min(end, span[1])
        if start >= end:
            return None
    return start, end


def _instant(day: date, minutes: int, zone: zoneinfo.ZoneInfo, *, latest: bool) -> datetime:
    """The UTC instant of local ``day`` + ``minutes``: of its two readings around a DST change
    (fold 0 and 1) the later for a start, the earlier for an end."""
    local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    readings = [local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    return max(readings) if latest else min(readings)


@functools.lru_cache(maxsize=1024)
def _zone_intervals(
    zone: str, rules: tuple[Rule, ...], reference: datetime, days: int
) -> tuple[Interval, ...]:
    """The allowed UTC intervals of ``zone`` from the local day before ``reference`` on, adjacent
    ones merged (a rule open until 24:00 runs on into the next day's 00:00). Remembered (a pure
    function of its arguments): a file's combinations repeat zones, a toll-free number's 29 of
    them in every country and state it appears with."""
    tz = zoneinfo.ZoneInfo(zone)
    first = reference.astimezone(tz).date() - timedelta(days=1)
    intervals: list[Interval] = []
    for offset in range(days + 2):
        day = first + timedelta(days=offset)
        span = _day_span(rules, day)
        if span is None:
            continue
        start = _instant(day, span[0], tz, latest=True)
        end = _instant(day, span[1], tz, latest=False)
        if start >= end:
            continue
        if intervals and intervals[-1][1] >= start:
            intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
        else:
            intervals.append((start, end))
    return tuple(intervals)


def _intersect(left: Sequence[Interval], right: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def next_window(
    zones: Iterable[str],
    rules: Sequence[Rule] | Mapping[str, Sequence[Rule]],
    reference: datetime,
    days: int = HORIZON_DAYS,
) -> Interval | None:
    """The first allowed UTC interval in every one of ``zones`` that ends after ``reference``,
    starting no earlier than it; None without zones or without such an interval. ``rules``: the
    same for every zone, or each zone's (:func:`lead_rules`)."""
    allowed: Sequence[Interval] | None = None
    for zone in dict.fromkeys(zones):
        zone_rules = rules.get(zone, ()) if isinstance(rules, Mapping) else rules
        try:
            intervals = _zone_intervals(zone, tuple(zone_rules), reference, days)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
        allowed = intervals if allowed is None else _intersect(allowed, intervals)
    for start, end in allowed or ():
        if end > reference:
            return max(start, reference), end
    return None


def allowed_at(moment: datetime, zone: str, rules: Sequence[Rule]) -> bool:
    """Whether every rule allows ``moment`` at local time in ``zone`` (the check the tests hold
    each window to, written without intervals)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    span = _day_span(rules, local.date())
    minutes = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    return span is not None and span[0] <= minutes < span[1]


@functools.cache
def _state_zones_linked() -> dict[str, frozenset[str]]:
    """Each US state's zones as :func:`transforms.timezones.linked_zone` names them, so that a
    zone written by an old or alias name (US/Eastern, EST5EDT) finds the states of its place."""
    return {code: frozenset(map(linked_zone, zones)) for code, zones in STATE_ZONES.items()}


def lead_rules(
    profile: Profile, country: str | None, state: str | None, zones: Sequence[str]
) -> dict[str, tuple[Rule, ...]]:
    """Each of a lead's zones -> the rules that hold there: the profile's, the lead's country's,
    and its US state's. A US lead of no known state (or a lead of no known country, a US
    toll-free number say) gets, in each zone, the rules of every state that has that zone (in
    America/Chicago, or US/Central: Texas's and Florida's panhandle's; in Pacific/Guam: none),
    unless the profile says ``unknown_state = "ignore"``."""
    common = [*profile.rules, *profile.by_country.get(country or "", ())]
    by_zone = {zone: list(common) for zone in zones}
    if (country is None or country in US_REGIONS) and profile.by_state:
        if state is not None and country is not None:
            for rules in by_zone.values():
                rules.extend(profile.by_state.get(state, ()))
        elif profile.unknown_state == "strictest":
            for code, state_rules in profile.by_state.items():
                for zone in by_zone:
                    if linked_zone(zone) in _state_zones_linked().get(code, frozenset()):
                        by_zone[zone] += state_rules
    return {zone: tuple(dict.fromkeys(rules)) for zone, rules in by_zone.items()}


def with_call_windows(clean: pl.DataFrame, profile: Profile, reference: datetime) -> pl.DataFrame:
    """``source_row``, ``call_window_start``, ``call_window_end`` of every row of ``clean``
    (schemas.clean_leads) under ``profile``, from ``reference`` (aware; the run's start)."""
    height = clean.height
    blank = pl.repeat(None, height, dtype=pl.String, eager=True)
    countries = clean.get_column("country") if profile.by_country or profile.by_state else blank
    states = blank
    attributes = clean.get_column("attributes")
    if profile.by_state and height and (attributes.list.len() > 0).any():
        us_rows = clean.select(pl.col("country").is_in(list(US_REGIONS)).fill_null(False)).to_series()
        written = address_values(attributes, us_rows).get_column("state")
        if written.null_count() < height:  # the few distinct spellings, not every row, are read
            spellings = written.unique().drop_nulls()
            codes = pl.DataFrame({"state": spellings}).select(state_codes(pl.col("state"))).to_series()
            states = written.replace_strict(spellings, codes, default=None, return_dtype=pl.String)
    keys = pl.DataFrame(
        {"_zones": clean.get_column("timezone_candidates"), "_state": states, "_country": countries}
    )
    found = _combinations(keys)
    if found is None:  # the two hashes disagree (a collision): the exact, slower way
        return pl.concat(
            [clean.select("source_row"), _windows_by_join(keys, profile, reference)], how="horizontal"
        )
    combinations, index = found
    windows = _windows_of(combinations.select("_zones", "_state", "_country").iter_rows(), profile, reference)
    return pl.concat([clean.select("source_row"), windows.select(pl.all().gather(index))], how="horizontal")


def _zones_key(seed: int) -> pl.Expr:
    """A 64-bit hash of a row's zones: their hashes summed (order and repetition do not change a
    window, :func:`next_window` intersects the zones' hours) with the list's length. Hashing
    each zone string is one pass over the zones' bytes, where joining them copied every row's
    zones into a new string."""
    zones = pl.col("_zones")
    return zones.list.eval(pl.element().hash(seed)).list.sum().hash(seed + 1) ^ zones.list.len().hash(
        seed + 2
    )


def _combinations(keys: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series] | None:
    """The distinct (zones, state, country) of ``keys`` (the first row of each) and each row's
    index among them, grouped on a 64-bit hash; None when the group does not hold: a row's
    state or country differs from its group's first row's, or a second, independent hash of its
    zones does (two combinations share the first hash). A column of nulls is not hashed."""
    first = _zones_key(0)
    for seed, name in enumerate(("_state", "_country"), start=3):
        if keys.get_column(name).null_count() < keys.height:
            first = first ^ pl.col(name).hash(seed)
    hashes = keys.select(first=first, second=_zones_key(1000))
    first_hash, second_hash = hashes.get_column("first"), hashes.get_column("second")
    firsts = first_hash.is_first_distinct().arg_true()
    index = first_hash.replace_strict(
        first_hash.gather(firsts),
        pl.int_range(firsts.len(), dtype=pl.UInt32, eager=True),
        return_dtype=pl.UInt32,
    )
    leaders = firsts.gather(index)  # each row's group's first row
    same = (second_hash == second_hash.gather(leaders)).all() and all(
        keys.get_column(name).eq_missing(keys.get_column(name).gather(leaders)).all()
        for name in ("_state", "_country")
    )
    return (keys.gather(firsts), index) if same else None


def _windows_of(
    combinations: Iterable[tuple[Sequence[str] | None, str | None, str | None]],
    profile: Profile,
    reference: datetime,
) -> pl.DataFrame:
    """``call_window_start`` and ``call_window_end`` of each (zones, state, country) of
    ``combinations``, computed in Python: a file has few distinct ones."""
    windows = [
        next_window(zones, lead_rules(profile, country, state, zones), reference) if zones else None
        for zones, state, country in combinations
    ]
    return pl.DataFrame(
        {
            "call_window_start": [w[0] if w else None for w in windows],
            "call_window_end": [w[1] if w else None for w in windows],
        },
        schema=WINDOW_COLUMNS,
    )


def _windows_by_join(keys: pl.DataFrame, profile: Profile, reference: datetime) -> pl.DataFrame:
    """:func:`_windows_of` each row of ``keys``, grouped exactly: the distinct rows, their
    windows joined back (each row's zones joined into one string, the join's key). The way when
    the hashes collide, and what the tests hold the hashed way to."""
    joined = keys.with_columns(pl.col("_zones").list.join(";"))
    combinations = joined.unique()
    answers = pl.concat(
        [
            combinations,
            _windows_of(
                (
                    (joined.split(";") if joined else [], state, country)
                    for joined, state, country in combinations.iter_rows()
                ),
                profile,
                reference,
            ),
        ],
        how="horizontal",
    )
    out = joined.join(
        answers, on=["_zones", "_state", "_country"], how="left", nulls_equal=True, maintain_order="left"
    )
    if out.height != keys.height:  # the combinations are unique: a bug, never a lost row
        raise RuntimeError(f"calling windows: {out.height} rows for {keys.height}")
    return out.select(list(WINDOW_COLUMNS))


def hold_outside_windows(
    decided: pl.DataFrame, windows: pl.DataFrame, reference: datetime, *, scheduled: bool
) -> pl.DataFrame:
    """``decided`` (transforms.eligibility's frame, row for row with ``windows``) with its window
    columns, and the eligible rows that may not be sent made ineligible with
    ``OUTSIDE_CALLING_WINDOW``: a lead with no window; and, unless the vendor waits for the
    lead's own hours (``scheduled``) and the lead has one zone (a vendor's zone field takes
    one), a lead whose window does not hold ``reference``."""
    start, end = pl.col("call_window_start"), pl.col("call_window_end")
    callable_now = (start <= reference) & (end > reference)
    waits = pl.lit(scheduled) & (pl.col("timezone_candidates").list.len() == 1)
    held = pl.col("eligible") & (start.is_null() | ~(waits | callable_now))
    return (
        decided.with_columns(windows.select(list(WINDOW_COLUMNS)))
        .with_columns(_held=held.fill_null(True))
        .with_columns(
            eligible=pl.col("eligible") & ~pl.col("_held"),
            ineligible_reason=pl.when("_held")
            .then(pl.lit(Issue.OUTSIDE_CALLING_WINDOW.value))
            .otherwise("ineligible_reason"),
            channel_phone=pl.when("_held").then(None).otherwise("channel_phone"),
        )
        .drop("_held")
    )
