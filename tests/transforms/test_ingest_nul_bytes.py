"""A text CSV with a few NUL bytes (a crashed export, a value copied from a binary field) is
read: the NULs removed, each row whose line held one marked NUL_BYTE_REMOVED, the same rows
whole and in batches. What is no text CSV stays one error: UTF-16 without a BOM, a binary
head, NULs on many lines, a NUL in the header."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from transforms import ingest
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import open_lead_batches


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    return path


def codes(frame: pl.DataFrame) -> list[list[str]]:
    found: list[list[str]] = frame["issues"].list.eval(pl.element().struct.field("code")).to_list()
    return found


def five_rows(nul_row: int, cell: bytes = b"Ber\x00nd") -> bytes:
    lines = [b"id,first_name,phone,email"]
    for row in range(1, 6):
        name = cell if row == nul_row else b"Name%d" % row
        lines.append(b"%d,%s,+49 30 1234%04d,lead%d@example.com" % (row, name, row, row))
    return b"\r\n".join(lines) + b"\r\n"


def test_a_nul_in_one_cell_is_removed_and_only_its_row_is_marked(tmp_path: Path) -> None:
    frame = read_lead_file(write(tmp_path, five_rows(3))).frame

    assert frame.height == 5
    assert frame["source_row"].to_list() == [1, 2, 3, 4, 5]
    assert frame["first_name"].to_list() == ["Name1", "Name2", "Bernd", "Name4", "Name5"]
    assert frame["phone"][2] == "+49 30 12340003"
    assert frame["email"][2] == "lead3@example.com"
    assert codes(frame) == [[], [], ["NUL_BYTE_REMOVED"], [], []]


def test_a_nul_on_a_ragged_row_is_marked_with_the_careful_reader_too(tmp_path: Path) -> None:
    content = b'id,name\n1,a\n2,b\x00,surplus\n3,"c\n4,d\n'
    frame = read_lead_file(write(tmp_path, content)).frame

    assert frame.height == 4
    assert frame["name"][1] == "b"
    assert codes(frame)[1] == ["RAGGED_ROW", "NUL_BYTE_REMOVED"]
    assert [n for n, found in enumerate(codes(frame), 1) if "NUL_BYTE_REMOVED" in found] == [2]


@pytest.mark.parametrize("rows", [5, 300_000], ids=["small", "past the first scan block"])
def test_a_nul_is_marked_on_the_same_row_whole_and_in_batches(tmp_path: Path, rows: int) -> None:
    lines = [b"first_name,phone"] + [b"N%d,2025550%03d" % (n, n % 1000) for n in range(1, rows + 1)]
    lines[-2] = lines[-2].replace(b"N", b"N\x00\x00")
    path = write(tmp_path, b"\n".join(lines) + b"\n")

    whole = read_lead_file(path).frame
    batched = pl.concat(list(open_lead_batches(path, 2 if rows < 10 else 50_000).batches()))

    assert batched.equals(whole)
    marked = whole.filter(pl.col("issues").list.len() > 0)
    assert marked["source_row"].to_list() == [rows - 1]
    assert marked["first_name"].to_list() == [f"N{rows - 1}"]


def error(path: Path) -> str:
    with pytest.raises(LeadFileError) as raised:
        read_lead_file(path)
    message = str(raised.value)
    assert "\n" not in message
    with pytest.raises(LeadFileError) as streamed:
        list(open_lead_batches(path, 2).batches())
    assert str(streamed.value) == message
    return message


@pytest.mark.parametrize(
    "content",
    [b"id,first\x00_name,phone\n1,Anna,+49 30 12340001\n", b"id,na\x00me\n1,a\n"],
    ids=["header", "header of a tiny file"],
)
def test_a_nul_in_the_header_line_is_refused(tmp_path: Path, content: bytes) -> None:
    assert "a NUL byte in the header (line 1)" in error(write(tmp_path, content))


def test_utf32_without_a_byte_order_mark_is_still_refused_as_binary(tmp_path: Path) -> None:
    content = "id,name,phone\n1,Anna,+49 30 12340001\n".encode("utf-32-le")
    assert "the file is binary, not text (CSV)" in error(write(tmp_path, content))


def test_nuls_on_more_lines_than_damage_leaves_are_refused_as_binary(tmp_path: Path) -> None:
    lines = [b"id,name,note"] + [b"%d,N\x00%d,%s" % (n, n, b"x" * 100) for n in range(1, 40)]
    message = error(write(tmp_path, b"\n".join(lines) + b"\n"))
    assert "the file is binary, not text (CSV): NUL bytes on 39 lines, the first on line 2" in message


def test_a_binary_head_with_nuls_is_still_refused_as_binary(tmp_path: Path) -> None:
    content = b"\x07\x00\x00\x00data\x00\x00\x01\x02,\x03\n" * 100  # no known format's magic bytes
    assert "the file is binary, not text (CSV): a NUL byte on line 1" in error(write(tmp_path, content))


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_still_refused(tmp_path: Path, codec: str) -> None:
    content = "id,name,phone\n1,Anna,+49 30 12340001\n2,Bernd,+49 30 12340002\n".encode(codec)
    assert "UTF-16 without a byte-order mark" in error(write(tmp_path, content))


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_nuls_are_placed_on_their_rows_across_the_pieces_the_file_is_searched_in(
    tmp_path: Path, eol: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "_NUL_PIECE_BYTES", 64)  # a piece every three lines or so
    nul_rows = [2, 9, 10, 31, 60]
    lines = [b"id,name,phone"] + [
        b"%d,%sName%d,+49 30 1234%04d" % (row, b"\x00" if row in nul_rows else b"", row, row)
        for row in range(1, 61)
    ]
    frame = read_lead_file(write(tmp_path, eol.join(lines) + eol)).frame

    assert frame.height == 60
    assert frame["name"].to_list() == [f"Name{row}" for row in range(1, 61)]
    assert [n for n, found in enumerate(codes(frame), 1) if found] == nul_rows


def test_a_nul_between_the_cr_and_lf_of_a_line_end_marks_that_line_and_no_later_one(tmp_path: Path) -> None:
    content = b"id,name\r\n1,a\r\x00\n2,b\r\n3,c\x00\r\n4,d\r\n"
    frame = read_lead_file(write(tmp_path, content)).frame

    assert frame["name"].to_list() == ["a", "b", "c", "d"]
    assert codes(frame) == [["NUL_BYTE_REMOVED"], [], ["NUL_BYTE_REMOVED"], []]


def test_a_line_of_nuls_alone_stays_a_row_marked_not_a_blank_line_dropped(tmp_path: Path) -> None:
    content = b"id,name\n1,a\n\x00\n2,b\r\n\x00\x00\r\n3,c\n\x00"
    frame = read_lead_file(write(tmp_path, content)).frame

    assert frame["name"].to_list() == ["a", None, "b", None, "c", None]
    assert frame["source_row"].to_list() == [1, 2, 3, 4, 5, 6]
    assert [("NUL_BYTE_REMOVED" in row) for row in codes(frame)] == [False, True, False, True, False, True]
