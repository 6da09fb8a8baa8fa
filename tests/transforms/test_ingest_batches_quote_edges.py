"""CSV files built line by line from the pieces where stray quotes meet other damage (CR, CRLF
and LF line ends mixed, ``;``, tab and ``|`` delimiters, cp1252/Latin-1 bytes next to open
quotes, a BOM, blank and whitespace-only lines, doubled quotes inside open ones, quotes in the
header, a last line without its line end that opens a quote, NULs, very long lines) stream to
exactly read_lead_file's frame or error, whatever block, window and chunk sizes the file is
cut at (test_ingest_batches_stray_quotes damages well-formed files; these are built damaged),
and so does such a file grown past the 64 KB and 200 records the delimiter is sniffed from.

A deeper local run: QUOTE_EDGE_EXAMPLES=3000 QUOTE_EDGE_LINES=80 pytest this file."""

from __future__ import annotations

import codecs
import os
from unittest import mock

import polars as pl
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.transforms.test_ingest_batches_quoted import _has_code, _read_both, _same
from tests.transforms.test_ingest_batches_stray_quotes import _small_pieces
from transforms import csv_scan, ingest_batches

TEXT = [b"a", b"Ann", b"x y", b"", b" ", b"\xc3\xa9", b"\xe2\x82\xac", b"\xef\xbb\xbf"]
"""Plain pieces: ASCII, blanks, UTF-8 (``é``, ``€``, a BOM)."""
QUOTES = [
    b'"', b'""', b'"""', b'"x', b'x"', b'"a""b', b'"a""', b'""x', b'O"Brien', b'"q"', b'"q"z', b'" ',
    b' "', b'"a\nb"', b'"a\r\nb"', b'"a\rb"', b'"\r', b'"a\n',
]  # fmt: skip
"""Quotes well and badly placed, some spanning lines."""
BYTES = [b"\xe9", b"\x81", b"\x93x\x94", b'"\xe9', b'\xe9"', b'"\x81x', b"\xe9\xe9"]
"""cp1252 and Latin-1 only bytes (``\\x81`` is not cp1252), around quotes too."""
HEADER_PIECES = [
    b"extra_1", b"source_row", b"", b'"h', b'h"', b'"h"x', b'"h\nx"', b'"h""', b'""', b"\xe9", b'"\xe9',
    b'"h\r\n',
]  # fmt: skip
ENDS = [b"\n", b"\r\n", b"\r"]


