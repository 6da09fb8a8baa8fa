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
from transforms.blanks import EDGE_JUNK
from transforms.issues import append_issue_rows, issue

__all__ = ["EMAIL_PATTERN", "email_columns", "normalize_emails"]

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL}@(?i:(?:{_LABEL}\.)+[a-z]{{2,63}})$"
"""The domain part is matched case-insensitively; a 64-char local part and 254 chars in all
are checked separately (regex length limits are unreadable)."""


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
