"""Open the do-not-contact store of a ledger, and read what a run applies from it.

The store lives in the ledger's database (``--ledger``, $LEADFLOW_LEDGER, ``<out>/ledger.sqlite``):
a SQLite file (connectors.dnc_store) or a PostgreSQL database (connectors.dnc_pg, imported only
then, so a run on a SQLite ledger never loads psycopg).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from connectors.config_error import ConfigError
from connectors.dnc_types import ERASED, PAGE_ROWS, DncStore, ManagedList, is_database_url, store_name
from transforms.suppress_keys import KeyBuilder, SuppressionKeys

__all__ = ["ManagedSuppression", "erased_matcher", "open_dnc_store", "read_managed", "store_name"]


def open_dnc_store(spec: str | Path, *, wait: float = 30.0, create: bool = True) -> DncStore:
    """The store of the ledger ``spec`` (a ``postgresql://`` URL or a SQLite file), its tables
    created when missing; ``create=False`` only reads (see ``ready``)."""
    if is_database_url(spec):
        from connectors.dnc_pg import PostgresDncStore

        return PostgresDncStore(str(spec), connect_timeout=wait, create=create)
    from connectors.dnc_store import SqliteDncStore

    return SqliteDncStore(Path(spec), busy_timeout=wait, create=create)


@dataclass(frozen=True)
class ManagedSuppression:
    """What a run applies from the store: every entry not expired when the run started."""

    store: str | None = None
    """:func:`store_name` of the store read; None when there was none to read."""
    phones: pl.Series = field(default_factory=lambda: SuppressionKeys().phones)
    """The keys of the listed phones (transforms.suppress_keys: sorted UInt64, 8 bytes each)."""
    emails: pl.Series = field(default_factory=lambda: SuppressionKeys().emails)
    """The keys of the listed emails (as ``phones``)."""
    lists: tuple[ManagedList, ...] = ()
    erased: Callable[[pl.Series], pl.Series] | None = None
    """Given normalized values, those an erasure request names (None: the store has none)."""


def erased_matcher(key: bytes, hashes: pl.Series) -> Callable[[pl.Series], pl.Series]:
    """The ``erased`` of :class:`ManagedSuppression`: of the values given, those whose keyed
    hash is among ``hashes`` (the store's erasure requests)."""
    from connectors.dnc_erasure import erasure_hashes

    wanted = hashes.unique().implode()

    def erased(values: pl.Series) -> pl.Series:
        distinct = values.drop_nulls().unique()
        return distinct.filter(erasure_hashes(key, distinct).is_in(wanted))

    return erased


def read_managed(spec: str | Path | None, now: datetime, page_rows: int = PAGE_ROWS) -> ManagedSuppression:
    """The store's entries in force at ``now`` (ConfigError when it cannot be read: a run must
    not go on without its do-not-contact list). A SQLite ledger file that does not exist yet
    holds none and is not created (``leadflow validate`` on a fresh folder writes no ledger).
    Read ``page_rows`` entries at a time and held as keys (transforms.suppress_keys)."""
    if spec is None:
        return ManagedSuppression()
    if not is_database_url(spec) and not Path(spec).exists():
        return ManagedSuppression(store=store_name(spec))
    from connectors.ledger_types import LedgerUnavailable  # a run with no store to read needs none

    try:
        with contextlib.closing(open_dnc_store(spec, create=False)) as store:
            if not store.ready:  # a ledger no one has put an entry in: nothing to apply
                return ManagedSuppression(store=store_name(spec))
            keys, erased = _read_keys(store, now, page_rows)
            lists = tuple(store.lists(now))
            key = None
            if erased.len():
                from connectors.dnc_erasure import checked_key  # a store with no erasure request needs none

                key = checked_key(store)
    except (LedgerUnavailable, sqlite3.Error) as error:
        # nothing may be sent without the do-not-contact list: the run stops, in one line
        raise ConfigError(f"do-not-contact store {store_name(spec)}: cannot read it ({error})") from None
    matcher = None if key is None else erased_matcher(key, erased)
    return ManagedSuppression(store_name(spec), keys.phones, keys.emails, lists, matcher)


def _read_keys(store: DncStore, now: datetime, page_rows: int) -> tuple[SuppressionKeys, pl.Series]:
    """The keys of the phones and emails in force, read page by page (a page's text at a
    time, never the store's), and the erasure hashes (few: one per request, kept as text)."""
    builder = KeyBuilder()
    erased: list[pl.Series] = []
    for page in store.active_pages(now, page_rows):
        kinds = page.partition_by("kind", as_dict=True)
        del page
        builder.add(phones=_values(kinds, "phone"), emails=_values(kinds, "email"))
        erased.append(_values(kinds, ERASED))
    return builder.build(), pl.concat([pl.Series("value", [], pl.String), *erased])


def _values(kinds: dict[tuple[object, ...], pl.DataFrame], kind: str) -> pl.Series:
    found = kinds.get((kind,))
    return pl.Series("value", [], pl.String) if found is None else found["value"]
