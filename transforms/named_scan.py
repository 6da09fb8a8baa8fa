"""May a CSV in the encoding an operator named (``--encoding cp1250``) be streamed? One pass
over its bytes, a block at a time, strict about the encoding.

Why: read_lead_file decodes such a file whole (its bytes, their UTF-8, then its columns: about
1.1 GB per million rows). Here the file is checked in one pass (8 MB at a time, the sha256
taken alongside) as transforms.csv_scan checks a quoted or cp1252 file, and when it is well
formed Arrow's streaming reader reads it, transcoding the named encoding to UTF-8 (Python's
codec, through ``pyarrow.csv.ReadOptions(encoding=...)``).

Strict, as read_lead_file is (transforms.encodings.decode_as): the first byte that is no
character in the encoding raises read_lead_file's own error (``invalid_byte_error``: the file,
the byte, its line, what to do), found by this scan, so a bad byte at the end of a big file is
reported without holding the file. A file that starts like a workbook, a PDF or an archive is
refused in decode_as's words. Arrow's transcoding is strict too, but it would raise Python's
``UnicodeDecodeError`` (a position in its own stream, no line) from the middle of a read: the
scan is what makes it never see such a byte.

Streamed encodings are those whose records a scan of the raw bytes finds: UTF-8 and the
single-byte code pages whose bytes below 0x80 are ASCII and whose other bytes are not
(cp1250-cp1258, iso-8859-*, koi8-r, mac_roman, cp437...). In them a line end, a quote or a
delimiter byte is that character and nothing else, so csv_scan's record test (quotes well
formed, every record of the header's width) holds on the bytes as they are, and strictness is
a table of the bytes the code page leaves undefined. Every other encoding is read whole by
read_lead_file, because a byte scan cannot find its records or its first bad byte: in
Shift-JIS, Big5, GBK and GB18030 the second byte of a character may be ``|`` or ``\\`` (a field
miscounted), UTF-16 and UTF-32 are half NUL bytes (and Arrow's transcoder, started at the
data offset, has no byte-order mark to go by), ISO-2022 and UTF-7 change meaning with escape
sequences, and EUC code pages, though scannable, are multi-byte (their first bad byte is where
a whole-file decode says).

A file in a streamed encoding that this scan does not trust (None) goes on to
transforms.damaged_scan with the encoding (ragged records, stray or open quotes: RAGGED_ROW,
UNTERMINATED_QUOTE and ``extra_<n>`` as read_lead_file gives them, checked as strictly); what
that one leaves too (a NUL byte, a record over 64 MB, data lines that start with a UTF-8
byte-order mark, a header past the first 64 KB) is read whole, its errors today's by
construction.
"""

from __future__ import annotations

import codecs
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import polars as pl

from transforms.csv_scan import TextCsv, data_start_is_bom, scan_records, text_file_head
from transforms.encodings import _is_utf8, _refuse_other_formats, invalid_byte_error, refuse_utf8_mark
from transforms.ingest import _SNIFF_BYTES, IngestedFile, _finish, sniffed_layout

__all__ = ["StrictBytes", "scan_named_csv", "streamable_encoding"]

_SCAN_BYTES = 1 << 23


@dataclass(frozen=True)
class StrictBytes:
    """A file read strictly in an operator's ``encoding`` (UTF-8, or a single-byte code page
    leaving ``undefined`` the bytes :func:`streamable_encoding` found): its blocks checked as
    the scans read them (this module's, transforms.damaged_scan's)."""

    path: Path
    encoding: str
    undefined: bytes

    def refuse_invalid(self, block: bytes, at: int, *, end_of_file: bool = True) -> None:
        """read_lead_file's error when ``block`` (the file's bytes from ``at``) holds a byte that
        is no character in the encoding; a UTF-8 character cut at its end is one only at
        ``end_of_file``."""
        if block.isascii():
            return
        if self.encoding == "utf-8":
            if _is_utf8(block):
                return
            try:
                codecs.getincrementaldecoder("utf-8")().decode(block, final=end_of_file)
            except UnicodeDecodeError as error:
                self._raise_at(block[error.start], at + error.start)
            return
        if not self.undefined or not block.translate(None, _defined(self.undefined)):
            return
        first = min(found for found in (block.find(byte) for byte in self.undefined) if found >= 0)
        self._raise_at(block[first], at + first)

    def _raise_at(self, byte: int, position: int) -> NoReturn:
        """invalid_byte_error with the line of ``position``, counted by reading up to it again."""
        lines, done = 1, 0
        with self.path.open("rb") as file:
            while done < position and (block := file.read(min(_SCAN_BYTES, position - done))):
                lines += block.count(b"\n")
                done += len(block)
        raise invalid_byte_error(self.path, self.encoding, byte, lines)


