"""Name normalization: trim, collapse inner whitespace (tabs, non-breaking spaces), keep casing.

Casing is kept on purpose: "McDonald", "van der Berg" and "O'Neil" are mangled by any
automatic title-casing, and agents read the name aloud.
"""

from __future__ import annotations

import polars as pl

__all__ = ["clean_text", "normalize_names"]


def clean_text(column: str) -> pl.Expr:
    """Whitespace-normalized text; empty becomes null."""
    cleaned = pl.col(column).str.replace_all(r"[\s\u00a0\u200b]+", " ").str.strip_chars()
    return pl.when(cleaned == "").then(None).otherwise(cleaned).alias(column)


def normalize_names(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy().with_columns(clean_text("first_name"), clean_text("last_name"))
