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

__all__ = [
    "ATTENTION_REASONS",
    "ATTENTION_STATUSES",
    "NO_COUNTRY",
    "STATUS_ORDER",
    "TOP_VENDOR_ERRORS",
    "as_read",
    "attention_rows",
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


def needs_attention() -> pl.Expr:
    """Rows in :data:`ATTENTION_STATUSES` or carrying one of :data:`ATTENTION_REASONS`."""
    flagged = pl.col("reasons").list.eval(pl.element().is_in([r.value for r in ATTENTION_REASONS])).list.any()
    return pl.col("status").is_in([s.value for s in ATTENTION_STATUSES]) | flagged.fill_null(False)


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


def _collect(results: pl.DataFrame | pl.LazyFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return results.lazy().select(columns).collect()


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """Counts by value of ``column``, most frequent first, ties by value."""
    counted = frame.group_by(column).len().sort(["len", column], descending=[True, False])
    return {str(key): int(n) for key, n in counted.iter_rows()}


def _status_counts(frame: pl.DataFrame) -> dict[str, int]:
    counted = dict(frame.group_by("status").len().iter_rows())
    return {
        status: int(counted[status])
        for status in sorted(counted, key=lambda s: (_STATUS_RANK.get(s, len(_STATUS_RANK)), s))
    }


def _vendor_errors(frame: pl.DataFrame) -> list[dict[str, Any]]:
    errors = frame.filter(
        pl.col("status").is_in([Status.VENDOR_REJECTED.value, Status.FAILED.value])
        & (pl.col("vendor_status").is_not_null() | pl.col("vendor_message").is_not_null())
    )
    counted = (
        errors.group_by("vendor_status", "vendor_message")
        .len("count")
        .sort(["count", "vendor_status", "vendor_message"], descending=[True, False, False], nulls_last=True)
        .head(TOP_VENDOR_ERRORS)
    )
    return counted.to_dicts()


def _leads(frame: pl.DataFrame, targets: int) -> pl.DataFrame:
    """One row per input row, with the lead-level columns only: contact fields do not vary by
    target, so any of a row's result rows will do (no sort of a million rows to pick one)."""
    lead_columns = ["country", *_PHONE_COLUMNS, *_PHONE_TYPE_COLUMNS]
    if targets <= 1:
        return frame.select(lead_columns)
    return frame.lazy().filter(pl.col("source_row").is_first_distinct()).select(lead_columns).collect()


def _phone_types(leads: pl.DataFrame) -> dict[str, int]:
    types = pl.concat(
        [
            leads.filter(pl.col(phone).is_not_null()).select(pl.col(type_col).alias("type"))
            for phone, type_col in zip(_PHONE_COLUMNS, _PHONE_TYPE_COLUMNS, strict=True)
        ]
    ).with_columns(pl.col("type").fill_null("unknown"))
    return _counts(types, "type")


def _target_summary(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "total": frame.height,
        "statuses": _status_counts(frame),
        "reasons": _counts(frame.select("reasons").explode("reasons").drop_nulls(), "reasons"),
        "vendor_errors": _vendor_errors(frame),
    }


def summarize(results: pl.DataFrame | pl.LazyFrame, targets: Sequence[str] = ()) -> dict[str, Any]:
    """JSON-serialisable summary of result rows; ``targets`` are the run's target names, listed
    (with a total of 0) even when they have no result rows: a file of no rows is a run too.

    Keys: ``rows`` (distinct input rows), ``results`` (result rows), ``statuses`` (all
    targets), ``targets`` ({target: {total, statuses, reasons, vendor_errors}}, vendor errors
    are the top :data:`TOP_VENDOR_ERRORS` (vendor_status, vendor_message, count) of failed and
    vendor-rejected rows), ``reasons`` (all targets), ``phone_types`` (valid phones of distinct
    rows), ``countries``, ``duplicates``, ``suppressed``, ``rejected`` (distinct rows) and
    ``attention`` (result rows that :func:`needs_attention`). Status counts follow
    :data:`STATUS_ORDER`, every other count is most frequent first.
    """
    frame = _collect(results, _SUMMARY_COLUMNS)
    names = sorted({*frame["target"].unique().to_list(), *targets})
    leads = _leads(frame, len(names))

    def distinct_rows(status: Status) -> int:
        return frame.filter(pl.col("status") == status.value)["source_row"].n_unique()

    per_target = {
        str(target): _target_summary(frame.filter(pl.col("target") == target) if len(names) > 1 else frame)
        for target in names
    }
    return {
        "rows": leads.height,
        "results": frame.height,
        "statuses": _status_counts(frame),
        "targets": per_target,
        "reasons": (
            next(iter(per_target.values()))["reasons"]
            if len(names) == 1
            else _counts(frame.select("reasons").explode("reasons").drop_nulls(), "reasons")
        ),
        "phone_types": _phone_types(leads),
        "countries": _counts(leads.select(pl.col("country").fill_null(NO_COUNTRY)), "country"),
        "duplicates": distinct_rows(Status.DUPLICATE),
        "suppressed": distinct_rows(Status.SUPPRESSED),
        "rejected": distinct_rows(Status.REJECTED),
        "attention": frame.filter(needs_attention()).height,
    }


def summary_json(summary: dict[str, Any]) -> str:
    """Stable text for summary.json: same results, same bytes."""
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def attention_rows(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Result rows that need someone (:func:`needs_attention`), by source row then target."""
    return results.lazy().filter(needs_attention()).sort("source_row", "target").collect()


def reason_examples(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per reason code: ``count`` of result rows, ``targets`` it occurred on, and the
    first result row carrying it (lowest source row, then target) as the example."""
    return (
        results.lazy()
        .sort("source_row", "target")
        .explode("reasons")
        .drop_nulls("reasons")
        .group_by("reasons", maintain_order=True)
        .agg(
            pl.len().alias("count"),
            pl.col("target").unique().sort().alias("targets"),
            pl.all().exclude("reasons").first(),
        )
        .rename({"reasons": "reason"})
        .sort(["count", "reason"], descending=[True, False])
        .collect()
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
