"""The ledger's record of contacts, for the frequency guardrail (connectors.frequency).

Its own tables, created beside the ledger's (``CREATE .. IF NOT EXISTS`` on every opening, no
version step: a ledger without them simply gets them, and an older leadflow ignores them):

``contacts`` / ``ledger_contacts``  one row per (person key, target, external id) claimed while a
    frequency limit was on, and when (``at``, epoch seconds; a lead claimed again is dated again).
    A row counts while its lead is claimed: the ledger keeps a claim while the lead is in flight
    and, once delivered, for good, and deletes it when the lead was not delivered (refused,
    failed), so what the vendor did not take stops counting without a write of its own here.
``ledger_people`` (PostgreSQL only)  one row per person key, locked (``FOR UPDATE``, through an
    upsert) by the transaction that decides for that person, so that runs on several machines
    decide for one person one after the other. SQLite needs none: ``BEGIN IMMEDIATE`` already
    serializes every claim.

A chunk's decision is one read of its keys' counted contacts, :func:`connectors.frequency.decide`,
the claim of the allowed leads and one insert of their contacts, all in the claim's transaction.
Rows older than every window stay (a row per key per contacted lead); nothing prunes them yet.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import psycopg

from connectors.frequency import Event, FrequencyLimit, decide

__all__ = [
    "PG_SCHEMA",
    "SQLITE_SCHEMA",
    "Admission",
    "admit",
    "pg_admit",
    "pg_record",
    "sqlite_admit",
    "sqlite_record",
]

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    person INTEGER NOT NULL, target_id INTEGER NOT NULL REFERENCES targets (id),
    external_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (person, target_id, external_id)
) WITHOUT ROWID;
"""

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_people (person bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ledger_contacts (
    person bigint NOT NULL, target_id integer NOT NULL REFERENCES ledger_targets (id),
    external_id text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (person, target_id, external_id)
);
"""

Admission = tuple[list[str], tuple[str, ...]]
"""(the external ids the limit allows, in order; those it refuses)."""


def admit(
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
    recent: Iterable[tuple[int, int, str]],
) -> Admission:
    """Split a chunk by :func:`connectors.frequency.decide` over ``recent`` (person, target id,
    external id) rows. No row and no person twice in the chunk: all allowed, without the walk."""
    found: dict[int, set[Event]] = {}
    for person, target, external_id in recent:
        found.setdefault(person, set()).add((target, external_id))
    if not found and sum(map(len, people)) == len({key for keys in people for key in keys}):
        return list(external_ids), ()
    verdicts = decide(target_id, external_ids, people, found, limit)
    allowed = [eid for eid, ok in zip(external_ids, verdicts, strict=True) if ok]
    return allowed, tuple(eid for eid, ok in zip(external_ids, verdicts, strict=True) if not ok)


def _distinct(people: Sequence[Sequence[int]]) -> list[int]:
    return sorted({key for keys in people for key in keys})


def _pairs(claimed: Iterable[str], people_of: dict[str, Sequence[int]]) -> list[tuple[str, int]]:
    return [(eid, key) for eid in claimed for key in people_of[eid]]


# --- SQLite (inside the ledger's BEGIN IMMEDIATE) ---------------------------------------------
def sqlite_admit(
    db: sqlite3.Connection,
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
) -> Admission:
    recent = db.execute(
        "SELECT k.person, k.target_id, k.external_id FROM contacts AS k "
        "JOIN claims AS c ON c.target_id = k.target_id AND c.external_id = k.external_id "
        "WHERE k.person IN (SELECT value FROM json_each(?)) AND k.at > ?",
        (orjson.dumps(_distinct(people)).decode(), time.time() - limit.window_seconds),
    ).fetchall()
    return admit(target_id, external_ids, people, limit, recent)


def sqlite_record(
    db: sqlite3.Connection, target_id: int, claimed: Iterable[str], people_of: dict[str, Sequence[int]]
) -> None:
    """The claimed leads' contacts, dated now."""
    db.executemany(
        "INSERT INTO contacts (person, target_id, external_id, at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET at = excluded.at",
        [
            (person, target_id, eid, now)
            for now in (time.time(),)
            for eid, person in _pairs(claimed, people_of)
        ],
    )


# --- PostgreSQL (inside one transaction of the claim's connection) ----------------------------
def pg_admit(
    db: psycopg.Connection[Any],
    target_id: int,
    external_ids: Sequence[str],
    people: Sequence[Sequence[int]],
    limit: FrequencyLimit,
) -> Admission:
    """Lock the chunk's people (made on first sight; in key order, so two runs never deadlock),
    then read their contacts: whatever another run decided for them is committed by now."""
    keys = _distinct(people)
    db.execute(
        "INSERT INTO ledger_people (person) SELECT x FROM unnest(%s::bigint[]) AS x ORDER BY x "
        "ON CONFLICT (person) DO UPDATE SET person = excluded.person WHERE false",
        (keys,),
    )
    recent = db.execute(
        "SELECT k.person, k.target_id, k.external_id FROM unnest(%s::bigint[]) AS x (p) "
        "JOIN ledger_contacts AS k ON k.person = x.p "
        "JOIN ledger_claims AS c ON c.target_id = k.target_id AND c.external_id = k.external_id "
        "WHERE k.at > %s",
        (keys, time.time() - limit.window_seconds),
    ).fetchall()
    return admit(target_id, external_ids, people, limit, recent)


def pg_record(
    db: psycopg.Connection[Any], target_id: int, claimed: Iterable[str], people_of: dict[str, Sequence[int]]
) -> None:
    pairs = _pairs(claimed, people_of)
    db.execute(
        "INSERT INTO ledger_contacts (person, target_id, external_id, at) "
        "SELECT p, %s, e, %s FROM unnest(%s::text[], %s::bigint[]) AS x (e, p) "
        "ON CONFLICT (person, target_id, external_id) DO UPDATE SET at = excluded.at",
        (target_id, time.time(), [e for e, _ in pairs], [p for _, p in pairs]),
    )
