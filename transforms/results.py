"""Result rows: one per (input row, target), built from the clean leads and what the senders said.

Every row's ``reasons`` lists the codes behind its status first (NO_CHANNEL, DUPLICATE_PHONE,
NEEDS_MOBILE, VENDOR_REJECTED, TRANSPORT_FAILED, ...), then the row's other findings (an
invalid second phone on an accepted lead, say), so that "why" and "what else" are both there.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import Disposition, Status
from schemas.results import CONTACT_COLUMNS, RAW_COLUMNS, REFUSED_CODES, RESULTS, WINDOW_COLUMNS
from transforms.attach import attach
from transforms.lists import lists_from_long, long_from_lists

__all__ = ["SENT_SCHEMA", "VALIDATE_TARGET", "build_results", "check_row_invariant"]

VALIDATE_TARGET = "validate"
"""The target name of a run that only validates (``leadflow validate``)."""

SENT_SCHEMA: dict[str, pl.DataType] = {
    name: RESULTS[name]
    for name in (
        "source_row",
        "status",
        "reasons",
        "vendor_id",
        "vendor_status",
        "vendor_message",
        "batch_id",
        "attempts",
        "sent_at",
    )
}
"""What a sender reports for each eligible row it handled (connectors' RowResult as a frame)."""

_DISPOSITION_STATUS = {
    Disposition.REJECTED.value: Status.REJECTED.value,
    Disposition.DUPLICATE.value: Status.DUPLICATE.value,
    Disposition.SUPPRESSED.value: Status.SUPPRESSED.value,
}


def _issue_codes() -> pl.Expr:
    return pl.col("issues").list.eval(pl.element().struct.field("code"))


def _reasons(leading: pl.Series, issues: pl.Series) -> pl.Series:
    """Per row, the ``leading`` codes then the codes of the row's ``issues``, each code once.

    Laid out long and turned back into lists (transforms.lists): ``concat_list`` then
    ``list.unique`` took 0.7 s per million rows, most of the results stage.
    """
    leading_rows, leading_codes = long_from_lists(leading)
    issue_rows, issue_values = long_from_lists(issues)
    long = (
        pl.concat(
            [
                pl.DataFrame([leading_rows, leading_codes.alias("code")]),
                pl.DataFrame([issue_rows, issue_values.struct.field("code")]),
            ]
        )
        .drop_nulls("code")
        .sort("_row", maintain_order=True)  # a row's leading codes stay before its issues
    )
    per_row = leading.list.len().fill_null(0) + issues.list.len().fill_null(0)
    longest = int(per_row.to_numpy().max(initial=0))
    long = long.filter(_first_in_row(longest))
    return lists_from_long(long.get_column("_row"), long.get_column("code"), leading.len(), name="reasons")


def _raw_values(issues: pl.Series) -> pl.DataFrame:
    """Per row, one ``<field>_raw`` column (schemas.results.RAW_COLUMNS): the value as read of
    each field a REFUSED_CODES issue refused, else null.

    Taken from the issues (which keep the raw value) laid out long: only the few refused
    fields are touched, no list-of-struct expression runs over every row.
    """
    rows, values = long_from_lists(issues)
    long = pl.DataFrame([rows, values.alias("_issue")]).select(
        "_row",
        pl.col("_issue").struct.field("code"),
        pl.col("_issue").struct.field("column"),
        pl.col("_issue").struct.field("value"),
    )
    refused = long.filter(pl.col("code").is_in(list(REFUSED_CODES)) & pl.col("value").is_not_null())
    columns = []
    for raw, field in RAW_COLUMNS.items():
        found = refused.filter(pl.col("column") == field).unique("_row", keep="first", maintain_order=True)
        blank = pl.repeat(None, issues.len(), dtype=pl.String, eager=True)
        columns.append(blank.scatter(found.get_column("_row"), found.get_column("value")).alias(raw))
    return pl.DataFrame(columns)


_FEW_CODES = 8


def _first_in_row(longest: int) -> pl.Expr:
    """Whether each entry of a frame sorted by ``_row`` is its row's first of that ``code``.

    A row holds a few codes (``longest`` at most), so each is compared with the few before
    it: 0.05 s per million entries, where hashing every (row, code) pair took 0.13 s. A row
    with many codes would need as many passes: then the pairs are hashed after all.
    """
    if longest > _FEW_CODES:
        return pl.struct("_row", "code").is_first_distinct()
    row, code = pl.col("_row"), pl.col("code")
    seen: pl.Expr = pl.lit(False)
    for back in range(1, longest):
        seen = seen | ((row == row.shift(back)) & (code == code.shift(back))).fill_null(False)
    return ~seen


def build_results(
    clean: pl.DataFrame,
    *,
    run_id: str,
    source_file: str,
    target: str,
    eligibility: pl.DataFrame | None = None,
    sent: pl.DataFrame | None = None,
    windows: pl.DataFrame | None = None,
    ready_status: Status = Status.READY,
) -> pl.DataFrame:
    """The result rows of one target, in the shape of schemas.results (validated where they
    are written, transforms.outputs.write_run: every path goes there, and once is enough).

    ``eligibility`` (source_row, eligible, ineligible_reason) and ``sent`` (SENT_SCHEMA)
    come from a real target; without them every ready row gets ``ready_status``. Every
    eligible row must be in ``sent``: a missing one is a bug and fails loudly. ``windows``
    (source_row, call_window_start, call_window_end: transforms.calling_windows) fills those
    columns; without it they are null.
    """
    frame = clean
    if eligibility is not None:
        frame = attach(
            frame, eligibility.select("source_row", "eligible", "ineligible_reason"), on="source_row"
        )
    else:
        frame = frame.with_columns(eligible=pl.lit(True), ineligible_reason=pl.lit(None, pl.String))
    if windows is not None:
        frame = attach(frame, windows.select("source_row", *WINDOW_COLUMNS), on="source_row")
    else:
        frame = frame.with_columns(pl.lit(None, RESULTS[name]).alias(name) for name in WINDOW_COLUMNS)
    answered = {name: f"sent_{name}" for name in SENT_SCHEMA if name != "source_row"}
    if sent is not None:
        frame = attach(frame, sent.rename(answered), on="source_row")
    else:
        frame = frame.with_columns(
            pl.lit(None, SENT_SCHEMA[name]).alias(alias) for name, alias in answered.items()
        )
    lazy = frame.lazy()
    ready = pl.col("disposition") == Disposition.READY.value
    eligible = ready & pl.col("eligible").fill_null(False)
    was_sent = pl.col("sent_status").is_not_null()
    codes = _issue_codes()
    disposition_codes = codes.list.eval(
        pl.element().filter(
            pl.element().str.starts_with("DUPLICATE_")
            | pl.element().str.starts_with("SUPPRESSED_")
            | (pl.element() == "NO_CHANNEL")
        )
    )
    status = (
        pl.when(~ready)
        .then(pl.col("disposition").replace_strict(_DISPOSITION_STATUS, default=None))
        .when(~eligible)
        .then(pl.lit(Status.INELIGIBLE.value))
        .when(was_sent)
        .then(pl.col("sent_status"))
        .otherwise(pl.lit(ready_status.value if sent is None else None))
    )
    leading = (
        pl.when(~ready)
        .then(disposition_codes)
        .when(~eligible)
        .then(pl.concat_list(pl.col("ineligible_reason")))
        .when(was_sent)
        .then(pl.col("sent_reasons"))
        .otherwise(pl.lit([], pl.List(pl.String)))
    )
    # the reasons first, on their own: beside the finished result columns, the long frame of
    # a million rows' issue codes took the stage's peak memory up by 200 MB
    leading_codes = lazy.select(leading.fill_null([])).collect().to_series()
    reasons = _reasons(leading_codes, frame.get_column("issues"))
    del leading_codes
    raw = _raw_values(frame.get_column("issues"))
    results = (
        lazy.with_columns(status=status)
        .select(
            run_id=pl.lit(run_id),
            source_file=pl.lit(source_file),
            source_row="source_row",
            external_id="external_id",
            target=pl.lit(target),
            status="status",
            reasons=pl.lit(reasons),
            vendor_id="sent_vendor_id",
            vendor_status="sent_vendor_status",
            vendor_message="sent_vendor_message",
            batch_id="sent_batch_id",
            attempts=pl.col("sent_attempts").fill_null(0),
            sent_at="sent_sent_at",
            **{name: pl.col(name) for name in CONTACT_COLUMNS},
            **{name: pl.col(name) for name in WINDOW_COLUMNS},
            **{name: pl.lit(raw.get_column(name)) for name in RAW_COLUMNS},
        )
        .cast(RESULTS)  # type: ignore[arg-type]
        .collect()
    )
    missing = results.filter(pl.col("status").is_null())
    if missing.height:
        rows = missing["source_row"].head(5).to_list()
        raise RuntimeError(f"target {target!r}: eligible rows {rows} have no send result (a bug)")
    return results


def check_row_invariant(results: pl.DataFrame | pl.LazyFrame, rows_in_file: int, targets: int) -> None:
    """Exactly one result per input row per target, or fail loudly: no row is ever lost.

    ``results`` may be a lazy scan of the written parts: only counts are collected."""
    lazy = results.lazy()
    expected = rows_in_file * targets
    height = int(lazy.select(pl.len()).collect(engine="streaming").item())
    if height != expected:
        raise RuntimeError(f"{height} result rows for {rows_in_file} input rows x {targets} targets")
    if expected == 0:  # a file of no rows (or a run of no targets): nothing to lose
        return
    if targets == 1:
        # results written in file order (every run's are): n rows, strictly increasing, all
        # within 1..n is each row exactly once, proven without a hash set of n source rows
        # (300 MB for 5M rows); any other order falls through to the counting below
        source_row = pl.col("source_row")
        lo, hi, step = (
            lazy.select(source_row.min(), source_row.max().alias("hi"), source_row.diff().min().alias("step"))
            .collect(engine="streaming")
            .row(0)
        )
        if lo == 1 and hi == rows_in_file and (step is None or step > 0):
            return
    # per target, as many distinct source rows as result rows (a handful of groups, not a
    # million); the (source_row, target) pairs are listed only when that fails
    per_target = lazy.group_by("target").agg(results=pl.len(), rows=pl.col("source_row").n_unique()).collect()
    if (
        per_target.height == targets
        and (per_target.get_column("results") == per_target.get_column("rows")).all()
    ):
        return
    per_row = lazy.group_by("source_row", "target").len().filter(pl.col("len") != 1).collect()
    if per_row.height:
        raise RuntimeError(f"rows with more than one result: {per_row.head(5).to_dicts()}")
    counts = dict(per_target.select("target", "results").iter_rows())
    raise RuntimeError(f"result rows per target {counts} for {rows_in_file} input rows x {targets} targets")
