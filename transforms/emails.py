"""Email normalization: trim, unwrap, lower-case the domain, check the syntax. Vectorized.

Kept deliberately practical rather than RFC 5322-complete: dialer vendors accept the
common ``local@domain.tld`` shape, and a lead file's quoted-local-part or IP-literal
addresses are almost always typos. The local part keeps its case (some mail servers are
case-sensitive there); the domain is lower-cased. ``Name <addr>`` and ``mailto:`` wrappers,
seen in CRM exports, are unwrapped.

Internationalized addresses (RFC 6530) are valid: a domain in Unicode (``josé@bücher.de``,
``user@例え.jp``) is written in its IDNA ASCII form (``xn--bcher-kva.de``, UTS #46 mapping,
IDNA 2008), which every mail server and vendor reads and DNS resolves, so one mailbox written
either way is one lead (dedupe, suppression); a local part in Unicode letters is kept as
written (NFC), as it has no ASCII form (delivering it needs SMTPUTF8 at the vendor's mail
server). Only the distinct non-ASCII domains are converted, in Python (the ``idna`` package):
like phones, per distinct value, not per row.
"""

from __future__ import annotations

import unicodedata

import polars as pl

from schemas.codes import Issue
from transforms.blanks import EDGE_JUNK
from transforms.issues import append_issue_rows, issue

__all__ = ["EMAIL_PATTERN", "email_columns", "normalize_emails"]

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\p{L}\p{M}\p{N}-]+"
_LOCAL = rf"{_ATOM}(?:\.{_ATOM})*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL}@(?i:(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}))$"
"""The domain part (in its ASCII form: an IDN's is ``xn--`` labels, its top-level domain's too,
``xn--p1ai`` for .рф) is matched case-insensitively; a local part of Unicode letters, marks and
digits is valid (RFC 6531); a 64-char local part and 254 chars in all are checked separately
(regex length limits are unreadable)."""
_IDN_LABEL_SEPARATORS = "\u3002\uff0e\uff61"
"""Ideographic and full-width full stops, which UTS #46 reads as a domain's dots."""


def normalize_emails(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``email_raw`` (as given) and ``email`` (normalized or null) and extend ``issues``.

    EMAIL_INVALID carries the raw value. EMAIL_MISSING is not an issue on its own (most
    voice leads have none); disposition decides whether a row has a usable channel.
    """
    checked, invalid = email_columns(frame)
    return append_issue_rows(checked, [invalid])


def email_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`normalize_emails` with the issues handed back rather than appended: the frame
    with ``email_raw`` and ``email``, and the EMAIL_INVALID findings (``_row``, ``_issue``).
    transforms.normalize appends every stage's findings to ``issues`` at once.

    The steps run on the email column alone, each materialized as a column before the next
    uses it (polars 2.1 re-evaluates a shared sub-expression for every use); only the
    results are set beside the leads. The rare wrappers are unwrapped only where present.
    """
    value = pl.col("_v")
    unwrap_name = pl.when(value.str.contains("<", literal=True)).then(
        value.str.replace(r"^.*<([^<>]*)>\s*$", "$1")
    )
    unwrap_mailto = pl.when(value.str.contains(":", literal=True)).then(
        value.str.replace(r"(?i)^mailto:", "")
    )
    parts = pl.col("_parts")
    steps = (
        frame.lazy()
        .select(email_raw=pl.col("email"), _v=pl.col("email").str.strip_chars(EDGE_JUNK))
        .with_columns(_v=unwrap_name.otherwise(value))
        .with_columns(_v=unwrap_mailto.otherwise(value))
        # "x@example.com." ends a sentence
        .with_columns(_v=value.str.strip_chars(EDGE_JUNK).str.strip_chars_end("."))
        .with_columns(_v=_internationalized(value) if _any_non_ascii(frame.get_column("email")) else value)
        .with_columns(_parts=value.str.split_exact("@", 1))
        .with_columns(
            _valid=(
                value.str.contains(EMAIL_PATTERN)
                & (parts.struct.field("field_0").str.len_chars() <= 64)
                & (value.str.len_chars() <= 254)
            ).fill_null(False)
        )
        .select(
            "email_raw",
            email=pl.when(pl.col("_valid")).then(
                pl.concat_str(
                    [
                        parts.struct.field("field_0"),
                        pl.lit("@"),
                        parts.struct.field("field_1").str.to_lowercase(),
                    ]
                )
            ),
            _invalid=(value.fill_null("") != "") & ~pl.col("_valid"),
        )
        .collect(engine="streaming")  # row-wise string work: on every core, in morsels
    )
    # the issue is built on the invalid rows only, not as a million-row struct column
    invalid = (
        steps.lazy()
        .with_row_index("_row")
        .filter(pl.col("_invalid"))
        .select("_row", _issue=issue(Issue.EMAIL_INVALID.value, "email", pl.col("email_raw")))
        .collect()
    )
    return frame.with_columns(steps.get_column("email_raw"), steps.get_column("email")), invalid


def _any_non_ascii(values: pl.Series) -> bool:
    """Whether any value holds a non-ASCII character: an all-ASCII column (most files) skips
    :func:`_internationalized`, whose per-distinct step would stop the streaming engine's
    morsels (about 10 ms a 100k-row batch)."""
    return bool((values.str.len_bytes() != values.str.len_chars()).any())


def _internationalized(values: pl.Expr) -> pl.Expr:
    """Each address holding a non-ASCII character with its local part in NFC and its domain
    in IDNA ASCII form (:func:`_ascii_address`); the others, and those it refuses, as they are
    (:data:`EMAIL_PATTERN` then refuses a Unicode domain). Converted once per distinct value:
    such addresses are few."""
    non_ascii = values.str.len_bytes() != values.str.len_chars()
    converted = pl.when(non_ascii).then(values).map_batches(_per_distinct, return_dtype=pl.String)
    return pl.when(non_ascii).then(converted.fill_null(values)).otherwise(values)


def _per_distinct(values: pl.Series) -> pl.Series:
    distinct = values.drop_nulls().unique()
    if distinct.len() == 0:
        return values.clear(values.len())
    converted = pl.Series([_ascii_address(value) for value in distinct.to_list()], dtype=pl.String)
    return values.replace_strict(distinct, converted, default=None, return_dtype=pl.String)


def _ascii_address(address: str) -> str | None:
    """``address`` (one ``@``) with its local part in NFC and its domain in IDNA ASCII form
    (UTS #46: case folded, NFC, ideographic full stops read as dots; IDNA 2008), or None when
    it has no single ``@`` or its domain is no valid internationalized domain name."""
    import idna  # a file with no internationalized address needs none of it

    local, at, domain = address.partition("@")
    if not at or "@" in domain:
        return None
    local = unicodedata.normalize("NFC", local)
    if domain.isascii():
        return f"{local}@{domain}"
    for separator in _IDN_LABEL_SEPARATORS:
        domain = domain.replace(separator, ".")
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
