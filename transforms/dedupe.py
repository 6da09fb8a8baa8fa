"""Disposition: rejected, suppressed, duplicate or ready, decided once per row before any target.

Order of precedence, and why:
1. ``rejected``: no valid phone and no valid email (NO_CHANNEL); nothing to dedupe on.
2. ``suppressed``: any of the row's phones or its email is on a do-not-contact list. Checked
   before duplicates so that a suppressed person is reported as suppressed on every row.
3. ``duplicate``: shares a key with an earlier kept row: the file's external id, any E.164
   phone (all three slots), or the email (keys configurable). The first occurrence is kept;
   ``duplicate_of`` points at the kept row's ``source_row`` (chains are followed, so the
   pointer always names a row that is itself ``ready``).
Earlier runs are the ledger's business (``already_sent`` per target), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

from schemas.codes import Disposition, Issue
from schemas.raw_leads import ISSUE

__all__ = ["DEDUPE_KEYS", "DedupeKey", "decide_disposition"]

DedupeKey = Literal["external_id", "phone", "email"]
DEDUPE_KEYS: tuple[DedupeKey, ...] = ("external_id", "phone", "email")

_KEY_ISSUE = {
    "external_id": Issue.DUPLICATE_EXTERNAL_ID,
    "phone": Issue.DUPLICATE_PHONE,
    "email": Issue.DUPLICATE_EMAIL,
}


def _issue(code: Issue, column: str, value: pl.Expr) -> pl.Expr:
    return pl.struct(code=pl.lit(code.value), column=pl.lit(column), value=value).cast(ISSUE)


def _key_values(frame: pl.LazyFrame, key: DedupeKey) -> pl.LazyFrame:
    """(source_row, value, column) for every non-null key value of the candidate rows."""
    if key == "external_id":
        return frame.filter(pl.col("external_id_origin") == "file").select(
            "source_row", value=pl.col("external_id"), column=pl.lit("external_id")
        )
    if key == "email":
        return frame.select("source_row", value=pl.col("email").str.to_lowercase(), column=pl.lit("email"))
    return pl.concat(
        [
            frame.select("source_row", value=pl.col(slot), column=pl.lit(slot))
            for slot in ("phone1", "phone2", "phone3")
        ]
    )


def _duplicates(candidates: pl.LazyFrame, keys: Sequence[DedupeKey]) -> pl.DataFrame:
    """source_row -> (duplicate_of, issue) for rows sharing a key with an earlier candidate."""
    found: list[pl.LazyFrame] = []
    for key in keys:
        values = _key_values(candidates, key).drop_nulls("value")
        first = values.group_by("value").agg(first_row=pl.col("source_row").min())
        found.append(
            values.join(first, on="value")
            .filter(pl.col("first_row") < pl.col("source_row"))
            .select(
                "source_row",
                "first_row",
                issue=_issue(_KEY_ISSUE[key], "", pl.col("value")).struct.with_fields(
                    column=pl.col("column")
                ),
            )
        )
    if not found:
        return pl.DataFrame(
            schema={"source_row": pl.Int64, "duplicate_of": pl.Int64, "dup_issues": pl.List(ISSUE)}
        )
    pairs = pl.concat(found).collect()
    direct = pairs.group_by("source_row").agg(
        duplicate_of=pl.col("first_row").min(), dup_issues=pl.col("issue").unique(maintain_order=True)
    )
    # follow chains (A <- B <- C via different keys) until every pointer names a kept row
    resolved = direct
    for _ in range(64):
        hop = resolved.join(
            direct.select(pl.col("source_row").alias("duplicate_of"), next_of=pl.col("duplicate_of")),
            on="duplicate_of",
            how="left",
        )
        if hop["next_of"].null_count() == hop.height:
            break
        resolved = hop.with_columns(duplicate_of=pl.coalesce("next_of", "duplicate_of")).drop("next_of")
    return resolved


def decide_disposition(
    clean: pl.DataFrame,
    *,
    keys: Sequence[DedupeKey] = DEDUPE_KEYS,
    suppressed_phones: pl.Series | None = None,
    suppressed_emails: pl.Series | None = None,
) -> pl.DataFrame:
    """Set ``disposition``, ``duplicate_of`` and the matching issues on normalized leads."""
    frame = clean.lazy().drop("disposition", "duplicate_of", strict=False)
    has_channel = pl.any_horizontal(
        *(pl.col(s).is_not_null() for s in ("phone1", "phone2", "phone3")), pl.col("email").is_not_null()
    )
    frame = frame.with_columns(
        disposition=pl.when(has_channel)
        .then(pl.lit(Disposition.READY.value))
        .otherwise(pl.lit(Disposition.REJECTED.value)),
        issues=pl.when(has_channel)
        .then(pl.col("issues"))
        .otherwise(pl.col("issues").list.concat(pl.concat_list(_issue(Issue.NO_CHANNEL, "", pl.lit(None))))),
    )
    frame = _suppress(frame, suppressed_phones, suppressed_emails)
    candidates = frame.filter(pl.col("disposition") == Disposition.READY.value)
    dups = _duplicates(candidates, keys).lazy()
    return (
        frame.join(dups, on="source_row", how="left", maintain_order="left")
        .with_columns(
            disposition=pl.when(pl.col("duplicate_of").is_not_null())
            .then(pl.lit(Disposition.DUPLICATE.value))
            .otherwise(pl.col("disposition")),
            issues=pl.col("issues").list.concat(pl.col("dup_issues").fill_null([])),
        )
        .drop("dup_issues")
        .collect()
    )


def _suppress(frame: pl.LazyFrame, phones: pl.Series | None, emails: pl.Series | None) -> pl.LazyFrame:
    hits: list[pl.Expr] = []
    if phones is not None and phones.len():
        listed = phones.drop_nulls().unique().implode()
        for slot in ("phone1", "phone2", "phone3"):
            hits.append(
                pl.when(pl.col(slot).is_in(listed)).then(_issue(Issue.SUPPRESSED_PHONE, slot, pl.col(slot)))
            )
    if emails is not None and emails.len():
        listed = emails.drop_nulls().str.to_lowercase().unique().implode()
        hits.append(
            pl.when(pl.col("email").str.to_lowercase().is_in(listed)).then(
                _issue(Issue.SUPPRESSED_EMAIL, "email", pl.col("email"))
            )
        )
    if not hits:
        return frame
    found = pl.concat_list(hits).list.drop_nulls()
    ready = pl.col("disposition") == Disposition.READY.value
    return (
        frame.with_columns(_suppressed=pl.when(ready).then(found).otherwise(pl.lit([], dtype=pl.List(ISSUE))))
        .with_columns(
            disposition=pl.when(pl.col("_suppressed").list.len() > 0)
            .then(pl.lit(Disposition.SUPPRESSED.value))
            .otherwise(pl.col("disposition")),
            issues=pl.col("issues").list.concat(pl.col("_suppressed")),
        )
        .drop("_suppressed")
    )
