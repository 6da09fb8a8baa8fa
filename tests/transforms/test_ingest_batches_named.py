"""A CSV in the encoding the operator names (``--encoding``) streams (transforms.named_scan) to
exactly read_lead_file's frame, batch by batch, as strict about the encoding: a byte that is
no character in it is the same one clear error, found without holding the file."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from transforms import csv_scan, damaged_scan, ingest_batches, named_scan
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import LeadBatches, open_lead_batches
from transforms.named_scan import streamable_encoding

LETTERS = {
    "cp1250": list(
        "aZ1 .-@'\u0105\u0107\u0119\u0142\u0144\u00f3\u015b\u017a\u017c\u0141\u015a\u017b\u20ac\u201e\u201d"
    ),
    "cp1252": list("aZ1 .-@'\u00e9\u00fc\u00df\u20ac\u0152\u00c3\u00a9\u00bb\u201c"),
}
SPECIAL = [",", ";", "\t", '"', "\n", "\r\n", "\r", '""']


@contextmanager
def _small_blocks(scan: int = 256) -> Iterator[None]:
    """The scan's and Arrow's blocks scaled down, so a small file crosses several of each."""
    with (
        mock.patch.object(csv_scan, "_SCAN_BYTES", scan),  # the pass (csv_scan.scan_records)
        mock.patch.object(named_scan, "_SCAN_BYTES", scan),  # the error's line count
        mock.patch.object(damaged_scan, "_SCAN_BYTES", scan),
        mock.patch.object(ingest_batches, "_ARROW_BLOCK", 1 << 12),
        mock.patch.object(csv_scan, "_LONGEST_RECORD", 1 << 10),  # the record limit, as scaled
    ):
        yield


def _assert_streams_as_the_whole_read(path: Path, encoding: str, size: int) -> list[pl.DataFrame]:
    whole = read_lead_file(path, encoding)
    batched = open_lead_batches(path, size, encoding)
    assert batched.streamed
    frames = list(batched.batches())
    assert all(frame.height <= size for frame in frames)
    assert pl.concat(frames).equals(whole.frame)
    assert batched.rows == whole.frame.height
    for name in ("encoding", "delimiter", "format", "fingerprint", "headers"):
        assert getattr(batched.ingested, name) == getattr(whole, name), name
    assert batched.columns is not None
    wanted = whole.headers[-2:]
    assert pl.concat(list(batched.columns(wanted))).equals(whole.frame.select(wanted))
    return frames


def _polish(rows: int) -> str:
    lines = ['telefon;imi\u0119;"nazwisko";uwagi']
    for n in range(rows):
        note = f'"dzwoni\u0107 po 17:00\r\nw pi\u0105tek, ""pilne"" {n}"' if n in (3, 4, 9) else f"\u20ac{n}"
        lines.append(f"{48221234000 + n};\u017baneta;\u015awi\u0119tochowska {n};{note}")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("encoding", ["cp1250", "cp1257", "utf-8"])
def test_a_named_encoding_file_of_several_batches_streams_as_the_whole_read(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(_polish(40).encode(encoding))
    with _small_blocks():
        frames = _assert_streams_as_the_whole_read(path, encoding, 4)
    # rows 4 and 5 hold a value over two lines: the last of the first batch, the first of the next
    assert frames[0]["uwagi"][-1] == 'dzwoni\u0107 po 17:00\r\nw pi\u0105tek, "pilne" 3'
    assert frames[1]["uwagi"][0].endswith('"pilne" 4') and frames[1]["source_row"][0] == 5
    assert frames[0]["nazwisko"][0] == "\u015awi\u0119tochowska 0"


def test_an_excel_separator_line_and_a_utf8_bom_in_a_code_page_file_stream_as_read_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"sep=;\r\n" + _polish(12).encode("cp1250"))
    _assert_streams_as_the_whole_read(path, "cp1250", 5)
    # a UTF-8 byte-order mark says UTF-8, not cp1250 (tests/transforms/test_ingest_given_encoding.py)
    path.write_bytes(codecs.BOM_UTF8 + _polish(12).encode())
    _assert_streams_as_the_whole_read(path, "utf-8", 5)


BAD = [
    # (encoding, the text before the bad byte, the bad byte); 0x98 is no character in cp1250
    # nor cp1251, 0xE9 none in UTF-8 when no continuation byte follows
    ("cp1250", "telefon;imi\u0119\r\n", b"\x98"),
    ("cp1250", _polish(200), b"\x98"),
    ("cp1250", _polish(200)[:-30], b"\x98"),  # inside a value over two lines
    ("cp1251", "phone,name\n1,\u0418\u0432\u0430\u043d\u043e\u0432\n" * 300, b"\x98"),
    ("utf-8", "\ufeffphone,name\n1,Jos\u00e9\n" * 200, b"\xe9"),  # after a byte-order mark
    ("utf-8", "phone,name\n1,Jos\u00e9\n", b"\xe9"),
    ("utf-8", "phone,name\n1,Jos\u00e9\n" * 400, b"\xc3"),  # a character cut by the file's end
]


@pytest.mark.parametrize(("encoding", "before", "bad"), BAD)
def test_a_byte_invalid_in_the_named_encoding_is_the_error_naming_file_byte_and_line(
    tmp_path: Path, encoding: str, before: str, bad: bytes
) -> None:
    path = tmp_path / "leads.csv"
    content = before.encode(encoding) + bad
    if bad != b"\xc3":
        content += b"x\r\n" + b"48221234999;x;y;z\r\n" * 40
    path.write_bytes(content)
    line = content.count(b"\n", 0, len(before.encode(encoding))) + 1
    expected = f"not valid {encoding}: byte 0x{bad[0]:02X} on line {line:,} is no character"
    for read in (lambda: read_lead_file(path, encoding), lambda: open_lead_batches(path, 7, encoding)):
        with _small_blocks(), pytest.raises(LeadFileError) as raised:
            read()
        message = str(raised.value)
        assert str(path) in message and expected in message and "--encoding" in message


def test_ragged_and_stray_quoted_files_in_a_named_encoding_stream_with_the_whole_reads_findings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    lines = _polish(30).split("\r\n")  # rows from the 10th on are lines 14 on
    lines[16] += ";nadmiar"  # a field too many: RAGGED_ROW, extra_1
    lines[20] = lines[20].replace("\u017baneta", '\u017ba"neta')  # a stray quote
    lines[25] = lines[25].replace("\u015awi\u0119", '"\u015awi\u0119')  # a quote left open
    content = "\r\n".join(lines).encode("cp1250")
    path.write_bytes(content)
    with _small_blocks():
        whole = read_lead_file(path, "cp1250")
        batched = open_lead_batches(path, 4, "cp1250")
        assert batched.streamed
        assert pl.concat(list(batched.batches())).equals(whole.frame)
    assert (batched.ingested.encoding, batched.ingested.headers) == ("cp1250", whole.headers)
    codes = whole.frame["issues"].list.eval(pl.element().struct.field("code")).explode().drop_nulls()
    assert set(codes) == {"RAGGED_ROW", "UNTERMINATED_QUOTE"}
    assert "extra_1" in whole.headers
    # a bad byte after the damage is still the strict error, found by the damaged file's scan
    path.write_bytes(content + b"1;\x98")
    line = content.count(b"\n") + 1
    with pytest.raises(LeadFileError, match=f"not valid cp1250: byte 0x98 on line {line} "):
        open_lead_batches(path, 4, "cp1250")


@pytest.mark.parametrize(
    ("encoding", "streamed"),
    [
        ("cp1250", True),
        ("cp1251", True),
        ("cp1252", True),
        ("iso8859-2", True),
        ("koi8-r", True),
        ("mac-roman", True),
        ("utf-8", True),
        ("shift_jis", False),  # a second byte may be "|" or "\"
        ("big5", False),
        ("gbk", False),
        ("utf-16", False),  # half NUL bytes
        ("utf-7", False),  # "+" starts an escape
        ("iso2022_jp", False),
        ("cp037", False),  # EBCDIC: no ASCII at all
    ],
)
def test_code_pages_a_byte_scan_reads_stream_and_multi_byte_or_stateful_ones_do_not(
    encoding: str, streamed: bool
) -> None:
    assert (streamable_encoding(encoding) is not None) is streamed


def test_a_shift_jis_file_whose_second_bytes_are_the_delimiter_is_read_whole_and_right(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    # "ソ" is 0x83 0x5C and "ポ" 0x83 0x7C in Shift-JIS: a "\" and a "|" for a byte scan
    path.write_bytes("phone|name\r\n1|\u30bd\u30dd\r\n2|\u30dd\r\n".encode("shift_jis"))
    batched = open_lead_batches(path, 1, "shift_jis")
    assert not batched.streamed
    assert pl.concat(list(batched.batches()))["name"].to_list() == ["\u30bd\u30dd", "\u30dd"]


@st.composite
def named_files(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """(the file's bytes, its delimiter, its code page): a spreadsheet's export in cp1250 or
    cp1252, fields quoted when they need it (or always), doubled quotes inside."""
    encoding = draw(st.sampled_from(sorted(LETTERS)))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    text = st.lists(st.sampled_from(LETTERS[encoding] + SPECIAL), max_size=6).map("".join)
    width = draw(st.integers(1, 4))
    always = draw(st.booleans())
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = [
        f"col{n}" + draw(st.sampled_from(["", " name", ",x", '"q"', LETTERS[encoding][-3]]))
        for n in range(width)
    ]
    records = draw(st.lists(st.lists(text, min_size=width, max_size=width), max_size=30))

    def field(value: str) -> str:
        if always or any(char in value for char in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    def line(record: list[str]) -> str:
        return delimiter.join(field(value) for value in record) or '""'

    lines = [line(header)]
    for record in records:
        lines.append(line(record))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
    body = line_end.join(lines) + (line_end if draw(st.booleans()) else "")
    return body.encode(encoding), delimiter, encoding


def _frame_or_error(read: Callable[[], pl.DataFrame]) -> pl.DataFrame | str:
    try:
        return read()
    except LeadFileError as error:
        return str(error)


@settings(max_examples=300, deadline=None)
@given(
    written=named_files(),
    damage=st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from([b"\x98", b"\x81", b"\x00", b'"', b'x"', b"\n", b",", b";"]), st.floats(0, 1)
        ),
    ),
    size=st.sampled_from([1, 2, 3, 7]),
    scan=st.sampled_from([64, 256, 1 << 23]),
)
def test_named_encoding_files_stream_to_the_whole_reads_rows_or_error(
    written: tuple[bytes, str, str], damage: tuple[bytes, float] | None, size: int, scan: int
) -> None:
    content, delimiter, encoding = written
    if damage is not None:
        inserted, where = damage
        at = int(where * len(content))
        content = content[:at] + inserted + content[at:]
    with tempfile.TemporaryDirectory() as folder, _small_blocks(scan):
        path = Path(folder) / "leads.csv"
        path.write_bytes(content)
        whole = _frame_or_error(lambda: read_lead_file(path, encoding).frame)
        opened: list[LeadBatches] = []
        frames: list[pl.DataFrame] = []

        def streamed() -> pl.DataFrame:
            opened.append(open_lead_batches(path, size, encoding))
            frames.extend(opened[0].batches())
            return pl.concat(frames)

        read = _frame_or_error(streamed)
        if isinstance(whole, str) or isinstance(read, str):
            assert read == whole
            event("the same error")
            return
        assert all(frame.height <= size for frame in frames)
        assert read.equals(whole)
        batched = opened[0]
        described = read_lead_file(path, encoding)
        for name in ("encoding", "delimiter", "fingerprint", "headers"):
            assert getattr(batched.ingested, name) == getattr(described, name), name
        assert batched.rows == whole.height
    # what the writer meant was understood (its delimiter, two columns or more): it must stream,
    # ragged or stray-quoted too; a file with NUL bytes is read whole (NUL_BYTE_REMOVED rows)
    must_stream = described.delimiter == delimiter and len(described.headers) > 1 and b"\x00" not in content
    findings = bool(whole["issues"].list.len().sum())
    event(f"streamed={batched.streamed}, must stream={must_stream}, findings={findings}")
    if must_stream:
        assert batched.streamed
