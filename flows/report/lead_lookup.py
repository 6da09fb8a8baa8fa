"""``leadflow report PATH --lead VALUE``: every result of one lead, across runs.

Why: an analyst is asked "why was this person called?" or "why was this lead never loaded?"
with a phone number, an email or a CRM id in hand, not a run id. Each run's report answers for
its own file; a lead imported weekly for a month is in four run folders. This looks in every run
under PATH (a run folder, a run id, result Parquet, or a folder of runs at any depth, as the
report reads them) and lists each result row of that lead: the run, the file and its row, the
target, the status and reasons, the vendor's answer, when it was sent, its calling window.

The value is read as the leads are: a phone number through the leads' own normalization to
E.164 (a national number needs ``--country``, as ``leadflow dnc add`` does), an email
lower-cased, and matched at ``phone1``-``phone3`` or ``email``; any value is also matched as an
``external_id`` and as a refused value as read (``phone1_raw`` ...: a lead whose number was
refused keeps it only there). One filter a run, pushed into the Parquet scan: a run's rows are
not held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flows.report.run_folders import RunsFound
from flows.report.runs import ReportError, Run, run_started
from schemas.results import RAW_COLUMNS, WINDOW_COLUMNS

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["FOUND_COLUMNS", "LeadQuery", "find_lead", "lead_csv", "lead_query", "print_lead"]

_PHONES = ("phone1", "phone2", "phone3")

FOUND_COLUMNS: tuple[str, ...] = (
    "run",
    "run_id",
    "source_file",
    "source_row",
    "external_id",
    "target",
    "status",
    "reasons",
    "vendor_id",
    "vendor_status",
    "vendor_message",
    "sent_at",
    *_PHONES,
    "email",
    "duplicate_of",
    *WINDOW_COLUMNS,
)
"""The columns of :func:`find_lead`'s rows (those a run's results lack are null)."""


@dataclass(frozen=True)
class LeadQuery:
    """What the value asked for is matched as."""

    text: str
    """The value as given (trimmed)."""
    phone: str | None
    """Its E.164 form, when it reads as a phone number."""
    email: str | None
    """Its lower-cased form, when it reads as an email."""
    note: str | None = None
    """Why the value is matched less widely than asked (a national number without a country)."""

    def predicate(self, columns: Sequence[str]) -> pl.Expr:
        """Rows of this lead, over the ``columns`` a run's results have."""
        present = set(columns)
        matches = [pl.col("external_id") == self.text] if "external_id" in present else []
        if self.phone is not None:
            matches += [pl.col(name) == self.phone for name in _PHONES if name in present]
        if self.email is not None and "email" in present:
            matches.append(pl.col("email").str.to_lowercase() == self.email)
        matches += [pl.col(name) == self.text for name in RAW_COLUMNS if name in present]
        return pl.any_horizontal(matches).fill_null(False) if matches else pl.lit(False)

    def described(self) -> str:
        """``+14155552671 (phone; as given: 415 555 2671)``, for the headline."""
        if self.phone is not None:
            shown, kind = self.phone, "phone"
        elif self.email is not None:
            shown, kind = self.email, "email"
        else:
            shown, kind = self.text, "external id or value as read"
        given = f"; as given: {self.text}" if shown != self.text else ""
        return f"{shown} ({kind}{given})"


def lead_query(text: str, region: str | None) -> LeadQuery:
    """``text`` read as the leads' phones and emails are (transforms.dnc_formats reads a
    do-not-contact value the same way): a number with ``region`` for national ones."""
    from transforms.dnc_formats import read_dnc_values

    value = text.strip()
    if not value:
        raise ReportError("--lead: give a phone number, an email or an external id")
    lines = pl.DataFrame({"line": [1], "text": [value]}, schema={"line": pl.Int64, "text": pl.String})
    read = read_dnc_values(lines, "lines", region)
    if read.values.height:
        kind, normalized = read.values.row(0)[2], read.values.row(0)[1]
        if kind == "email":
            return LeadQuery(value, None, normalized)
        return LeadQuery(value, normalized, None)
    note = None
    if "@" not in value and sum(ch.isdigit() for ch in value) >= 5 and region is None:
        note = "not read as a phone number: a national number needs --country (an ISO code such as US)"
    return LeadQuery(value, None, None, note)


