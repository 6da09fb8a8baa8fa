"""What a run did, as numbers: the one summary shared by summary.json, the terminal and the HTML report.

Pure polars over result rows (schemas.results). Rows are counted two ways on purpose: per
target, every figure counts result rows (one per input row and target); lead-level figures
(phone types, countries, duplicates, suppressions) count distinct input rows, because the
contact fields and the disposition are the same for every target of a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from schemas.codes import Issue, Status
from schemas.results import RAW_COLUMNS
from transforms.vendor_messages import message_pattern

__all__ = [
    "ATTENTION_REASONS",
    "ATTENTION_STATUSES",
    "NO_COUNTRY",
    "STATUS_ORDER",
    "TOP_VENDOR_ERRORS",
    "RunningSummary",
    "as_read",
    "attention_rows",
    "empty_row",
    "reason_examples",
    "summarize",
    "summary_json",
]

STATUS_ORDER: tuple[Status, ...] = (
    Status.ACCEPTED,
    Status.SUBMITTED,
    Status.ALREADY_SENT,
    Status.DRY_RUN,
    Status.READY,
    Status.INELIGIBLE,
    Status.DUPLICATE,
    Status.SUPPRESSED,
    Status.REJECTED,
    Status.VENDOR_REJECTED,
    Status.FAILED,
)
"""Display order: delivered first, then skipped by us, then the ones that need someone."""

ATTENTION_STATUSES: tuple[Status, ...] = (Status.FAILED, Status.VENDOR_REJECTED, Status.REJECTED)
"""Statuses an analyst must act on: fix the lead, or resend once the vendor is reachable."""

ATTENTION_REASONS: tuple[Issue, ...] = (Issue.POSSIBLY_DUPLICATED,)
"""Reasons that need someone whatever the status: a lead delivered by a request whose first
answer was lost may be at the vendor twice (ask the vendor, or dedupe the campaign there)."""


def empty_row() -> pl.Expr:
    """Rows of the file that hold no value at all (``ROW_EMPTY``: a spreadsheet's ``,,,``)."""
    return pl.col("reasons").list.contains(Issue.ROW_EMPTY.value).fill_null(False)


def needs_attention() -> pl.Expr:
    """Rows in :data:`ATTENTION_STATUSES` or carrying one of :data:`ATTENTION_REASONS`, but not
    a file's empty rows: they are rejected (nothing to send) yet need nobody. Why: Excel saves
    rows it once formatted as ``,,,``; counted as leads to fix, 500 of them made every run of a
    clean export "need attention" and raise its alert."""
    flagged = pl.col("reasons").list.eval(pl.element().is_in([r.value for r in ATTENTION_REASONS])).list.any()
    refused = pl.col("status").is_in([s.value for s in ATTENTION_STATUSES]) & ~empty_row()
    return refused | flagged.fill_null(False)


NO_COUNTRY = "(none)"
"""Key for rows whose country is unknown (JSON object keys cannot be null)."""

TOP_VENDOR_ERRORS = 10

_PHONE_TYPE_COLUMNS = ("phone1_type", "phone2_type", "phone3_type")
_PHONE_COLUMNS = ("phone1", "phone2", "phone3")
_SUMMARY_COLUMNS = (
    "source_row",
    "target",
    "status",
    "reasons",
    "vendor_status",
    "vendor_message",
    "country",
    *_PHONE_COLUMNS,
    *_PHONE_TYPE_COLUMNS,
)
_STATUS_RANK = {status.value: rank for rank, status in enumerate(STATUS_ORDER)}


def _count_plan(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    return frame.group_by(column).len()


def _counts(counted: pl.DataFrame, column: str) -> dict[str, int]:
    """Counts by value of ``column`` (from :func:`_count_plan`), most frequent first, ties by value."""
    ordered = counted.sort(["len", column], descending=[True, False])
    return {str(key): int(n) for key, n in ordered.iter_rows()}


def _status_counts(counted: pl.DataFrame) -> dict[str, int]:
    found = dict(counted.iter_rows())
    return {
        status: int(found[status])
        for status in sorted(found, key=lambda s: (_STATUS_RANK.get(s, len(_STATUS_RANK)), s))
    }


def _vendor_errors_plan(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Failed and vendor-rejected rows counted by vendor_status and the message's pattern
    (transforms.vendor_messages: the lead's ids, phones and emails masked), with the smallest
    message of each as its example; :func:`_top_vendor_errors` keeps the most frequent.

    The example is a key too, so that the figures of parts of the results add up as the
    others do (transforms.summary._merged); :func:`_top_vendor_errors` folds them."""
    errors = frame.filter(
        pl.col("status").is_in([Status.VENDOR_REJECTED.value, Status.FAILED.value])
        & (pl.col("vendor_status").is_not_null() | pl.col("vendor_message").is_not_null())
    )
    return (
        errors.select(
            "vendor_status", message_pattern(pl.col("vendor_message")).alias("pattern"), "vendor_message"
        )
        .group_by("vendor_status", "pattern")
        .agg(pl.col("vendor_message").min().alias("example"), pl.len().alias("count"))
    )


def _top_vendor_errors(counted: pl.DataFrame) -> pl.DataFrame:
    """The :data:`TOP_VENDOR_ERRORS` most frequent (vendor_status, pattern) of
    :func:`_vendor_errors_plan` (of one part, or of several merged): ``vendor_message`` the
    pattern, ``count`` its rows, ``example`` one message as the vendor wrote it."""
    grouped = counted.group_by("vendor_status", "pattern").agg(pl.col("count").sum(), pl.col("example").min())
    return (
        grouped.sort(["count", "vendor_status", "pattern"], descending=[True, False, False], nulls_last=True)
        .head(TOP_VENDOR_ERRORS)
        .select("vendor_status", pl.col("pattern").alias("vendor_message"), "count", "example")
    )


def _leads(frame: pl.LazyFrame, targets: int) -> pl.LazyFrame:
    """One row per input row, with the lead-level columns only: contact fields do not vary by
    target, so any of a row's result rows will do (no sort of a million rows to pick one)."""
    lead_columns = ["country", *_PHONE_COLUMNS, *_PHONE_TYPE_COLUMNS]
    if targets <= 1:
        return frame.select(lead_columns)
    return frame.filter(pl.col("source_row").is_first_distinct()).select(lead_columns)


def _phone_types_plan(leads: pl.LazyFrame) -> pl.LazyFrame:
    types = pl.concat(
        [
            leads.filter(pl.col(phone).is_not_null()).select(pl.col(type_col).alias("type"))
            for phone, type_col in zip(_PHONE_COLUMNS, _PHONE_TYPE_COLUMNS, strict=True)
        ]
    ).with_columns(pl.col("type").fill_null("unknown"))
    return _count_plan(types, "type")


def _reasons_plan(frame: pl.LazyFrame) -> pl.LazyFrame:
    return _count_plan(frame.select("reasons").explode("reasons").drop_nulls(), "reasons")


def _target_plans(frame: pl.LazyFrame) -> list[pl.LazyFrame]:
    return [
        frame.select(pl.len()),
        _count_plan(frame, "status"),
        _reasons_plan(frame),
        _vendor_errors_plan(frame),
    ]


def _target_summary(
    total: pl.DataFrame, statuses: pl.DataFrame, reasons: pl.DataFrame, errors: pl.DataFrame
) -> dict[str, Any]:
    return {
        "total": int(total.item()),
        "statuses": _status_counts(statuses),
        "reasons": _counts(reasons, "reasons"),
        "vendor_errors": _top_vendor_errors(errors).to_dicts(),
    }


def _figure_plans(frame: pl.LazyFrame, names: Sequence[str]) -> list[pl.LazyFrame]:
    """Every figure of the summary of ``frame`` (:data:`_SUMMARY_COLUMNS`) for the targets
    ``names``, as a plan whose answer adds up over parts of the results that share no source
    row (:func:`_merged`): a count (one value), or counts by key (the count the last column)."""
    leads = _leads(frame, len(names))
    per_target = [frame.filter(pl.col("target") == target) for target in names] if len(names) > 1 else []
    plans = [
        leads.select(pl.len()),
        frame.select(pl.len()),
        _count_plan(frame, "status"),
        _reasons_plan(frame),
        _phone_types_plan(leads),
        _count_plan(leads.select(pl.col("country").fill_null(NO_COUNTRY)), "country"),
        *(
            frame.filter(pl.col("status") == status.value).select(pl.col("source_row").n_unique())
            for status in (Status.DUPLICATE, Status.SUPPRESSED, Status.REJECTED)
        ),
        frame.filter(needs_attention()).select(pl.len()),
        *(plan for target in per_target for plan in _target_plans(target)),
    ]
    if len(names) == 1:
        # one target: its figures are the run's (the same plans, not collected twice), and its
        # vendor errors
        plans.append(_vendor_errors_plan(frame))
    return plans


def _figures(frame: pl.LazyFrame, names: Sequence[str]) -> list[pl.DataFrame]:
    # without common-subplan elimination: with it, polars caches the shared scan, i.e. holds
    # every result row's summary columns (1.1 GB for 5M rows instead of 0.2)
    return pl.collect_all(
        _figure_plans(frame, names),
        engine="streaming",
        optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
    )


def _merged(parts: Sequence[Sequence[pl.DataFrame]]) -> list[pl.DataFrame]:
    """The figures of several parts' :func:`_figure_plans`, added up: a count summed, counts by
    key summed key by key (in their first part's order: the summary orders them after)."""
    merged = []
    for figure in zip(*parts, strict=True):
        *keys, count = figure[0].columns
        together = pl.concat(figure, how="vertical_relaxed")
        total = pl.col(count).cast(pl.Int64).sum()
        merged.append(
            together.group_by(keys, maintain_order=True).agg(total) if keys else together.select(total)
        )
    return merged


def _summary(done: Sequence[pl.DataFrame], names: Sequence[str]) -> dict[str, Any]:
    rows, results_, statuses, reasons, phone_types, countries, duplicates, suppressed, rejected, attention = (
        done[:10]
    )
    figures = done[10:] if len(names) != 1 else [results_, statuses, reasons, *done[10:]]
    by_target = {
        str(target): _target_summary(*figures[4 * index : 4 * index + 4])
        for index, target in enumerate(names)
    }
    return {
        "rows": int(rows.item()),
        "results": int(results_.item()),
        "statuses": _status_counts(statuses),
        "targets": by_target,
        "reasons": _counts(reasons, "reasons"),
        "phone_types": _counts(phone_types, "type"),
        "countries": _counts(countries, "country"),
        "duplicates": int(duplicates.item()),
        "suppressed": int(suppressed.item()),
        "rejected": int(rejected.item()),
        "attention": int(attention.item()),
    }


def summarize(results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str] = ()) -> dict[str, Any]:
    """JSON-serialisable summary of result rows; ``targets`` are the run's target names, listed
    (with a total of 0) even when they have no result rows: a file of no rows is a run too.

    Keys: ``rows`` (distinct input rows), ``results`` (result rows), ``statuses`` (all
    targets), ``targets`` ({target: {total, statuses, reasons, vendor_errors}}, and ``stopped``
    when the run's end adds it: flows.run.finish), vendor errors
    are the top :data:`TOP_VENDOR_ERRORS` (vendor_status, vendor_message, count, example) of
    failed and vendor-rejected rows, counted by the message with the lead's ids, phones and
    emails masked (transforms.vendor_messages), ``example`` one message as written),
    ``reasons`` (all targets), ``phone_types`` (valid phones of distinct rows), ``countries``,
    ``duplicates``, ``suppressed``, ``rejected`` (distinct rows) and ``attention`` (result
    rows that :func:`needs_attention`). Status counts follow :data:`STATUS_ORDER`, every other
    count is most frequent first.

    Every figure is an aggregation of a lazy plan, collected together by polars' streaming
    engine: a scan of a run's result parts is summarized without holding its rows (issue 17).
    """
    frame = results.lazy().select(_SUMMARY_COLUMNS)
    present = frame.select(pl.col("target").unique()).collect().get_column("target").to_list()
    names = sorted({*present, *targets})
    return _summary(_figures(frame, names), names)


class RunningSummary:
    """:func:`summarize` of a run's results taken a batch at a time, as they are made: the
    same dict, without reading the results back once written.

    Why: summarizing the written parts of a million results read them back (0.35-0.4 s of
    CPU, zstd and list decoding) after the last batch, when nothing else runs beside; a batch's
    figures in memory cost a twentieth of a second each beside the next batch's normalizing.

    Each :meth:`add` must hold every result of its source rows (a batch of leads, all its
    targets' results): distinct rows are counted per part and added up. A result of a target
    not named at the start leaves the summary to the written parts (:meth:`summary` is None)."""

    def __init__(self, targets: Sequence[str]) -> None:
        self._names = sorted(set(targets))
        self._parts: list[list[pl.DataFrame]] = []
        self._unnamed = False

    def add(self, results: Sequence[pl.DataFrame]) -> None:
        """The figures of one batch's results (one frame per target)."""
        if self._unnamed:
            return
        frame = pl.concat(
            [part.lazy().select(_SUMMARY_COLUMNS) for part in results], how="vertical"
        ).collect()
        present = frame.get_column("target").unique().to_list()
        if not set(present) <= set(self._names):
            self._unnamed, self._parts = True, []
            return
        self._parts.append(_figures(frame.lazy(), self._names))

    def summary(self) -> dict[str, Any] | None:
        """The summary of every batch added; None when none was, or a result's target was not
        named (then summarize the written results)."""
        if self._unnamed or not self._parts:
            return None
        return _summary(_merged(self._parts), self._names)


def summary_json(summary: dict[str, Any]) -> str:
    """Stable text for summary.json: same results, same bytes."""
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def attention_rows(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Result rows that need someone (:func:`needs_attention`), by source row then target."""
    return results.lazy().filter(needs_attention()).sort("source_row", "target").collect()


def reason_examples(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per reason code: ``count`` of result rows, ``targets`` it occurred on, and the
    first result row carrying it (lowest source row, then target) as the example.

    The reasons are counted over three narrow columns and only the example rows are read
    whole: sorting every result row with all its columns took 1.4 GB for a million rows."""
    lazy = results.lazy()
    first = ("source_row", "target")
    per_reason = (
        lazy.select("source_row", "target", "reasons")
        .explode("reasons")
        .drop_nulls("reasons")
        .group_by("reasons")
        .agg(
            pl.len().alias("count"),
            pl.col("target").unique().sort().alias("targets"),
            *(pl.col(name).sort_by(*first).first().alias(f"_example_{name}") for name in first),
        )
        .collect(engine="streaming")
    )
    wanted = per_reason.select(**{name: f"_example_{name}" for name in first}).unique()
    # the rows by number first (a filter the scan of the parts applies as it reads), then by target
    rows = (
        lazy.filter(pl.col("source_row").is_in(wanted.get_column("source_row").implode()))
        .drop("reasons")
        .collect(engine="streaming")
        .join(wanted, on=list(first), how="semi")
    )
    others = [name for name in lazy.collect_schema().names() if name != "reasons"]
    return (
        per_reason.join(
            rows, left_on=[f"_example_{name}" for name in first], right_on=list(first), how="left"
        )
        .with_columns(**{name: pl.col(f"_example_{name}") for name in first})
        .select(pl.col("reasons").alias("reason"), "count", "targets", *others)
        .sort(["count", "reason"], descending=[True, False])
    )


def as_read() -> pl.Expr:
    """The refused values as read, one text per result row (``phone2: 555-CALL-NOW; email:
    bob@``, empty when nothing was refused): what the report and the artifact show beside the
    reasons, since the normalized columns of a refused value are blank."""
    return (
        pl.concat_str(
            [pl.lit(f"{field}: ") + pl.col(raw) for raw, field in RAW_COLUMNS.items()],
            separator="; ",
            ignore_nulls=True,
        )
        .fill_null("")
        .alias("as_read")
    )
