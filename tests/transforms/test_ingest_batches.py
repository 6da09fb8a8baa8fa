"""Reading a lead file in batches gives read_lead_file's frame, slice by slice: streamed when
the file is CSV (ragged records, mixed UTF-8/cp1252 lines, Latin-1 and stray quotes included)
or Parquet, read whole (today's reader, with its findings) otherwise."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from unittest import mock

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import csv_scan, ingest_batches
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import (
    BATCH_ROWS_VARIABLE,
    DEFAULT_BATCH_ROWS,
    SMALL_FILE_BATCH_ROWS,
    SMALL_FILE_ROWS,
    _lines,
    batch_rows,
    open_lead_batches,
    validate_batch_rows,
)

STREAMED = {
    "plain": b"phone,email,name\n4155550001,a@x.com,Ann\n4155550002,,Bob\n,c@x.com,\n",
    "utf-8 with bom": codecs.BOM_UTF8 + "phone;name\n1;Jos\u00e9\n2;M\u00fcller\n".encode(),
    "crlf and blank lines": b"phone,name\r\n1,a\r\n\r\n2,b\r\n\r\n",
    "blank lines": b"phone,name\n1,a\n\n2,b\n\n3,c",
    "lone cr": b"phone,name\r1,a\r2,b\r",
    "no final line end": b"phone\tname\n1\ta\n2\tb",
    "header only": b"phone,name\n",
    "quoted header": b'"phone","e,mail"\n1,a@x.com\n',
    "quoted values": b'phone,name\n1,"Smith, Ann"\n2,b\n',
    "multi-line value": b'phone,note\n1,"two\nlines"\n2,b\n',
    "quoted crlf, doubled quotes, empty quoted": b'phone;note\r\n"1";"say ""hi""\r\nbye"\r\n"";""\r\n\r\n3;x',
    "quoted with lone cr": b'phone,note\r1,"a\rb"\r2,c\r',
    "cp1252": "phone,name\n1,Jos\u00e9\n".encode("cp1252"),
    "cp1252 header only, its last byte an accent": b"col0,col1\xe9",
    "cp1252 quoted": 'Telefon;Stra\u00dfe\r\n"1";"M\u00fcller, \u20ac\r\n5"\r\n'.encode("cp1252"),
    "headers named as the reader's own column keys": b"c1,c0,c2\n1,2,3\n4,,6\n",
    "quoted utf-8 with bom": codecs.BOM_UTF8 + 'phone,name\n1,"Jos\u00e9, \u6f22"\n'.encode(),
}
DAMAGED = {
    "ragged rows": b"phone,name\n1,a\n2\n3,c,extra\n",
    "ragged quoted rows": b'phone,name\n1,"a,b"\n2,"c",d\n',
    "mixed encodings": "phone,name\n1,Jos\u00e9\n".encode() + "2,M\u00fcller\n".encode("cp1252"),
    "cp1252 line after a utf-8 bom": codecs.BOM_UTF8 + "phone,name\n1,Jos\u00e9\n".encode("cp1252"),
    "latin-1 (a byte cp1252 leaves undefined)": b"phone,name\n1,Jos\xe9\x81\n",
    "whitespace line": b"phone,name\n1,a\n   \n2,b\n",
    "a byte-order mark starting a line of another width": b"phone,name\n1,2\n\xef\xbb\xbf3,4,5\n",
    "ragged multi-line value": b'phone,name,x\n1,"a\nb"\n2,c,d\n',
    "mixed, ragged and quoted": 'a;b\r\n1;"Jos\u00e9\r\nx"\r\n'.encode()
    + '2;"M\u00fcller";3\r\n'.encode("cp1252"),
}
STRAY_QUOTES = {
    "unterminated quote": b'phone,name\n1,"Ann\n2,b\n3,c\n',
    "quote left open at the end": b'phone,name\n1,a\n2,"b\n',
    "quote inside an unquoted value": b'phone,name\n1,Ann "Annie" Lee\n2,b\n',
    "text after a closing quote": b'phone,name\n1,"Ann" Lee\n2,b\n',
}


def _check(tmp_path: Path, content: bytes, size: int) -> bool:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    whole = read_lead_file(path)
    batched = open_lead_batches(path, size)
    frames = list(batched.batches())
    assert all(frame.height <= size for frame in frames)
    assert pl.concat(frames).equals(whole.frame)
    assert batched.rows == whole.frame.height
    assert batched.ingested.headers == whole.headers
    for name in ("encoding", "delimiter", "format", "fingerprint"):
        assert getattr(batched.ingested, name) == getattr(whole, name), name
    if batched.columns is not None:
        _check_columns(batched.columns, whole.frame, whole.headers, size)
    return batched.streamed


def _check_columns(
    columns: Callable[[Sequence[str]], Iterator[pl.DataFrame]],
    whole: pl.DataFrame,
    headers: list[str],
    size: int,
) -> None:
    """Some columns alone read as the same text as the whole read has, in file order."""
    for names in (headers, headers[::-1], headers[-1:], [headers[0], headers[0]]):
        frames = list(columns(names))
        assert all(frame.height >= size for frame in frames[:-1])
        wanted = list(dict.fromkeys(names))
        assert pl.concat(frames).equals(whole.select(wanted)), names


@pytest.mark.parametrize("size", [1, 2, 1000])
@pytest.mark.parametrize("name", sorted(STREAMED))
def test_plain_files_are_streamed_to_the_same_rows(tmp_path: Path, name: str, size: int) -> None:
    assert _check(tmp_path, STREAMED[name], size)


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_files_with_ragged_rows_or_mixed_or_latin1_encodings_are_streamed_to_the_same_rows(
    tmp_path: Path, name: str, size: int
) -> None:
    assert _check(tmp_path, DAMAGED[name], size)


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("name", sorted(STRAY_QUOTES))
def test_files_with_quotes_out_of_place_are_streamed_to_the_same_rows(
    tmp_path: Path, name: str, size: int
) -> None:
    assert _check(tmp_path, STRAY_QUOTES[name], size)  # the old code read them whole


@pytest.mark.parametrize(
    "content",
    [
        b"sep=;\nname;phone\nAnn;1\nBo;2\n",
        b'"sep=;"\r\nname;phone\r\n"Ann\r\nLee";1\r\nBo;2\r\n',
        b"sep=;\nname;phone\nAnn;1;x\nBo\xe9;2\n",
        b"sep=;\nname;phone\n" + b"".join(b"Lead %d;%d\n" % (n, n) for n in range(20_000)),
    ],
)
def test_a_file_with_an_excel_separator_line_streams_to_read_lead_files_rows(
    tmp_path: Path, content: bytes
) -> None:
    _check(tmp_path, content, 7)
    assert read_lead_file(tmp_path / "leads.csv").headers[:2] == ["name", "phone"]


def test_a_big_file_streams_in_batches_across_arrow_blocks(tmp_path: Path) -> None:
    lines = [f"{4155550000 + n},lead{n}@x.com,Name {n}" for n in range(60_000)]
    content = ("phone,email,name\n" + "\n".join(lines) + "\n").encode()
    assert _check(tmp_path, content, 7_000)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\n",
        b"PK\x03\x04rest",
        b"\x00\x01\x02",
        b'phone,name\n1,"a\x00"\n',
        b"phone,name\n1,a,b\n2,\xe9\n3,\x00\n",
        b"%PDF-1.4,name\n1,2\n",
        b"\x1f\x8b,name\n1,2\n",
        "phone,name\n1,Jos\u00e9\n".encode("cp1252") + b"\x01" * 300,
        codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le"),
        b"phone,name\n" + "".join(f"{n},Иванов Пётр\n" for n in range(5)).encode("cp1251"),
        b"phone,name\n" + "".join(f'{n},"Смирнова\nАнна"\n' for n in range(5)).encode("cp1251"),
        b"phone,name\n1,a,b\n" + "".join(f"{n},Кузнецов\n" for n in range(5)).encode("cp1251"),
        b"phone,name\n" + "".join(f"{n},Иванов Пётр\n" for n in range(30_000)).encode("cp1251"),
    ],
)
def test_files_that_cannot_be_read_fail_as_read_lead_file_fails(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    expected = _error(lambda: read_lead_file(path).frame)
    assert _error(lambda: pl.concat(list(open_lead_batches(path, 10).batches()))) == expected
    if expected is None:
        assert pl.concat(list(open_lead_batches(path, 10).batches())).equals(read_lead_file(path).frame)


def _error(read: Callable[[], pl.DataFrame]) -> str | None:
    try:
        read()
    except LeadFileError as error:
        return str(error)
    return None


def test_batch_size_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "1234")
    assert batch_rows() == 1234
    assert not caplog.records
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "50k")
    assert batch_rows() == DEFAULT_BATCH_ROWS
    (warning,) = caplog.records
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        f"$LEADFLOW_BATCH_ROWS is '50k', not a positive whole number of rows: "
        f"batches of {DEFAULT_BATCH_ROWS} rows are used instead"
    )


def test_validate_reads_files_of_up_to_a_million_and_a_quarter_rows_in_larger_batches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(BATCH_ROWS_VARIABLE, raising=False)
    assert validate_batch_rows(0) == validate_batch_rows(SMALL_FILE_ROWS) == SMALL_FILE_BATCH_ROWS
    assert validate_batch_rows(SMALL_FILE_ROWS + 1) == batch_rows() == DEFAULT_BATCH_ROWS
    assert SMALL_FILE_BATCH_ROWS > DEFAULT_BATCH_ROWS
    # every reader sizes its batches by the rows its scan counted: plain, quoted, Parquet,
    # damaged, an operator's encoding, a file read whole
    plain = tmp_path / "plain.csv"
    plain.write_text("name,phone\nAnn,4155550100\nBob,4155550101\n")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('name,phone\n"Ann, Jr",4155550100\n')
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("name,phone\nAnn,4155550100,extra\nBob,4155550101\n")
    parquet = tmp_path / "leads.parquet"
    pq.write_table(pa.table({"name": ["Ann"], "phone": ["4155550100"]}), parquet)
    for path in (plain, quoted, ragged, parquet):
        assert open_lead_batches(path, validate_batch_rows).size == SMALL_FILE_BATCH_ROWS, path.name
        assert open_lead_batches(path).size == DEFAULT_BATCH_ROWS, path.name  # import's batches
    for encoding in ("cp1252", "shift_jis"):  # streamed, read whole
        assert open_lead_batches(plain, validate_batch_rows, encoding).size == SMALL_FILE_BATCH_ROWS
    assert open_lead_batches(plain, 7).size == 7
    assert open_lead_batches(plain, 0).size == DEFAULT_BATCH_ROWS  # no size given: the default
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "1234")  # the operator's setting wins
    assert open_lead_batches(plain, validate_batch_rows).size == 1234


def test_a_bad_batch_size_setting_names_the_size_used_for_that_file(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(BATCH_ROWS_VARIABLE, "50k")
    assert validate_batch_rows(1_000) == SMALL_FILE_BATCH_ROWS
    assert (
        caplog.records[-1].getMessage().endswith(f"batches of {SMALL_FILE_BATCH_ROWS} rows are used instead")
    )


def _parquet_table() -> pa.Table:
    return pa.table(
        {
            "phone": pa.array([4155550001, None, 4155550003, 4155550004, 5]),
            "score": pa.array([1.0, float("nan"), 2.5, None, 1e20]),
            "raw": pa.array([b"ok", b"Jos\xe9", None, b"", b"\xff"], type=pa.binary()),
            "tags": pa.array([["a"], [], None, ["b", "c"], ["d"]]),
            "kind": pa.array(["x", "y", "x", None, "y"]).dictionary_encode(),
            "seen": pa.array([0, 1, 2, 3, 4], type=pa.timestamp("ms", tz="Europe/Berlin")),
        }
    )


@pytest.mark.parametrize("size", [1, 2, 1000])
def test_parquet_files_are_streamed_to_the_same_rows(tmp_path: Path, size: int) -> None:
    path = tmp_path / "leads.parquet"
    pq.write_table(_parquet_table(), path, row_group_size=2)
    whole = read_lead_file(path)
    batched = open_lead_batches(path, size)
    assert batched.streamed
    assert pl.concat(list(batched.batches())).equals(whole.frame)
    assert (batched.rows, batched.ingested.headers, batched.ingested.fingerprint) == (
        whole.frame.height,
        whole.headers,
        whole.fingerprint,
    )


def test_parquet_files_of_no_rows_or_damaged_behave_as_read_whole(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    pq.write_table(_parquet_table().slice(0, 0), empty)
    assert pl.concat(list(open_lead_batches(empty, 3).batches())).equals(read_lead_file(empty).frame)
    odd = tmp_path / "odd.parquet"
    pq.write_table(_parquet_table(), odd)
    odd.write_bytes(odd.read_bytes()[:200] + odd.read_bytes()[-300:])  # row groups cut out
    expected = _error(lambda: read_lead_file(odd).frame)
    assert expected is not None
    assert _error(lambda: pl.concat(list(open_lead_batches(odd, 1).batches()))) == expected


_FIELD = st.text(alphabet="ab ,;\n", max_size=4)


@settings(max_examples=300)
@given(
    lines=st.lists(st.lists(_FIELD, min_size=1, max_size=4), min_size=1, max_size=6), width=st.integers(1, 4)
)
def test_the_scan_counts_lf_lines_as_it_counts_the_same_lines_with_crlf(
    lines: list[list[str]], width: int
) -> None:
    """The scan's byte-pattern check of plain ``\\n`` blocks (_plain_lines) decides as its
    line-by-line check does for the same block with ``\\r\\n`` line ends: same rows, same refusals."""
    text = "\n".join(",".join(fields) for fields in lines)
    for block in (text.encode(), (text + "\n").encode()):
        assert _lines(block, ord(","), width) == _lines(block.replace(b"\n", b"\r\n"), ord(","), width)


BOM_STARTS_THE_DATA = {
    "alone, no line end": b"phone\n\xef\xbb\xbf",
    "alone on its line": b"phone\n\xef\xbb\xbf\n",
    "alone on its line, rows after": b"phone\n\xef\xbb\xbf\n1\n2\n",
    "alone on its line, crlf": b"phone\r\n\xef\xbb\xbf\r\n1\r\n",
    "alone on its line, after the file's own": b"\xef\xbb\xbfphone\n\xef\xbb\xbf\n1\n",
    "alone on its line, quoted rows after": b'phone\n\xef\xbb\xbf\n"1"\n"2\n3"\n',
}


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("name", sorted(BOM_STARTS_THE_DATA))
def test_a_byte_order_mark_alone_on_the_first_data_line_is_no_row_as_read_lead_file_reads_it(
    tmp_path: Path, name: str, size: int
) -> None:
    """read_lead_file's Arrow read drops a byte-order mark starting its input, which leaves that
    line blank (no row) in a one-column file; the streamed read counted it as a row, and where
    nothing followed it Arrow's streaming reader failed on an empty input."""
    _check(tmp_path, BOM_STARTS_THE_DATA[name], size)


