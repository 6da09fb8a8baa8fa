"""The run seen lead by lead: one row per input row, its outcome at each target as columns.

Why: result rows are one per (lead, target), so every count over them is lead x target: a file
of 1,507 rows sent to 4 targets reads "accepted 4,652", and 380 leads with a bad phone read
"PHONE_INVALID 2,280". An analyst thinks in rows of the file. This module gives the report,
the terminal and the CSV export the same lead-level view:

* :func:`lead_outcomes`: one row per lead with the lead's contact fields, an ``outcome``
  (:data:`OUTCOMES`, exactly one per lead, so the headline counts add up to the rows of the
  file) and per target ``status``/``reasons``/``vendor_status``/``vendor_message`` columns
  named by :func:`target_column`;
* :func:`reasons_by_lead`: per reason code the leads that carry it (at any target).

A target with a compliance profile gives each lead a calling window (schemas.results
WINDOW_COLUMNS) and holds those it may not call now (``OUTSIDE_CALLING_WINDOW``): its
``call_window_start``/``call_window_end`` join the per-target columns of the targets that have
any window in the run (:func:`windowed_targets`), and :func:`with_callable` says when a held
lead may be called, for the tables.

Pure polars; the only loop is over targets (a handful), never over rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from schemas.codes import Issue, Status
from schemas.results import RAW_COLUMNS, WINDOW_COLUMNS
from transforms.summary import empty_row, needs_attention

__all__ = [
    "CALLABLE",
    "CONTACT_COLUMNS",
    "DELIVERED",
    "LEAD_COLUMNS",
    "OUTCOMES",
    "PER_TARGET",
    "LeadView",
    "Outcome",
    "among",
    "first_contact",
    "lead_outcomes",
    "lead_rows",
    "lead_view",
    "missed_in_order",
    "not_delivered_everywhere",
    "outcome_counts",
    "reasons_by_lead",
    "target_column",
    "windowed_targets",
    "with_callable",
]

DELIVERED: tuple[Status, ...] = (Status.ACCEPTED, Status.SUBMITTED, Status.ALREADY_SENT)
"""At the vendor: confirmed, in a file it took, or delivered by an earlier run."""
_WOULD_SEND: tuple[Status, ...] = (Status.DRY_RUN, Status.READY)


class Outcome:
    """A lead's one outcome across its targets (the first that applies, in this order)."""

    ATTENTION = "needs attention"
    """Rejected, vendor-rejected or failed at a target, or possibly sent twice: someone must act."""
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    DELIVERED_ALL = "delivered to every target"
    DELIVERED_SOME = "delivered to some targets"
    """Delivered where it could be; ineligible (no mobile, no email...) at the others."""
    WOULD_SEND = "would be sent to every target (dry run)"
    """Dry run or validate: ready for every target (or delivered there by an earlier run)."""
    WOULD_SEND_SOME = "would be sent to some targets (dry run)"
    """Dry run or validate: ready where it could be, ineligible at the others."""
    NOT_DELIVERED = "delivered nowhere"
    """Ineligible at every target (or a run without targets)."""
    EMPTY = "empty row"
    """A row of the file that holds no value (``ROW_EMPTY``, a spreadsheet's ``,,,``): rejected
    at every target, nothing to send and nothing to fix, so not a lead to look at."""


OUTCOMES: tuple[str, ...] = (
    Outcome.DELIVERED_ALL,
    Outcome.DELIVERED_SOME,
    Outcome.WOULD_SEND,
    Outcome.WOULD_SEND_SOME,
    Outcome.ATTENTION,
    Outcome.DUPLICATE,
    Outcome.SUPPRESSED,
    Outcome.NOT_DELIVERED,
    Outcome.EMPTY,
)
"""Display order of the headline: delivered first, then what needs someone, then what we held back."""
_OUTCOME = pl.Enum(OUTCOMES)

CONTACT_COLUMNS: tuple[str, ...] = ("phone1", "phone2", "phone3", "email")
"""A lead's contacts as the report shows them: every phone it has, then its email (a lead whose
first phone was refused is reached on its second)."""


