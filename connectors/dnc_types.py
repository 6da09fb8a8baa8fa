"""The do-not-contact store's contract: its entries and :class:`DncStore`, which the SQLite store
(connectors.dnc_store) and the PostgreSQL one (connectors.dnc_pg) both fulfil.

An entry is one value on one named list: ``value`` is an E.164 number (kind ``phone``), a
lower-cased email (``email``) or, for an erasure request, only the keyed hash of one
(``erased``: connectors.dnc_erasure; the raw value is never stored). The same value may be on
several lists (the national registry and our own opt-outs); removing it from one leaves the
others. ``expires_at`` (UTC) ends an entry: an expired entry stays listed but is not applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import polars as pl

__all__ = [
    "ENTRY_SCHEMA",
    "ERASED",
    "ERASURE_LIST",
    "KINDS",
    "PAGE_ROWS",
    "DncStore",
    "ManagedList",
    "is_database_url",
    "store_name",
]

ERASED = "erased"
KINDS = ("phone", "email", ERASED)
ERASURE_LIST = "erasure-requests"
"""The list every erasure request (GDPR Art. 17) goes on."""

PAGE_ROWS = 100_000
"""Entries a run reads from the store at a time (:meth:`DncStore.active_pages`): the store is
held as keys (transforms.suppress_keys), never as its text, whatever its size."""

ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "value": pl.String(),
    "kind": pl.String(),
    "source": pl.String(),
    "reason": pl.String(),
    "added_at": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
}
"""Entries as frames: what :meth:`DncStore.add` takes and :meth:`DncStore.entries` returns."""


@dataclass(frozen=True)
class ManagedList:
    """One list of the store as a run applied it (run.json ``dnc_lists``): why: "was this person
    on the list we used?" must be answerable after the list has changed."""

    name: str
    entries: int
    """Entries applied (not expired) when the run read the store."""
    newest_added: str | None
    """When the newest of them was added (UTC, ISO 8601)."""


class DncStore(Protocol):
    """What ``leadflow dnc`` and the runs need of the store."""

    ready: bool
    """The store has its tables (always, unless opened with ``create=False`` before any entry)."""

    def close(self) -> None: ...
    def add(self, entries: pl.DataFrame) -> int:
        """Insert ``entries`` (:data:`ENTRY_SCHEMA`); an entry already on its list keeps its
        ``added_at`` and takes the new reason and expiry. Returns the entries new to their list."""
        ...

    def remove(self, values: list[str], source: str | None = None) -> int:
        """Delete these values (from ``source``, or from every list); how many entries went."""
        ...

    def entries(self, source: str | None = None) -> pl.DataFrame:
        """Every entry (of ``source``), expired ones too, by list and value."""
        ...

    def active(self, now: datetime) -> pl.DataFrame:
        """``value`` and ``kind`` of the entries not expired at ``now``: what a run applies."""
        ...

    def active_pages(self, now: datetime, rows: int = PAGE_ROWS) -> Iterator[pl.DataFrame]:
        """:meth:`active` in pages of at most ``rows`` entries (keyset pages of the key (value,
        source), all of one snapshot of the store): what a run reads, so that no more than a
        page of the store's text is held at a time."""
        ...

    def lists(self, now: datetime) -> list[ManagedList]:
        """Each list's entries not expired at ``now``, and its newest entry's date."""
        ...

    def erase(self, raw_value: str, hashed: str, reason: str, now: datetime) -> tuple[int, int]:
        """In one transaction: delete ``raw_value`` from every list, put ``hashed`` on
        :data:`ERASURE_LIST` and remove the person's contacts from the ledger's frequency
        records (connectors.contact_retention). Returns (raw entries deleted, contacts removed)."""
        ...

    def meta(self, name: str) -> str | None: ...
    def set_meta(self, name: str, value: str) -> None: ...


def is_database_url(spec: str | Path) -> bool:
    """A ``postgresql://`` / ``postgres://`` URL (else a SQLite file)."""
    return isinstance(spec, str) and spec.startswith(("postgresql://", "postgres://"))


def store_name(spec: str | Path) -> str:
    """Where the store is, as run.json records it: the file, or the URL without its password."""
    if not is_database_url(spec):
        return str(Path(spec).absolute())
    parts = urlsplit(str(spec))
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}{host}", query="").geturl()
