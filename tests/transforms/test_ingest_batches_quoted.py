"""Quoted and cp1252 CSV files stream (transforms.csv_scan) to exactly read_lead_file's frame,
batch by batch; a file whose widths or quotes are out of place streams through
transforms.damaged_scan, findings and errors included."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import LeadBatches, open_lead_batches

CP1252_CHARS = list("aZ1 .-@'\u00e9\u00fc\u00df\u20ac\u0152\u00c3\u00a9\u00bb")
"""cp1252 text, with pairs of accented characters whose bytes may happen to read as UTF-8."""
UTF8_ONLY_CHARS = list("\u6f22\u0105\U0001f600")
SPECIAL = [",", ";", "\t", '"', "\n", "\r\n", "\r", '""']


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """(the file's bytes, its delimiter, its encoding): a header and records as a spreadsheet
    writes them, fields quoted when they need it (or always), doubled quotes inside."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    chars = CP1252_CHARS + ([] if encoding == "cp1252" else UTF8_ONLY_CHARS)
    text = st.lists(st.sampled_from(chars + SPECIAL), max_size=6).map("".join)
    width = draw(st.integers(1, 4))
    always = draw(st.booleans())
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = [f"col{n}" + draw(st.sampled_from(["", " name", ",x", '"q"', "\u00e9"])) for n in range(width)]
    records = draw(st.lists(st.lists(text, min_size=width, max_size=width), max_size=12))

    def field(value: str) -> str:
        if always or any(char in value for char in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    def line(record: list[str]) -> str:
        written = delimiter.join(field(value) for value in record)
        return written or '""'  # a single empty field is not a blank line

    lines = [line(header)]
    for record in records:
        lines.append(line(record))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank line between records
    body = line_end.join(lines) + (line_end if draw(st.booleans()) else "")
    return body.encode(encoding), delimiter, encoding


Read = pl.DataFrame | str


def _read_both(content: bytes, size: int) -> tuple[Read, Read, LeadBatches | None]:
    """(read_lead_file's frame or error, the batches' frame or error, the batches)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(content)
        whole = _frame_or_error(lambda: read_lead_file(path).frame)
        batched: LeadBatches | None = None
        try:
            batched = open_lead_batches(path, size)
            frames = list(batched.batches())
        except LeadFileError as error:
            return whole, str(error), batched
        assert all(frame.height <= size for frame in frames)
        if not isinstance(whole, str):
            described = read_lead_file(path)
            for name in ("encoding", "delimiter", "format", "fingerprint", "headers"):
                assert getattr(batched.ingested, name) == getattr(described, name), name
            assert batched.rows == described.frame.height
        return whole, pl.concat(frames), batched


def _frame_or_error(read: Callable[[], pl.DataFrame]) -> Read:
    try:
        return read()
    except LeadFileError as error:
        return str(error)


def _same(whole: Read, batched: Read) -> None:
    if isinstance(whole, str) or isinstance(batched, str):
        assert whole == batched
    else:
        assert batched.equals(whole)


def _has_issues(frame: pl.DataFrame) -> bool:
    return bool(frame.get_column("issues").list.len().sum())


def _has_code(frame: pl.DataFrame, code: str) -> bool:
    codes = frame.get_column("issues").list.eval(pl.element().struct.field("code")).explode()
    return bool((codes == code).any())


@settings(max_examples=250, deadline=None)
@given(written=csv_files(), size=st.sampled_from([1, 2, 3, 7]))
@example(written=(b"col0,col1\n\xe9\xe9\xe9,\xe4\xf6\xfc\n\xe8\xe8\xe8,x\n", ",", "cp1252"), size=1)
def test_well_formed_quoted_files_stream_to_read_lead_files_rows(
    written: tuple[bytes, str, str], size: int
) -> None:
    content, delimiter, encoding = written
    whole, batched, batches = _read_both(content, size)
    _same(whole, batched)
    if isinstance(whole, str):
        # words of accented letters only ("ééé") read as another code page's: refused alike
        assert encoding == "cp1252" and "--encoding" in whole, whole
        return
    assert batches is not None
    # what the writer meant was understood (its encoding, not a mixed-encoding guess, and its
    # delimiter): the file is well formed then, and it must stream
    described = read_lead_file_description(content)
    expected = described == (encoding, delimiter, True) and not _has_issues(whole)
    event(f"streamed={batches.streamed}, must stream={expected}")
    if expected:
        assert batches.streamed


def read_lead_file_description(content: bytes) -> tuple[str, str | None, bool]:
    """read_lead_file's encoding, delimiter, and whether the file has two columns or more."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(content)
        whole = read_lead_file(path)
        return whole.encoding, whole.delimiter, len(whole.headers) > 1


@settings(max_examples=250, deadline=None)
@given(
    written=csv_files(),
    damage=st.tuples(st.sampled_from([b'"', b'x"', b'"x', b"\n", b",", b";"]), st.floats(0, 1)),
    size=st.sampled_from([1, 2, 3, 7]),
)
def test_damaged_quoted_files_read_as_read_lead_file_reads_them(
    written: tuple[bytes, str, str], damage: tuple[bytes, float], size: int
) -> None:
    content, _, _ = written
    inserted, where = damage
    at = int(where * len(content))
    content = content[:at] + inserted + content[at:]
    whole, batched, batches = _read_both(content, size)
    _same(whole, batched)
    quote = isinstance(whole, pl.DataFrame) and _has_code(whole, "UNTERMINATED_QUOTE")
    streamed = batches is not None and batches.streamed
    event(f"streamed={streamed}, error={isinstance(whole, str)}, quote finding={quote}")


def _big_quoted(rows: int, accent_from: int = 0) -> str:
    lines = ['"phone","name","note"']
    for n in range(rows):
        name = f"M\u00fcller, {n}" if n >= accent_from else f"Miller, {n}"
        note = f'said ""call me""\r\nafter {n} \u20ac' if n % 3 else ""
        lines.append(f'"{4155550000 + n}","{name}","{note}"')
    return "\r\n".join(lines) + "\r\n"


def _check(path: Path, size: int) -> LeadBatches:
    whole = read_lead_file(path)
    batched = open_lead_batches(path, size)
    assert pl.concat(list(batched.batches())).equals(whole.frame)
    assert (batched.rows, batched.ingested.encoding, batched.ingested.fingerprint) == (
        whole.frame.height,
        whole.encoding,
        whole.fingerprint,
    )
    return batched


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_big_quoted_file_streams_across_scan_and_arrow_blocks(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(_big_quoted(170_000).encode(encoding))  # over 8 MB: more than one scan block
    assert path.stat().st_size > 1 << 23
    assert _check(path, 40_000).streamed


def test_a_cp1252_file_whose_first_accent_comes_late_streams(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(_big_quoted(5_000, accent_from=4_000).encode("cp1252"))
    batched = _check(path, 1_000)
    assert batched.streamed
    assert batched.ingested.encoding == "cp1252"


def test_a_stray_quote_late_in_a_big_file_streams_to_read_lead_files_finding(tmp_path: Path) -> None:
    text = _big_quoted(20_000) + '"4155559999","Ann "Annie, Lee",""\r\n"1","b","c"\r\n'
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode())
    batched = _check(path, 5_000)
    assert batched.streamed  # transforms.damaged_walk: the stray quote's record read carefully
    issues = pl.concat(list(batched.batches())).get_column("issues").list.len()
    assert int(issues.sum()) > 0


def test_a_record_longer_than_arrows_block_is_streamed_by_the_damaged_reader(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(('phone,note\n1,"' + "long\n" * 300_000 + '"\n2,b\n').encode())
    assert _check(path, 1).streamed  # transforms.damaged_scan: whole blocks, records up to 64 MB


def test_a_utf8_bom_file_is_streamed_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(codecs.BOM_UTF8 + _big_quoted(10).encode())
    batched = _check(path, 3)
    assert batched.streamed
    assert batched.ingested.encoding == "utf-8-sig"
