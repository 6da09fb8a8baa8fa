"""The PostgreSQL ledger: the same contract as the SQLite one (connectors.ledger_types), for runs
on several machines or many processes sharing the work.

Its tables are connectors.ledger_schema_pg's, its statements whose plans matter
connectors.ledger_queries_pg's; this module is the ledger's operations. A chunk's claim and its
in-flight record are one transaction.

Connections come from a psycopg_pool pool (autocommit); the lease thread takes its own from it.
The connection string (``postgresql://user@host:port/db``) is never logged: it may hold a password.

A server that restarts, fails over or ends a connection (``pg_terminate_backend``, an idle
timeout) while a run goes on: a pooled connection the server closed has something to read (its
last message, or the end of the stream), which a poll of its socket sees without a round trip
(:func:`_check`); the pool then replaces it before it is used. A connection lost during a
statement, or a server out of reach, is :class:`LedgerUnavailable` naming the database: the
engine stops the target (``LEDGER_UNAVAILABLE``), and what a lost statement may have committed
(a claim and its in-flight record are one statement) is a crash's to settle for the next run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from connectors import contact_retention as retention
from connectors import ledger_contacts_pg as contacts
from connectors.endpoint import normalize_endpoint
from connectors.frequency import FrequencyLimit
from connectors.lease import Renewer, lease_seconds
from connectors.ledger_queries_pg import CLAIM, HELD, PENDING, SETTLED_OF
from connectors.ledger_schema_pg import SCHEMA, configure
from connectors.ledger_types import (
    IN_FLIGHT,
    SENT_STATUSES,
    SETTLED,
    Claim,
    LedgerEntry,
    LedgerUnavailable,
    PendingChunk,
    SettledRow,
    TargetKey,
    fold_settled,
)
from transforms.people import People

__all__ = ["PostgresLedger", "is_postgres_url"]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def is_postgres_url(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


log = logging.getLogger("leadflow.connectors")


def _check(db: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it hands out: an idle connection has nothing to read
    unless the server closed it or sent it a notice; only then is it asked (one round trip,
    raising when it is gone, so the pool makes a new one). A poll, not a round trip per use:
    the ledger takes a connection several times a request."""
    if db.closed or _readable(db.fileno()):
        ConnectionPool.check_connection(db)


def _readable(fd: int) -> bool:
    """Whether ``fd`` has something to read now (poll, not select: a descriptor past 1023, in a
    process with many files and sockets open, is beyond select's reach)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now (with class 08, connection_exception)."""


