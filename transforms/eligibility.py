"""Which ready leads a target can use, by its channel, and which phone it should use first.

Pure polars (no I/O), vectorized over the clean-leads frame (schemas.clean_leads):

- voice needs a valid phone (any of phone1..3 non-null)            else ``NEEDS_PHONE``
- SMS needs a mobile; ``fixed_line_or_mobile``/``unknown`` (or an untyped valid number) only when
  ``sms_allow_unknown_type``                                          else ``NEEDS_MOBILE``
- email needs a valid email                                          else ``NEEDS_EMAIL``

Only rows whose disposition is ``ready`` can be eligible; the others keep their disposition and
get no ineligible reason. ``channel_phone`` is the number the target should dial or text first:
for SMS the first mobile, else the first allowed unknown-type number; for voice the first valid
phone; null for email. SMS senders text the first phone of a lead, so the importer moves this
number first when it builds the lead (``connectors.engine.prefer_phone``).
"""

from __future__ import annotations

import polars as pl

from schemas.clean_leads import PHONE_SLOTS
from schemas.codes import Disposition, Issue

__all__ = ["CHANNELS", "SMS_UNKNOWN_TYPES", "eligibility"]

CHANNELS = ("voice", "sms", "email")
SMS_UNKNOWN_TYPES = ("fixed_line_or_mobile", "unknown")
"""Phone types that may be mobiles: allowed for SMS only when the target says so."""


def _typed(slot: str, types: tuple[str, ...], *, untyped: bool) -> pl.Expr:
    kind = pl.col(f"{slot}_type")
    allowed = kind.is_in(list(types))
    return (allowed | kind.is_null()) if untyped else allowed


def _sms_phone(allow_unknown: bool) -> pl.Expr:
    mobiles = [
        pl.when(pl.col(slot).is_not_null() & _typed(slot, ("mobile",), untyped=False).fill_null(False)).then(
            pl.col(slot)
        )
        for slot in PHONE_SLOTS
    ]
    if not allow_unknown:
        return pl.coalesce(mobiles)
    maybes = [
        pl.when(
            pl.col(slot).is_not_null() & _typed(slot, SMS_UNKNOWN_TYPES, untyped=True).fill_null(False)
        ).then(pl.col(slot))
        for slot in PHONE_SLOTS
    ]
    return pl.coalesce([*mobiles, *maybes])


def eligibility(clean: pl.DataFrame, channel: str, *, sms_allow_unknown_type: bool) -> pl.DataFrame:
    """``clean`` plus ``eligible`` (bool), ``ineligible_reason`` (str, null unless a ready row is
    not eligible) and ``channel_phone`` (str, null for email targets and ineligible rows)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    ready = pl.col("disposition") == Disposition.READY.value
    if channel == "email":
        phone = pl.lit(None, dtype=pl.String)
        usable = pl.col("email").is_not_null() & (pl.col("email") != "")
        reason = Issue.NEEDS_EMAIL.value
    else:
        phone = (
            _sms_phone(sms_allow_unknown_type)
            if channel == "sms"
            else pl.coalesce([pl.col(slot) for slot in PHONE_SLOTS])
        )
        usable = phone.is_not_null()
        reason = Issue.NEEDS_PHONE.value if channel == "voice" else Issue.NEEDS_MOBILE.value
    eligible = (ready & usable).fill_null(False)
    return clean.with_columns(
        eligible.alias("eligible"),
        pl.when(ready & ~eligible)
        .then(pl.lit(reason))
        .otherwise(None)
        .cast(pl.String)
        .alias("ineligible_reason"),
        pl.when(eligible).then(phone).otherwise(None).cast(pl.String).alias("channel_phone"),
    )


def hold_extension_only(decided: pl.DataFrame) -> pl.DataFrame:
    """``decided`` (this module's frame) with the eligible rows whose every valid phone carries
    an extension made ineligible with ``EXTENSION_UNSUPPORTED``: for a target that holds such
    leads (``Connector.holds_extension_only()``) rather than dial a switchboard.

    Decided here, before chunking, so that a held lead is in no request: it gets no batch id and
    costs the vendor nothing (a hold inside the request builder had to send something)."""
    slots = [slot for slot in PHONE_SLOTS if f"{slot}_ext" in decided.columns]
    if not slots:
        return decided
    valid = [pl.col(slot).is_not_null() for slot in slots]
    plain = [pl.col(slot).is_not_null() & (pl.col(f"{slot}_ext").fill_null("") == "") for slot in slots]
    held = pl.col("eligible") & pl.any_horizontal(valid) & ~pl.any_horizontal(plain)
    return (
        decided.with_columns(_held=held.fill_null(False))
        .with_columns(
            eligible=pl.col("eligible") & ~pl.col("_held"),
            ineligible_reason=pl.when("_held")
            .then(pl.lit(Issue.EXTENSION_UNSUPPORTED.value))
            .otherwise("ineligible_reason"),
            channel_phone=pl.when("_held").then(None).otherwise("channel_phone"),
        )
        .drop("_held")
    )