def first_contact(row: Mapping[str, Any]) -> object:
    """The first of :data:`CONTACT_COLUMNS` ``row`` has (None: none)."""
    return next((row[name] for name in CONTACT_COLUMNS if row.get(name)), None)


LEAD_COLUMNS: tuple[str, ...] = (
    "source_row",
    "external_id",
    "first_name",
    "last_name",
    *CONTACT_COLUMNS,
    "country",
    "duplicate_of",
    "duplicate_on",
    *RAW_COLUMNS,
)
"""Fields that are the same at every target of a lead (contact fields, disposition, values as read)."""

PER_TARGET: tuple[str, ...] = ("status", "reasons", "vendor_status", "vendor_message")
"""Per-target columns of every target; a target with windows has :data:`WINDOW_COLUMNS` too."""

CALLABLE = "callable"
"""Per-target column of :func:`with_callable`."""


def target_column(target: str, field: str) -> str:
    """The name of a per-target column: ``"obi_main status"`` (a space: target names have none)."""
    return f"{target} {field}"


def _windowed_plan(frame: pl.LazyFrame) -> pl.LazyFrame | None:
    """The targets of ``frame`` with a calling window at any lead; None when the results have
    no window columns (results written before they were added, read as they are)."""
    if not set(WINDOW_COLUMNS) <= set(frame.collect_schema().names()):
        return None
    windowed = pl.any_horizontal(pl.col(WINDOW_COLUMNS).is_not_null())
    return frame.filter(windowed).select(pl.col("target").unique())


