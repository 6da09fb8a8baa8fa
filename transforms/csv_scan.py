"""May a quoted or cp1252 CSV be streamed? One pass over its bytes, a block at a time.

Why: most CRM and Excel exports quote fields ("Smith, John", notes over several lines) and
many are cp1252 (Windows Excel). transforms.ingest_batches streams plain UTF-8 files
without quotes; these others it would hold whole, about 1.1 GB per million rows. Here such
a file is checked in one pass over its bytes (8 MB at a time, the sha256 taken alongside)
and, when it is well formed, Arrow's streaming reader reads it with quoting, values spanning
lines and (for cp1252) transcoding.

"Well formed" is read_lead_file's own test for trusting Arrow's fast read of a quoted file,
``transforms.csv_lines.quotes_well_formed``, applied to blocks of whole records: every quote
opens a field (after a delimiter, a line end, or as the second of a ``""``) or closes one
(before a delimiter, a line end, the end of the file or another quote), none is left open;
records end at line ends outside quotes, and each non-blank record has the header's width
(delimiters outside quotes, plus one). The blocks are cut after a line end outside quotes, so
each starts outside quotes and the whole-file quote parity is the block's. Anything else
(a stray or unbalanced quote, a ragged record, a NUL byte, a record over 1 MB, bytes the
encoding rule below does not name) is None: transforms.damaged_scan then tries the file
(ragged records, mixed and Latin-1 encodings), else read_lead_file reads it, so its findings
(UNTERMINATED_QUOTE, RAGGED_ROW) and its errors stay exactly today's.

The encoding is transforms.encodings.as_utf8's decision, made a block at a time: UTF-8 when
every byte is (``utf-8-sig`` after a UTF-8 byte-order mark), cp1252 when the file is not
UTF-8, no line is non-ASCII UTF-8 (that would make it a mixed file, whose ENCODING_MIXED
rows stay on the careful path, as do Latin-1 files with bytes cp1252 leaves undefined), and
the first 4 KB of text are not mostly control characters (read_lead_file calls that binary).
The header is sniffed as read_lead_file sniffs it, from the file's text in its encoding; when
the first 64 KB guessed the encoding wrong (a cp1252 file whose first accent comes late),
the header is sniffed again and the file streamed only if delimiter, names and data offset
agree.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from transforms.code_pages import code_page_misread
from transforms.encodings import other_script_word, text_format_of
from transforms.eof_marker import text_end
from transforms.hashed_read import hashed_blocks
from transforms.ingest import (
    _SNIFF_BYTES,
    IngestedFile,
    _control_share,
    _finish,
    sniffed_layout,
)

__all__ = ["TextCsv", "data_start_is_bom", "scan_text_csv", "text_file_head"]

_SCAN_BYTES = 1 << 23
_LONGEST_RECORD = 1 << 20
"""A record longer than this is read the old way: Arrow's streaming reader needs a record
to fit its block (4 MB, and cp1252 may triple a byte into UTF-8)."""
_UNDEFINED_CP1252 = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_NOT_TEXT = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"PAR1",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"%PDF",
    b"\x1f\x8b",
)
_QUOTE, _LF, _CR = 34, 10, 13


@dataclass(frozen=True)
class TextCsv:
    """A CSV file that may be streamed: as read_lead_file would describe it (``ingested``,
    its frame empty), where its data records start (``offset``, in the file's bytes), how
    many there are, and the encoding Arrow reads it with ("utf8" or "cp1252")."""

    ingested: IngestedFile
    offset: int
    rows: int
    arrow_encoding: str


@dataclass(frozen=True)
class _Layout:
    encoding: str
    delimiter: str
    names: tuple[str, ...]
    offset: int


@dataclass
class _Seen:
    """What the bytes so far say about the encoding (module docstring)."""

    bom: bool
    not_utf8: bool = False
    utf8_line: bool = False
    undefined: bool = False

    def update(self, block: bytes) -> None:
        if block.isascii():
            return
        from transforms.encodings import _is_utf8  # a file of ASCII text needs none of it

        if _is_utf8(block):
            self.utf8_line = True  # a valid non-ASCII UTF-8 character is a lead and a continuation byte
            return
        self.not_utf8 = True
        raw = np.frombuffer(block, dtype=np.uint8)
        self.undefined = self.undefined or bool(np.isin(raw, _UNDEFINED_CP1252).any())
        self.utf8_line = self.utf8_line or _has_utf8_line(block, raw)

    def verdict(self) -> str | None:
        """The file's encoding as read_lead_file names it, None if it is not streamed."""
        if not self.not_utf8:
            return "utf-8-sig" if self.bom else "utf-8"
        return None if self.hopeless else "cp1252"

    @property
    def hopeless(self) -> bool:
        """Neither UTF-8 nor cp1252 as a whole (a mixed file, or Latin-1)."""
        return self.not_utf8 and (self.bom or self.utf8_line or self.undefined)


def text_file_head(path: Path) -> tuple[bytes, int] | None:
    """A would-be CSV's first bytes (the sniffed head and a BOM) and its size; None for what is
    not a regular file, is named as Parquet, or cannot be read (read_lead_file says why)."""
    try:
        if not path.is_file() or path.suffix.lower() in (".parquet", ".pq"):
            return None
        size = text_end(path)  # a DOS end-of-file marker is no text
        with path.open("rb") as file:
            return file.read(min(_SNIFF_BYTES + len(codecs.BOM_UTF8), size)), size
    except OSError:
        return None


def scan_text_csv(path: Path) -> TextCsv | None:
    """The file as a streamable CSV (module docstring), else None (read_lead_file reads it)."""
    head = text_file_head(path)
    if head is None:
        return None
    first, size = head
    if not first or first.startswith(_NOT_TEXT) or text_format_of(first) is not None:
        return None
    bom = first.startswith(codecs.BOM_UTF8)
    guess = "utf-8-sig" if bom else ("utf-8" if _utf8_start(first, size) else "cp1252")
    layout = _layout(first, size, guess)
    if layout is None or data_start_is_bom(path, layout.offset):
        return None
    try:
        scanned = _scan(path, layout, _Seen(bom))
    except OSError:
        return None
    if scanned is None:
        return None
    fingerprint, rows, seen = scanned
    encoding = seen.verdict()
    if encoding is None:
        return None
    if encoding != layout.encoding:
        again = _layout(first, size, encoding)
        if again is None or (again.delimiter, again.names, again.offset) != (
            layout.delimiter,
            layout.names,
            layout.offset,
        ):
            return None
        layout = again
    frame = pl.DataFrame(schema=dict.fromkeys(layout.names, pl.String))
    ingested = IngestedFile(path, _finish(frame), encoding, layout.delimiter, "csv", fingerprint)
    return TextCsv(ingested, layout.offset, rows, "cp1252" if encoding == "cp1252" else "utf8")


def data_start_is_bom(path: Path, offset: int) -> bool:
    """Whether the data lines (from ``offset``) start with a UTF-8 byte-order mark: Arrow drops
    it there (read_lead_file's fast read does, a line of it alone then no row), the careful reader
    keeps it; which of them read_lead_file uses is not known before it reads, so read_lead_file reads it."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    except OSError:
        return True


def _utf8_start(first: bytes, size: int) -> bool:
    """Whether the first bytes are UTF-8 (a character cut at their end allowed, unless the
    file ends there)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first[:_SNIFF_BYTES], final=size <= _SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _layout(first: bytes, size: int, encoding: str) -> _Layout | None:
    """Delimiter, header names and data offset as read_lead_file finds them in ``encoding``."""
    if encoding == "cp1252":
        start = 0
        try:
            text = first[:_SNIFF_BYTES].decode("cp1252")
        except UnicodeDecodeError:
            return None
        utf8 = text.encode("utf-8")  # read_lead_file sniffs the first 64 KB of the file as UTF-8
        head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
        truncated = size > _SNIFF_BYTES or len(utf8) > _SNIFF_BYTES
        if _control_share(head[:4096]) > 0.05:
            return None  # read_lead_file calls it binary
        if other_script_word(head) is not None or code_page_misread(head) is not None:
            return None  # read_lead_file refuses it
    else:
        start = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
        head = first[start : start + _SNIFF_BYTES].decode("utf-8", errors="ignore")
        truncated = size - start > _SNIFF_BYTES
    layout = sniffed_layout(head, truncated=truncated)
    if layout is None:
        return None  # no header, or one longer than the sniffed head: the careful path decides
    delimiter, names, header_chars = layout
    codec = "cp1252" if encoding == "cp1252" else "utf-8"
    offset = start + len(head[:header_chars].encode(codec))
    return _Layout(encoding, delimiter, tuple(names), offset)


def _scan(path: Path, layout: _Layout, seen: _Seen) -> tuple[str, int, _Seen] | None:
    """One pass over the bytes: (sha256, non-blank data records, the encoding seen) when the
    file is well formed (module docstring), else None."""
    start = len(codecs.BOM_UTF8) if seen.bom else 0

    def clean(block: bytes, at: int) -> bool:
        return _clean(block, seen)  # the header's bytes count for the encoding too

    scanned = scan_records(
        path, start, layout.offset, layout.delimiter, len(layout.names), header=clean, records=clean
    )
    return None if scanned is None else (*scanned, seen)


BlockCheck = Callable[[bytes, int], bool]
"""A test of some of the file's bytes (``at``: where they start): False leaves the file to
read_lead_file; it may raise read_lead_file's error itself."""


def scan_records(
    path: Path,
    start: int,
    offset: int,
    delimiter: str,
    width: int,
    *,
    header: BlockCheck,
    records: BlockCheck,
) -> tuple[str, int] | None:
    """One pass over the bytes of ``path``, 8 MB a block with the sha256 taken alongside:
    (sha256, non-blank data records) when the header (``start`` to ``offset``) passes
    ``header`` and the data records from ``offset`` on are well formed (:func:`_records`), none
    over :data:`_LONGEST_RECORD`, and each run of whole records passes ``records``; else None.
    This module's cp1252/quoted scan and transforms.named_scan's strict one differ only in
    those two checks."""
    digest = hashlib.sha256()
    rows, position, carry = 0, 0, b""
    for chunk in hashed_blocks(path, _SCAN_BYTES, digest):
        if position == 0 and not header(chunk[start:offset], start):
            return None
        begin = max(offset - position, 0)
        position += len(chunk)
        if begin >= len(chunk):
            continue
        data = carry + chunk[begin:] if carry else chunk[begin:]
        counted = _records(data, delimiter, width, final=False)
        if counted is None:
            return None
        found, cut = counted
        if cut == 0 and len(data) > _LONGEST_RECORD:
            return None
        if cut and not records(data[:cut], position - len(data)):
            return None
        rows += found
        carry = data[cut:]
    if carry:
        counted = _records(carry, delimiter, width, final=True)
        if counted is None or not records(carry, position - len(carry)):
            return None
        rows += counted[0]
    return digest.hexdigest(), rows


def _clean(block: bytes, seen: _Seen) -> bool:
    """No NUL (read_lead_file calls that binary), and still one encoding read_lead_file would
    decode whole."""
    if b"\x00" in block:
        return False
    seen.update(block)
    return not seen.hopeless


def _records(data: bytes, delimiter: str, width: int, final: bool) -> tuple[int, int] | None:
    """(non-blank records, bytes they take) of the whole records at the start of ``data``
    (all of it when ``final``), if they are well formed; else None."""
    raw = np.frombuffer(data, dtype=np.uint8)
    line_feed = raw == _LF
    is_end = raw == _CR  # a \r ends a record unless a \n follows: then the \n does
    is_end[:-1] &= ~line_feed[1:]
    is_end |= line_feed
    is_separator = raw == ord(delimiter)
    quoted = b'"' in data
    if quoted:  # a line end or delimiter after an odd number of quotes is inside a value
        outside = (np.cumsum(raw == _QUOTE, dtype=np.uint8) & 1) == 0
        is_end &= outside
        is_separator &= outside
    ends = np.flatnonzero(is_end)
    if final:
        cut = raw.size
    elif ends.size == 0:
        return 0, 0
    else:
        cut = int(ends[-1]) + 1
    if quoted:
        from transforms.csv_lines import quotes_well_formed  # a file without quotes needs none of it

        if not quotes_well_formed(data[:cut] if cut < len(data) else data, 0, delimiter):
            return None
    separators = np.flatnonzero(is_separator[:cut])
    if ends.size == 0 or ends[-1] != cut - 1:
        ends = np.append(ends, cut)  # the file's last record, without a line end
    starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1] + 1])
    if bool(np.any(ends - starts > _LONGEST_RECORD)):
        return None
    # a \r\n record's content ends before its \r
    crlf = (ends > starts) & (raw[np.minimum(ends, cut - 1)] == _LF) & (raw[np.maximum(ends - 1, 0)] == _CR)
    content_end = ends - crlf
    blank = content_end <= starts
    fields = np.searchsorted(separators, content_end) - np.searchsorted(separators, starts) + 1
    if not bool(np.all(fields[~blank] == width)):
        return None
    return int(np.count_nonzero(~blank)), cut


def _has_utf8_line(block: bytes, raw: np.ndarray) -> bool:
    """Whether a line of ``block`` (not UTF-8 as a whole) is UTF-8 with a non-ASCII character:
    encodings._per_line's test for a mixed file, on the same lines (cut after each \\r, \\n)."""
    pair = np.flatnonzero((raw[:-1] >= 0xC2) & (raw[:-1] <= 0xF4) & (raw[1:] >= 0x80) & (raw[1:] <= 0xBF))
    if pair.size == 0:
        return False
    ends = np.flatnonzero((raw == _LF) | (raw == _CR))
    offsets = np.concatenate([np.zeros(1, np.int64), ends + 1, np.array([len(block)], dtype=np.int64)])
    for index in np.unique(np.searchsorted(offsets, pair, side="right") - 1).tolist():
        try:
            block[int(offsets[index]) : int(offsets[index + 1])].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False
