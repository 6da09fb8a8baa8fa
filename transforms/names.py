"""Name normalization: trim, collapse inner whitespace (tabs, non-breaking spaces), keep casing,
and leave placeholders empty.

Casing is kept on purpose: "McDonald", "van der Berg" and "O'Neil" are mangled by any
automatic title-casing, and agents read the name aloud.

A **placeholder** is a value a CRM or a spreadsheet writes where it has no name, which an agent
or an SMS template would otherwise read out ("Hello N/A"). :func:`placeholder_names` leaves it
empty (null) and records ``NAME_PLACEHOLDER`` with the value as read; the row is not rejected
(a lead with a phone and no name is still callable). A whole value is a placeholder when it

- has no letter at all, in any script: ``-``, ``--``, ``.``, ``?``, ``0``, ``123``; or
- once lower-cased, stripped of whitespace and of punctuation at its ends (``#N/A``,
  ``(unknown)``, ``<null>``, ``N / A.``), is one of :data:`PLACEHOLDERS`: ``n/a`` (also
  ``n.a``, ``n\\a``, ``n_a``, ``n-a``), ``none``, ``unknown``, ``tbd``, ``noname``, ``xxx`` (three
  x or more), "unknown" and "not given" in the languages of the exports we see (``unbekannt``,
  ``keine Angabe``, ``N.N.``, ``inconnu``, ``desconocido``, ``ninguno``, ``s/n``,
  ``sconosciuto``, ``onbekend``), and ``test`` and ``null``, which are also real surnames
  (Jennifer Null): a last name ``Test`` or ``Null`` is a placeholder only when the first name is
  empty or a placeholder too ("Test Test", ", Null"), never beside a real one ("Carl Test"); or
- is German's ``k.A.`` or ``o.A.`` as written (lower-case first letter: ``K.A.`` may be initials).

Only whole values: "Testa", "Nullmeyer", "Anna-Test" and "N/A Smith" stay. Not placeholders,
because they are real names: ``Na`` (a Korean surname; only a separated ``n/a`` is one), ``Nan``
(pandas' ``NaN``, but also a given name and a surname), ``Nil``, ``X``.

External ids (transforms.identity) are hashed from the names as written, before placeholders
are emptied, so ids of leads sent before stay what they were.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import Issue
from transforms.issues import issue

__all__ = ["PLACEHOLDERS", "clean_text", "normalize_names", "placeholder_names"]


_NEEDS_COLLAPSING = r"  |[^\S ]|\u200b"
"""Two spaces, any other whitespace (tab, no-break space, ...) or a zero-width space: the
values the collapsing changes. Most names have none, and a test is cheaper than a rewrite."""

PLACEHOLDERS = (
    r"^(?:n[/.\\_-]a|none|unknown|tbd|noname|x{3,}|test|null"
    r"|unbekannt|keineangabe|n\.n|inconnu|desconocido|ninguno|s/n|sconosciuto|onbekend)$"
)
"""A placeholder's lower-cased text without whitespace and end punctuation (module docstring)."""

_ABBREVIATED = r"^[ko]\.\s*A\.?$"
"""German CRMs' "k.A." (keine Angabe) and "o.A." (ohne Angabe), case and all: "K.A." may be
someone's initials and stays."""

_ALSO_SURNAMES = r"^(?:test|null)$"
"""Placeholders that are also surnames: one only beside an empty or placeholder first name."""

_END_PUNCTUATION = "#()[]{}<>\"'.,;:!?*-_/\\"


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


def _placeholders(names: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct values of ``names`` that are placeholders, and those of them that are also
    surnames. Names repeat (a million rows hold some tens of thousands of first names), so each
    distinct value is read once: a million-row column of 300k distinct last names took 0.3 s
    read row by row, 0.16 s so (most of it to find the distinct values), 0.05 s for 8 names."""
    value = pl.col("value")
    letterless = ~value.str.contains(r"\p{L}")
    token = value.str.to_lowercase().str.replace_all(r"\s", "").str.strip_chars(_END_PUNCTUATION)
    found = (
        pl.DataFrame({"value": names.drop_nulls().unique()})
        .with_columns(token=token)
        .filter(letterless | pl.col("token").str.contains(PLACEHOLDERS) | value.str.contains(_ABBREVIATED))
    )
    return found.get_column("value"), found.filter(pl.col("token").str.contains(_ALSO_SURNAMES))["value"]


def placeholder_names(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """``frame`` (names already :func:`normalize_names`) with placeholder names emptied, and the
    ``NAME_PLACEHOLDER`` findings (``_row``, ``_issue``: the column and the value as read),
    first names' then last names'."""
    first_values, _ = _placeholders(frame.get_column("first_name"))
    last_values, also_surnames = _placeholders(frame.get_column("last_name"))
    if not (first_values.len() or last_values.len()):
        return frame, []
    first = pl.col("first_name").is_in(first_values.implode())
    no_first = first | pl.col("first_name").is_null()
    last = pl.col("last_name").is_in(last_values.implode()) & (
        ~pl.col("last_name").is_in(also_surnames.implode()) | no_first
    )
    masks = frame.select(_first=first.fill_null(False), _last=last.fill_null(False))
    rows = frame.lazy().with_row_index("_row")
    issues = pl.collect_all(
        [
            rows.filter(pl.lit(masks.get_column(f"_{part}"))).select(
                "_row", _issue=issue(Issue.NAME_PLACEHOLDER.value, f"{part}_name", pl.col(f"{part}_name"))
            )
            for part in ("first", "last")
        ]
    )
    blanked = frame.with_columns(
        first_name=pl.when(pl.lit(masks.get_column("_first"))).then(None).otherwise(pl.col("first_name")),
        last_name=pl.when(pl.lit(masks.get_column("_last"))).then(None).otherwise(pl.col("last_name")),
    )
    return blanked, issues
