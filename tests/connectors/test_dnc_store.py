"""The do-not-contact store on both backends: what goes in comes out, expiry, erasure, its own tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors.config_error import ConfigError
from connectors.dnc import open_dnc_store, read_managed
from connectors.dnc_erasure import PEPPER_ENV, checked_key, erasure_hash
from connectors.dnc_types import ENTRY_SCHEMA, ERASURE_LIST, DncStore
from connectors.ledger import Ledger

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def entries(source: str, *values: str, expires: datetime | None = None, at: datetime = NOW) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "value": list(values),
            "kind": ["email" if "@" in v else "phone" for v in values],
            "source": source,
            "reason": "asked",
            "added_at": at,
            "expires_at": expires,
        },
        schema=ENTRY_SCHEMA,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def dnc_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(dnc_spec: str) -> Iterator[DncStore]:
    opened = open_dnc_store(dnc_spec)
    yield opened
    opened.close()


def test_added_entries_are_listed_with_their_list_reason_and_dates(store: DncStore) -> None:
    later = NOW + timedelta(days=30)
    assert store.add(entries("optouts", "+14155550123", "ann@example.com", expires=later)) == 2

    listed = store.entries()

    assert listed.select("value", "kind", "source", "reason").rows() == [
        ("+14155550123", "phone", "optouts", "asked"),
        ("ann@example.com", "email", "optouts", "asked"),
    ]
    assert listed["added_at"].to_list() == [NOW, NOW]
    assert listed["expires_at"].to_list() == [later, later]


def test_adding_an_entry_again_keeps_its_first_added_date_and_takes_the_new_expiry(store: DncStore) -> None:
    store.add(entries("optouts", "+14155550123"))
    expiry = NOW + timedelta(days=5)

    assert store.add(entries("optouts", "+14155550123", expires=expiry, at=NOW + timedelta(days=1))) == 0

    (row,) = store.entries().iter_rows(named=True)
    assert (row["added_at"], row["expires_at"]) == (NOW, expiry)


def test_removing_from_one_list_leaves_the_value_on_the_others(store: DncStore) -> None:
    store.add(entries("optouts", "+14155550123"))
    store.add(entries("national", "+14155550123"))

    assert store.remove(["+14155550123"], "optouts") == 1
    assert store.entries()["source"].to_list() == ["national"]
    assert store.remove(["+14155550123"]) == 1
    assert store.entries().is_empty()


def test_expired_entries_are_listed_but_not_applied(store: DncStore) -> None:
    store.add(entries("old", "+14155550100", expires=NOW - timedelta(seconds=1)))
    store.add(entries("optouts", "+14155550123", expires=NOW + timedelta(seconds=1)))

    assert store.active(NOW)["value"].to_list() == ["+14155550123"]
    assert [(m.name, m.entries) for m in store.lists(NOW)] == [("optouts", 1)]
    assert store.entries().height == 2


def test_lists_name_each_list_its_count_and_newest_added_date(store: DncStore) -> None:
    store.add(entries("optouts", "+14155550123", at=NOW - timedelta(days=2)))
    store.add(entries("optouts", "+14155550124", at=NOW))

    (listed,) = store.lists(NOW)

    assert (listed.name, listed.entries) == ("optouts", 2)
    assert listed.newest_added is not None and listed.newest_added.startswith("2026-12-04T12:00:00")


def test_an_erasure_deletes_every_raw_entry_of_the_value_and_keeps_only_its_hash(store: DncStore) -> None:
    store.add(entries("optouts", "ann@example.com", "+14155550123"))
    store.add(entries("crm", "ann@example.com"))
    key = checked_key(store, record=True)

    assert store.erase("ann@example.com", erasure_hash(key, "ann@example.com"), "GDPR Art. 17", NOW) == (2, 0)

    listed = store.entries()
    assert "ann@example.com" not in listed["value"].to_list()
    erased = listed.filter(pl.col("source") == ERASURE_LIST)
    assert erased["value"].to_list() == [erasure_hash(key, "ann@example.com")]
    assert erased["kind"].to_list() == ["erased"]


def test_the_erasure_hash_is_the_same_for_every_process_with_the_same_pepper(
    store: DncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PEPPER_ENV, "installation-secret")
    first = erasure_hash(checked_key(store, record=True), "+14155550123")
    assert erasure_hash(checked_key(store), "+14155550123") == first
    assert first != erasure_hash(checked_key(store), "+14155550124")


def test_a_machine_with_another_pepper_is_refused_rather_than_missing_erased_people(
    dnc_spec: str, store: DncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PEPPER_ENV, "installation-secret")
    key = checked_key(store, record=True)
    store.erase("+14155550123", erasure_hash(key, "+14155550123"), "GDPR Art. 17", NOW)
    monkeypatch.setenv(PEPPER_ENV, "another-secret")

    with pytest.raises(ConfigError, match=PEPPER_ENV) as refused:
        read_managed(dnc_spec, NOW)
    assert "another-secret" not in str(refused.value)


def test_a_run_finds_an_erased_value_from_the_files_side(dnc_spec: str, store: DncStore) -> None:
    key = checked_key(store, record=True)
    store.erase("+14155550123", erasure_hash(key, "+14155550123"), "GDPR Art. 17", NOW)

    managed = read_managed(dnc_spec, NOW)

    assert managed.erased is not None
    found = managed.erased(pl.Series(["+14155550123", "+14155550124", None, "+14155550123"]))
    assert found.to_list() == ["+14155550123"]
    assert [(m.name, m.entries) for m in managed.lists] == [(ERASURE_LIST, 1)]


def test_a_run_with_no_ledger_file_yet_reads_no_entries_and_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"

    managed = read_managed(str(path), NOW)

    assert (managed.phones.len(), managed.emails.len(), managed.lists) == (0, 0, ())
    assert managed.store == str(path) and not path.exists()


def test_the_store_has_its_own_tables_and_leaves_the_ledgers_migration_version_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path):
        pass
    before = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]

    open_dnc_store(str(path)).close()

    db = sqlite3.connect(path)
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"dnc_entries", "dnc_meta", "journal", "targets"} <= tables
    assert db.execute("PRAGMA user_version").fetchone()[0] == before
    assert db.execute("SELECT value FROM dnc_meta WHERE name = 'schema'").fetchone() == ("1",)
    with Ledger(path):  # and the ledger still opens over it
        pass


def test_a_run_reading_a_ledger_without_a_store_adds_no_tables_to_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path):
        pass

    managed = read_managed(str(path), NOW)

    assert managed.lists == () and managed.store == str(path)
    names = {n for (n,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert not any(name.startswith("dnc_") for name in names)
