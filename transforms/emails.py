"""Email normalization: trim, unwrap, lower-case the domain, check the syntax. Vectorized.

Kept deliberately practical rather than RFC 5322-complete: dialer vendors accept the
common ``local@domain.tld`` shape, and a lead file's quoted-local-part or IP-literal
addresses are almost always typos. The local part keeps its case (some mail servers are
case-sensitive there); the domain is lower-cased. ``Name <addr>`` and ``mailto:`` wrappers,
seen in CRM exports, are unwrapped.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import Issue
from schemas.raw_leads import ISSUE

__all__ = ["EMAIL_PATTERN", "normalize_emails"]

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL}@(?:{_LABEL}\.)+[a-z]{{2,63}}$"
"""Checked after the domain is lower-cased; a 64-char local part and 254 chars in all are
checked separately (regex length limits are unreadable)."""


def normalize_emails(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Add ``email_raw`` (as given) and ``email`` (normalized or null) and extend ``issues``.

    EMAIL_INVALID carries the raw value. EMAIL_MISSING is not an issue on its own (most
    voice leads have none); disposition decides whether a row has a usable channel.
    """
    raw = pl.col("email")
    unwrapped = (
        raw.str.strip_chars()
        .str.replace(r"^.*<([^<>]*)>\s*$", "$1")
        .str.replace(r"(?i)^mailto:", "")
        .str.strip_chars()
    )
    local = unwrapped.str.extract(r"^(.*)@[^@]*$", 1)
    domain = unwrapped.str.extract(r"@([^@]*)$", 1).str.to_lowercase().str.strip_chars_end(".")
    candidate = pl.concat_str([local, pl.lit("@"), domain])
    valid = (
        candidate.str.contains(EMAIL_PATTERN)
        & (local.str.len_chars() <= 64)
        & (candidate.str.len_chars() <= 254)
    ).fill_null(False)
    present = unwrapped.fill_null("") != ""
    invalid_issue = pl.struct(code=pl.lit(Issue.EMAIL_INVALID.value), column=pl.lit("email"), value=raw).cast(
        ISSUE
    )
    return frame.lazy().with_columns(
        email_raw=raw,
        email=pl.when(valid).then(candidate).otherwise(None),
        issues=pl.when(present & ~valid)
        .then(pl.col("issues").list.concat(pl.concat_list(invalid_issue)))
        .otherwise(pl.col("issues")),
    )
