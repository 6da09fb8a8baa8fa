"""What the ledger keeps of a person's contacts, on SQLite and PostgreSQL: an erasure request
(GDPR Art. 17) removes them from the database, and pruning removes those past the retention,
never anyone else's or anything inside it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest

from connectors import ledgers
from connectors.base import Lead, Phone
from connectors.config_error import ConfigError
from connectors.contact_memory import decode_chunk, journal_names
from connectors.contact_retention import (
    DEFAULT_RETENTION,
    RETENTION_VARIABLE,
    pg_prune,
    retention_seconds,
    sqlite_prune,
)
from connectors.dnc import open_dnc_store
from connectors.dnc_erasure import checked_key, erasure_hash
from connectors.frequency import FrequencyLimit, leads_legacy, leads_people
from connectors.ledger_types import LedgerBackend, Settlement, TargetKey

OpenLedger = Callable[..., LedgerBackend]
A = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-a")
B = TargetKey("maxcontact", "http://127.0.0.1:8765/maxcontact", "1")
ONCE_A_DAY = FrequencyLimit(max_contacts=1, within_hours=24)
DAY = 86400.0

ANN = Lead(0, "a-ann", phones=(Phone("+4930123456"),), email="ann@example.com")
BOB = Lead(1, "a-bob", phones=(Phone("+4930999999"),), email="bob@example.com")
CY = Lead(2, "a-cy", phones=(Phone("+14155550100"),))


def _is_pg(spec: str) -> bool:
    return spec.startswith("postgresql://")


def _contacts(spec: str) -> dict[str, set[int]]:
    """Every recorded contact in the database: external id -> its person keys (every table)."""
    found: dict[str, set[int]] = {}
    if _is_pg(spec):
        with psycopg.connect(spec) as db:
            for table in ("ledger_contact_keys", "ledger_contacts"):
                for person, eid in db.execute(f"SELECT person, external_id FROM {table}"):
                    found.setdefault(eid, set()).add(person)
        return found
    with contextlib.closing(sqlite3.connect(spec)) as db:
        for (stored,) in db.execute("SELECT rows FROM contact_chunks"):
            eids, counts, keys = decode_chunk(stored, journal_names(db))
            start = 0
            for eid, count in zip(eids, counts, strict=True):
                found.setdefault(eid, set()).update(keys[start : start + count])
                start += count
        for (text,) in db.execute("SELECT rows FROM contact_log"):
            for eid, *keys in json.loads(text):
                found.setdefault(eid, set()).update(keys)
    return found


def _lock_rows(spec: str) -> set[int]:
    with psycopg.connect(spec) as db:
        return {person for (person,) in db.execute("SELECT person FROM ledger_people")}


def _send(
    ledger: LedgerBackend, key: TargetKey, leads: list[Lead], limit: FrequencyLimit = ONCE_A_DAY
) -> tuple[str, ...]:
    people = leads_people(leads, limit.per)
    got = ledger.begin_chunk(
        key, f"{key.campaign}-{leads[0].external_id}", [x.external_id for x in leads], "run-1",
        people=people, limit=limit, legacy=leads_legacy(leads, limit.per),
    )  # fmt: skip
    ledger.settle_chunk(key, got.batch_id, [Settlement(x, "accepted") for x in got.claimed], "run-1")
    return got.limited


def _erase(spec: str, value: str) -> tuple[int, int]:
    store = open_dnc_store(spec)
    try:
        return store.erase(
            value, erasure_hash(checked_key(store, record=True), value), "GDPR Art. 17", datetime.now(UTC)
        )
    finally:
        store.close()


def test_an_erasure_removes_the_persons_contacts_from_the_database_and_they_stop_counting(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    with open_ledger() as ledger:
        _send(ledger, A, [ANN, BOB])
        _send(ledger, A, [CY])
        ann_keys = _contacts(ledger_spec)["a-ann"]
        before = {eid: keys for eid, keys in _contacts(ledger_spec).items() if eid != "a-ann"}

        entries, contacts = _erase(ledger_spec, "+4930123456")

        assert (entries, contacts) == (0, 1)
        assert _contacts(ledger_spec) == before, "the person's contact is gone, nobody else's"
        if _is_pg(ledger_spec):
            assert not ann_keys & _lock_rows(ledger_spec), "nor her keys as lock rows"
        again = Lead(5, "b-ann", email="ann@example.com")  # her email, the lead's other key
        assert _send(ledger, B, [again, BOB]) == ("a-bob",), "the open ledger forgot hers, not Bob's"


def test_an_erasure_removes_contacts_recorded_under_version_1_keys(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-ann", "a-bob"], "run-1")
    old = {lead.external_id: leads_legacy([lead], "person")()[0] for lead in (ANN, BOB)}
    if _is_pg(ledger_spec):
        with psycopg.connect(ledger_spec) as db:
            for eid, keys in old.items():
                db.execute(
                    "INSERT INTO ledger_contacts (person, target_id, external_id, at) "
                    "SELECT k, t.id, %s, %s FROM unnest(%s::bigint[]) AS k, ledger_targets AS t",
                    (eid, time.time(), list(keys)),
                )
    else:
        with contextlib.closing(sqlite3.connect(ledger_spec)) as db, db:
            (target,) = db.execute("SELECT id FROM targets").fetchone()
            rows = json.dumps([[eid, *keys] for eid, keys in old.items()])
            db.execute(
                "INSERT INTO contact_log (at, target_id, rows) VALUES (?, ?, ?)", (time.time(), target, rows)
            )

    assert _erase(ledger_spec, "ann@example.com") == (0, 1)
    assert _contacts(ledger_spec) == {"a-bob": set(old["a-bob"])}


def test_erasing_someone_never_contacted_removes_nothing(open_ledger: OpenLedger, ledger_spec: str) -> None:
    with open_ledger() as ledger:
        _send(ledger, A, [BOB])
    before = _contacts(ledger_spec)
    assert _erase(ledger_spec, "nobody@example.com") == (0, 0)
    assert _contacts(ledger_spec) == before


def test_contacts_an_earlier_leadflow_wrote_as_json_count_and_are_erased(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    """Rows of ``contact_chunks`` written before the binary format (``[external ids, key
    counts, keys]`` as JSON) are read and rewritten, not misread or left behind."""
    if _is_pg(ledger_spec):
        pytest.skip("the SQLite ledger's row format")
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-ann", "a-bob"], "run-1")  # claimed, so their contacts count
        people = leads_people([ANN, BOB], "person")
        with contextlib.closing(sqlite3.connect(ledger_spec)) as db, db:
            (target,) = db.execute("SELECT id FROM targets").fetchone()
            old = orjson.dumps(
                [["a-ann", "a-bob"], [len(k) for k in people], [k for keys in people for k in keys]]
            )
            db.execute(
                "INSERT INTO contact_chunks (at, target_id, rows) VALUES (?, ?, ?)",
                (time.time(), target, old),
            )
        assert _send(ledger, B, [Lead(5, "b-bob", email="bob@example.com")]) == ("b-bob",), "Bob's counts"

        assert _erase(ledger_spec, "ann@example.com") == (0, 1)
        assert _contacts(ledger_spec) == {"a-bob": set(people[1])}
        assert _send(ledger, B, [Lead(6, "b-ann", phones=(Phone("+4930123456"),))]) == ()


def _age(spec: str, key: TargetKey, seconds: float) -> None:
    """Date every contact sent to ``key`` ``seconds`` earlier."""
    if _is_pg(spec):
        with psycopg.connect(spec) as db:
            db.execute(
                "UPDATE ledger_contact_keys SET at = at - %s "
                "WHERE target_id = (SELECT id FROM ledger_targets WHERE campaign = %s)",
                (seconds, key.campaign),
            )
        return
    with contextlib.closing(sqlite3.connect(spec)) as db, db:
        db.execute(
            "UPDATE contact_chunks SET at = at - ? "
            "WHERE target_id = (SELECT id FROM targets WHERE campaign = ?)",
            (seconds, key.campaign),
        )


def _prune(spec: str, *, due_only: bool = False) -> int:
    if _is_pg(spec):
        with psycopg.connect(spec, autocommit=True) as db:
            return pg_prune(db, due_only=due_only)
    with contextlib.closing(sqlite3.connect(spec, isolation_level=None)) as db:
        return sqlite_prune(db, due_only=due_only)


def test_pruning_removes_only_the_contacts_older_than_the_retention(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    with open_ledger() as ledger:
        _send(ledger, A, [ANN])
        _send(ledger, B, [BOB])
    _age(ledger_spec, A, DEFAULT_RETENTION + 60)
    _age(ledger_spec, B, DEFAULT_RETENTION - 60)

    assert _prune(ledger_spec) >= 1
    assert set(_contacts(ledger_spec)) == {"a-bob"}
    if _is_pg(ledger_spec):
        assert _lock_rows(ledger_spec) == _contacts(ledger_spec)["a-bob"], "Ann's lock rows went too"


def test_a_window_longer_than_the_retention_keeps_its_contacts(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    forty_days = FrequencyLimit(max_contacts=1, within_days=40)
    with open_ledger() as ledger:
        _send(ledger, A, [ANN], forty_days)
    _age(ledger_spec, A, 35 * DAY)

    _prune(ledger_spec)

    assert set(_contacts(ledger_spec)) == {"a-ann"}, "still inside the longest window used"
    with open_ledger() as ledger:
        assert _send(ledger, B, [ANN], forty_days) == ("a-ann",)


def test_the_retention_is_the_environments_when_set(
    open_ledger: OpenLedger, ledger_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RETENTION_VARIABLE, "2d")
    with open_ledger() as ledger:
        _send(ledger, A, [ANN])
        _send(ledger, B, [BOB])
    _age(ledger_spec, A, 3 * DAY)
    _age(ledger_spec, B, 1 * DAY)
    _prune(ledger_spec)
    assert set(_contacts(ledger_spec)) == {"a-bob"}


def test_opening_a_ledger_prunes_at_most_once_an_hour(open_ledger: OpenLedger, ledger_spec: str) -> None:
    with open_ledger() as ledger:  # the first opening pruned (nothing)
        _send(ledger, A, [ANN])
    _age(ledger_spec, A, DEFAULT_RETENTION + 60)
    with open_ledger():
        assert set(_contacts(ledger_spec)) == {"a-ann"}, "pruned less than an hour ago: not yet"
    if _is_pg(ledger_spec):
        with psycopg.connect(ledger_spec) as db:
            db.execute("UPDATE ledger_contact_meta SET value = value - 3601 WHERE name = 'pruned_at'")
    else:
        with contextlib.closing(sqlite3.connect(ledger_spec)) as db, db:
            db.execute("UPDATE contact_meta SET value = value - 3601 WHERE name = 'pruned_at'")
    with open_ledger():
        assert _contacts(ledger_spec) == {}


def test_a_memory_reads_anew_after_a_pruning_took_the_newest_row(tmp_path: Path) -> None:
    """SQLite gives a deleted newest row's ``seq`` again: a ledger object open across the pruning
    must still see the contact written under that ``seq`` afterwards."""
    spec = str(tmp_path / "ledger.sqlite")
    with ledgers.open_ledger(spec) as early:
        _send(early, A, [ANN])
        _age(spec, A, DEFAULT_RETENTION + 60)
        _prune(spec)
        with ledgers.open_ledger(spec) as other:
            _send(other, A, [BOB])
        assert _send(early, B, [BOB]) == ("a-bob",)


def test_a_malformed_retention_is_refused_rather_than_read_as_something_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(RETENTION_VARIABLE, "30 days")
    with pytest.raises(ConfigError, match="LEADFLOW_CONTACT_RETENTION='30 days'"):
        retention_seconds()
    monkeypatch.setenv(RETENTION_VARIABLE, "48h")
    assert retention_seconds() == 48 * 3600
