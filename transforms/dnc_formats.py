"""Reading do-not-contact files for ``leadflow dnc import``: every line kept or reported.

Formats (``--format``, ``auto`` by default):

- ``lines``: one value a line, a phone number (normalized to E.164 like the leads, national
  numbers read with ``--country``) or, when it has an ``@``, an email (lower-cased).
- ``emails``: one email a line; a line that is no email is refused.
- ``ftc``: the US National Do Not Call Registry's full-list flat file, one registered number a
  line as ``areacode,number`` (``201,5550123``: 3 + 7 digits of a NANP number), read as
  ``+12015550123`` without the phone parser: a million lines take a fraction of a second. (The
  registry's change lists, several fields a record, are not this format.)
- ``auto``: ``ftc`` when the first value line looks like one, else ``lines``.

Blank lines and lines starting with ``#`` are no values. A first value line with letters but no
digit and no ``@`` (``phone_or_email``: the column name of a one-column CSV export) is the
file's header, returned apart (``DncFile.header``) and printed as such. Every other line ends in
exactly one of the two frames :func:`read_dnc_file` returns: the values, or the refused lines
with their line number and why, which the command prints: a line is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import polars as pl

from schemas.codes import Issue
from schemas.raw_leads import RAW_LEADS
from transforms.emails import normalize_emails
from transforms.eof_marker import without_marker
from transforms.ingest import read_file_bytes
from transforms.phones import normalize_phones

__all__ = ["FORMATS", "DncFile", "read_dnc_file", "read_dnc_values"]

Format = Literal["auto", "lines", "emails", "ftc"]
FORMATS: tuple[Format, ...] = ("auto", "lines", "emails", "ftc")
_FTC = r"^\d{3}\s*,\s*\d{7}$"
_NANP = r"^[2-9]\d{2}[2-9]\d{6}$"
_HEADER = r"^[^\d@]*[A-Za-z][^\d@]*$"
"""A column name: letters, no digit and no ``@`` (no phone number or email has that shape)."""


@dataclass(frozen=True)
class DncFile:
    """What a file held: ``values`` (line, value, kind) and ``refused`` (line, text, problem),
    read as ``format`` (``auto`` resolved)."""

    values: pl.DataFrame
    refused: pl.DataFrame
    format: str
    header: tuple[int, str] | None = None
    """(line, text) of the file's header line, when its first value line is one (module docstring)."""


def _lines(path: Path) -> pl.DataFrame:
    data = read_file_bytes(path)
    data = without_marker(data)  # a DOS end-of-file marker ends the file, it is no line
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    lines = pl.Series("text", text.splitlines(), pl.String).str.strip_chars()
    frame = pl.DataFrame([lines]).with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    return frame.filter((pl.col("text") != "") & ~pl.col("text").str.starts_with("#"))


def _phones(lines: pl.DataFrame, region: str | None) -> pl.DataFrame:
    """(line, text, value, problem) for phone lines, through the leads' own phone normalization."""
    empty = {
        name: pl.lit(None, dtype) for name, dtype in RAW_LEADS.items() if name not in ("phone1", "source_row")
    }
    raw = (
        lines.select(pl.col("line").alias("source_row"), pl.col("text").alias("phone1"))
        .with_columns(**empty)
        .with_columns(attributes=pl.lit([], RAW_LEADS["attributes"]), issues=pl.lit([], RAW_LEADS["issues"]))
        .select(list(RAW_LEADS))
    )
    parsed = normalize_phones(raw, region)
    problem = parsed["issues"].list.eval(pl.element().struct.field("code")).list.first()
    return lines.with_columns(
        value=parsed["phone1"],
        problem=pl.when(parsed["phone1"].is_null()).then(problem.fill_null(Issue.PHONE_INVALID.value)),
    )


def _emails(lines: pl.DataFrame) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"email": lines["text"], "issues": pl.Series([[]] * lines.height, dtype=RAW_LEADS["issues"])}
    )
    email = normalize_emails(frame)["email"].str.to_lowercase()
    return lines.with_columns(
        value=email, problem=pl.when(email.is_null()).then(pl.lit(Issue.EMAIL_INVALID.value))
    )


def _ftc(lines: pl.DataFrame) -> pl.DataFrame:
    digits = pl.col("text").str.replace_all(r"\s", "").str.replace(",", "")
    fits = pl.col("text").str.contains(_FTC) & digits.str.contains(_NANP)
    return lines.with_columns(
        value=pl.when(fits).then(pl.lit("+1") + digits),
        problem=pl.when(~fits).then(pl.lit("NOT_AREACODE_NUMBER")),
    )


def read_dnc_values(lines: pl.DataFrame, format: Format, region: str | None) -> DncFile:
    """``lines`` (line, text) read as ``format``; see the module's docstring."""
    if format == "auto":
        first = lines["text"].head(1)
        format = "ftc" if first.len() and first.str.contains(_FTC).all() else "lines"
    if format == "ftc":
        read, kind = _ftc(lines), pl.lit("phone")
    elif format == "emails":
        read, kind = _emails(lines), pl.lit("email")
    else:
        is_email = lines["text"].str.contains("@")
        read = pl.concat([_phones(lines.filter(~is_email), region), _emails(lines.filter(is_email))]).sort(
            "line"
        )
        kind = pl.when(pl.col("text").str.contains("@")).then(pl.lit("email")).otherwise(pl.lit("phone"))
    read = read.with_columns(kind=kind)
    values = read.filter(pl.col("problem").is_null()).select("line", "value", "kind")
    refused = read.filter(pl.col("problem").is_not_null()).select("line", "text", "problem")
    return DncFile(values, refused, format)


def read_dnc_file(path: Path, format: Format = "auto", region: str | None = None) -> DncFile:
    """Every value line of ``path``, read as ``format`` (national phone numbers with ``region``);
    a first value line that is a column name is the file's header (module docstring). Values
    given on the command line have no header: :func:`read_dnc_values` reads them as they are."""
    lines = _lines(path)
    if not (lines.height and lines["text"].head(1).str.contains(_HEADER).all()):
        return read_dnc_values(lines, format, region)
    read = read_dnc_values(lines.slice(1), format, region)
    return replace(read, header=(int(lines["line"][0]), str(lines["text"][0])))