def find_lead(runs: Sequence[Run], query: LeadQuery, found: RunsFound | None = None) -> pl.DataFrame:
    """:data:`FOUND_COLUMNS` rows of every result of the lead in ``runs``, oldest run first,
    then by row and target; ``run`` is the run's folder relative to the folder of runs
    (``found``), else its path as given."""
    frames = []
    for run in runs:
        names = run.results.collect_schema().names()
        folder = found.folder(run) if found is not None else str(run.path)
        rows = (
            run.results.filter(query.predicate(names))
            .select([name for name in FOUND_COLUMNS if name in names])
            .collect(engine="streaming")
        )
        if rows.height:
            frames.append(
                rows.with_columns(
                    run=pl.lit(folder), run_id=pl.lit(run.run_id), _started=pl.lit(run_started(run))
                )
            )
    if not frames:
        return pl.DataFrame(schema=dict.fromkeys(FOUND_COLUMNS, pl.String))
    together = pl.concat(frames, how="diagonal_relaxed")
    missing = [pl.lit(None).alias(name) for name in FOUND_COLUMNS if name not in together.columns]
    return (
        together.with_columns(missing)
        .sort("_started", "run", "source_row", "target", nulls_last=True)
        .select(FOUND_COLUMNS)
    )


def lead_csv(rows: pl.DataFrame, out: Path) -> int:
    """``rows`` (:func:`find_lead`) as the lead CSV's cells and file are written
    (flows.report.csv_export); how many were written."""
    from flows.report.csv_export import spreadsheet_cells, write_lead_csv

    return write_lead_csv(spreadsheet_cells(rows), out)


def print_lead(console: Console, rows: pl.DataFrame, query: LeadQuery, searched: int) -> None:
    """The headline (what was looked for, in how many runs, what it found), then one table row
    per result: values from files and vendors as plain text (never console markup)."""
    from rich.table import Table
    from rich.text import Text

    runs = f"{searched:,} run{'s' if searched != 1 else ''} searched"
    if not rows.height:
        found = f"no result in the {runs}"
    else:
        results = f"{rows.height:,} result{'s' if rows.height != 1 else ''}"
        found = f"{results} in {rows.get_column('run').n_unique():,} of the {runs}"
    console.print(Text(f"Lead {query.described()}: {found}."), soft_wrap=True)
    if query.note:
        console.print(Text(f"Note: {query.note}.", style="yellow"), soft_wrap=True)
    if not rows.height:
        return
    table = Table(title="Results of this lead, oldest run first", title_justify="left")
    for header in ("run", "row", "target", "status", "reasons", "vendor answer", "sent / window (UTC)"):
        table.add_column(header, overflow="fold")
    for row in rows.iter_rows(named=True):
        vendor = " ".join(str(part) for part in (row["vendor_status"], row["vendor_message"]) if part)
        table.add_row(
            Text(str(row["run"])),
            Text(f"{row['source_row']} of {Path(str(row['source_file'] or '')).name}"),
            Text(str(row["target"])),
            Text(str(row["status"])),
            Text(", ".join(row["reasons"] or [])),
            Text(vendor),
            Text(_when(row)),
        )
    console.print(table)


def _when(row: dict[str, object]) -> str:
    """``sent 2026-12-05 13:00:04``, or the calling window a lead was given (held or not)."""
    sent, start, end = row.get("sent_at"), row.get("call_window_start"), row.get("call_window_end")
    parts = []
    if sent is not None:
        parts.append(f"sent {_stamp(sent)}")
    if start is not None or end is not None:
        parts.append(f"window {_stamp(start)} - {_stamp(end)}")
    return "; ".join(parts)


def _stamp(value: object) -> str:
    return "?" if value is None else str(value)[:19].replace("T", " ")