def _connection_lost(error: psycopg.OperationalError) -> bool:
    """A failure of the connection or of the server, not of the statement (a deadlock or a
    serialization failure is the statement's, raised as it was)."""
    state = error.sqlstate
    return state is None or state.startswith("08") or state in _LOST_STATES


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reaching(
    method: Callable[Concatenate[PostgresLedger, _P], _R],
) -> Callable[Concatenate[PostgresLedger, _P], _R]:
    """A claim: the database out of reach or the connection lost in it is
    :class:`LedgerUnavailable` (module docstring). Not tried again: a claim whose answer was
    lost may have committed, and with a frequency limit its contacts would count twice."""

    @functools.wraps(method)
    def reach(self: PostgresLedger, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.reachable():
            return method(self, *args, **kwargs)

    return reach


def _reaching_again(
    method: Callable[Concatenate[PostgresLedger, _P], _R],
) -> Callable[Concatenate[PostgresLedger, _P], _R]:
    """A read, or a write that may be made twice (a chunk's answer: the same journal row again,
    its settled ids kept once; a release): tried once more on a connection the pool checks anew
    when the connection was lost in it (a failover, ``pg_terminate_backend`` mid-statement),
    then :class:`LedgerUnavailable`."""

    @functools.wraps(method)
    def reach(self: PostgresLedger, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.reachable():  # no connection within the pool's timeout: not tried again
            try:
                return method(self, *args, **kwargs)
            except psycopg.OperationalError as error:  # PoolTimeout is one too: not lost, waited
                if isinstance(error, PoolTimeout) or not _connection_lost(error):
                    raise
                log.warning("ledger %s: the connection was lost (%s); trying once more", self._shown, error)
            return method(self, *args, **kwargs)

    return reach


class PostgresLedger:
    """One connection pool per ledger object; use as a context manager or call :meth:`close`."""

    def __init__(
        self, url: str, *, lease: float | None = None, max_connections: int = 4, connect_timeout: float = 30.0
    ) -> None:
        self.lease_seconds = lease or lease_seconds()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=configure,
            check=_check,
            open=True,
        )
        self._shown = _without_password(url)
        try:
            self._pool.wait(timeout=connect_timeout)
            with self._pool.connection() as db, db.transaction():
                db.execute(SCHEMA + contacts.PG_SCHEMA)
            with self._pool.connection() as db, contextlib.suppress(psycopg.errors.DeadlockDetected):
                retention.pg_prune(db, due_only=True)  # due again at the next opening if it lost
        except (psycopg.Error, PoolTimeout) as error:
            self._pool.close()
            raise LedgerUnavailable(
                f"ledger {_without_password(url)}: cannot reach the database ({error}); check that "
                "the server runs and the URL, PGPASSWORD or ~/.pgpass are right"
            ) from None
        self._ids: dict[TargetKey, int] = {}
        self._legacy = contacts.PgLegacy()
        """Whether contacts of version 1 keys still count (connectors.ledger_contacts_pg)."""
        self._window = retention.WindowNote()

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def reachable(self) -> Iterator[None]:
        """:class:`LedgerUnavailable` for the database out of reach or a connection lost."""
        try:
            yield
        except PoolTimeout as error:
            raise LedgerUnavailable(
                f"ledger {self._shown}: no database connection ({error}); check that the server runs, "
                "then run the same command again"
            ) from None
        except psycopg.OperationalError as error:
            if not _connection_lost(error):
                raise
            raise LedgerUnavailable(
                f"ledger {self._shown}: the database connection was lost ({error}); check the "
                "server, then run the same command again (what it recorded before stays)"
            ) from None

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as db:
            return db.execute(query, params).fetchall()

    def _target_id(self, key: TargetKey) -> int:
        """The endpoint's id, made on first use. Two processes making it at once: the one whose
        INSERT loses sees nothing in its own statement's snapshot, so it reads again."""
        found = self._ids.get(key)
        if found is None:
            name = (key.kind, normalize_endpoint(key.base_url), key.campaign)
            rows = self._rows(
                "INSERT INTO ledger_targets (kind, base_url, campaign) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                name,
            ) or self._rows(
                "SELECT id FROM ledger_targets WHERE kind = %s AND base_url = %s AND campaign = %s", name
            )
            found = self._ids[key] = int(rows[0][0])
        return found

    # --- reads --------------------------------------------------------------------------
    @_reaching_again
    def entries(self, key: TargetKey, external_ids: Iterable[str] | None = None) -> dict[str, LedgerEntry]:
        """As the SQLite ledger's: all of them read whole, or only ``external_ids``' settled
        journal rows, found by key through ``ledger_settled_ids``."""
        target_id = self._target_id(key)
        found: dict[str, LedgerEntry] = {}
        if external_ids is None:
            settled = self._rows(
                "SELECT batch_id, run_id, rows FROM ledger_journal "
                "WHERE target_id = %s AND state = %s ORDER BY seq",
                (target_id, SETTLED),
            )
            fold_settled(found, ((batch_id, run_id, rows) for batch_id, run_id, rows in settled))
            return found
        wanted = set(external_ids)
        if not wanted:
            return found
        settled = self._rows(SETTLED_OF, (sorted(wanted), target_id))
        fold_settled(found, ((b, r, [x for x in rows if x[0] in wanted]) for b, r, rows in settled))
        return found

    @_reaching_again
    def pending_chunks(self, key: TargetKey, *, exclude_run: str) -> list[PendingChunk]:
        """As the SQLite ledger's: each batch id's latest row found by the server, only the
        orphans sent here."""
        target_id = self._target_id(key)
        live = self.live_runs(key)
        return [
            PendingChunk(batch_id, tuple(ids), run_id)
            for batch_id, run_id, ids in self._rows(PENDING, (target_id, IN_FLIGHT, exclude_run))
            if run_id not in live
        ]

    @_reaching_again
    def chunk_state(self, key: TargetKey, batch_id: str) -> str | None:
        rows = self._rows(
            "SELECT state FROM ledger_journal WHERE target_id = %s AND batch_id = %s "
            "ORDER BY seq DESC LIMIT 1",
            (self._target_id(key), batch_id),
        )
        return str(rows[0][0]) if rows else None

    @_reaching_again
    def live_runs(self, key: TargetKey) -> frozenset[str]:
        rows = self._rows(
            "SELECT run_id FROM ledger_leases WHERE target_id = %s AND until > %s",
            (self._target_id(key), time.time()),
        )
        return frozenset(run_id for (run_id,) in rows)

    # --- writes -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lease(self, key: TargetKey, run_id: str) -> Iterator[None]:
        with self.reachable():
            target_id = self._target_id(key)

        def renew() -> None:
            self._rows(
                "INSERT INTO ledger_leases (target_id, run_id, until) VALUES (%s, %s, %s) "
                "ON CONFLICT (target_id, run_id) DO UPDATE SET until = excluded.until RETURNING 1",
                (target_id, run_id, time.time() + self.lease_seconds),
            )

        with self.reachable():
            renew()
        renewer = Renewer(renew, run_id, self.lease_seconds)
        renewer.start()
        try:
            yield
        finally:
            renewer.stop()
            try:
                self._rows(
                    "UPDATE ledger_leases SET until = 0 WHERE target_id = %s AND run_id = %s RETURNING 1",
                    (target_id, run_id),
                )
            except (psycopg.OperationalError, PoolTimeout) as error:  # it lapses by itself
                log.warning("ledger %s: ending the lease of run %s failed (%s)", self._shown, run_id, error)

    @_reaching
    def begin_chunk(
        self,
        key: TargetKey,
        batch_id: str,
        external_ids: Sequence[str],
        run_id: str,
        *,
        takeover: bool = False,
        batch_of: Callable[[Sequence[str]], str] | None = None,
        people: contacts.PeopleLike | None = None,
        limit: FrequencyLimit | None = None,
        legacy: contacts.LegacyKeys | None = None,
    ) -> Claim:
        """As the SQLite ledger's. Without a frequency limit one statement in autocommit; with
        one a transaction that first locks the chunk's people (connectors.ledger_contacts_pg)."""
        target_id = self._target_id(key)
        claiming: dict[str, Any] = {
            "target_id": target_id,
            "batch_id": batch_id,
            "external_ids": external_ids,
            "run_id": run_id,
            "takeover": takeover,
            "batch_of": batch_of,
        }
        with self._pool.connection() as db:
            if limit is None or people is None:
                return self._claim(db, wanted=external_ids, **claiming)
            with db.transaction():
                wanted, limited = contacts.pg_admit(
                    db, target_id, external_ids, people, limit, legacy=legacy, legacy_state=self._legacy
                )
                retention.pg_note_window(db, self._window, limit.window_seconds)
                claim = self._claim(db, wanted=wanted, **claiming)
                if claim.claimed:
                    contacts.pg_record(db, target_id, claim.claimed, external_ids, people)
            return Claim(claim.batch_id, claim.claimed, claim.held, limited)

    def plan_limit(
        self, key: TargetKey, external_ids: Sequence[str], *, people: People, limit: FrequencyLimit
    ) -> None:
        """Nothing: each chunk decides in its own transaction, locking its people (the SQLite
        ledger's plan decided ahead relies on its one writer at a time and its log read in
        ``seq`` order, which a PostgreSQL ledger has not: connectors.ledger_contacts)."""

    @_reaching_again
    def preview_limit(
        self,
        key: TargetKey,
        external_ids: Sequence[str],
        *,
        people: contacts.PeopleLike,
        limit: FrequencyLimit,
        legacy: contacts.LegacyKeys | None = None,
        pending: contacts.Pending | None = None,
    ) -> tuple[str, ...]:
        """As the SQLite ledger's: read only, no person locked."""
        target_id = self._target_id(key)
        with self._pool.connection() as db:
            _, limited = contacts.pg_admit(
                db,
                target_id,
                external_ids,
                people,
                limit,
                legacy=legacy,
                legacy_state=self._legacy,
                lock=False,
                pending=pending,
            )
        return limited

    def _claim(
        self,
        db: psycopg.Connection[Any],
        *,
        target_id: int,
        batch_id: str,
        external_ids: Sequence[str],
        wanted: Sequence[str],
        run_id: str,
        takeover: bool,
        batch_of: Callable[[Sequence[str]], str] | None,
    ) -> Claim:
        """Claim ``wanted`` of the chunk's ``external_ids``; all of them in flight under the
        chunk's batch id, or a part under ``batch_of`` its ids."""
        params = {
            "target": target_id,
            "run": run_id,
            "ids": sorted(wanted),
            "takeover": takeover,
            "now": time.time(),
        }
        placeholder = f"claim:{batch_id}:{run_id}"
        params["n"], params["batch"], params["placeholder"] = len(external_ids), batch_id, placeholder
        got = {eid for (eid,) in db.execute(CLAIM, params).fetchall()}
        claimed = tuple(eid for eid in external_ids if eid in got)
        held: dict[str, str] = {}
        if len(claimed) == len(external_ids):
            return Claim(batch_id, claimed, held)
        if len(claimed) != len(wanted):
            held = dict(db.execute(HELD, (list(wanted), target_id, run_id)).fetchall())
        if claimed:
            part = batch_of(claimed) if batch_of is not None else batch_id
            with db.transaction():
                db.execute(
                    "INSERT INTO ledger_journal (target_id, batch_id, state, run_id, rows) "
                    "VALUES (%s, %s, %s, %s, %s), (%s, %s, 'superseded', %s, '[]'::jsonb)",
                    (
                        target_id,
                        part,
                        IN_FLIGHT,
                        run_id,
                        Jsonb(list(claimed)),
                        target_id,
                        placeholder,
                        run_id,
                    ),
                )
            batch_id = part
        return Claim(batch_id, claimed, held)

    @_reaching_again
    def release(self, key: TargetKey, external_ids: Iterable[str], run_id: str) -> None:
        with self._pool.connection() as db:
            db.execute(
                "DELETE FROM ledger_claims AS c USING unnest(%s::text[]) AS x (id) "
                "WHERE c.target_id = %s AND c.external_id = x.id AND c.run_id = %s",
                (sorted(external_ids), self._target_id(key), run_id),
            )

    @_reaching_again
    def settle_chunk(
        self, key: TargetKey, batch_id: str, rows: Iterable[SettledRow], run_id: str, *, state: str = SETTLED
    ) -> None:
        settled = [list(row) for row in rows]
        if settled and set(map(len, settled)) != {4}:
            raise ValueError("a settled row is (external_id, status, vendor_id, vendor_status)")
        if state == IN_FLIGHT:
            raise ValueError("settle_chunk closes a chunk; begin_chunk opens one")
        undelivered = [str(row[0]) for row in settled if row[1] not in SENT_STATUSES]
        self._rows(
            "WITH j AS (INSERT INTO ledger_journal (target_id, batch_id, state, run_id, rows) "
            "VALUES (%(target)s, %(batch)s, %(state)s, %(run)s, %(rows)s) RETURNING seq), "
            "i AS (INSERT INTO ledger_settled_ids (target_id, external_id, seq) "
            "SELECT %(target)s, x.id, j.seq FROM j, unnest(%(settled)s::text[]) AS x (id) "
            "ON CONFLICT DO NOTHING), "
            "d AS (DELETE FROM ledger_claims AS c USING unnest(%(ids)s::text[]) AS x (id) "
            "WHERE c.target_id = %(target)s AND c.external_id = x.id AND c.run_id = %(run)s) SELECT 1",
            {
                "target": self._target_id(key), "batch": batch_id, "state": state, "run": run_id,
                "rows": Jsonb(settled), "ids": sorted(undelivered),
                "settled": [str(row[0]) for row in settled] if state == SETTLED else [],
            },
        )  # fmt: skip
