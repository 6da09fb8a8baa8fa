"""Do-not-contact lists: any file Leadflow can ingest, every cell a phone number or an email.

Lists come from many places (a regulator's export, a CRM's opt-out report, a text file of
numbers with no header), so the reader is lenient about shape: it takes every non-empty cell
of every column, the header line too when it looks like a value rather than a column name.
Values with an ``@`` are emails (matched case-insensitively); the others are phones,
normalized to E.164 with the run's default region exactly like the leads, so "0151 2345678"
on the list suppresses "+49 151 2345678" in the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from schemas.raw_leads import RAW_LEADS
from transforms.emails import normalize_emails
from transforms.ingest import IngestedFile
from transforms.normalize import Suppression
from transforms.phones import normalize_phones

__all__ = ["SuppressionList", "suppression_from_file", "suppression_list"]


def _cells(ingested: IngestedFile) -> pl.Series:
    frame = ingested.frame.drop("source_row", "issues", strict=False)
    values = pl.concat(
        [frame.select(pl.col(name).alias("value")) for name in frame.columns]
        + [pl.DataFrame({"value": [h for h in frame.columns if any(ch.isdigit() or ch == "@" for ch in h)]})],
        how="vertical_relaxed",
    )["value"]
    return values.str.strip_chars().filter(values.str.strip_chars() != "").drop_nulls().unique()


def suppression_from_file(ingested: IngestedFile, default_region: str | None) -> Suppression:
    """E.164 phones and lower-cased emails listed in a do-not-contact file."""
    cells = _cells(ingested)
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
    phones = normalize_phones(phone_frame, default_region)["phone1"].drop_nulls().unique()
    email_frame = pl.DataFrame(
        {"email": emails_raw, "issues": pl.Series([[]] * len(emails_raw), dtype=RAW_LEADS["issues"])}
    )
    emails = normalize_emails(email_frame)["email"].drop_nulls().str.to_lowercase().unique()
    return phones, emails


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


def suppression_list(path: Path, ingested: IngestedFile, phones: int, emails: int) -> SuppressionList:
    """The audit record of the list at ``path`` (its bytes' sha256 is ``ingested``'s fingerprint)."""
    modified = datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat(timespec="seconds")
    return SuppressionList(
        path=str(path.absolute()),
        entries=phones + emails,
        phones=phones,
        emails=emails,
        sha256=ingested.fingerprint,
        modified_at=modified,
    )