@st.composite
def quote_edge_files(draw: st.DrawFn) -> bytes:
    """A header (maybe with a quote of its own), then lines of fields (stray quotes among them),
    blank and whitespace lines between, each line its own end, the last maybe without one."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"])).encode()
    width = draw(st.integers(1, 4))
    names = [f"h{n}".encode() for n in range(width)]
    if draw(st.integers(0, 3)) == 0:
        names[draw(st.integers(0, width - 1))] = draw(st.sampled_from(HEADER_PIECES))
    default_end = draw(st.sampled_from(ENDS))
    out = [draw(st.sampled_from([b"", b"", codecs.BOM_UTF8])), delimiter.join(names), default_end]
    pieces = st.one_of(st.sampled_from(TEXT), st.sampled_from(QUOTES), st.sampled_from(BYTES))
    for _ in range(draw(st.integers(0, int(os.environ.get("QUOTE_EDGE_LINES", "14"))))):
        kind = draw(st.sampled_from(["row"] * 12 + ["blank", "blank", "spaces", "long"]))
        if kind == "blank":
            line = b""
        elif kind == "spaces":
            line = draw(st.sampled_from([b" ", b"\t", b"  \t "]))
        else:
            count = draw(st.integers(1, width + 1)) if draw(st.booleans()) else width
            fields = [draw(pieces) for _ in range(count)]
            if kind == "long":
                fields[draw(st.integers(0, count - 1))] += b"L" * draw(st.sampled_from([70, 300, 5000]))
            line = delimiter.join(fields)
        end = draw(st.sampled_from(ENDS)) if draw(st.booleans()) else default_end
        out += [line, end]
    if len(out) > 3 and draw(st.integers(0, 9)) == 0:  # a NUL after a stray quote
        at = draw(st.integers(3, len(out) - 1))
        out[at] += b'"\x00'
    if draw(st.booleans()):
        out.pop()  # no final line end
    if draw(st.booleans()):
        out.append(draw(st.sampled_from([b'"', b'1,"x', b'"a""', b'a,b"', b'"\xe9'])))
    return b"".join(out)


@st.composite
def grown_quote_edge_files(draw: st.DrawFn) -> bytes:
    """A :func:`quote_edge_files` file with clean lines of the header's width put in at a line
    start, enough to pass the sniffed 200 records or 64 KB, so stray quotes fall on both sides."""
    content = draw(quote_edge_files())
    ends = [found for found in (content.find(b"\n"), content.find(b"\r")) if found >= 0]
    first_end = min(ends, default=len(content))
    delimiter = max([b",", b";", b"\t", b"|"], key=content[:first_end].count)
    width = content[:first_end].count(delimiter) + 1
    end = draw(st.sampled_from(ENDS))
    count = draw(st.sampled_from([190, 205, 2100, 2400]))
    filler = b"".join(delimiter.join([b"%05d" % n] + [b"v" * 8] * (width - 1)) + end for n in range(count))
    found = content.find(b"\n", draw(st.integers(0, len(content))))
    at = found + 1 if found > first_end else len(content)
    if at == len(content) and not content.endswith((b"\n", b"\r")):
        filler = end + filler
    return content[:at] + filler + content[at:]


PIECES = st.tuples(
    st.sampled_from([1, 2, 3, 5, 7, 13, 64, 1 << 23]),
    st.sampled_from([1, 2, 8, 17, 64, 1 << 22]),
    st.sampled_from([1, 2, 3, 11, 1 << 20]),
)


EXAMPLES = int(os.environ.get("QUOTE_EDGE_EXAMPLES", "150"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(content=quote_edge_files(), size=st.sampled_from([1, 2, 5]), pieces=PIECES)
# a NUL in a file the whole read guesses to be cp1252 (the streamed read names its line: so must it)
@example(content=b'h0\n"\x00\n\xe9\n', size=1, pieces=(1, 1, 1))
def test_files_with_quotes_among_mixed_line_ends_encodings_and_blank_lines_stream_alike(
    content: bytes, size: int, pieces: tuple[int, int, int]
) -> None:
    _check(content, size, pieces)


@settings(
    max_examples=max(EXAMPLES // 6, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(content=grown_quote_edge_files(), size=st.sampled_from([500, 1000]), pieces=PIECES)
def test_such_files_past_the_sniffed_head_stream_alike(
    content: bytes, size: int, pieces: tuple[int, int, int]
) -> None:
    _check(content, size, (max(pieces[0], 1000), max(pieces[1], 64), max(pieces[2], 64)))


def _check(content: bytes, size: int, pieces: tuple[int, int, int]) -> None:
    """Both reads of ``content`` alike, the scans cut into ``pieces`` (blocks, windows, chunks;
    csv_scan's and the plain scan's blocks too, Arrow's streaming block and csv_scan's longest
    record scaled with them)."""
    block = max(pieces[0], 16)  # Arrow's streaming reader needs a block to hold a record
    with (
        _small_pieces(*pieces),
        # csv_scan's first block must hold the header (8 MB against at most 64 KB, unpatched)
        mock.patch.object(csv_scan, "_SCAN_BYTES", max(pieces[0], 64)),
        mock.patch.object(ingest_batches, "_SCAN_BYTES", pieces[0]),
        mock.patch.object(ingest_batches, "_ARROW_BLOCK", block),
        mock.patch.object(csv_scan, "_LONGEST_RECORD", block // 4),
    ):
        whole, batched, batches = _read_both(content, size)
    _same(whole, batched)
    quote = isinstance(whole, pl.DataFrame) and _has_code(whole, "UNTERMINATED_QUOTE")
    streamed = batches is not None and batches.streamed
    event(f"streamed={streamed}, error={isinstance(whole, str)}, quote={quote}")
