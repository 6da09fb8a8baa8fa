"""A real PostgreSQL for the tests: the machine's server, or a throwaway one started here.

``postgres_server`` (session): the URL of a database made for this test session (random name,
dropped at the end) on ``$LEADFLOW_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) when that server answers; else on a server
started from ``initdb``/``pg_ctl`` (on PATH or under /usr/lib/postgresql/*/bin) in a temporary
folder on a free port, run as the ``postgres`` or ``nobody`` user when the tests run as root
(initdb refuses root); else the tests that need it are skipped, saying why.

``postgres_url`` (per test): the session database with a schema of the test's own on the
connection's ``search_path``, so tests never see each other's tables.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest

__all__ = ["postgres_server", "postgres_url"]

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _binaries() -> tuple[str, str] | None:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb = shutil.which("initdb", path=folder)
        pg_ctl = shutil.which("pg_ctl", path=folder)
        if initdb and pg_ctl:
            return initdb, pg_ctl
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _throwaway_server() -> Iterator[str]:
    found = _binaries()
    if found is None:
        pytest.skip("no PostgreSQL: $LEADFLOW_TEST_POSTGRES_URL does not answer and no initdb/pg_ctl found")
    initdb, pg_ctl = found
    prefix: list[str] = []
    if os.getuid() == 0:
        runner = shutil.which("runuser")
        names = [n for n in ("postgres", "nobody") if _user_exists(n)]
        if runner is None or not names:
            pytest.skip("no PostgreSQL: as root initdb needs runuser and a postgres or nobody user")
        user = names[0]
        prefix = [runner, "-u", user, "--"]
    folder = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
    os.chmod(folder, 0o777)
    data = folder / "data"
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"no PostgreSQL: starting a throwaway server failed: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("LEADFLOW_TEST_POSTGRES_URL", DEFAULT_URL)
    with contextlib.ExitStack() as stack:
        if not _answers(url):
            url = stack.enter_context(_throwaway_server())
        database = f"leadflow_test_{secrets.token_hex(6)}"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        try:
            yield _with_database(url, database)
        finally:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(postgres_server)
    query = (parts.query + "&" if parts.query else "") + "options=" + quote(f"-csearch_path={schema}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
