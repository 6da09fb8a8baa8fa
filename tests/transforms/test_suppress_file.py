"""A ``--suppress`` list file is read a bounded chunk at a time, and what it suppresses does not
depend on the chunk size: the same keys, the same counts for run.json, whatever the file's length."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from transforms.ingest_batches import open_lead_batches
from transforms.suppress import read_suppression_file, suppression_chunks
from transforms.suppress_keys import SuppressionKeys


@pytest.fixture
def listed(tmp_path: Path) -> Path:
    """2,000 lines of two columns: national and international numbers, emails in any case,
    repeats, blanks, and a header that is itself a value."""
    lines = ["+14155550001,Ann@Example.com"]
    for n in range(2_000):
        phone = f"(415) 555-{n % 1500:04d}" if n % 2 else f"+1 212 555 {n % 1700:04d}"
        email = f"person{n % 900}@Example.org" if n % 3 else ""
        lines.append(f"{phone},{email}")
    path = tmp_path / "do_not_contact.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("entries", [150, 1000])
def test_a_list_file_is_read_in_chunks_of_at_most_the_given_entries(listed: Path, entries: int) -> None:
    chunks = list(suppression_chunks(open_lead_batches(listed, entries), "US", entries))

    assert all(chunk.phones.len() + chunk.emails.len() <= entries for chunk in chunks)
    assert len(chunks) >= 3_300 // entries  # 3,300 non-empty cells: the file is not one chunk


def test_a_list_file_suppresses_the_same_whatever_the_chunk_size(listed: Path) -> None:
    whole, audit = read_suppression_file(listed, "US", entries=100_000)
    chunked, chunked_audit = read_suppression_file(listed, "US", entries=150)

    assert chunked.phones.to_list() == whole.phones.to_list()
    assert chunked.emails.to_list() == whole.emails.to_list()
    assert chunked_audit == audit
    # distinct: 850 New York numbers (even n), 750 San Francisco ones (odd n, the header's among
    # them); 600 emails (n % 3 == m % 3 != 0 for m = n % 900) and the header's
    assert (audit.phones, audit.emails) == (850 + 750, 600 + 1)
    assert audit.entries == audit.phones + audit.emails
    header = SuppressionKeys.from_values(pl.Series(["+14155550001"]), pl.Series(["ann@example.COM"]))
    assert header.phones[0] in whole.phones.to_list() and header.emails[0] in whole.emails.to_list()


def test_a_list_whose_headers_polars_reads_as_patterns_reads_each_column_once(tmp_path: Path) -> None:
    # pl.col("*") is every column and pl.col("^e.*$") a regex: each header must name its own column
    listed = tmp_path / "do_not_contact.csv"
    listed.write_text("*,^e.*$\n+1 212 555 0100,ann@example.com\n+1 212 555 0101,bo@example.com\n")
    keys, audit = read_suppression_file(listed, "US")
    assert (audit.phones, audit.emails) == (2, 2)
    assert keys.phones.len() == 2 and keys.emails.len() == 2


def test_a_cell_listing_several_numbers_or_emails_suppresses_each(tmp_path: Path) -> None:
    # CRM opt-out reports list a contact's several numbers or addresses in one cell with ";":
    # "a;b" is no one phone number, and a cell no value is read from suppresses no one
    listed = tmp_path / "do_not_contact.csv"
    listed.write_text(
        "phone,email\n"
        '0612345678;0698765432,"ann@example.com; bo@example.com"\n'
        "+1 212 555 0100 ; +1 212 555 0101,\n"
    )
    keys, audit = read_suppression_file(listed, "FR")
    expected = SuppressionKeys.from_values(
        pl.Series(["+33612345678", "+33698765432", "+12125550100", "+12125550101"]),
        pl.Series(["ann@example.com", "bo@example.com"]),
    )
    assert (audit.phones, audit.emails) == (4, 2)
    assert sorted(keys.phones.to_list()) == sorted(expected.phones.to_list())
    assert sorted(keys.emails.to_list()) == sorted(expected.emails.to_list())
