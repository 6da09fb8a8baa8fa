"""Where the watched folder's registry lives: a SQLite file in the root, or a PostgreSQL database.

``LEADFLOW_REGISTRY`` chooses: unset (or ``sqlite``) is the embedded default, the file
``ROOT/.leadflow-intake.sqlite``, whose locking needs the root on a local disk; a
``postgresql://`` URL puts the registry of every root in that database, so watchers on several
machines over one shared folder (NFS, SMB) share one memory of what was imported.

Both backends run the same statements (flows.inbox.registry), one writer at a time: SQLite by
``BEGIN IMMEDIATE``, PostgreSQL by a transaction-scoped advisory lock taken first in every
transaction, so a reservation reads and writes with no other watcher in between, as on SQLite.
The few differences are here: placeholders (``?`` vs ``%s``) and the schema's types.

A root's tables in PostgreSQL sit in a schema of their own, ``leadflow_intake_<id>``, where
``<id>`` is read from ``ROOT/.leadflow-root-id`` (created once, by whichever watcher comes first,
with an exclusive create): every machine finds the same id whatever path it mounts the folder at.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

from connectors.config_error import ConfigError

__all__ = [
    "REGISTRY_ENV",
    "REGISTRY_ERRORS",
    "ROOT_ID_FILE",
    "Database",
    "Transaction",
    "open_database",
    "root_id",
]

try:
    import psycopg

    _POSTGRES_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)
except ImportError:  # only the PostgreSQL registry needs it
    _POSTGRES_ERRORS = ()

REGISTRY_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, *_POSTGRES_ERRORS)
"""What a registry whose database is unreachable or busy raises: a watcher logs it and tries again."""

REGISTRY_ENV = "LEADFLOW_REGISTRY"
ROOT_ID_FILE = ".leadflow-root-id"
_LOCK_KEY = 0x1EADF10
"""The advisory lock every registry transaction takes (one writer at a time, as on SQLite)."""

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    fingerprint   TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    claimed_name  TEXT NOT NULL,
    original_name TEXT NOT NULL,
    run_id        TEXT,
    run_dir       TEXT,
    updated_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS observed (
    name     BLOB PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    since    REAL NOT NULL,
    first_seen REAL
);
"""
_POSTGRES_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS intake (
    fingerprint   TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    claimed_name  TEXT NOT NULL,
    original_name TEXT NOT NULL,
    run_id        TEXT,
    run_dir       TEXT,
    updated_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS observed (
    name       BYTEA PRIMARY KEY,
    size       BIGINT NOT NULL,
    mtime_ns   BIGINT NOT NULL,
    since      DOUBLE PRECISION NOT NULL,
    first_seen DOUBLE PRECISION
)""",
)
_ADDED_COLUMNS = (
    ("intake", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("observed", "first_seen", "REAL"),
)
"""Columns newer than the first SQLite registries: added in place to a registry that lacks them."""


class Transaction(Protocol):
    """One registry transaction: statements with ``?`` placeholders, rows as tuples."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...


class Database(Protocol):
    def transaction(self) -> Any: ...


def root_id(root: Path) -> str:
    """The watched root's id (``ROOT/.leadflow-root-id``), created by the first to ask."""
    path = root / ROOT_ID_FILE
    if not path.exists():
        # written whole under a private name, then linked into place: a watcher starting at the
        # same moment sees no file or the whole id, never the empty file an open("x") shows first
        draft = root / f"{ROOT_ID_FILE}.{uuid.uuid4().hex}.tmp"
        draft.write_text(uuid.uuid4().hex + "\n", encoding="ascii")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: a rename is atomic too
            if not path.exists():
                os.replace(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii").strip()
    if not re.fullmatch(r"[0-9a-f]{32}", text):
        raise ValueError(f"{path}: not a Leadflow root id; delete it and let the watcher write a new one")
    return text


class _Sqlite:
    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as db:
            db.executescript(SQLITE_SCHEMA)
            for table, column, declaration in _ADDED_COLUMNS:
                known = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in known:
                    try:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                    except sqlite3.OperationalError as error:  # another process added it first
                        if "duplicate column" not in str(error):
                            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


class _PostgresTransaction:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        if params:
            self._cursor.executemany(sql.replace("?", "%s"), params)
        return self._cursor


class _Postgres:
    def __init__(self, url: str, root: Path, timeout: float) -> None:
        if not _POSTGRES_ERRORS:
            raise ConfigError(f"{REGISTRY_ENV} is a PostgreSQL URL but psycopg is not installed")
        self.url = url
        self.schema = f"leadflow_intake_{root_id(root)}"
        self.timeout = timeout
        try:
            with self.transaction() as db:
                db.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                for statement in _POSTGRES_SCHEMA:
                    db.execute(statement)
        except psycopg.OperationalError as exc:  # psycopg's text never holds the password
            said = " ".join(str(exc).split())
            raise ConfigError(
                f"{REGISTRY_ENV}: the registry's PostgreSQL cannot be reached: {said}"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        connect = psycopg.connect(self.url, connect_timeout=max(1, int(self.timeout)))
        with connect as connection, connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cursor.execute(f"SET LOCAL search_path TO {self.schema}")
            yield _PostgresTransaction(cursor)


def open_database(root: Path, sqlite_file: Path, timeout: float, url: str | None = None) -> Database:
    """The registry's database for ``root``: ``url`` (else ``$LEADFLOW_REGISTRY``) when it is a
    PostgreSQL URL, else the SQLite file ``sqlite_file``."""
    chosen = url if url is not None else os.environ.get(REGISTRY_ENV, "")
    if chosen.startswith(("postgresql://", "postgres://")):
        return _Postgres(chosen, root, timeout)
    if chosen not in ("", "sqlite"):
        raise ConfigError(
            f"{REGISTRY_ENV}={chosen!r}: use 'sqlite' (the default, a file in the watched root) "
            "or a postgresql:// URL"
        )
    return _Sqlite(sqlite_file, timeout)