def scan_named_csv(path: Path, encoding: str) -> TextCsv | None:
    """The file as a streamable CSV in ``encoding`` (a name transforms.encodings.checked_encoding
    returned), else None (read_lead_file reads it); ``LeadFileError`` where read_lead_file's
    strict decoding raises one (module docstring)."""
    undefined = streamable_encoding(encoding)
    if undefined is None:
        return None
    head = text_file_head(path)
    if head is None:
        return None
    first, size = head
    if not first or first.startswith(b"PAR1"):
        return None
    _refuse_other_formats(path, first)
    refuse_utf8_mark(path, first, encoding)
    named = StrictBytes(path, encoding, undefined)
    start = len(codecs.BOM_UTF8) if encoding == "utf-8" and first.startswith(codecs.BOM_UTF8) else 0
    layout = _layout(named, first, size, start)
    if layout is None:
        return None
    delimiter, names, offset = layout
    if encoding == "utf-8" and data_start_is_bom(path, offset):
        return None
    try:
        scanned = _scan(named, start, layout)
    except OSError:
        return None
    if scanned is None:
        return None
    fingerprint, rows = scanned
    frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    ingested = IngestedFile(path, _finish(frame), encoding, delimiter, "csv", fingerprint)
    return TextCsv(ingested, offset, rows, "utf8" if encoding == "utf-8" else encoding)


@functools.cache
def streamable_encoding(encoding: str) -> bytes | None:
    """The bytes ``encoding`` leaves undefined (``b""`` for UTF-8, whose test is its own) when a
    file in it is streamed, else None (module docstring): every byte below 0x80 is its ASCII
    character alone, every other byte one non-ASCII character or none, even before another
    byte (else it leads a multi-byte character)."""
    if encoding == "utf-8":
        return b""
    undefined = bytearray()
    for byte in range(256):
        try:
            char = bytes([byte]).decode(encoding)
        except UnicodeDecodeError:
            char = None
        except (LookupError, ValueError):
            return None
        if byte < 0x80 and char != chr(byte):
            return None
        if char is None:
            undefined.append(byte)
        elif len(char) != 1 or (byte >= 0x80 and char.isascii()):
            return None
    for byte in undefined:
        for following in range(256):
            try:
                bytes([byte, following]).decode(encoding)
            except UnicodeDecodeError:
                continue
            return None
    return bytes(undefined)


def _layout(named: StrictBytes, first: bytes, size: int, start: int) -> tuple[str, list[str], int] | None:
    """(delimiter, header names, where the data records start) as read_lead_file finds them in
    the file decoded in its encoding: it sniffs the first 64 KB of the file's UTF-8."""
    encoding = named.encoding
    head_bytes = first[start : start + _SNIFF_BYTES]
    named.refuse_invalid(head_bytes, start, end_of_file=start + _SNIFF_BYTES >= size)
    if encoding == "utf-8":
        head = head_bytes.decode("utf-8", errors="ignore")
        truncated = size - start > _SNIFF_BYTES
    else:
        utf8 = head_bytes.decode(encoding).encode("utf-8")
        head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
        truncated = size > _SNIFF_BYTES or len(utf8) > _SNIFF_BYTES
    layout = sniffed_layout(head, truncated=truncated)
    if layout is None:
        return None  # a blank file, no header, or one longer than the sniffed head: read whole
    delimiter, names, header_chars = layout
    header = head[:header_chars]  # a character is a byte in a single-byte code page
    return delimiter, names, start + (len(header.encode("utf-8")) if encoding == "utf-8" else len(header))


def _scan(named: StrictBytes, start: int, layout: tuple[str, list[str], int]) -> tuple[str, int] | None:
    """One pass over the bytes (transforms.csv_scan.scan_records): (sha256, non-blank data
    records) when the file is well formed and free of NUL, else None; ``LeadFileError`` at its
    first invalid byte (the records before it were well formed, so it is the file's first)."""
    delimiter, names, offset = layout

    def no_nul(block: bytes, at: int) -> bool:
        return b"\x00" not in block  # read_lead_file calls the file binary, or UTF-16 without a BOM

    def strict(block: bytes, at: int) -> bool:
        if not no_nul(block, at):
            return False
        named.refuse_invalid(block, at)
        return True

    return scan_records(named.path, start, offset, delimiter, len(names), header=no_nul, records=strict)


@functools.cache
def _defined(undefined: bytes) -> bytes:
    return bytes(byte for byte in range(256) if byte not in undefined)
