"""Name normalization: trim, collapse inner whitespace (tabs, non-breaking spaces), keep casing.

Casing is kept on purpose: "McDonald", "van der Berg" and "O'Neil" are mangled by any
automatic title-casing, and agents read the name aloud.
"""

from __future__ import annotations

import polars as pl

__all__ = ["clean_text", "normalize_names"]


_NEEDS_COLLAPSING = r"  |[^\S ]|\u200b"
"""Two spaces, any other whitespace (tab, no-break space, ...) or a zero-width space: the
values the collapsing changes. Most names have none, and a test is cheaper than a rewrite."""


def clean_text(column: str) -> pl.Expr:
    """Whitespace-normalized text (runs of whitespace become one space); empty becomes null."""
    value = pl.col(column)
    collapsed = (
        pl.when(value.str.contains(_NEEDS_COLLAPSING))
        .then(value.str.replace_all(r"[\s\u200b]+", " "))
        .otherwise(value)
        .str.strip_chars()
    )
    return pl.when(collapsed == "").then(None).otherwise(collapsed).alias(column)


def normalize_names(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy().with_columns(clean_text("first_name"), clean_text("last_name"))
