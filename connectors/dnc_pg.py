"""The do-not-contact store in a PostgreSQL ledger database (connectors.dnc_types has the contract).

Tables ``dnc_entries`` (key (value, source): a value is found on every list by the key) and
``dnc_meta`` beside the ledger's ``ledger_*`` ones, created by this
module's own migration step under an advisory lock of its own (the ledger's is 7170610), so
the store and the ledger change apart. Entries go in and come out through ``COPY`` as CSV:
a million entries are one round trip each way, not a million statements.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import polars as pl
import psycopg
from psycopg import sql

from connectors.dnc_types import ENTRY_SCHEMA, ERASED, ERASURE_LIST, PAGE_ROWS, ManagedList, store_name
from connectors.ledger_types import LedgerUnavailable

__all__ = ["PostgresDncStore"]

_SCHEMA = """
SELECT pg_advisory_xact_lock(7170618);
CREATE TABLE IF NOT EXISTS dnc_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS dnc_entries (
    source text NOT NULL, value text NOT NULL, kind text NOT NULL, reason text,
    added_at timestamptz NOT NULL, expires_at timestamptz,
    PRIMARY KEY (value, source)
);
INSERT INTO dnc_meta (name, value) VALUES ('schema', '1') ON CONFLICT (name) DO NOTHING;
"""

_UPSERT = """
WITH upsert AS (
    INSERT INTO dnc_entries
    SELECT DISTINCT ON (value, source) * FROM dnc_incoming ORDER BY value, source
    ON CONFLICT (value, source) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at
    RETURNING (xmax = 0) AS new
)
SELECT count(*) FILTER (WHERE new) FROM upsert
"""
"""The staged entries into the store; how many were new to their list (``xmax = 0``: inserted,
not updated). Counted in the server: a million entries send back one number, not a million."""

_CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
_PG_TIME = 'YYYY-MM-DD"T"HH24:MI:SS.US+00:00'
"""The same fixed-width UTC text as the SQLite store's (to_char pattern)."""


class PostgresDncStore:
    """One connection (autocommit); use as a context manager or call :meth:`close`."""

    def __init__(self, url: str, *, connect_timeout: float = 30.0, create: bool = True) -> None:
        try:
            self._db: psycopg.Connection[Any] = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, int(connect_timeout))
            )
        except psycopg.Error as error:
            raise LedgerUnavailable(
                f"ledger {store_name(url)}: cannot reach the database ({error}); check that the "
                "server runs and the URL, PGPASSWORD or ~/.pgpass are right"
            ) from None
        try:
            if create:
                with self._db.transaction():
                    self._db.execute(_SCHEMA)
            row = self._db.execute("SELECT to_regclass('dnc_entries') IS NOT NULL").fetchone()
            self.ready = bool(row and row[0])
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PostgresDncStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, entries: pl.DataFrame) -> int:
        csv = entries.select(
            "source",
            "value",
            "kind",
            "reason",
            pl.col("added_at").dt.convert_time_zone("UTC").dt.strftime(_CSV_TIME),
            pl.col("expires_at").dt.convert_time_zone("UTC").dt.strftime(_CSV_TIME),
        ).write_csv(include_header=False)
        with self._db.transaction():
            self._db.execute(
                "CREATE TEMP TABLE dnc_incoming (LIKE dnc_entries INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            columns = "source, value, kind, reason, added_at, expires_at"
            with self._db.cursor().copy(f"COPY dnc_incoming ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(csv.encode())
            row = self._db.execute(_UPSERT).fetchone()
        return int(row[0]) if row else 0

    def remove(self, values: list[str], source: str | None = None) -> int:
        query = "DELETE FROM dnc_entries WHERE value = ANY(%s)"
        params: tuple[object, ...] = (values,)
        if source is not None:
            query, params = query + " AND source = %s", (values, source)
        return self._db.execute(query, params).rowcount

    def _copy_out(self, query: sql.Composable, schema: dict[str, Any]) -> pl.DataFrame:
        buffer = io.BytesIO()
        with self._db.cursor().copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)) as copy:
            for block in copy:
                buffer.write(block)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema_overrides=schema)

    def entries(self, source: str | None = None) -> pl.DataFrame:
        where = sql.SQL("") if source is None else sql.SQL("WHERE source = {}").format(sql.Literal(source))
        frame = self._copy_out(
            sql.SQL(
                "SELECT value, kind, source, reason, to_char(added_at AT TIME ZONE 'UTC', {time}), "
                "to_char(expires_at AT TIME ZONE 'UTC', {time}) "
                "FROM dnc_entries {where} ORDER BY source, value"
            ).format(time=sql.Literal(_PG_TIME), where=where),
            dict.fromkeys(ENTRY_SCHEMA, pl.String),
        )
        return frame.with_columns(
            pl.col(name).str.to_datetime(_CSV_TIME, time_zone="UTC", time_unit="us")
            for name in ("added_at", "expires_at")
        )

    def active(self, now: datetime) -> pl.DataFrame:
        schema = {"value": pl.String, "kind": pl.String}
        return pl.concat([pl.DataFrame(schema=schema), *self.active_pages(now)])

    def active_pages(self, now: datetime, rows: int = PAGE_ROWS) -> Iterator[pl.DataFrame]:
        # keyset pages of the primary key, each one COPY out (one round trip, not a row
        # tuple per entry) of the page's entries, expired ones too: its last one's key is
        # where the next page starts. All in one REPEATABLE READ transaction: one snapshot
        schema = {"value": pl.String, "kind": pl.String, "source": pl.String, "active": pl.String}
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            after: tuple[str, str] | None = None
            while True:
                lower: sql.Composable = sql.SQL("")
                if after is not None:
                    lower = sql.SQL("WHERE (value, source) > ({}, {})").format(*map(sql.Literal, after))
                page = self._copy_out(
                    sql.SQL(
                        "SELECT value, kind, source, expires_at IS NULL OR expires_at > {now} "
                        "FROM dnc_entries {lower} ORDER BY value, source LIMIT {rows}"
                    ).format(now=sql.Literal(now), lower=lower, rows=sql.Literal(rows)),
                    schema,
                )
                if page.is_empty():
                    yield page.select("value", "kind")
                    return
                last = page.row(-1, named=True)
                after = (last["value"], last["source"])
                yield page.filter(pl.col("active") == "t").select("value", "kind")
                del page

    def lists(self, now: datetime) -> list[ManagedList]:
        rows = self._db.execute(
            "SELECT source, count(*), to_char(max(added_at) AT TIME ZONE 'UTC', %s) FROM dnc_entries "
            "WHERE expires_at IS NULL OR expires_at > %s GROUP BY source ORDER BY source",
            (_PG_TIME, now),
        ).fetchall()
        return [ManagedList(name, int(count), newest) for name, count, newest in rows]

    def erase(self, raw_value: str, hashed: str, reason: str, now: datetime) -> tuple[int, int]:
        from connectors.contact_retention import pg_erase_contacts

        with self._db.transaction():
            removed = self._db.execute(
                "DELETE FROM dnc_entries WHERE value = %s AND kind != %s", (raw_value, ERASED)
            ).rowcount
            self._db.execute(
                "INSERT INTO dnc_entries (source, value, kind, reason, added_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source, value) DO NOTHING",
                (ERASURE_LIST, hashed, ERASED, reason, now),
            )
            contacts = pg_erase_contacts(self._db, raw_value)
        return int(removed), contacts

    def meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM dnc_meta WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO dnc_meta (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
