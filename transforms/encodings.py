"""Text encodings of CSV lead files: the file's bytes as UTF-8, and which lines were not.

Detection order: a byte-order mark, then strict UTF-8, then cp1252 (Latin-1 where a byte is
undefined in cp1252). A file that is neither all UTF-8 nor all cp1252 is common: a UTF-8
export with a few lines pasted or appended from a Windows tool. Decoding it whole as cp1252
turns every UTF-8 line into mojibake ("JosÃ© MÃ¼ller"), so such a file is decoded line by
line, each as what it is, and the lines of the minority encoding are reported (ingest puts
``ENCODING_MIXED`` on their rows) rather than silently guessed.

Pure UTF-8 files pay one vectorised validity check (Arrow's), as before; only a file that
fails it is split into lines, and that split is vectorised too (numpy for the line ends,
polars' binary-to-string cast for per-line validity); Python decodes only the foreign lines.
"""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from transforms.errors import LeadFileError
from transforms.legacy_text import decode_latin1

__all__ = [
    "COMMON_ENCODINGS",
    "SAVE_AS",
    "Decoded",
    "as_utf8",
    "checked_encoding",
    "decode_as",
    "invalid_byte_error",
    "nul_byte_error",
    "other_script_error",
    "other_script_word",
    "refuse_utf8_mark",
    "text_format_of",
]

SAVE_AS = "Export or save the leads as CSV (UTF-8) or Parquet and try again"
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)

