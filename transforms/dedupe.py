"""Disposition: rejected, suppressed, duplicate or ready, decided once per row before any target.

Order of precedence, and why:
1. ``rejected``: no valid phone and no valid email (NO_CHANNEL); nothing to dedupe on.
2. ``suppressed``: any of the row's phones or its email is on a do-not-contact list. Checked
   before duplicates so that a suppressed person is reported as suppressed on every row.
3. ``duplicate``: shares a key with an earlier kept row: the file's external id, any phone
   (all three slots; see below), or the email (keys configurable). The first occurrence is kept;
   ``duplicate_of`` points at the kept row's ``source_row`` (chains are followed, so the
   pointer always names a row that is itself ``ready``). ``duplicate_on`` names the field of
   the duplicate row that matched (external_id, phone1..phone3, email): the match with the
   earliest row, and among equal ones the first key of ``keys`` (phones in slot order). In a
   chain that is the field that linked the row to the group, not necessarily one it shares
   with the kept row.

A phone's key is its E.164 number **and its extension** (``+12125550100;ext=12``, RFC 3966's
spelling; a phone without one is its E.164 alone). Two people at one switchboard, Ann at
extension 12 and Bob at 34, are two leads, as a B2B dialer treats them: the agent dials the main
line and asks for the extension. The main number alone and the same number with an extension
are different keys too (the switchboard or receptionist is not the person at extension 12); the
same number with the same extension is a duplicate. Extensions are compared as written after
normalization (digits), so ``012`` and ``12`` differ. Only dedupe reads the extension:
do-not-contact (transforms.suppress) matches the dialled number, so a listed main number
suppresses every extension of it, and the frequency guardrail's person keys
(transforms.person_keys) count every call to one dialled number together.

Earlier runs are the ledger's business (``already_sent`` per target), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

from schemas.clean_leads import PHONE_SLOTS
from schemas.codes import Disposition, Issue
from transforms.issues import append_issue_rows, issue

__all__ = [
    "DEDUPE_KEYS",
    "KEY_COLUMNS",
    "DedupeKey",
    "decide_disposition",
    "disposition_columns",
    "mark_duplicates",
    "phone_key",
    "resolve_chains",
]

DedupeKey = Literal["external_id", "phone", "email"]
DEDUPE_KEYS: tuple[DedupeKey, ...] = ("external_id", "phone", "email")

_KEY_ISSUE = {
    "external_id": Issue.DUPLICATE_EXTERNAL_ID,
    "phone": Issue.DUPLICATE_PHONE,
    "email": Issue.DUPLICATE_EMAIL,
}
_READY = Disposition.READY.value

KEY_COLUMNS: tuple[str, ...] = (
    "_row",
    "source_row",
    "external_id",
    "external_id_origin",
    *PHONE_SLOTS,
    *(f"{slot}_ext" for slot in PHONE_SLOTS),
    "email",
)
"""The columns :func:`_key_values` reads (``_row`` numbers the frame's rows)."""


def phone_key(frame: pl.DataFrame, slot: str) -> pl.Expr:
    """A phone slot's dedupe key in ``frame``: ``+E164;ext=N`` where it has an extension, else
    the E.164. A slot none of whose rows has an extension (most slots of most files) is its
    E.164 column as it is: spelling a million keys costs a new column of them (~10% of the
    batched dedupe)."""
    if frame.get_column(f"{slot}_ext").is_null().all():
        return pl.col(slot)
    return pl.coalesce(pl.concat_str([pl.col(slot), pl.lit(";ext="), pl.col(f"{slot}_ext")]), pl.col(slot))


def _key_values(candidates: pl.DataFrame, key: DedupeKey) -> pl.LazyFrame:
    """(_row, source_row, value, column) for every key value of the candidate rows."""
    frame = candidates.lazy()
    if key == "external_id":
        return frame.filter(pl.col("external_id_origin") == "file").select(
            "_row", "source_row", value=pl.col("external_id"), column=pl.lit("external_id")
        )
    if key == "email":
        return frame.select(
            "_row", "source_row", value=pl.col("email").str.to_lowercase(), column=pl.lit("email")
        )
    return pl.concat(
        [
            frame.select(
                "_row",
                "source_row",
                value=phone_key(candidates, slot),
                column=pl.lit(slot),
            )
            for slot in PHONE_SLOTS
        ]
    )


def _duplicates(candidates: pl.DataFrame, keys: Sequence[DedupeKey]) -> pl.DataFrame:
    """source_row (and its ``_row`` in the leads) -> duplicate_of, duplicate_on and one
    ``_dup_<key>`` issue per matching key."""
    resolved = pl.DataFrame(
        schema={
            "source_row": pl.Int64,
            "_row": pl.UInt32,
            "duplicate_of": pl.Int64,
            "duplicate_on": pl.String,
        }
    )
    per_key: dict[str, pl.DataFrame] = {}
    firsts: list[pl.DataFrame] = []
    # a value's kept row is its first (lowest) source_row. Only the values whose hash is seen
    # more than once (a few percent) are grouped, by the value itself: no sort of the million
    # values, no join, and no window over a million strings (70 MB more at the stage's peak).
    # Counting the hashes in a window takes half the time of is_duplicated on them. The keys'
    # plans run side by side.
    plans = [
        _key_values(candidates, key)
        .drop_nulls("value")
        .filter(pl.len().over(pl.col("value").hash()) > 1)
        .with_columns(first_row=pl.col("source_row").min().over("value"))
        .filter(pl.col("first_row") < pl.col("source_row"))
        for key in keys
    ]
    for key, found in zip(keys, pl.collect_all(plans), strict=True):
        later = found.sort("source_row", "column")
        firsts.append(later.select("source_row", "_row", "first_row", "column"))
        per_key[key] = later.group_by("source_row").agg(
            issue(_KEY_ISSUE[key].value, pl.col("column"), pl.col("value")).first().alias(f"_dup_{key}")
        )
    if firsts:
        resolved = resolve_chains(firsts)
    for key in keys:
        resolved = resolved.join(per_key[key], on="source_row", how="left")
    return resolved


def mark_duplicates(
    frame: pl.DataFrame, dups: pl.DataFrame, keys: Sequence[DedupeKey]
) -> tuple[pl.DataFrame, list[pl.LazyFrame]]:
    """``frame`` with its duplicate rows (``dups``: ``_row``, ``duplicate_of``,
    ``duplicate_on``, a ``_dup_<key>`` issue per key) marked ``duplicate``, and each key's
    issue rows to append (``_row``, ``_issue``). Shared by the in-memory and the batched
    dedupe (transforms.dedupe_batches), which must mark alike."""
    at = dups.get_column("_row")
    duplicate_of = pl.repeat(None, frame.height, dtype=pl.Int64, eager=True).scatter(
        at, dups.get_column("duplicate_of")
    )
    duplicate_on = pl.repeat(None, frame.height, dtype=pl.String, eager=True).scatter(
        at, dups.get_column("duplicate_on")
    )
    marked = frame.with_columns(
        disposition=pl.when(duplicate_of.is_not_null())
        .then(pl.lit(Disposition.DUPLICATE.value))
        .otherwise(pl.col("disposition")),
        duplicate_of=duplicate_of,
        duplicate_on=duplicate_on,
    )
    issues = [dups.lazy().select("_row", _issue=f"_dup_{key}").drop_nulls("_issue") for key in keys]
    return marked, issues


def resolve_chains(firsts: list[pl.DataFrame]) -> pl.DataFrame:
    """Each duplicate row once (``source_row``, ``_row``, ``duplicate_of``, ``duplicate_on``)
    from its matches (``source_row``, ``_row``, ``first_row``, ``column``) listed in key order,
    phones in slot order: the earliest match wins, the list's order breaks ties between fields
    that match the same earliest row, and chains (A <- B <- C via different keys) are followed
    until every pointer names a kept row. Shared by the in-memory and the batched dedupe
    (transforms.dedupe_batches), which must decide alike."""
    direct = (
        pl.concat(firsts)
        .with_row_index("_rank")
        .group_by("source_row")
        .agg(
            pl.col("_row").first(),
            duplicate_of=pl.col("first_row").min(),
            duplicate_on=pl.col("column").sort_by("first_row", "_rank").first(),
        )
    )
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


def _suppression_issues(phones: pl.Series | None, emails: pl.Series | None) -> list[pl.Expr]:
    """One nullable SUPPRESSED_* issue expression per phone slot and for the email."""
    hits: list[pl.Expr] = []
    if phones is not None and phones.len():
        listed = phones.drop_nulls().unique().implode()
        hits += [
            pl.when(pl.col(slot).is_in(listed)).then(issue(Issue.SUPPRESSED_PHONE.value, slot, pl.col(slot)))
            for slot in PHONE_SLOTS
        ]
    if emails is not None and emails.len():
        listed = emails.drop_nulls().str.to_lowercase().unique().implode()
        hits.append(
            pl.when(pl.col("email").str.to_lowercase().is_in(listed)).then(
                issue(Issue.SUPPRESSED_EMAIL.value, "email", pl.col("email"))
            )
        )
    return hits


def decide_disposition(
    clean: pl.DataFrame,
    *,
    keys: Sequence[DedupeKey] = DEDUPE_KEYS,
    suppressed_phones: pl.Series | None = None,
    suppressed_emails: pl.Series | None = None,
) -> pl.DataFrame:
    """Set ``disposition``, ``duplicate_of``, ``duplicate_on`` and the matching issues on normalized leads."""
    frame, found = disposition_columns(
        clean, keys=keys, suppressed_phones=suppressed_phones, suppressed_emails=suppressed_emails
    )
    return append_issue_rows(frame, found)


def disposition_columns(
    clean: pl.DataFrame,
    *,
    keys: Sequence[DedupeKey] = DEDUPE_KEYS,
    suppressed_phones: pl.Series | None = None,
    suppressed_emails: pl.Series | None = None,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """:func:`decide_disposition` with the issues handed back rather than appended: the frame
    with ``disposition`` and ``duplicate_of``, and the findings (``_row``, ``_issue``) in the
    order they go into ``issues`` (transforms.normalize appends every stage's at once).

    The issues are built on the rows they concern, not as million-row struct columns that
    are mostly null: 200 MB less at the stage's peak.
    """
    has_channel = pl.any_horizontal(
        *(pl.col(s).is_not_null() for s in PHONE_SLOTS), pl.col("email").is_not_null()
    )
    hits = _suppression_issues(suppressed_phones, suppressed_emails)
    suppressed = pl.any_horizontal(*(hit.is_not_null() for hit in hits)) if hits else pl.lit(False)
    frame = clean.drop("disposition", "duplicate_of", "duplicate_on", strict=False).with_columns(
        pl.when(~has_channel)
        .then(pl.lit(Disposition.REJECTED.value))
        .when(suppressed)
        .then(pl.lit(Disposition.SUPPRESSED.value))
        .otherwise(pl.lit(_READY))
        .alias("disposition"),
    )
    numbered = frame.lazy().with_row_index("_row")
    found = [
        numbered.filter(~has_channel).select(
            "_row", _issue=issue(Issue.NO_CHANNEL.value, "", pl.lit(None, pl.String))
        )
    ]
    found += [numbered.filter(has_channel & hit.is_not_null()).select("_row", _issue=hit) for hit in hits]
    # the rows that may be duplicates, with the key columns only, filtered once for all keys
    candidates = numbered.filter(pl.col("disposition") == _READY).select(KEY_COLUMNS).collect()
    dups = _duplicates(candidates, keys)
    frame, duplicate_issues = mark_duplicates(frame, dups, keys)
    return frame, pl.collect_all([*found, *duplicate_issues])
