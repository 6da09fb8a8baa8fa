"""Do-not-contact lists: any file Leadflow can ingest, every cell a phone number or an email.

Lists come from many places (a regulator's export, a CRM's opt-out report, a text file of
numbers with no header), so the reader is lenient about shape: it takes every non-empty cell
of every column, the header line too when it looks like a value rather than a column name,
and each value of a cell that lists several with ``;``.
Values with an ``@`` are emails (matched case-insensitively); the others are phones,
normalized to E.164 with the run's default region exactly like the leads, so "0151 2345678"
on the list suppresses "+49 151 2345678" in the file.

A list is read a chunk at a time and held only as keys (transforms.suppress_keys: 8 bytes an
entry), so a list of tens of millions of entries costs its keys, not its text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import polars as pl
import polars.selectors as cs

from schemas.codes import Issue
from schemas.raw_leads import RAW_LEADS
from transforms.blanks import EDGE_JUNK
from transforms.emails import normalize_emails
from transforms.ingest_batches import LeadBatches, open_lead_batches
from transforms.phones import normalize_phones
from transforms.suppress_keys import KeyBuilder, SuppressionKeys

__all__ = [
    "CHUNK_ENTRIES",
    "Chunk",
    "SuppressionList",
    "read_suppression_file",
    "suppression_chunks",
    "suppression_list",
]

CHUNK_ENTRIES = 250_000
"""Cells of a list read, normalized and keyed at a time: a list of any length is held only as
its keys (8 bytes an entry, transforms.suppress_keys) and one chunk of text."""

_NOT_CELLS = ("source_row", "issues")


def _cells(frame: pl.DataFrame, headers: list[str]) -> pl.Series:
    """The distinct non-empty values of a batch of the list, and the value-like ``headers``: a
    cell listing several with ``;`` ("0612345678;0698765432", as CRM reports list a contact's
    numbers or addresses) is each of them, not one value no phone or email is read from."""
    frame = frame.drop(*_NOT_CELLS, strict=False)
    values = pl.concat(
        [frame.select(cs.by_name(name).alias("value")) for name in frame.columns]  # "*" is a name
        + [pl.DataFrame({"value": headers}, schema={"value": pl.String})],
        how="vertical_relaxed",
    )["value"]
    values = values.str.split(";").explode().str.strip_chars(EDGE_JUNK)
    return values.filter(values != "").drop_nulls().unique()


class Chunk(NamedTuple):
    """A chunk of a list, read: its E.164 phones, its normalized emails, and how many of its
    values were national numbers read with no region (they suppress no one)."""

    phones: pl.Series
    emails: pl.Series
    unread_numbers: int


def _normalized(cells: pl.Series, default_region: str | None) -> Chunk:
    """E.164 phones and normalized emails of some cells (values with an ``@`` are emails)."""
    is_email = cells.str.contains("@")
    phones_raw, emails_raw = cells.filter(~is_email), cells.filter(is_email)
    empty = {
        name: pl.lit(None, dtype) for name, dtype in RAW_LEADS.items() if name not in ("phone1", "source_row")
    }
    phone_frame = (
        pl.DataFrame({"phone1": phones_raw})
        .with_row_index("source_row", offset=1)
        .with_columns(pl.col("source_row").cast(pl.Int64), **empty)
        .with_columns(attributes=pl.lit([], RAW_LEADS["attributes"]), issues=pl.lit([], RAW_LEADS["issues"]))
    )
    phone_frame = phone_frame.select(list(RAW_LEADS))
    parsed = normalize_phones(phone_frame, default_region)
    phones = parsed["phone1"].drop_nulls()
    no_region = parsed["issues"].list.eval(pl.element().struct.field("code") == Issue.PHONE_NO_REGION.value)
    unread = int(no_region.list.any().sum())
    email_frame = pl.DataFrame(
        {"email": emails_raw, "issues": pl.Series([[]] * len(emails_raw), dtype=RAW_LEADS["issues"])}
    )
    emails = normalize_emails(email_frame)["email"].drop_nulls()
    return Chunk(phones, emails, unread)


def suppression_chunks(
    batches: LeadBatches, default_region: str | None, entries: int = CHUNK_ENTRIES
) -> Iterator[Chunk]:
    """The list's E.164 phones and normalized emails, from chunks of at most ``entries`` cells
    (the file read ``entries`` rows at a time, each batch's cells cut to size)."""
    columns = [name for name in batches.ingested.frame.columns if name not in _NOT_CELLS]
    headers = [h for h in columns if any(ch.isdigit() or ch == "@" for ch in h)]
    for frame in batches.batches():
        cells = _cells(frame, headers)
        headers = []
        del frame
        for start in range(0, cells.len(), entries):
            yield _normalized(cells.slice(start, entries), default_region)


def read_suppression_file(
    path: Path, default_region: str | None, entries: int = CHUNK_ENTRIES
) -> tuple[SuppressionKeys, SuppressionList]:
    """The keys of a do-not-contact file's E.164 phones and emails (lower-cased), and its audit
    record; read in chunks (:func:`suppression_chunks`), so only the keys are held."""
    batches = open_lead_batches(path, entries)
    builder = KeyBuilder()
    unread = 0
    for chunk in suppression_chunks(batches, default_region, entries):
        builder.add(phones=chunk.phones, emails=chunk.emails)
        unread += chunk.unread_numbers
    keys = builder.build()
    applied = suppression_list(
        path, batches.ingested.fingerprint, keys.phones.len(), keys.emails.len(), unread_numbers=unread
    )
    return keys, applied


@dataclass(frozen=True)
class SuppressionList:
    """One do-not-contact list a run applied, as run.json records it.

    Why: "was this person on the list we used?" must be answerable later, when the list file
    has since been replaced; the sha256 names the exact content, the counts and mtime let a
    reader tell one version of the list from another without it."""

    path: str
    entries: int
    """Distinct phones (E.164) plus distinct emails the list holds."""
    phones: int
    emails: int
    sha256: str
    modified_at: str
    """The file's modification time (UTC, ISO 8601) when the run read it."""
    unread_numbers: int = 0
    """Values of the list that were national numbers with no region to read them in (no
    ``--country``, none inferred): they suppress no one, so the console and report say so."""


def suppression_list(
    path: Path, sha256: str, phones: int, emails: int, unread_numbers: int = 0
) -> SuppressionList:
    """The audit record of the list at ``path`` (``sha256``: its bytes', the ingest fingerprint)."""
    modified = datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat(timespec="seconds")
    return SuppressionList(
        path=str(path.absolute()),
        entries=phones + emails,
        phones=phones,
        emails=emails,
        sha256=sha256,
        modified_at=modified,
        unread_numbers=unread_numbers,
    )
