"""The PostgreSQL ledger's record of contacts (the tables, and the decision inside the claim's
transaction): see connectors.ledger_contacts, whose decision and key versions it shares. A
chunk's people come as arrays (transforms.people): the lock and the read take their distinct
keys, sorted, the insert their keys and counts from the arrays."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import orjson
import psycopg

from connectors.frequency import FrequencyLimit
from connectors.key_sorting import distinct_keys
from connectors.ledger_contacts import Admission, LegacyKeys, Pending, PeopleLike, admit
from transforms.people import People, as_people

__all__ = [
    "PG_RECENT",
    "PG_RECENT_V1",
    "PG_SCHEMA",
    "LegacyKeys",
    "Pending",
    "PeopleLike",
    "PgLegacy",
    "pg_admit",
    "pg_record",
]

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_people (person bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ledger_contacts (
    person bigint NOT NULL, target_id integer NOT NULL,
    external_id text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (person, target_id, external_id)
);
CREATE TABLE IF NOT EXISTS ledger_contact_keys (
    person bigint NOT NULL, target_id integer NOT NULL,
    external_id text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (person, target_id, external_id)
);
CREATE TABLE IF NOT EXISTS ledger_contact_meta (name text PRIMARY KEY, value double precision NOT NULL);
"""

_RECENT = (
    "SELECT k.person, k.target_id, k.external_id FROM unnest(%s::bigint[]) AS x (p) "
    "CROSS JOIN LATERAL (SELECT * FROM {table} AS y WHERE y.person = x.p AND y.at > %s "
    "OFFSET 0) AS k "
    "JOIN ledger_claims AS c ON c.target_id = k.target_id AND c.external_id = k.external_id"
)
PG_RECENT = _RECENT.format(table="ledger_contact_keys")
"""The counted contacts of some person keys after a time (see :func:`pg_admit`)."""
PG_RECENT_V1 = _RECENT.format(table="ledger_contacts")
"""The same among the contacts recorded under version 1 keys (transforms.person_keys)."""


def _bigints(keys: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, for ``%s::bigint[]``: psycopg adapts a Python list
    element by element (270 us of client CPU for a chunk's 200 keys, against 72 for this)."""
    return "{" + ",".join(map(str, keys)) + "}"


def _distinct(keys: np.ndarray) -> list[int]:
    """The keys once each, in order (connectors.key_sorting.distinct_keys)."""
    found: list[int] = distinct_keys(keys).tolist()
    return found


class PgLegacy:
    """Whether a PostgreSQL ledger's version 1 contacts (``ledger_contacts``) still count: the
    newest one's time, read once per ledger object (no leadflow writes that table now)."""

    def __init__(self) -> None:
        self.last: float | None = None

    def needed(self, db: psycopg.Connection[Any], since: float) -> bool:
        if self.last is None:
            row = db.execute("SELECT coalesce(max(at), 0) FROM ledger_contacts").fetchone()
            self.last = float(row[0]) if row else 0.0
        return self.last > since


def pg_admit(
    db: psycopg.Connection[Any],
    target_id: int,
    external_ids: Sequence[str],
    people: PeopleLike,
    limit: FrequencyLimit,
    *,
    legacy: LegacyKeys | None = None,
    legacy_state: PgLegacy | None = None,
    lock: bool = True,
    pending: Pending | None = None,
) -> Admission:
    """Lock the chunk's people (made on first sight; in key order, so two runs never deadlock),
    then read their contacts: whatever another run decided for them is committed by now. The
    read is a LATERAL lookup by person, fenced by ``OFFSET 0``: written as a join, psycopg's
    prepared (generic) plan on a ledger not yet analyzed hashed every contact for each chunk
    (7.7 ms a chunk at 40k contacts and growing, against 1.7 ms; see connectors.ledger_pg's
    ``_HELD``). Version 1 contacts are read too, by the chunk's version 1 keys, while any
    is within the window. A dry run's preview (``lock=False``, ``pending``) takes no lock.
    The people are arrays (transforms.people): their distinct keys, sorted, by ``np.unique``."""
    people = as_people(people)
    keys = _bigints(_distinct(people.flat))
    if lock:
        db.execute(
            "INSERT INTO ledger_people (person) SELECT x FROM unnest(%s::bigint[]) AS x ORDER BY x "
            "ON CONFLICT (person) DO UPDATE SET person = excluded.person WHERE false",
            (keys,),
        )
    since = time.time() - limit.window_seconds
    recent = db.execute(PG_RECENT, (keys, since)).fetchall()
    if legacy is not None and legacy_state is not None and legacy_state.needed(db, since):
        old = legacy()
        both = [(*new, *before) for new, before in zip(people.to_lists(), old, strict=True)]
        people = People.from_lists(both)
        old_keys = _bigints(sorted(set(chain.from_iterable(old))))
        recent += db.execute(PG_RECENT_V1, (old_keys, since)).fetchall()
    return admit(target_id, external_ids, people, limit, recent, pending=pending)


def pg_record(
    db: psycopg.Connection[Any],
    target_id: int,
    claimed: Sequence[str],
    external_ids: Sequence[str],
    people: PeopleLike,
) -> None:
    """Record the claimed leads' contacts, dated now: the keys as one array literal and the
    external id of each as one JSON text (psycopg adapts a list element by element: 250 us of
    client CPU for 200, against 43 as JSON), both made from the people's arrays, paired on the
    server."""
    people = as_people(people)
    if len(claimed) == len(external_ids):
        eids, mine = external_ids, people
    else:
        position = {eid: at for at, eid in enumerate(external_ids)}
        eids, mine = claimed, people.take([position[eid] for eid in claimed])
    per_key = chain.from_iterable(map(repeat, eids, mine.counts().tolist()))
    db.execute(
        "INSERT INTO ledger_contact_keys (person, target_id, external_id, at) "
        "SELECT k.person, %s, e.external_id, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS k (person, i) "
        "JOIN json_array_elements_text(%s::json) WITH ORDINALITY AS e (external_id, i) USING (i) "
        "ON CONFLICT (person, target_id, external_id) DO UPDATE SET at = excluded.at",
        (target_id, time.time(), _bigints(mine.flat.tolist()), orjson.dumps(list(per_key)).decode()),
    )
