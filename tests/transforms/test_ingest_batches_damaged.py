"""Damaged CSV files (ragged records, mixed UTF-8/cp1252 lines, Latin-1 bytes) stream
(transforms.damaged_scan, transforms.damaged_batches) to exactly read_lead_file's frame,
findings (RAGGED_ROW, ENCODING_MIXED), encoding and errors included, whatever the blocks
the file is cut into."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from tests.transforms.test_ingest_batches_quoted import _has_code, _read_both, _same, csv_files
from transforms import damaged_batches, damaged_scan
from transforms.csv_lines import quotes_well_formed
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import open_lead_batches

LATIN1_ONLY = [b"\x81", b"\x8d", b"\x90", b"\x9d"]


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """A well-quoted file (test_ingest_batches_quoted.csv_files) with some of its lines made
    ragged (a field dropped or added), re-encoded in the other encoding, given a byte only
    Latin-1 has, or replaced by spaces."""
    content, delimiter, encoding = draw(csv_files())
    text = content.decode(encoding)
    line_end = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
    lines = text.split(line_end)
    parts: list[bytes] = []
    for number, written_line in enumerate(lines):
        line = written_line
        damage = draw(st.sampled_from(["none"] * 3 + ["wider", "narrower", "other", "latin1", "spaces"]))
        if number == 0 and damage in ("wider", "narrower", "spaces"):
            damage = "none"
        if damage == "wider":
            line += delimiter + draw(st.sampled_from(["x", "", "\u00e9", "1"]))
        elif damage == "narrower" and delimiter in line and '"' not in line:
            line = line[: line.rindex(delimiter)]
        elif damage == "spaces":
            line = "   "
        if damage == "other":
            other = "cp1252" if encoding != "cp1252" else "utf-8"
            accent = (delimiter if line.endswith('"') else " ") + "M\u00fcller"  # no text after a quote
            part = (line + accent).encode(other, errors="replace")
        else:
            part = line.encode("utf-8" if encoding == "utf-8-sig" else encoding, errors="replace")
        if damage == "latin1":
            part += (delimiter.encode() if line.endswith('"') else b"") + draw(st.sampled_from(LATIN1_ONLY))
        parts.append(part)
    written = line_end.encode().join(parts)
    return (b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b"") + written


@contextmanager
def _blocks_of(size: int, runs: int = damaged_batches._MANY_RUNS) -> Iterator[None]:
    """Scan blocks of ``size`` bytes; blocks of more than ``runs`` runs of one width read whole
    by the careful reader (else each run by Arrow)."""
    with (
        mock.patch.object(damaged_scan, "_SCAN_BYTES", size),
        mock.patch.object(damaged_batches, "_MANY_RUNS", runs),
    ):
        yield


@settings(max_examples=150, deadline=None)
@given(
    content=damaged_files(),
    size=st.sampled_from([1, 2, 3, 7]),
    block=st.sampled_from([1, 7, 32, 1 << 23]),
    runs=st.sampled_from([0, 1, 256]),
)
def test_damaged_files_stream_to_read_lead_files_rows_and_findings(
    content: bytes, size: int, block: int, runs: int
) -> None:
    with _blocks_of(block, runs):
        whole, batched, batches = _read_both(content, size)
    _same(whole, batched)
    quote = isinstance(whole, pl.DataFrame) and _has_code(whole, "UNTERMINATED_QUOTE")
    streamed = batches is not None and batches.streamed
    event(f"streamed={streamed}, error={isinstance(whole, str)}, quote finding={quote}")


@settings(max_examples=60, deadline=None)
@given(content=damaged_files(), block=st.sampled_from([1, 16, 1 << 23]))
# 0x81 (no UTF-8, Latin-1 here) hid the tab from the first sniff, which drops bad bytes: a hunt found it
@example(content=b"col0\tcol1,x\n\t\x81\n", block=1 << 23)
def test_a_file_whose_only_damage_is_ragged_rows_or_encodings_is_streamed(content: bytes, block: int) -> None:
    """A file whose quotes are well formed for its delimiter, and which read_lead_file finds no
    quote swallowing rows in, must stream, whatever its widths and encodings."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(content)
        try:
            whole = read_lead_file(path)
        except LeadFileError:  # an error case is the other test's
            return
        if (
            not quotes_well_formed(content, 0, whole.delimiter or ",")
            or _has_code(whole.frame, "UNTERMINATED_QUOTE")
            or len(whole.headers) < 2
        ):
            return  # a quote out of place for the delimiter sniffed, or read as swallowing rows
        with _blocks_of(block):
            batches = open_lead_batches(path, 2)
        event(f"streamed={batches.streamed}")
        assert batches.streamed


def _mixed_file(rows: int) -> bytes:
    lines = ["phone,name,note"]
    for n in range(rows):
        lines.append(f"{4155550000 + n},M\u00fcller {n},x")
    body = "\n".join(lines).encode()
    ragged = "\n4155559998,M\u00fcller,late,extra\n".encode()
    return body + ragged + "4155559999,Jos\u00e9,\n".encode("cp1252")


def test_a_ragged_mixed_encoding_file_is_read_in_several_batches_not_whole(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(_mixed_file(5_000))
    whole = read_lead_file(path)
    assert whole.encoding == "utf-8+cp1252"
    read_whole = mock.patch(
        "transforms.ingest_batches.read_lead_file", side_effect=AssertionError("the file was read whole")
    )
    with _blocks_of(4096), read_whole:  # the old code read it whole and handed out slices
        batched = open_lead_batches(path, 1_000)
        frames = list(batched.batches())
    assert batched.streamed
    assert len(frames) == 6
    assert pl.concat(frames).equals(whole.frame)
    codes = whole.frame.get_column("issues").list.eval(pl.element().struct.field("code")).to_list()
    assert codes[-2:] == [["RAGGED_ROW"], ["ENCODING_MIXED"]]
    assert "extra_1" in batched.ingested.headers


def _rows(count: int, name: str) -> str:
    return "".join(f"{4155550000 + n},{name} {n},note\n" for n in range(count))


HEADER = "phone,Stra\u00dfe,note\n"
LONG_HEADS = {
    "a cp1252 header on a utf-8 file": HEADER.encode("cp1252") + _rows(3_000, "M\u00fcller").encode(),
    "utf-8 lines and a ragged row late in a cp1252 file": (HEADER + _rows(3_000, "M\u00fcller")).encode(
        "cp1252"
    )
    + (_rows(2, "Jos\u00e9") + "1,2,3,4\n").encode(),
    "a byte only latin-1 has after the head": (HEADER + _rows(3_000, "M\u00fcller")).encode("cp1252")
    + b"1,\x81,x\n",
}


@pytest.mark.parametrize("block", [4096, 1 << 23])
@pytest.mark.parametrize("name", sorted(LONG_HEADS))
def test_encodings_decided_after_the_sniffed_head_stream_to_read_lead_files_rows(
    tmp_path: Path, name: str, block: int
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(LONG_HEADS[name])
    assert path.stat().st_size > 1 << 16  # the head read_lead_file sniffs is not the whole file
    whole = read_lead_file(path)
    with _blocks_of(block):
        batched = open_lead_batches(path, 700)
        frames = list(batched.batches())
    assert batched.streamed
    assert pl.concat(frames).equals(whole.frame)
    assert (batched.ingested.encoding, batched.ingested.headers) == (whole.encoding, whole.headers)
