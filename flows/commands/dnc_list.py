"""``leadflow dnc list``: the store's lists (entries, in force, newest added), or their entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console

    from connectors.dnc_types import DncStore

__all__ = ["print_lists"]


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def print_lists(store: DncStore, console: Console, *, source: str | None, entries: bool) -> None:
    """One line per list; with ``entries`` one line per entry (erasures show their hash only)."""
    now = datetime.now(UTC)
    found = store.entries(source)
    in_force = pl.col("expires_at").is_null() | (pl.col("expires_at") > now)
    if entries:
        # tab-separated lines, not a table: a list of thousands is read by grep and cut too
        console.print(Text("list\tvalue\tkind\treason\tadded_utc\texpires_utc"), soft_wrap=True)
        for row in found.iter_rows(named=True):
            expired = row["expires_at"] is not None and row["expires_at"] <= now
            expires = _when(row["expires_at"]) + (" (expired)" if expired else "")
            fields = (
                row["source"],
                row["value"],
                row["kind"],
                row["reason"] or "-",
                _when(row["added_at"]),
                expires,
            )
            console.print(Text("\t".join(fields)), soft_wrap=True)
        return
    summary = (
        found.group_by("source")
        .agg(
            entries=pl.len(),
            in_force=in_force.sum(),
            phones=(pl.col("kind") == "phone").sum(),
            emails=(pl.col("kind") == "email").sum(),
            newest=pl.col("added_at").max(),
        )
        .sort("source")
    )
    table = Table(title="Do-not-contact lists", title_justify="left")
    for name in ("list", "entries", "in force", "phones", "emails", "newest added (UTC)"):
        table.add_column(name, justify="left" if name.startswith(("list", "newest")) else "right")
    for name, total, active, phones, emails, newest in summary.iter_rows():
        table.add_row(
            Text(name), f"{total:,}", f"{active:,}", f"{phones:,}", f"{emails:,}", Text(_when(newest))
        )
    console.print(table)
    if summary.is_empty():
        console.print(Text("The store holds no entries (leadflow dnc add|import puts some in)."))