_TEXT_FORMATS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb'^(?:\xef\xbb\xbf)?\s*(?:\[\s*)?\{\s*"'), "JSON"),
    (
        re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|table)\b", re.IGNORECASE),
        "an HTML page (the 'Excel' export of some tools is one)",
    ),
    (re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml\b"), "an XML document (Excel's XML Spreadsheet 2003 is one)"),
)
"""Text formats that are no CSV, by how they start: a JSON export (an array of objects, or one
object a line), an HTML table, an XML document. No CSV header starts so ('[Name]' headers of SQL
exports have no brace). Read as CSV, a one-line JSON array was a header of leads ('phone' and
digits took the phone1 alias) and the run ended 0 with no row; an HTML or XML file's error
asked for a column named "Phone", when the fix is to save the file as CSV."""


@dataclass(frozen=True)
class Decoded:
    """The file as valid UTF-8 bytes from ``start`` (no copy for UTF-8 files).

    ``encoding`` is the detected encoding; a mixed file is ``"utf-8+cp1252"`` (or
    ``"cp1252+utf-8"``), the majority first. ``foreign_lines`` are the 0-based physical line
    numbers (``\\r\\n``, ``\\r`` and ``\\n`` each end one) decoded with the minority encoding,
    and ``foreign_as`` says which that was; both are empty for a file in one encoding.
    """

    encoding: str
    buffer: bytes
    start: int
    foreign_lines: frozenset[int] = frozenset()
    foreign_as: str = ""


def nul_byte_error(path: Path, line: int, head: bytes, *, lines: int = 0, where: str = "") -> LeadFileError:
    """The file holds NUL bytes, the first on ``line`` (1 is the header), and is no text CSV:
    a text CSV damaged by a few (a crashed export) is read, each line that held one marked
    NUL_BYTE_REMOVED (transforms.ingest), but not one with NULs on ``lines`` lines (too many
    for damage), nor one with a NUL ``where`` the columns are named (``"in the header"``).
    ``head`` is the file's start: when it is UTF-16 without a BOM (a BOM'd one is decoded),
    "binary" would send the user looking for damage in a file that only needs saving in
    another encoding."""
    if _is_utf16_without_bom(head):
        return LeadFileError(
            path,
            "the file is UTF-16 without a byte-order mark (every other byte is NUL); Leadflow reads "
            "UTF-16 only with one",
            "Save it as CSV UTF-8 (Excel: Save As, CSV UTF-8) and try again",
        )
    if where:
        return LeadFileError(
            path,
            f"a NUL byte {where} (line {line:,}): the columns cannot be named",
            "Remove the NUL bytes from the header line or export the file again",
        )
    found = (
        f"NUL bytes on {lines:,} lines, the first on line {line:,}"
        if lines
        else f"a NUL byte on line {line:,}"
    )
    return LeadFileError(
        path,
        f"the file is binary, not text (CSV): {found}",
        "If it is a CSV, remove the NUL bytes (the first is on that line) or export it again; "
        "else save the leads as CSV (UTF-8) or Parquet",
    )


_UTF16_SAMPLE = 4096


def _is_utf16_without_bom(head: bytes) -> bool:
    """Whether ``head`` reads as UTF-16 (LE or BE) of Latin text: one byte of each pair NUL (at
    least 90%: é is ``e9 00``, but Cyrillic has no NUL half), the other byte never."""
    sample = head[: min(len(head), _UTF16_SAMPLE) // 2 * 2]
    if len(sample) < 8:
        return False
    for high, low in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if high.count(0) * 10 >= len(high) * 9 and low.count(0) == 0:
            return True
    return False


_WORD = re.compile(r"[^\W\d_]{3,}")


def other_script_error(path: Path, head: str) -> LeadFileError | None:
    """The error for a file read as cp1252 (or Latin-1) whose words say it is in another
    legacy code page (Windows-1251 Cyrillic, Greek, Hebrew, Arabic: Excel's "CSV" on such a
    Windows), else None. ``head`` is the start of the file as decoded.

    Why: read as cp1252 such text is still letters ("Èâàíîâ" for "Иванов"), so nothing else
    notices; its names would reach the dialer as gibberish, or its headers match no alias.
    The sign is words made only of non-ASCII letters: a Western European word read right keeps
    ASCII letters around its accents ("Müller", "Hélène"). Central European and Turkish code
    pages differ from cp1252 in a few letters only and are not caught here."""
    word = other_script_word(head)
    if word is None:
        return None
    return LeadFileError(
        path,
        "the file is not UTF-8, and read as Windows-1252 (Western European), the other encoding "
        f"Leadflow reads, its words are gibberish such as '{word}': it is in another encoding "
        "(Cyrillic, Greek, Hebrew, Arabic, Asian)",
        "Save it as CSV UTF-8 (Excel: Save As, CSV UTF-8) and try again, or name its code page: "
        "--encoding cp1251 (Cyrillic), cp1253 (Greek), cp1255 (Hebrew) or cp1256 (Arabic)",
    )


def other_script_word(head: str) -> str | None:
    """A word of ``head`` (a file's start, read as cp1252 or Latin-1) that shows it is in another
    code page, when most of its words with non-ASCII letters have no ASCII letter at all, else
    None: :func:`other_script_error`'s sign, for the streamed readers that leave such a file to
    ``read_lead_file``."""
    words: list[str] = [word for word in _WORD.findall(head) if not word.isascii()]
    foreign = [word for word in words if not any(char.isascii() for char in word)]
    if len(foreign) < 3 or 2 * len(foreign) <= len(words):
        return None
    return foreign[0]


COMMON_ENCODINGS = (
    "utf-8",
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1254",
    "cp1257",
    "iso-8859-2",
    "shift_jis",
    "mac_roman",
)
"""The code pages an operator most often names (Western, Central European, Cyrillic, Turkish,
Baltic, Japanese, old Mac exports): what an unknown name's error suggests."""


def checked_encoding(path: Path, name: str) -> str:
    """Python's name for the text encoding an operator gave (``--encoding``, the mapping file's
    ``encoding``), or ``LeadFileError`` listing common ones: a typo is one ``Error:`` line before
    the file is read, not a traceback after. Byte-to-byte codecs (``base64``, ``rot13``) are
    no text encodings and are refused too."""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise LeadFileError(
            path,
            f"the encoding {name!r} is not a text encoding Leadflow knows",
            f"Give one such as {', '.join(COMMON_ENCODINGS)} (--encoding, or encoding in the mapping file)",
        )
    return info.name


def decode_as(path: Path, data: bytes, encoding: str) -> Decoded:
    """``data`` decoded strictly with the operator's ``encoding`` (a name :func:`checked_encoding`
    returned): no detection, no guess. Why strict: an operator who names the code page wants
    it, and a byte that is no character in it means the name is wrong (or the file is mixed),
    which must be said with the line rather than turned into a replacement character.
    A UTF-8 byte-order mark is skipped when the encoding is UTF-8."""
    _refuse_other_formats(path, data)
    refuse_utf8_mark(path, data, encoding)
    _refuse_8_bit_as_wide(path, data, encoding)
    if encoding == "utf-8":
        start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        if _is_utf8(data):
            return Decoded(encoding, data, start)
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as error:
        # utf-8-sig counts its positions after the byte-order mark it skipped
        at = error.start + (len(error.object) < len(data)) * len(codecs.BOM_UTF8)
        raise invalid_byte_error(path, encoding, data[at], data.count(b"\n", 0, at) + 1) from None
    return Decoded(encoding, text.encode("utf-8"), 0)


def _refuse_8_bit_as_wide(path: Path, data: bytes, encoding: str) -> None:
    """``LeadFileError`` when the operator named UTF-16 or UTF-32 for a file of 8-bit text: in
    those a CSV's line breaks and delimiters are ASCII characters written with NUL bytes, so a
    file with line breaks and no NUL in its head is none. Why: an 8-bit file of even length
    reads as UTF-16 without a bad byte, its header as CJK letters, and the error that followed
    asked for a column named "Phone"."""
    if not encoding.startswith(("utf-16", "utf-32")):
        return
    head = data[:_SNIFF]
    if b"\x00" not in head and (b"\n" in head or b"\r" in head):
        raise LeadFileError(
            path,
            f"the file is not {encoding}: its lines hold no NUL byte, which every {encoding} "
            "line break has; it is 8-bit text",
            "Leave out --encoding (and the mapping file's encoding) to read it as detected "
            "(UTF-8 or cp1252), or give the code page it was saved in",
        )


_SNIFF = 1 << 16


def invalid_byte_error(path: Path, encoding: str, byte: int, line: int) -> LeadFileError:
    """The error for a file read strictly in the operator's ``encoding`` (:func:`decode_as`)
    whose first byte that is no character in it is ``byte``, on ``line`` (1-based, counted by
    ``\\n``): the words the whole-file read and the streamed scan (transforms.named_scan) give."""
    return LeadFileError(
        path,
        f"the file is not valid {encoding}: byte 0x{byte:02X} on line {line:,} "
        "is no character in that encoding",
        "Check which encoding the file was saved in and give that one with --encoding "
        "(without it Leadflow detects UTF-8 or cp1252), or save the file as CSV UTF-8",
    )


def refuse_utf8_mark(path: Path, head: bytes, encoding: str) -> None:
    """``LeadFileError`` when ``head`` (a file's start) is a UTF-8 byte-order mark and the
    operator named another encoding. Why: a single-byte code page reads those bytes as letters
    ("ï»¿" in cp1252), the header's first name no longer matches its column (its values were
    dropped unsaid) and the file's UTF-8 letters come out altered ("MÃ¼ller"), all without a
    byte the page refuses: a mapping file's ``encoding = "cp1252"`` kept after the source
    switched to Excel's CSV UTF-8."""
    if encoding in ("utf-8", "utf-8-sig") or not head.startswith(codecs.BOM_UTF8):
        return
    raise LeadFileError(
        path,
        f"the file starts with a UTF-8 byte-order mark (it was saved as UTF-8, as Excel's CSV UTF-8 "
        f"is), but the encoding given is {encoding}, which would read its first column's name and "
        "its accented letters altered",
        "Leave out --encoding (and the mapping file's encoding) to read it as UTF-8, or save it "
        f"again in {encoding}",
    )


def text_format_of(head: bytes) -> str | None:
    """The text format no CSV is that a would-be CSV's first bytes are in (``_TEXT_FORMATS``),
    else None. The readers that stream leave such a file to read_lead_file, which refuses it."""
    head = head[:_UTF16_SAMPLE]
    return next((what for pattern, what in _TEXT_FORMATS if pattern.match(head)), None)


def _refuse_other_formats(path: Path, data: bytes) -> None:
    """``LeadFileError`` when ``data`` starts like a format that is no CSV (a workbook, a PDF,
    an archive; JSON, HTML, XML): detected or named, no encoding makes a CSV of those."""
    found = next((what for signature, what in _SIGNATURES if data.startswith(signature)), None)
    found = found or text_format_of(data)
    if found is not None:
        raise LeadFileError(path, f"the file is not a CSV file, it looks like {found}", SAVE_AS)


def as_utf8(path: Path, data: bytes) -> Decoded:
    """Detect the encoding of ``data`` and return it as UTF-8; raise for non-text formats."""
    _refuse_other_formats(path, data)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8-sig":
                if _is_utf8(data):
                    return Decoded(encoding, data, len(bom))
                mixed = _per_line(data[len(bom) :], declared_utf8=True)
                if mixed is not None:
                    return mixed
            try:
                return Decoded(encoding, data.decode(encoding).encode("utf-8"), 0)
            except UnicodeDecodeError:
                raise LeadFileError(
                    path,
                    f"the file starts with a {encoding} byte-order mark but is not valid {encoding}",
                    SAVE_AS,
                ) from None
    if _is_utf8(data):
        return Decoded("utf-8", data, 0)
    mixed = _per_line(data)
    if mixed is not None:
        return mixed
    try:
        return Decoded("cp1252", data.decode("cp1252").encode("utf-8"), 0)
    except UnicodeDecodeError:
        return Decoded("latin-1", decode_latin1(data).encode("utf-8"), 0)


def _is_utf8(data: bytes) -> bool:
    """Strict UTF-8 validation without building a Python string (Arrow's vectorised check)."""
    if data.isascii():
        return True
    offsets = pa.py_buffer(struct.pack("<qq", 0, len(data)))
    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        blob.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _per_line(data: bytes, *, declared_utf8: bool = False) -> Decoded | None:
    """``data`` (not valid UTF-8 as a whole) decoded line by line when it holds both non-ASCII
    UTF-8 lines and lines that are not UTF-8; None when no line is non-ASCII UTF-8 (one
    legacy encoding: the caller decodes the whole file with it). ``declared_utf8`` (a UTF-8
    byte-order mark) makes UTF-8 the file's encoding whatever the count: every line that is
    not UTF-8 is then the foreign one.

    Only lines with a byte pair that could start a UTF-8 character (a lead byte, then a
    continuation byte) are tried as UTF-8, so a plain cp1252 file costs a numpy scan."""
    raw = np.frombuffer(data, dtype=np.uint8)
    pair = np.flatnonzero((raw[:-1] >= 0xC2) & (raw[:-1] <= 0xF4) & (raw[1:] >= 0x80) & (raw[1:] <= 0xBF))
    if pair.size == 0 and not declared_utf8:
        return None
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    # pieces end after each \r or \n byte: both are ASCII, never inside a multi-byte character
    tail = [len(data)] if ends.size == 0 or ends[-1] + 1 < len(data) else []
    offsets = np.concatenate([np.zeros(1, np.int64), ends + 1, np.array(tail, dtype=np.int64)])

    def piece(index: int) -> bytes:
        return data[int(offsets[index]) : int(offsets[index + 1])]

    def valid(index: int) -> bool:
        try:
            piece(index).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    candidates = np.unique(np.searchsorted(offsets, pair, side="right") - 1).tolist()
    utf8 = {index for index in candidates if valid(index)}
    if not utf8 and not declared_utf8:
        return None
    non_ascii = np.unique(np.searchsorted(offsets, np.flatnonzero(raw >= 0x80), side="right") - 1).tolist()
    legacy_pieces = [index for index in non_ascii if index not in utf8]
    out: list[bytes] = []
    copied = 0
    legacy = "cp1252"
    for index in legacy_pieces:
        out.append(data[copied : int(offsets[index])])
        try:
            out.append(piece(index).decode("cp1252").encode("utf-8"))
        except UnicodeDecodeError:
            legacy = "latin-1"
            out.append(decode_latin1(piece(index)).encode("utf-8"))
        copied = int(offsets[index + 1])
    out.append(data[copied:])
    foreign_is_legacy = declared_utf8 or len(legacy_pieces) <= len(utf8)
    foreign = np.asarray(legacy_pieces if foreign_is_legacy else sorted(utf8), dtype=np.int64)
    # the physical line of a piece: the line ends before it, a \r\n pair counting once
    second = np.zeros(ends.size, dtype=bool)
    second[1:] = (ends[1:] == ends[:-1] + 1) & (raw[ends[1:]] == 10) & (raw[ends[:-1]] == 13)
    lines = np.searchsorted(ends[~second], offsets[foreign], side="left")
    majority, minority = ("utf-8", legacy) if foreign_is_legacy else (legacy, "utf-8")
    return Decoded(f"{majority}+{minority}", b"".join(out), 0, frozenset(lines.tolist()), minority)
