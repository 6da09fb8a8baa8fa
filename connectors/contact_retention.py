"""How long the ledger keeps a person's contacts: erasure (GDPR Art. 17) and pruning.

The contact tables (connectors.ledger_contacts, connectors.ledger_contacts_pg) hold person keys:
a phone's E.164 digits, an email's 64-bit hash, older rows blake2b keys of either. Two things
remove them:

* **Erasure** (:func:`sqlite_erase_contacts`, :func:`pg_erase_contacts`), called by the do-not-contact
  store's ``erase`` in the transaction that records the erasure request: every recorded contact
  of a lead that had the value (any key version) goes, with that lead's other keys (they are the
  same person's). SQLite rewrites the ``contact_chunks`` rows holding it without that lead and
  bumps ``contact_meta.generation``, which makes every ledger object's copy in memory read its
  window anew (connectors.contact_memory.Contacts), so the erased contacts stop counting
  in processes already running too.
* **Pruning** (:func:`sqlite_prune`, :func:`pg_prune`): a contact older than every window in
  use can never count again. The rule: delete contacts older than the **retention**, the
  longest of ``$LEADFLOW_CONTACT_RETENTION`` (default :data:`DEFAULT_RETENTION`, 30 days) and
  the longest window any limited claim ever recorded in this ledger (``contact_meta`` /
  ``ledger_contact_meta``, ``longest_window``; :func:`sqlite_note_window`). It runs by itself
  when a ledger is opened, at most once an hour per ledger (``pruned_at``): one DELETE by time
  (SQLite: through the ``at`` index the tables have; PostgreSQL: one scan, no index kept on every
  insert for an hourly delete), then, on PostgreSQL, the ``ledger_people`` lock rows without a
  contact left. Why a 30-day floor over the windows: a window lengthened later (24 h -> 7 days)
  still sees the contacts of the days before, and the regulated windows (Florida's 24 h, the US
  CFPB's 7 calls in 7 days) are well inside it; a person's keys leave the ledger at most a month
  after their last contact.

Cost (1M contacts over 40 days, a quarter past 30 days; 2-core machine at load 15): SQLite
prune 0.10 s (0.03 s CPU) for 250k contacts, 7 ms when nothing is older; erasure 0.11 s over
750k contacts. PostgreSQL 8 s for the 250k contacts and their 250k lock rows (a one-off after
an upgrade or a long pause: an hour's contacts at each opening otherwise), the daily sweep of
lock rows 2 s, erasure 0.2-2 s (a scan of the contacts by lead).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from connectors.config_error import ConfigError
from connectors.contact_memory import JournalNames, chunk_arrays, chunk_names, encode_chunk, journal_names
from transforms.person_keys import email_key, legacy_people, phone_key

__all__ = [
    "DEFAULT_RETENTION",
    "PRUNE_EVERY",
    "RETENTION_VARIABLE",
    "WindowNote",
    "pg_erase_contacts",
    "pg_note_window",
    "pg_prune",
    "retention_seconds",
    "sqlite_erase_contacts",
    "sqlite_note_window",
    "sqlite_prune",
    "value_keys",
]

DEFAULT_RETENTION = 30 * 86400.0
"""Seconds a contact is kept at least (the longest window recorded may make it longer)."""
RETENTION_VARIABLE = "LEADFLOW_CONTACT_RETENTION"
PRUNE_EVERY = 3600.0
"""Seconds between two prunings of one ledger (by any process opening it)."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|d)")


def retention_seconds() -> float:
    """``$LEADFLOW_CONTACT_RETENTION`` (``30d``, ``48h``) in seconds, else the default. A malformed
    value is a ConfigError saying the form (a run must not prune by a misread duration)."""
    text = os.environ.get(RETENTION_VARIABLE, "").strip().lower()
    if not text:
        return DEFAULT_RETENTION
    match = _DURATION.fullmatch(text)
    if match is None or float(match[1]) <= 0:
        raise ConfigError(f"{RETENTION_VARIABLE}={text!r}: expected a duration such as 30d or 48h")
    return float(match[1]) * (3600 if match[2] == "h" else 86400)


