"""The do-not-contact store in a SQLite ledger file (connectors.dnc_types has the contract).

Its tables live beside the send ledger's (connectors.ledger) and are made by a migration step
of their own, :func:`migrate`, versioned in ``dnc_meta`` rather than in the ledger's
``PRAGMA user_version``: the ledger and the store change apart, and opening one never
migrates the other.

``dnc_entries``: (value, source) is the key, WITHOUT ROWID, so a value is found on every list
(remove, erase) by the key itself, and a big list goes in sorted by it as appends, with no
second index to keep (a million entries: 8 s, not 50 s). Times are UTC text of one fixed width
(``2026-12-04T16:57:00.000000+00:00``), so text order is time order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from connectors.dnc_types import ENTRY_SCHEMA, ERASED, ERASURE_LIST, PAGE_ROWS, ManagedList

__all__ = ["SCHEMA_VERSION", "SqliteDncStore", "migrate"]

_ACTIVE_EMPTY = pl.DataFrame(schema={"value": pl.String, "kind": pl.String})

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dnc_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dnc_entries (
    source TEXT NOT NULL, value TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT,
    added_at TEXT NOT NULL, expires_at TEXT,
    PRIMARY KEY (value, source)
) WITHOUT ROWID;
"""

_INSERT_JSON = """
INSERT INTO dnc_entries (source, value, kind, reason, added_at, expires_at)
SELECT ?1, e.value, ?2, ?3, ?4, ?5 FROM json_each(?6, '$[0].value') AS e WHERE true
ON CONFLICT (value, source) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at
"""
"""``WHERE true``: SQLite's parser needs it between a SELECT and its upsert clause. The values
come as polars writes a one-row frame of a list: ``[{"value": [...]}]``."""

_PAGE = """
WITH page AS MATERIALIZED (
    SELECT value, source, kind, expires_at FROM dnc_entries {after} ORDER BY value, source LIMIT ?
)
SELECT kind, group_concat(value, char(10)), NULL FROM page
WHERE expires_at IS NULL OR expires_at > ? GROUP BY kind
UNION ALL
SELECT NULL, value, source FROM (SELECT value, source FROM page ORDER BY value DESC, source DESC LIMIT 1)
"""
"""One keyset page of the primary key, walked once: its entries in force as one text per kind
(kind, text, NULL), and the key of its last entry, expired or not (NULL, value, source)."""
_FIRST_PAGE = _PAGE.format(after="")
_NEXT_PAGE = _PAGE.format(after="WHERE (value, source) > (?, ?)")