def windowed_targets(results: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The targets that gave any lead of the run a calling window (those with a compliance
    profile, voice or SMS), sorted: only they get window columns, not every target of every run."""
    plan = _windowed_plan(results.lazy())
    if plan is None:
        return []
    return _sorted_targets(plan.collect(engine="streaming"))


def _sorted_targets(found: pl.DataFrame) -> list[str]:
    return sorted(str(target) for target in found["target"].drop_nulls().to_list())


_HELD = Issue.OUTSIDE_CALLING_WINDOW.value


def with_callable(leads: pl.DataFrame, targets: Sequence[str]) -> pl.DataFrame:
    """``leads`` (:func:`lead_rows`) with a ``<target> callable`` column per target of
    ``targets`` that has window columns: for a lead held there (``OUTSIDE_CALLING_WINDOW``),
    ``callable from 2026-12-05 13:00 UTC`` (the window's start, rounded up to the minute: the
    lead may not be called before), or ``no calling window`` (no zone, or no allowed hour
    within the 14 days looked at); null for a lead not held."""
    columns = []
    for target in targets:
        start_name = target_column(target, "call_window_start")
        if start_name not in leads.columns:
            continue
        start = pl.col(start_name)
        held = pl.col(target_column(target, "reasons")).list.contains(_HELD).fill_null(False)
        minute = (start + pl.duration(microseconds=59_999_999)).dt.truncate("1m")
        columns.append(
            pl.when(held & start.is_not_null())
            .then(pl.lit("callable from ") + minute.dt.strftime("%Y-%m-%d %H:%M UTC"))
            .when(held)
            .then(pl.lit("no calling window"))
            .otherwise(None)
            .alias(target_column(target, CALLABLE))
        )
    return leads.with_columns(columns)


def _outcome() -> pl.Expr:
    """In a group of one lead's results. "Every target" is every result of the lead (one per
    target by the contract; a target of run.json without results has no say)."""
    status = pl.col("status")
    delivered = status.is_in([s.value for s in DELIVERED]).sum()
    would_send = status.is_in([s.value for s in _WOULD_SEND]).sum()
    return (
        pl.when(empty_row().any())
        .then(pl.lit(Outcome.EMPTY))
        .when(needs_attention().any())
        .then(pl.lit(Outcome.ATTENTION))
        .when((status == Status.DUPLICATE.value).any())
        .then(pl.lit(Outcome.DUPLICATE))
        .when((status == Status.SUPPRESSED.value).any())
        .then(pl.lit(Outcome.SUPPRESSED))
        .when(delivered == pl.len())
        .then(pl.lit(Outcome.DELIVERED_ALL))
        .when((would_send > 0) & (delivered + would_send == pl.len()))
        .then(pl.lit(Outcome.WOULD_SEND))
        .when(delivered > 0)
        .then(pl.lit(Outcome.DELIVERED_SOME))
        .when(would_send > 0)
        .then(pl.lit(Outcome.WOULD_SEND_SOME))
        .otherwise(pl.lit(Outcome.NOT_DELIVERED))
        .alias("outcome")
    )


def _row_outcome() -> pl.Expr:
    """:func:`_outcome` of a lead with one result, from that result alone (no grouping), as
    the ``OUTCOMES`` enum (its literals made so: half the time of strings cast after)."""
    status = pl.col("status")

    def outcome(name: str) -> pl.Expr:
        return pl.lit(name, dtype=_OUTCOME)

    return (
        pl.when(empty_row())
        .then(outcome(Outcome.EMPTY))
        .when(needs_attention())
        .then(outcome(Outcome.ATTENTION))
        .when(status == Status.DUPLICATE.value)
        .then(outcome(Outcome.DUPLICATE))
        .when(status == Status.SUPPRESSED.value)
        .then(outcome(Outcome.SUPPRESSED))
        .when(status.is_in([s.value for s in DELIVERED]))
        .then(outcome(Outcome.DELIVERED_ALL))
        .when(status.is_in([s.value for s in _WOULD_SEND]))
        .then(outcome(Outcome.WOULD_SEND))
        .otherwise(outcome(Outcome.NOT_DELIVERED))
        .alias("outcome")
    )


def _per_lead(frame: pl.LazyFrame, *, reasons: bool = True) -> pl.LazyFrame:
    """``source_row``, ``outcome`` (and ``reasons``): one row per lead, from three columns
    (:func:`transforms.summary.needs_attention` reads ``reasons`` too)."""
    codes = pl.col("reasons").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True)
    return (
        frame.select("source_row", "status", "reasons")
        .group_by("source_row")
        .agg(_outcome(), *([codes] if reasons else []))
    )


def _target_names(frame: pl.LazyFrame, targets: Sequence[str]) -> list[str]:
    found = frame.select(pl.col("target").unique()).collect(engine="streaming")["target"].to_list()
    return sorted({*found, *targets})


def lead_outcomes(results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str] = ()) -> pl.DataFrame:
    """One row per lead (by ``source_row``): :data:`LEAD_COLUMNS`, ``run_id``, ``outcome``,
    ``reasons`` (every code of the lead at any target, first seen first) and, per target
    (``targets`` plus any in the results, sorted), the :data:`PER_TARGET` fields (null where
    the lead has no result for that target), and the window columns of the
    :func:`windowed_targets`. Holds every lead: the report shows a few (:func:`lead_view`)."""
    frame = results.lazy()
    needed = _needed(windows=_windowed_plan(frame) is not None)
    frame = frame.select(needed).collect().lazy()  # read once, not once per part below
    return _wide(frame, _target_names(frame, targets), windowed_targets(frame))


def _needed(windows: bool) -> list[str]:
    return ["run_id", *LEAD_COLUMNS, "target", *PER_TARGET, *(WINDOW_COLUMNS if windows else ())]


def _wide(frame: pl.LazyFrame, names: Sequence[str], windowed: Sequence[str] = ()) -> pl.DataFrame:
    """A row per lead, the :data:`PER_TARGET` columns of each target of ``names`` (and the
    window columns of those of ``windowed``)."""
    # lead fields are the same in each of a lead's results: any one will do (no sort of them all)
    fields = frame.filter(pl.col("source_row").is_first_distinct()).select("run_id", *LEAD_COLUMNS)
    per_lead = fields.join(_per_lead(frame), on="source_row", how="left")
    for target in names:
        per_target = (*PER_TARGET, *(WINDOW_COLUMNS if target in windowed else ()))
        columns = [pl.col(field).alias(target_column(target, field)) for field in per_target]
        part = frame.filter(pl.col("target") == target).select("source_row", *columns)
        per_lead = per_lead.join(part, on="source_row", how="left")
    first = [
        "source_row",
        "run_id",
        *[name for name in LEAD_COLUMNS if name != "source_row"],
        "outcome",
        "reasons",
    ]
    return per_lead.sort("source_row").collect().select(*first, pl.exclude(first))


@dataclass(frozen=True)
class LeadView:
    """What the report shows of the leads, whatever the run's size: exact counts, and the
    first ``limit`` leads not delivered everywhere (:func:`not_delivered_everywhere` order)."""

    leads: int
    counts: dict[str, int]
    """Leads per outcome, as :func:`outcome_counts`."""
    missed: int
    """Leads not delivered to every target (all of them, not only those in ``shown``)."""
    shown: pl.DataFrame
    """The first ``limit`` rows of ``not_delivered_everywhere(lead_outcomes(...))``."""
    missed_outcomes: frozenset[str]
    missed_statuses: frozenset[str]
    """Statuses at the given targets of the leads not delivered everywhere (for the filters)."""


def lead_view(results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str], limit: int) -> LeadView:
    """The lead-first view without holding every lead: the outcome of each lead is computed
    from three columns (its outcome held as an enum, a few bytes a lead), the wide rows
    (contact fields, a column per target) only for the ``limit`` leads shown."""
    frame = results.lazy()
    names = _target_names(frame, targets)
    at_targets = pl.col("target").is_in(list(targets))
    windows = _windowed_plan(frame)
    if _one_result_each(frame):
        # each lead's outcome is its one result's: the outcomes and the statuses of the missed
        # leads' results from one read, without grouping by lead
        rows = frame.select("source_row", "target", "status", _row_outcome())
        outcomes, statuses, *found = pl.collect_all(
            [
                rows.select("source_row", "outcome"),
                rows.filter(at_targets & ~pl.col("outcome").is_in(_DONE)).select(pl.col("status").unique()),
                *([windows] if windows is not None else []),
            ],
            engine="streaming",
        )
        windowed = _sorted_targets(found[0]) if found else []
        missed = _missed(outcomes)
    else:
        windowed = windowed_targets(frame)
        outcomes = _outcomes(frame)
        missed = _missed(outcomes)
        # joined a range of leads at a time: a join of every result to every missed lead held
        # 0.3 GB at 10M results
        missed_rows = missed.lazy().select("source_row")
        statuses = _in_lead_ranges(
            frame.filter(at_targets).select("source_row", "status"),
            lambda rows, within: rows.join(missed_rows.filter(within), on="source_row", how="semi").select(
                pl.col("status").unique()
            ),
        )
    counted = dict(outcomes.group_by("outcome").len().iter_rows())
    shown = lead_rows(frame, missed["source_row"].head(limit), names, windowed)
    return LeadView(
        leads=outcomes.height,
        counts={name: int(counted.get(name, 0)) for name in OUTCOMES},
        missed=missed.height,
        shown=shown,
        missed_outcomes=frozenset(missed["outcome"].unique().cast(pl.String).to_list()),
        missed_statuses=frozenset(statuses["status"].drop_nulls().to_list()),
    )


_DONE = [Outcome.DELIVERED_ALL, Outcome.WOULD_SEND, Outcome.EMPTY]
"""Not in the lead table: delivered (or, dry run, would be) to every target, or an empty row of
the file (nothing in it to look at; the headline counts them)."""


LEAD_RANGE = 1_000_000
"""Leads (source rows) grouped at a time, for their outcomes and their reasons."""


def _in_lead_ranges(
    frame: pl.LazyFrame, plan: Callable[[pl.LazyFrame, pl.Expr], pl.LazyFrame]
) -> pl.DataFrame:
    """``plan(rows, within)`` collected for each range of :data:`LEAD_RANGE` source rows, the
    parts concatenated: ``rows`` are the range's results, ``within`` its predicate on
    ``source_row`` (for a plan that joins other leads to them).

    Why: a grouping by lead over every result holds a hash table of every lead (at 10M
    results: 0.9 GB for the outcomes, 1.15 GB for the reasons' distinct leads); a range's rows
    are found from the parts' row-group statistics (each part is written in source-row order),
    so the ranges cost little reading. All results of a lead fall in one range: a per-lead
    figure of a range is the lead's, and distinct leads of the ranges add up."""
    last = frame.select(pl.col("source_row").max()).collect(engine="streaming").item()
    # no results: one (empty) range, so that the frame has the plan's columns
    starts = range(0, int(last or 0) + 1, LEAD_RANGE)
    ranges = (pl.col("source_row").is_between(start, start + LEAD_RANGE - 1) for start in starts)
    return pl.concat([plan(frame.filter(within), within).collect(engine="streaming") for within in ranges])


def _one_result_each(frame: pl.LazyFrame) -> bool:
    """Whether every lead has exactly one result: source rows strictly increasing down the
    results (a run of one target writes its parts in source-row order, part after part).
    Why: a lead's outcome is then its one result's (:func:`_row_outcome`), and no grouping
    by lead is needed (0.2-0.25 s of CPU at 1M results, a hash table of every lead). Any
    other order (several targets, parts listed out of order) is grouped, as before."""
    source_row = pl.col("source_row")
    checked = frame.select(((source_row.diff() > 0).all() & (source_row.null_count() == 0)).alias("single"))
    return bool(checked.collect(engine="streaming").item())


def _outcomes(frame: pl.LazyFrame) -> pl.DataFrame:
    """``source_row`` and ``outcome`` (an enum: a byte) of every lead, a range of leads at a
    time (:func:`_in_lead_ranges`); read in one pass without grouping when every lead has one
    result (:func:`_one_result_each`)."""
    if _one_result_each(frame):
        return frame.select("source_row", _row_outcome()).collect(engine="streaming")
    outcome = pl.col("outcome").cast(_OUTCOME)
    return _in_lead_ranges(
        frame, lambda rows, _: _per_lead(rows, reasons=False).select("source_row", outcome)
    )


def _missed(outcomes: pl.DataFrame) -> pl.DataFrame:
    """The leads not delivered everywhere in :func:`not_delivered_everywhere` order."""
    rank = (pl.col("outcome") != Outcome.ATTENTION).cast(pl.Int8)
    return outcomes.filter(~pl.col("outcome").is_in(_DONE)).sort(rank, "source_row")


def missed_in_order(results: pl.DataFrame | pl.LazyFrame) -> tuple[pl.Series, list[str]]:
    """The ``source_row`` of every lead not delivered everywhere, in
    :func:`not_delivered_everywhere` order, and the targets in the results (sorted): what
    :func:`lead_rows` needs to give those leads a slice at a time."""
    frame = results.lazy()
    return _missed(_outcomes(frame))["source_row"], _target_names(frame, ())


def lead_rows(
    results: pl.DataFrame | pl.LazyFrame,
    rows: pl.Series,
    targets: Sequence[str],
    windowed: Sequence[str] = (),
) -> pl.DataFrame:
    """The :func:`lead_outcomes` rows of the leads ``rows`` (source rows) in
    :func:`not_delivered_everywhere` order, with a column set per target of ``targets`` (give
    every target of the run, so that each slice of leads has the same columns), the window
    columns for those of ``windowed`` (give the run's :func:`windowed_targets`, likewise).
    Only those leads' results are read."""
    # the first leads shown of a million lie in a few of the parts' row groups
    wanted = results.lazy().filter(among(rows))
    needed = _needed(windows=bool(windowed))
    return not_delivered_everywhere(_wide(wanted.select(needed), sorted({*targets}), windowed))


def among(rows: pl.Series) -> pl.Expr:
    """``source_row`` is one of ``rows``, said so that the parts' row groups outside their span
    are skipped by their statistics (an ``is_in`` alone reads every row group)."""
    source_row = pl.col("source_row")
    listed = source_row.is_in(rows.unique().implode())
    if rows.len() == 0 or rows.null_count():
        return listed
    return source_row.is_between(rows.min(), rows.max()) & listed


def not_delivered_everywhere(leads: pl.DataFrame) -> pl.DataFrame:
    """The leads an analyst looks at: every lead not delivered to all its targets (needs
    attention, ineligible somewhere, duplicate, suppressed), those needing attention first."""
    rank = pl.col("outcome").replace_strict({Outcome.ATTENTION: 0}, default=1, return_dtype=pl.Int8)
    return leads.filter(~pl.col("outcome").is_in(_DONE)).sort(rank, "source_row")


def outcome_counts(leads: pl.DataFrame) -> dict[str, int]:
    """Leads per outcome, every outcome listed (0 included) in :data:`OUTCOMES` order."""
    counted = dict(leads.group_by("outcome").len().iter_rows())
    return {outcome: int(counted.get(outcome, 0)) for outcome in OUTCOMES}


_EXAMPLE_COLUMNS = ("first_name", "last_name", *CONTACT_COLUMNS, "status", "vendor_status", "vendor_message")


def reasons_by_lead(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per reason code: ``leads`` carrying it at any target, ``targets`` it occurred
    at, and the first result carrying it (lowest source row, then target) as the example
    (``source_row``, ``target`` and the contact and vendor columns); most leads first.

    Only the three key columns are exploded and grouped; the example's other columns are
    joined in for the one row per code (grouping every column of a million results took
    seconds); the example rows are read for those rows only, never the whole run."""
    frame = results.lazy()
    # the distinct leads per code counted a range of leads at a time and added up (one count
    # over every result held each code's leads in a hash set: 1.15 GB at 10M)
    per_range = _in_lead_ranges(frame, lambda rows, _: reason_counts(rows))
    return reasons_with_examples(frame, per_range)


def reason_counts(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per reason code of ``rows`` (results): ``leads`` carrying it, the ``targets`` it occurred
    at, its lowest ``source_row``. Those of parts that share no lead add up
    (:func:`reasons_with_examples`)."""
    # the example's row as the lowest source row, its target the lowest at that row: a min per
    # code, where sort_by(...).first() gathered and sorted every coded row (10M rows: 1.67 GB
    # of the report's peak, then about 1.0)
    return (
        _coded(rows)
        .group_by("reasons")
        .agg(
            pl.col("source_row").n_unique().alias("leads"),
            pl.col("target").unique().alias("targets"),
            pl.col("source_row").min(),
        )
    )


def _coded(rows: pl.LazyFrame) -> pl.LazyFrame:
    return rows.select("source_row", "target", "reasons").explode("reasons").drop_nulls("reasons")


def reasons_with_examples(results: pl.DataFrame | pl.LazyFrame, per_part: pl.DataFrame) -> pl.DataFrame:
    """:func:`reasons_by_lead` of ``results`` from the :func:`reason_counts` of its parts
    (sharing no lead), stacked in ``per_part``: the counts added up, the examples read from
    ``results`` for their rows only."""
    frame = results.lazy()
    counted = per_part.group_by("reasons").agg(
        pl.col("leads").sum(),
        pl.col("targets").explode().unique().sort(),
        pl.col("source_row").min(),
    )
    first = counted["source_row"]
    # the examples' rows only (the span of their row groups: the first rows of each code are
    # near the file's start, the other row groups are skipped by their statistics)
    examples_only = among(first)
    targets = (
        _coded(frame.filter(examples_only))
        .group_by("reasons", "source_row")
        .agg(pl.col("target").min())
        .collect(engine="streaming")
    )
    counted = counted.join(targets, on=["reasons", "source_row"], how="left").select(
        "reasons", "leads", "targets", "source_row", "target"
    )
    rows = frame.filter(examples_only)
    examples = counted.lazy().join(
        rows.select("source_row", "target", *_EXAMPLE_COLUMNS), on=["source_row", "target"], how="left"
    )
    return (
        examples.rename({"reasons": "reason"}).sort(["leads", "reason"], descending=[True, False]).collect()
    )
