"""A run reads the do-not-contact store a page at a time on both backends: every page is bounded,
the pages together are exactly the entries in force (a value on several lists, expired on
some, is found whichever page boundary falls beside it), and the run holds them as keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors.dnc import open_dnc_store, read_managed
from connectors.dnc_types import ENTRY_SCHEMA, DncStore
from transforms.suppress_keys import email_keys, phone_keys

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NUMBERS = [f"+1415555{n:04d}" for n in range(100, 117)]
EMAILS = [f"p{n}@example.com" for n in range(5)]


def entries(source: str, values: list[str], expires: datetime | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "value": values,
            "kind": ["email" if "@" in v else "phone" for v in values],
            "source": source,
            "reason": None,
            "added_at": NOW,
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
    # every value on "national"; some on "optouts" too, expired there for some, in force for others
    opened.add(entries("national", NUMBERS + EMAILS))
    opened.add(entries("optouts", NUMBERS[::3] + EMAILS[:2], expires=NOW - timedelta(days=1)))
    opened.add(entries("zz-crm", NUMBERS[1::4], expires=NOW + timedelta(days=1)))
    opened.add(entries("aa-expired", ["+14155559999", "gone@example.com"], expires=NOW - timedelta(days=1)))
    yield opened
    opened.close()


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 1000])
def test_the_store_is_read_in_pages_of_at_most_rows_entries_that_together_are_those_in_force(
    store: DncStore, rows: int
) -> None:
    pages = list(store.active_pages(NOW, rows))

    assert all(page.height <= rows for page in pages)
    read = pl.concat(pages).sort("value", "kind")
    in_force = store.entries().filter(pl.col("expires_at").is_null() | (pl.col("expires_at") > NOW))
    assert read.rows() == in_force.select("value", "kind").sort("value", "kind").rows()
    if rows == 1:  # one page per stored entry, expired ones too (their pages are empty), and the end
        assert len(pages) == store.entries().height + 1


def test_a_run_holds_the_store_as_the_keys_of_the_values_in_force_whatever_the_page_size(
    dnc_spec: str, store: DncStore
) -> None:
    for rows in (2, 7, 1000):
        managed = read_managed(dnc_spec, NOW, page_rows=rows)

        assert managed.phones.dtype == pl.UInt64 and managed.emails.dtype == pl.UInt64
        assert managed.phones.to_list() == sorted(phone_keys(pl.Series(NUMBERS)).to_list())
        assert managed.emails.to_list() == sorted(email_keys(pl.Series(EMAILS)).to_list())
        assert [(m.name, m.entries) for m in managed.lists] == [
            ("national", len(NUMBERS) + len(EMAILS)),
            ("zz-crm", len(NUMBERS[1::4])),
        ]