_TEXT_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def migrate(db: sqlite3.Connection) -> None:
    """Create the store's tables (version :data:`SCHEMA_VERSION`) in one ``BEGIN IMMEDIATE``, so
    two processes opening a ledger at once create them once. Later versions add steps here."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            db.execute(statement)
        db.execute(
            "INSERT INTO dnc_meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO NOTHING",
            (SCHEMA_VERSION,),
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SqliteDncStore:
    """One connection; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, create: bool = True) -> None:
        """``create=False`` (a run reading what to suppress): no file, table or lock is made;
        :attr:`ready` says whether the store has its tables."""
        self.path = Path(path)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        try:
            if create:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                migrate(self._db)
            found = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dnc_entries'"
            self.ready = self._db.execute(found).fetchone() is not None
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteDncStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, source: str | None = None) -> int:
        if source is None:
            return int(self._db.execute("SELECT count(*) FROM dnc_entries").fetchone()[0])
        query = "SELECT count(*) FROM dnc_entries WHERE source = ?"
        return int(self._db.execute(query, (source,)).fetchone()[0])

    def add(self, entries: pl.DataFrame) -> int:
        # an import's entries share their list, kind, reason and dates: each such group goes in
        # as one statement over a JSON array of its values (json_each), in key order (appends
        # to the B-tree). A million entries take about 2 s; a million bound statements
        # (executemany) took 10-15 s, and one JSON object per entry as long again
        stamped = entries.with_columns(
            pl.col(name).dt.convert_time_zone("UTC").dt.strftime(_TEXT_TIME)
            for name in ("added_at", "expires_at")
        )
        groups = stamped.sort("value").group_by(
            "source", "kind", "reason", "added_at", "expires_at", maintain_order=True
        )
        self._db.execute("PRAGMA cache_size = -262144")  # 256 MiB while a big list goes in
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._count()
            for (source, kind, reason, added, expires), group in groups:
                values = group.select(pl.col("value").implode()).write_json()
                self._db.execute(_INSERT_JSON, (source, kind, reason, added, expires, values))
            added_count = self._count() - before
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        finally:
            self._db.execute("PRAGMA cache_size = -2000")
        self._db.execute("COMMIT")
        return added_count

    def remove(self, values: list[str], source: str | None = None) -> int:
        listed = json.dumps(values)
        if source is None:
            query = "DELETE FROM dnc_entries WHERE value IN (SELECT value FROM json_each(?))"
            return self._db.execute(query, (listed,)).rowcount
        query = "DELETE FROM dnc_entries WHERE value IN (SELECT value FROM json_each(?)) AND source = ?"
        return self._db.execute(query, (listed, source)).rowcount

    def entries(self, source: str | None = None) -> pl.DataFrame:
        query = "SELECT value, kind, source, reason, added_at, expires_at FROM dnc_entries"
        params: tuple[str, ...] = ()
        if source is not None:
            query, params = query + " WHERE source = ?", (source,)
        rows = self._db.execute(query + " ORDER BY source, value", params).fetchall()
        return _entry_frame(rows)

    def active(self, now: datetime) -> pl.DataFrame:
        return pl.concat([_ACTIVE_EMPTY, *self.active_pages(now)])

    def active_pages(self, now: datetime, rows: int = PAGE_ROWS) -> Iterator[pl.DataFrame]:
        # keyset pages of the primary key, each read as one text per kind and split by polars
        # (a million values as a few strings rather than a million row tuples: 0.3 s, not
        # 3 s), and never the whole store as one text: SQLite caps a text at 1 GB (~70M
        # numbers). One read transaction, so the pages are of one snapshot of the store.
        self._db.execute("BEGIN")
        try:
            after: tuple[str, str] | None = None
            while True:
                query = _FIRST_PAGE if after is None else _NEXT_PAGE
                found = self._db.execute(query, (*(after or ()), rows, _text(now))).fetchall()
                last = [(value, source) for kind, value, source in found if kind is None]
                yield _page([(kind, text) for kind, text, _ in found if kind is not None])
                if not last:  # an empty page: the store has been read
                    return
                after = (str(last[0][0]), str(last[0][1]))
        finally:
            self._db.execute("COMMIT")

    def lists(self, now: datetime) -> list[ManagedList]:
        rows = self._db.execute(
            "SELECT source, count(*), max(added_at) FROM dnc_entries "
            "WHERE expires_at IS NULL OR expires_at > ? GROUP BY source ORDER BY source",
            (_text(now),),
        ).fetchall()
        return [ManagedList(name, int(count), newest) for name, count, newest in rows]

    def erase(self, raw_value: str, hashed: str, reason: str, now: datetime) -> tuple[int, int]:
        from connectors.contact_retention import sqlite_erase_contacts

        self._db.execute("BEGIN IMMEDIATE")
        try:
            removed = self._db.execute(
                "DELETE FROM dnc_entries WHERE value = ? AND kind != ?", (raw_value, ERASED)
            ).rowcount
            self._db.execute(
                "INSERT INTO dnc_entries (source, value, kind, reason, added_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (value, source) DO NOTHING",
                (ERASURE_LIST, hashed, ERASED, reason, _text(now)),
            )
            contacts = sqlite_erase_contacts(self._db, raw_value)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(removed), contacts

    def meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM dnc_meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO dnc_meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _page(found: list[tuple[str, str]]) -> pl.DataFrame:
    """(kind, newline-joined values) rows as (value, kind)."""
    parts = [
        pl.DataFrame({"value": pl.Series([text], dtype=pl.String).str.split("\n").explode()}).with_columns(
            kind=pl.lit(kind)
        )
        for kind, text in found
    ]
    return pl.concat([_ACTIVE_EMPTY, *parts])


def _entry_frame(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    """Rows (value, kind, source, reason, added_at text, expires_at text) as :data:`ENTRY_SCHEMA`."""
    text = dict.fromkeys(ENTRY_SCHEMA, pl.String)
    frame = pl.DataFrame(rows, schema=text, orient="row")
    return frame.with_columns(
        pl.col(name).str.to_datetime(_TEXT_TIME, time_zone="UTC", time_unit="us")
        for name in ("added_at", "expires_at")
    )