def value_keys(value: str) -> tuple[list[int], list[int]]:
    """The ledger's keys of one normalized value (E.164 or lower-cased email): (version 2, version 1)."""
    if value.startswith("+"):
        return [phone_key(value)], list(legacy_people([([value], None)], "person")[0])
    return [email_key(value)], list(legacy_people([([], value)], "person")[0])


# --- SQLite -------------------------------------------------------------------------------------
def _has_table(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _meta(db: sqlite3.Connection, name: str) -> float | None:
    row = db.execute("SELECT value FROM contact_meta WHERE name = ?", (name,)).fetchone()
    return None if row is None else float(row[0])


def _set_meta(db: sqlite3.Connection, name: str, value: float) -> None:
    db.execute(
        "INSERT INTO contact_meta (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def sqlite_erase_contacts(db: sqlite3.Connection, value: str) -> int:
    """Inside the caller's transaction: remove every contact of a lead with ``value``'s keys.
    Returns how many contacts (a lead at a target, claimed once) were removed. Reads every
    contact row (an erasure is rare; a million contacts take about a second)."""
    if not _has_table(db, "contact_chunks"):
        return 0
    current, old = value_keys(value)
    journal = journal_names(db)
    removed = _erase_rows(
        db, "contact_chunks", set(current), lambda stored, keys: _drop_current(stored, keys, journal)
    )
    if _has_table(db, "contact_log"):
        removed += _erase_rows(db, "contact_log", set(old), _drop_legacy)
    if removed:
        _next_generation(db)
    return removed


def _next_generation(db: sqlite3.Connection) -> None:
    """Make every ledger object's memory read the log anew (connectors.ledger_contacts.Contacts)."""
    db.execute(
        "INSERT INTO contact_meta (name, value) VALUES ('generation', 1) "
        "ON CONFLICT (name) DO UPDATE SET value = value + 1"
    )


def _erase_rows(
    db: sqlite3.Connection, table: str, keys: set[int], drop: Callable[[Any, set[int]], tuple[Any, int]]
) -> int:
    removed = 0
    changed: list[tuple[int, Any]] = []  # few: the rows are read one at a time, not all held
    for seq, stored in db.execute(f"SELECT seq, rows FROM {table}"):  # noqa: S608
        kept, gone = drop(stored, keys)
        if gone:
            removed += gone
            changed.append((seq, kept))
    for seq, kept in changed:
        if kept is None:
            db.execute(f"DELETE FROM {table} WHERE seq = ?", (seq,))  # noqa: S608
        else:
            db.execute(f"UPDATE {table} SET rows = ? WHERE seq = ?", (kept, seq))  # noqa: S608
    return removed


def _drop_current(stored: Any, keys: set[int], journal: JournalNames) -> tuple[Any, int]:
    """A ``contact_chunks`` row without the leads that have one of ``keys``: (new row or None
    when no lead is left, leads dropped). A row rewritten holds its external ids (its leads are
    no longer its journal row's), whatever it was. A JSON row whose text holds none of the
    keys' digits is left undecoded (a substring search, in C); a binary row's keys are compared
    in place."""
    if isinstance(stored, str) or (stored and stored[:1] == b"["):
        text = stored.encode() if isinstance(stored, str) else bytes(stored)
        if not any(str(key).encode() in text for key in keys):
            return stored, 0
    counts, flat = chunk_arrays(stored)
    hit = np.isin(flat, np.fromiter(keys, dtype=np.int64, count=len(keys)))
    if not hit.any():
        return stored, 0
    lead_of_key = np.arange(len(counts)).repeat(counts)
    erased = np.zeros(len(counts), dtype=bool)
    erased[lead_of_key[hit]] = True
    gone = int(erased.sum())
    if gone == len(counts):
        return None, gone
    eids = chunk_names(stored, journal)
    kept = ~erased
    kept_eids = [eid for eid, keep in zip(eids, kept.tolist(), strict=True) if keep]
    return encode_chunk(kept_eids, counts[kept], flat[kept[lead_of_key]]), gone


def _drop_legacy(stored: Any, keys: set[int]) -> tuple[Any, int]:
    """A version 1 ``contact_log`` row (``[[external id, key, ...], ...]``) without those leads."""
    leads = orjson.loads(stored)
    kept = [lead for lead in leads if keys.isdisjoint(lead[1:])]
    gone = len(leads) - len(kept)
    return (orjson.dumps(kept).decode() if kept else None), gone


class WindowNote:
    """The longest window this ledger object recorded (``longest_window``), so it writes once."""

    def __init__(self) -> None:
        self.seconds = 0.0


def sqlite_note_window(db: sqlite3.Connection, note: WindowNote, seconds: float) -> None:
    """Inside a claim's transaction: raise the ledger's ``longest_window`` to ``seconds``."""
    if seconds <= note.seconds:
        return
    db.execute(
        "INSERT INTO contact_meta (name, value) VALUES ('longest_window', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
        (seconds,),
    )
    note.seconds = seconds


def sqlite_prune(db: sqlite3.Connection, now: float | None = None, *, due_only: bool = False) -> int:
    """Delete the contacts older than the retention, in one ``BEGIN IMMEDIATE``; ``due_only``:
    only when the last pruning is :data:`PRUNE_EVERY` old. Returns the log rows deleted."""
    now = time.time() if now is None else now
    db.execute("BEGIN IMMEDIATE")
    try:
        pruned_at = _meta(db, "pruned_at")
        if due_only and pruned_at is not None and now - pruned_at < PRUNE_EVERY:
            db.execute("COMMIT")
            return 0
        before = now - max(retention_seconds(), _meta(db, "longest_window") or 0.0)
        newest = "SELECT coalesce(max(seq), 0) FROM contact_chunks"
        last = db.execute(newest).fetchone()[0]
        gone = db.execute("DELETE FROM contact_chunks WHERE at < ?", (before,)).rowcount
        if db.execute(newest).fetchone()[0] != last:  # its seq may be given again
            _next_generation(db)
        gone += db.execute("DELETE FROM contact_log WHERE at < ?", (before,)).rowcount
        _set_meta(db, "pruned_at", now)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return int(gone)


# --- PostgreSQL ---------------------------------------------------------------------------------
def _pg_has(db: Any, table: str) -> bool:
    row = db.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def _bigints(keys: list[int]) -> str:
    return "{" + ",".join(map(str, keys)) + "}"


_PG_ERASE = """
WITH gone AS (
    DELETE FROM {table} AS k USING (
        SELECT DISTINCT target_id, external_id FROM {table} WHERE person = ANY(%s::bigint[])
    ) AS lead
    WHERE k.target_id = lead.target_id AND k.external_id = lead.external_id
    RETURNING k.person, k.target_id, k.external_id
)
SELECT count(DISTINCT (target_id, external_id)), coalesce(array_agg(DISTINCT person), '{{}}') FROM gone
"""


def pg_erase_contacts(db: Any, value: str) -> int:
    """As :func:`sqlite_erase_contacts`, in the caller's transaction. The value's ``ledger_people``
    rows are locked first, in key order as a claim locks them, so a claim deciding for that person
    is waited for (or waits) and no two lock each other; then the leads' rows of
    ``ledger_contact_keys`` (and version 1 ``ledger_contacts``) go, then the lock rows of the
    value and of the leads' other keys left without a contact (those a claim holds now are left
    to the next pruning, rather than waited for out of order)."""
    if not _pg_has(db, "ledger_contact_keys"):
        return 0
    current, old = value_keys(value)
    mine = _bigints(sorted({*current, *old}))
    db.execute(
        "SELECT person FROM ledger_people WHERE person = ANY(%s::bigint[]) ORDER BY person FOR UPDATE",
        (mine,),
    )
    removed = 0
    people: set[int] = set()
    for table, keys in (("ledger_contact_keys", current), ("ledger_contacts", old)):
        row = db.execute(_PG_ERASE.format(table=table), (_bigints(keys),)).fetchone()
        removed += int(row[0])
        people.update(row[1])
    db.execute("DELETE FROM ledger_people WHERE person = ANY(%s::bigint[])", (mine,))
    db.execute(_PG_UNUSED_PEOPLE.format(only="AND q.person = ANY(%s::bigint[])"), (_bigints(sorted(people)),))
    return removed


_PG_UNUSED_PEOPLE = """
DELETE FROM ledger_people WHERE person IN (
    SELECT p.person FROM ledger_people AS p WHERE p.person IN (
        SELECT q.person FROM ledger_people AS q
        WHERE NOT EXISTS (SELECT 1 FROM ledger_contact_keys AS k WHERE k.person = q.person)
        AND NOT EXISTS (SELECT 1 FROM ledger_contacts AS c WHERE c.person = q.person) {only}
    )
    AND NOT EXISTS (SELECT 1 FROM ledger_contact_keys AS k WHERE k.person = p.person)
    FOR UPDATE OF p SKIP LOCKED
)
"""
"""The lock rows of people without a contact: found by a plain read, then locked (only those:
locking writes to the row) and checked again; a row a claim holds now is skipped (kept, or taken
next time), so this never waits for a claim, which could be waiting for it."""


def pg_note_window(db: Any, note: WindowNote, seconds: float) -> None:
    """As :func:`sqlite_note_window`, in the claim's transaction."""
    if seconds <= note.seconds:
        return
    db.execute(
        "INSERT INTO ledger_contact_meta (name, value) VALUES ('longest_window', %s) "
        "ON CONFLICT (name) DO UPDATE SET value = greatest(ledger_contact_meta.value, excluded.value)",
        (seconds,),
    )
    note.seconds = seconds


_PG_PRUNE = """
WITH gone AS (DELETE FROM ledger_contact_keys WHERE at < %(before)s RETURNING person),
old AS (DELETE FROM ledger_contacts WHERE at < %(before)s RETURNING person),
unused AS (
    SELECT p.person FROM ledger_people AS p
    WHERE p.person IN (SELECT person FROM gone UNION SELECT person FROM old)
    AND NOT EXISTS (SELECT 1 FROM ledger_contact_keys AS k WHERE k.person = p.person AND k.at >= %(before)s)
    AND NOT EXISTS (SELECT 1 FROM ledger_contacts AS c WHERE c.person = p.person AND c.at >= %(before)s)
    FOR UPDATE OF p SKIP LOCKED
),
dropped AS (DELETE FROM ledger_people WHERE person IN (SELECT person FROM unused) RETURNING 1)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM old), (SELECT count(*) FROM dropped)
"""
"""The contacts past the retention, and the lock rows of their people left without one: the
statement's snapshot still shows the rows it deletes, hence ``at >= before`` for what is left."""

SWEEP_EVERY = 86400.0
"""Seconds between two sweeps of every lock row without a contact (PostgreSQL): a claim locks
each key of its chunk, also those of leads it then does not record (limited, held elsewhere)."""


def pg_prune(db: Any, now: float | None = None, *, due_only: bool = False) -> int:
    """As :func:`sqlite_prune`, one transaction (the meta rows locked, so one process prunes at a
    time): the contacts past the retention and their people's lock rows; once a day
    (:data:`SWEEP_EVERY`) every lock row without a contact. Returns the contact rows deleted."""
    now = time.time() if now is None else now
    with db.transaction():
        db.execute(
            "INSERT INTO ledger_contact_meta (name, value) VALUES ('pruned_at', 0), ('swept_at', 0) "
            "ON CONFLICT DO NOTHING"
        )
        meta = dict(db.execute("SELECT name, value FROM ledger_contact_meta FOR UPDATE").fetchall())
        if due_only and now - float(meta["pruned_at"]) < PRUNE_EVERY:
            return 0
        before = now - max(retention_seconds(), float(meta.get("longest_window", 0.0)))
        gone, _ = db.execute(_PG_PRUNE, {"before": before}).fetchone()
        if not due_only or now - float(meta["swept_at"]) >= SWEEP_EVERY:
            db.execute(_PG_UNUSED_PEOPLE.format(only=""))
            db.execute("UPDATE ledger_contact_meta SET value = %s WHERE name = 'swept_at'", (now,))
        db.execute("UPDATE ledger_contact_meta SET value = %s WHERE name = 'pruned_at'", (now,))
    return int(gone)