@pytest.mark.parametrize("where", ["first", "middle", "last, no line end"])
def test_a_plain_line_longer_than_arrows_streaming_block_is_read_not_refused(
    tmp_path: Path, where: str
) -> None:
    """Arrow's streaming reader refuses a record that straddles more than one of its blocks
    (ArrowInvalid); read_lead_file reads such a file (one long note, no quote), so must the batches."""
    long_line = b"2," + b"x" * 200_000
    content = {
        "first": b"phone,note\n" + long_line + b"\n1,a\n",
        "middle": b"phone,note\n" + b"1,a\n" * 5_000 + long_line + b"\n3,c\n",
        "last, no line end": b"phone,note\n1,a\n" + long_line,
    }[where]
    with (
        mock.patch.object(ingest_batches, "_ARROW_BLOCK", 1 << 16),
        mock.patch.object(csv_scan, "_LONGEST_RECORD", 1 << 14),  # its record limit, as scaled
    ):
        _check(tmp_path, content, 1000)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_without_a_byte_order_mark_is_named_utf16_not_binary(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("first_name,phone\nAna,2025550100\nBob,2025550101\n".encode(codec))

    whole = _error(lambda: read_lead_file(path).frame)
    streamed = _error(lambda: pl.concat(list(open_lead_batches(path, 10_000).batches())))

    assert whole == streamed
    assert whole is not None and "UTF-16 without a byte-order mark" in whole
    assert "binary" not in whole and "CSV UTF-8" in whole
