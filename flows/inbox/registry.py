"""The watched folder's memory: which contents were imported, and since when each drop looks settled.

One small database, by default a SQLite file under the watched root
(``ROOT/.leadflow-intake.sqlite``), shared by every watcher and scanner of that root. Two tables:

``intake``
    one row per content fingerprint (sha256 of the file's bytes) with its state:
    ``importing`` (a watcher holds it now), ``imported`` (done, with the run it made: every
    row that should be sent was sent), ``retrying`` (rows failed to send; the file waits in
    ``retry/``) or ``failed``, and ``attempts``, the imports of it that left rows unsent.
    Reserving a fingerprint is one ``BEGIN IMMEDIATE`` transaction, so of two scanners that
    claimed two files with the same content only one imports it; the other gets the first
    one's record back and archives its file as a duplicate drop. Content that failed or waits
    for a retry may be dropped again (the user fixed the cause) and is imported again; an
    imported one only when forced.

``observed``
    the size and mtime each inbox name had when first seen with them, and when the name was
    first seen at all, so that a scan can tell how long a file has been unchanged and how long
    it was being written, across scans and processes. Names are stored as bytes because a
    dropped name need not be valid UTF-8.

Where it lives (flows.inbox.registry_db): by default a SQLite file in the root, whose locking
needs a local file system; with ``LEADFLOW_REGISTRY=postgresql://...`` a PostgreSQL database,
so that watchers on several machines over one shared folder import each file exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from flows.inbox.registry_db import Transaction, open_database

__all__ = ["IntakeRecord", "IntakeRegistry", "IntakeState"]


class IntakeState(StrEnum):
    IMPORTING = "importing"
    IMPORTED = "imported"
    RETRYING = "retrying"
    FAILED = "failed"


@dataclass(frozen=True)
class IntakeRecord:
    """What the registry knows about one content fingerprint."""

    fingerprint: str
    state: IntakeState
    claimed_name: str
    original_name: str
    """As ``display_name`` shows it: the registry stores text, and a dropped name may not be."""
    run_id: str | None
    run_dir: str | None
    updated_at: str
    attempts: int = 0
    """Imports of this content that left rows unsent, since it was last dropped afresh."""


def _record(db: Transaction, fingerprint: str) -> IntakeRecord | None:
    """The registry's record of ``fingerprint``, read inside the caller's transaction."""
    row = db.execute(
        "SELECT fingerprint, state, claimed_name, original_name, run_id, run_dir, updated_at, attempts"
        " FROM intake WHERE fingerprint = ?",
        (fingerprint,),
    ).fetchone()
    return None if row is None else IntakeRecord(row[0], IntakeState(row[1]), *row[2:])


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class IntakeRegistry:
    """Fingerprints and settle timers of one watched root, safe to share between processes."""

    def __init__(self, path: Path, timeout: float = 30.0, *, url: str | None = None) -> None:
        """The registry of the root ``path`` is in: the SQLite file ``path``, or the PostgreSQL
        database of ``url`` / ``$LEADFLOW_REGISTRY`` (flows.inbox.registry_db)."""
        self.path = path
        self._db = open_database(path.parent, path, timeout, url)

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        with self._db.transaction() as db:
            yield db

    def reserve(
        self,
        fingerprint: str,
        claimed_name: str,
        original_name: str,
        *,
        force: bool = False,
        resumes: str | None = None,
        retrying: bool = False,
    ) -> IntakeRecord | None:
        """Take ``fingerprint`` for import; returns the earlier record instead when it is a duplicate.

        A duplicate is content that is imported or being imported by another claim; with
        ``force`` the content is taken again regardless. ``resumes`` names the claim of a
        watcher that died while importing: its ``importing`` reservation is taken over.
        ``retrying`` (a file back from ``retry/``) and a taken-over claim keep the count of
        attempts; any other drop starts again from none.
        """
        with self._transaction() as db:
            earlier = _record(db, fingerprint)
            attempts = 0
            if earlier is not None:
                taken_over = earlier.state is IntakeState.IMPORTING and earlier.claimed_name == resumes
                open_again = earlier.state in (IntakeState.FAILED, IntakeState.RETRYING)
                if not open_again and not force and not taken_over:
                    return earlier
                same_file = retrying or earlier.claimed_name == resumes
                if taken_over or (same_file and earlier.state is IntakeState.RETRYING):
                    attempts = earlier.attempts
            db.execute(
                "INSERT INTO intake (fingerprint, state, claimed_name, original_name, run_id, run_dir,"
                " updated_at, attempts) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)"
                " ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state,"
                " claimed_name = excluded.claimed_name, original_name = excluded.original_name,"
                " run_id = NULL, run_dir = NULL, updated_at = excluded.updated_at,"
                " attempts = excluded.attempts",
                (fingerprint, IntakeState.IMPORTING.value, claimed_name, original_name, _now_iso(), attempts),
            )
        return None

    def unsent(self, fingerprint: str, run_id: str | None, run_dir: str | None, *, max_attempts: int) -> int:
        """Record one more import of ``fingerprint`` that left rows unsent; the attempts so far.

        The state becomes ``retrying`` while attempts remain, ``failed`` once ``max_attempts``
        are spent (so that dropping the content again imports it again).
        """
        with self._transaction() as db:
            row = db.execute("SELECT attempts FROM intake WHERE fingerprint = ?", (fingerprint,)).fetchone()
            attempts = (0 if row is None else int(row[0])) + 1
            state = IntakeState.RETRYING if attempts < max_attempts else IntakeState.FAILED
            db.execute(
                "UPDATE intake SET state = ?, run_id = ?, run_dir = ?, updated_at = ?, attempts = ?"
                " WHERE fingerprint = ?",
                (state.value, run_id, run_dir, _now_iso(), attempts, fingerprint),
            )
        return attempts

    def settle(
        self, fingerprint: str, state: IntakeState, run_id: str | None = None, run_dir: str | None = None
    ) -> None:
        """Record how the import of a reserved fingerprint ended."""
        with self._transaction() as db:
            db.execute(
                "UPDATE intake SET state = ?, run_id = ?, run_dir = ?, updated_at = ? WHERE fingerprint = ?",
                (state.value, run_id, run_dir, _now_iso(), fingerprint),
            )

    def original_name_of(self, claimed_name: str) -> str | None:
        """The original name recorded with a claim's reservation, if it was reserved."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT original_name FROM intake WHERE claimed_name = ? ORDER BY updated_at DESC LIMIT 1",
                (claimed_name,),
            ).fetchone()
        return None if row is None else str(row[0])

    def record(self, fingerprint: str) -> IntakeRecord | None:
        with self._transaction() as db:
            return _record(db, fingerprint)

    def forget(self, name: bytes) -> None:
        """Drop what was observed of an inbox name (its file was claimed: a new drop starts afresh)."""
        with self._transaction() as db:
            db.execute("DELETE FROM observed WHERE name = ?", (name,))

    def observe(self, seen: Mapping[bytes, tuple[int, int]], now: float) -> dict[bytes, tuple[float, float]]:
        """For each name: since when it has had its current (size, mtime_ns), and since when it
        has been seen at all (both ``now`` for a new name); names not seen are forgotten."""
        since: dict[bytes, tuple[float, float]] = {}
        with self._transaction() as db:
            known = {
                bytes(name): (size, mtime_ns, unchanged, first)
                for name, size, mtime_ns, unchanged, first in db.execute(
                    "SELECT name, size, mtime_ns, since, first_seen FROM observed"
                )
            }
            for name, signature in seen.items():
                previous = known.get(name)
                first_seen = now if previous is None else previous[3] or previous[2]
                if previous is not None and previous[:2] == signature:
                    since[name] = (previous[2], first_seen)
                    continue
                since[name] = (now, first_seen)
                db.execute(
                    "INSERT INTO observed (name, size, mtime_ns, since, first_seen) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET size = excluded.size,"
                    " mtime_ns = excluded.mtime_ns, since = excluded.since, first_seen = excluded.first_seen",
                    (name, *signature, now, first_seen),
                )
            gone = [(name,) for name in known if name not in seen]
            db.executemany("DELETE FROM observed WHERE name = ?", gone)
        return since
