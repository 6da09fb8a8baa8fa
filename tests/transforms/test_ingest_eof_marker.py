"""A DOS end-of-file marker (Ctrl-Z, 0x1A) that old Windows tools write as a file's last byte
is no row: dropped at the very end of the file, whole and in batches, on every reader (plain,
quoted, cp1252, ragged, an operator's encoding). A 0x1A anywhere else stays in its row's value."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import polars as pl
import pytest

from transforms.hashed_read import hashed_blocks
from transforms.ingest import read_lead_file
from transforms.ingest_batches import open_lead_batches

HEADER = b"id,first_name,phone,email\n"
BOB = b"2,Bob,+14155552672,bob@example.com\n"
PLAIN = (HEADER + b"1,Anna,+14155552671,anna@example.com\n" + BOB).replace(b"\n", b"\r\n")
QUOTED = HEADER + b'1,"Anna, Jr.",+14155552671,anna@example.com\n' + BOB
CP1252 = HEADER + b"1,J\xe9r\xf4me,+14155552671,anna@example.com\n" + BOB
RAGGED = HEADER + b"1,Anna,+14155552671\n" + BOB
ONE_COLUMN = b"phone\n+14155552671\n+14155552672\n"


def both(path: Path, encoding: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    whole = read_lead_file(path, encoding).frame
    batches = open_lead_batches(path, 1, encoding)
    batched = pl.concat(list(batches.batches()))
    assert batches.rows == whole.height
    assert batches.streamed
    return whole, batched


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (PLAIN, None),
        (QUOTED, None),
        (CP1252, None),
        (RAGGED, None),
        (ONE_COLUMN, None),
        (PLAIN, "utf-8"),
        (CP1252, "cp1252"),
        (RAGGED, "cp1250"),
    ],
    ids=["plain", "quoted", "cp1252", "ragged", "one column", "named utf-8", "named cp1252", "named ragged"],
)
@pytest.mark.parametrize("marker", [b"\x1a", b"\x1a\x1a\x1a"], ids=["one Ctrl-Z", "Ctrl-Z padding"])
def test_a_ctrl_z_after_the_last_line_is_no_row_whole_and_in_batches(
    tmp_path: Path, content: bytes, encoding: str | None, marker: bytes
) -> None:
    clean, marked = tmp_path / "clean.csv", tmp_path / "marked.csv"
    clean.write_bytes(content)
    marked.write_bytes(content + marker)

    expected = read_lead_file(clean, encoding).frame
    whole, batched = both(marked, encoding)

    assert whole.equals(expected)
    assert batched.equals(expected)


def test_a_ctrl_z_right_after_the_last_value_is_dropped_from_it(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(PLAIN.rstrip(b"\r\n") + b"\x1a")

    whole, batched = both(path)

    assert whole["email"].to_list() == ["anna@example.com", "bob@example.com"]
    assert batched.equals(whole)


def test_a_ctrl_z_inside_the_file_stays_in_its_rows_value(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(PLAIN.replace(b"bob@", b"b\x1aob@") + b"\x1a")

    whole, batched = both(path)

    assert whole.height == 2
    assert whole["email"][1] == "b\x1aob@example.com"
    assert batched.equals(whole)


def test_a_file_of_a_header_and_a_ctrl_z_has_no_row(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"id,phone\r\n\x1a")

    whole, batched = both(path)

    assert whole.height == 0
    assert batched.height == 0


@pytest.mark.parametrize("block", [1, 2, 5, 64])
def test_the_scans_blocks_end_before_the_marker_and_the_fingerprint_covers_it(
    tmp_path: Path, block: int
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(ONE_COLUMN + b"\x1a\x1a")
    digest = hashlib.sha256()

    text = b"".join(hashed_blocks(path, block, digest))

    assert text == ONE_COLUMN
    assert digest.hexdigest() == hashlib.sha256(ONE_COLUMN + b"\x1a\x1a").hexdigest()


@pytest.mark.parametrize(
    ("mark", "given"), [(codecs.BOM_UTF16_BE, None), (b"", "utf-16-be")], ids=["bom", "named"]
)
def test_a_utf16_file_ending_in_a_0x1a_byte_keeps_its_last_character(
    tmp_path: Path, mark: bytes, given: str | None
) -> None:
    # "业" is 4e 1a in UTF-16 BE: its 0x1A is half a character, no end-of-file marker
    path = tmp_path / "leads.csv"
    path.write_bytes(mark + "phone,last_name\n+8613812345678,业".encode("utf-16-be"))

    frame = read_lead_file(path, given).frame

    assert frame["last_name"].to_list() == ["业"]
