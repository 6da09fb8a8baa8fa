"""May a damaged CSV be streamed? One pass over its bytes that decides what read_lead_file would.

Why: messy CRM exports are the usual input, and one ragged row, one cp1252 line in a UTF-8
export or one byte only Latin-1 has sent the whole file through ``read_lead_file``: about
1.1 GB per million rows. Such a file is streamed (transforms.damaged_batches) when this pass,
a block of whole records at a time (8 MB, the sha256 taken alongside), finds what
read_lead_file's careful reader needs to know of the whole file in advance:

* its encoding (transforms.line_pieces: UTF-8, cp1252, Latin-1, or mixed with the minority
  lines' encoding), which needs every line's piece counted;
* the widest record, which names the ``extra_<n>`` columns every batch carries;
* the number of records, and block ends that fall between records.

Where its quotes are well formed (transforms.csv_records) every record the ``csv`` module
reads is one the numpy split finds, and a record of the wrong width is a ``RAGGED_ROW`` on its
own lines. A stray or open quote (a typo'd ``"`` in one name of a CRM export), and a record
spanning lines of the wrong width whose later line has the header's width, are where the
careful reader decides for itself: transforms.damaged_walk finds those records as it does,
following a quote over the file (transforms.quote_track, to the file's end for one never
closed) without holding what it swallowed, and marks them to be read by the careful reader
itself, with the lines each swallowed quote ran over in the whole file. read_lead_file
trusts Arrow's fast read instead of its careful reader when every line is one record of the
header's width; the careful reader reads such a file to the same rows (Arrow reads a quote
out of place as the ``csv`` module does: a quote inside an unquoted value is text, text after
a closing quote joins the value), which the differential tests hold it to.

Still left to read_lead_file (None): a record over 64 MB (a quoted value, or the line where a
swallowed quote opened; a quote running to the file's end is followed, not held), a record
of 2 GB or more (where the ``csv`` module's field limit would make read_lead_file refuse the
file), a head that sniffs differently once decoded, and a byte-order mark starting the data lines
(read_lead_file's fast read drops it, its careful reader keeps it), and a NUL byte (read_lead_file
reads a few, each line that held one a NUL_BYTE_REMOVED row, and refuses a binary file).

With an operator's encoding (``--encoding``, transforms.named_scan.streamable_encoding: UTF-8
or a single-byte code page) the file is decoded with it as read_lead_file does, strictly: the
blocks the pass counts for the encoding are checked instead, the first byte that is no
character in it raising read_lead_file's error; nothing is guessed (no binary or other-script
check), and a NUL byte leaves the file to read_lead_file too.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from transforms.code_pages import code_page_misread
from transforms.csv_scan import _NOT_TEXT
from transforms.damaged_walk import RecordWalk, TooLong
from transforms.encodings import other_script_word, text_format_of
from transforms.eof_marker import text_end
from transforms.hashed_read import hashed_blocks
from transforms.ingest import (
    _SNIFF_BYTES,
    RESERVED_COLUMNS,
    IngestedFile,
    _control_share,
    _dedupe_names,
    _finish,
    _large_fields,
    sniffed_layout,
)
from transforms.line_pieces import Decoding, EncodingCounts
from transforms.named_scan import StrictBytes, streamable_encoding
from transforms.quote_track import FileBytes

__all__ = ["DamagedCsv", "scan_damaged_csv"]

_SCAN_BYTES = 1 << 23
_LONGEST_RECORD = 1 << 26
_LONGEST_HEAD_LINE = 1 << 20
_EOL = re.compile(r"\r\n|\r|\n")
_GUESSED = ("cp1252", "latin-1")


@dataclass(frozen=True)
class DamagedCsv:
    """A damaged CSV that may be streamed: as read_lead_file describes it (``ingested``, its
    frame empty, the ``extra_<n>`` columns included), where its records start (``body``, in
    bytes), where each block of whole records ends (``cuts``), its records, the header's
    ``width``, and how its bytes are decoded."""

    ingested: IngestedFile
    body: int
    cuts: tuple[int, ...]
    rows: int
    width: int
    decoding: Decoding
    careful: tuple[tuple[int, int], ...] = ()
    """Byte ranges of records read by the careful reader itself (transforms.damaged_walk)."""
    quotes: tuple[tuple[int, int], ...] = ()
    """(line start, lines run over in the whole file) of each quote that swallowed lines."""


@dataclass(frozen=True)
class _Scanned:
    fingerprint: str
    rows: int
    widest: int
    cuts: tuple[int, ...]
    counts: EncodingCounts | _Checked
    careful: tuple[tuple[int, int], ...]
    quotes: tuple[tuple[int, int], ...]


def scan_damaged_csv(path: Path, encoding: str | None = None) -> DamagedCsv | None:
    """The file as a streamable damaged CSV (module docstring), else None (read_lead_file reads
    it); ``encoding``: the operator's, which streamable_encoding accepts (``LeadFileError`` at
    its first invalid byte)."""
    strict: StrictBytes | None = None
    if encoding is not None:
        undefined = streamable_encoding(encoding)
        if undefined is None:
            return None
        strict = StrictBytes(path, encoding, undefined)
    try:
        if not path.is_file() or path.suffix.lower() in (".parquet", ".pq"):
            return None
        size = text_end(path)  # a DOS end-of-file marker is no text
        with path.open("rb") as file:
            first = file.read(min(_SNIFF_BYTES + len(codecs.BOM_UTF8) + _LONGEST_HEAD_LINE, size))
    except OSError:
        return None
    if not first or first.startswith(_NOT_TEXT) or text_format_of(first) is not None:
        return None
    bom = first.startswith(codecs.BOM_UTF8) and (strict is None or strict.encoding == "utf-8")
    start = len(codecs.BOM_UTF8) if bom else 0
    if strict is not None:  # the head decoded below: its first bad byte is the file's
        whole = len(first) >= size
        cut = len(first) if whole else max(first.rfind(b"\n"), first.rfind(b"\r")) + 1
        strict.refuse_invalid(first[start:cut], start, end_of_file=whole)
    if strict is not None and strict.encoding != "utf-8":  # sniffed as read_lead_file sniffs it
        try:
            utf8 = first[:_SNIFF_BYTES].decode(strict.encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None  # past the bytes checked above: read_lead_file says where
        head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
        truncated = size > _SNIFF_BYTES or len(utf8) > _SNIFF_BYTES
    else:
        head = first[start : start + _SNIFF_BYTES].decode("utf-8", errors="ignore")
        truncated = size - start > _SNIFF_BYTES
    guessed = sniffed_layout(head, truncated=truncated)
    if guessed is None:
        return None
    delimiter, names, header_chars = guessed
    layout = (delimiter, names, _header_lines(head, header_chars))
    for _ in range(2):
        # the head is sniffed as UTF-8 with its bad bytes dropped, then as read_lead_file decodes
        # it: where the two differ (a dropped byte had hidden a field's delimiter), once more
        # with the latter
        delimiter, names, header_lines = layout
        body = _line_offset(first, start, header_lines, size)
        if body is None or first.startswith(codecs.BOM_UTF8, body):
            return None  # read_lead_file's fast read drops a byte-order mark there, its careful one keeps it
        try:
            header = first[start:body]
            scanned = _scan(path, header, body, delimiter, len(names), bom=start > 0, strict=strict)
        except OSError:
            return None
        if scanned is None:
            return None
        decoding = scanned.counts.decoding()
        decoded = _decoded_layout(first, start, size, decoding, guessed=strict is None)
        if decoded is None:
            return None
        layout = decoded
        if (layout[0], len(layout[1]), layout[2]) == (delimiter, len(names), header_lines):
            break
    else:
        return None
    names = layout[1]
    extras = _dedupe_names(
        [f"extra_{n}" for n in range(1, scanned.widest - len(names) + 1)],
        taken=set(names) | set(RESERVED_COLUMNS),
    )
    frame = pl.DataFrame(schema=dict.fromkeys(names + extras, pl.String))
    ingested = IngestedFile(path, _finish(frame), decoding.encoding, delimiter, "csv", scanned.fingerprint)
    return DamagedCsv(
        ingested, body, scanned.cuts, scanned.rows, len(names), decoding, scanned.careful, scanned.quotes
    )


def _header_lines(head: str, header_chars: int) -> int:
    """The physical lines the header takes (-1: it is the file's last line, without a line end)."""
    header = head[:header_chars]
    if not header.endswith(("\r", "\n")):
        return -1
    return len(_EOL.findall(header))


def _line_offset(first: bytes, start: int, lines: int, size: int) -> int | None:
    """The byte after the first ``lines`` physical lines from ``start`` (-1 lines: the end)."""
    if lines < 0:
        return size
    position = start
    for _ in range(lines):
        found = _next_line_end(first, position, whole=len(first) >= size)
        if found is None:
            return None
        position = found
    return position


def _next_line_end(data: bytes, position: int, *, whole: bool) -> int | None:
    """The byte after the line end that ends the line at ``position`` (``\\r\\n`` one end);
    ``whole``: ``data`` is all of the file."""
    lf, cr = data.find(b"\n", position), data.find(b"\r", position)
    ends = [end for end in (lf, cr) if end >= 0]
    if not ends:
        return None
    end = min(ends)
    if data[end : end + 2] == b"\r\n":
        return end + 2
    if not whole and end + 1 >= len(data) and data[end:] == b"\r":
        return None  # a \r\n may be cut here: the head read is too short to tell
    return end + 1


def _decoded_layout(
    first: bytes, start: int, size: int, decoding: Decoding, *, guessed: bool
) -> tuple[str, list[str], int] | None:
    """(delimiter, names, header lines) sniffed from the head read_lead_file would sniff: the
    first 64 KB of the decoded file; None where read_lead_file would not find them so (or would
    call the file binary). ``guessed``: the encoding was detected, not named."""
    raw = first[start:]
    if len(first) < size:  # whole pieces only: cut after a line end
        cut = max(raw.rfind(b"\n"), raw.rfind(b"\r"))
        if cut < _SNIFF_BYTES:
            return None
        raw = raw[: cut + 1]
    decoded = decoding.decode(raw)[0]
    truncated = size - start > _SNIFF_BYTES or len(decoded) > _SNIFF_BYTES
    head = decoded[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    if (
        guessed
        and (decoding.encoding in _GUESSED or "+" in decoding.encoding)
        and _control_share(head[:4096]) > 0.05
    ):
        return None  # read_lead_file calls it binary
    if (
        guessed
        and decoding.encoding in _GUESSED
        and (other_script_word(head) is not None or code_page_misread(head) is not None)
    ):
        return None  # read_lead_file refuses it
    layout = sniffed_layout(head, truncated=truncated)
    if layout is None:
        return None
    delimiter, names, header_chars = layout
    return delimiter, names, _header_lines(head, header_chars)


def _scan(
    path: Path, header: bytes, body: int, delimiter: str, width: int, *, bom: bool, strict: StrictBytes | None
) -> _Scanned | None:
    """One pass over the bytes from ``body`` on (module docstring); None: read the file whole.
    The records are walked (transforms.damaged_walk) in the blocks as they are read; a record
    followed past them is skipped over, the blocks still hashed and counted for the encoding
    (``strict``: checked in the operator's)."""
    digest = hashlib.sha256()
    counts: EncodingCounts | _Checked = EncodingCounts(bom) if strict is None else _Checked(strict, body)
    counts.add(header)
    cuts: list[int] = []
    with path.open("rb") as opened, _large_fields():  # the csv module reads stray quotes' lines
        walk = RecordWalk(FileBytes(opened.fileno(), text_end(path)), delimiter, width, widest=width)
        following, buffer, position, piece = body, b"", 0, b""
        try:
            for chunk in hashed_blocks(path, _SCAN_BYTES, digest):
                if b"\x00" in chunk:
                    return None  # read_lead_file reads a few NULs (NUL_BYTE_REMOVED), refuses more
                begin = max(body - position, 0)
                chunk_start, position = position, position + len(chunk)
                if begin >= len(chunk):
                    continue
                piece = _count_pieces(counts, piece + chunk[begin:])
                if len(piece) > _LONGEST_RECORD:
                    return None
                if following >= position:
                    continue  # inside a record followed to its end already
                buffer = buffer + chunk[begin:] if buffer else chunk[following - chunk_start :]
                start = position - len(buffer)
                following = walk.advance(buffer, start, following, final=False)
                if following <= position and following > (cuts[-1] if cuts else body):
                    cuts.append(following)
                buffer = buffer[following - start :] if following < position else b""
            counts.add(piece)
            if buffer:
                walk.advance(buffer, position - len(buffer), following, final=True)
        except TooLong:
            return None
    if position > (cuts[-1] if cuts else body):
        cuts.append(position)
    careful, quotes = tuple(walk.careful), tuple(sorted(walk.quotes.items()))
    return _Scanned(digest.hexdigest(), walk.rows, walk.widest, tuple(cuts), counts, careful, quotes)


@dataclass
class _Checked:
    """EncodingCounts' place for a named encoding: the pieces of the file from ``at`` on, in
    order, checked strictly (the header's bytes were, with the head)."""

    strict: StrictBytes
    at: int
    header: bool = True

    def add(self, block: bytes) -> None:
        if self.header:
            self.header = False
            return
        self.strict.refuse_invalid(block, self.at)
        self.at += len(block)

    def decoding(self) -> Decoding:
        """How read_lead_file decodes the file: whole, in the operator's encoding."""
        encoding = self.strict.encoding
        return Decoding(encoding, None if encoding == "utf-8" else encoding, None)


def _count_pieces(counts: EncodingCounts | _Checked, data: bytes) -> bytes:
    """Counts the whole pieces of ``data`` (up to its last line end); returns the rest."""
    end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    if end:
        counts.add(data[:end])
    return data[end:]
