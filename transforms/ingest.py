"""Ingest: one lead file (CSV or Parquet) in, one all-string polars frame out.

Lead files come from spreadsheets and CRM exports in every dialect, so ingest detects
instead of asking: the format by its magic bytes, the text encoding (BOM, then strict UTF-8,
then cp1252, then Latin-1), and the delimiter by parsing the first lines with each of
``, ; \\t |`` and keeping the one that splits the header into the most fields with the most
consistent width. Every value stays a string (leading zeros survive); an empty field is
null. ``source_row`` is the 1-based number of the data record (a quoted field spanning
lines is one record; blank lines are not records).

Regular files take the fast path, Arrow's multi-threaded CSV reader. polars' own reader is
not used because it pads a short row with empty strings that cannot be told from empty
trailing fields, so a row missing fields would pass unnoticed. Arrow refuses any row of
the wrong width instead; the file is then re-read by ``transforms.csv_lines``, and each such
row gets a ``RAGGED_ROW`` issue: missing fields are null, surplus fields are kept in
``extra_1``, ``extra_2``... columns (null on regular rows) so no value is lost.

Rows never vanish into a quote: when the file has quotes, Arrow's records are counted
against the file's non-blank lines (a cheap scan of the bytes; a file without quotes cannot
merge lines). If values span lines and a quote is out of place, the file is re-read by
``transforms.csv_lines``, which keeps genuine multi-line values and turns a quote that
swallowed lines into an ``UNTERMINATED_QUOTE`` issue on the row where it opened, the
following lines read as rows again. A file mixing UTF-8 and cp1252 lines is decoded line
by line (``transforms.encodings``), its minority lines' rows flagged ``ENCODING_MIXED``.

NUL bytes (0x00) are no text, but a crashed export or a value pasted from a binary field
leaves a few in a text CSV: they are removed (the text around them kept) and the rows whose
lines held one flagged ``NUL_BYTE_REMOVED``; a file without NUL pays one ``bytes.find``. A
file is still refused as not a text CSV when its NULs say so: UTF-16 without a BOM (every
other byte), a head of control bytes (over 5% of its first 4 KB: xlsx, zip, images), a NUL
in the header (the columns cannot be named), or NULs on more than 10 lines plus one in a
thousand: damage touches a handful of lines, a binary file or a wrong encoding has NULs on
nearly every line, and a CSV damaged on many lines would have many rows' values in doubt.
The streamed readers leave such a file to this one, so every mode reads it the same way.

A file that cannot be imported at all raises ``LeadFileError``; a bad row never raises.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from schemas.raw_leads import ISSUE
from transforms.eof_marker import without_marker
from transforms.errors import LeadFileError
from transforms.issues import append_issue_rows
from transforms.lists import empty_lists

if TYPE_CHECKING:
    from transforms.csv_lines import Foreign

# transforms.csv_lines and transforms.encodings (~10 ms to import) are imported where the
# careful reader, a header over several lines or a file read whole needs them: a file that
# is streamed (transforms.ingest_batches) only has its head sniffed here

__all__ = ["DELIMITERS", "IngestedFile", "check_readable", "read_file_bytes", "read_lead_file"]

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Candidate delimiters, in order of preference when the sniff cannot tell them apart."""

RESERVED_COLUMNS: tuple[str, ...] = ("source_row", "issues")

_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 200
_BLOCK_BYTES = 1 << 24
_EOL = re.compile(r"\r\n|\r|\n")
_EXCEL_SEP = re.compile(r'"?sep=([^\w\s"]|\t)"?[ \t]*(?:\r\n|\r|\n)', re.IGNORECASE)
"""Excel's separator line (``sep=;``) before the header, which Excel reads and some exports
write for it: it names the delimiter, and is no header (read as one, the file had none of its
columns)."""
_GUESSED = ("cp1252", "latin-1")
"""Encodings inferred from invalid UTF-8 alone: binary junk lands here, so control characters count.
A mixed file's name joins two with ``+`` (``utf-8+cp1252``) and counts as guessed too."""


@dataclass(frozen=True)
class IngestedFile:
    """One lead file as read: the frame plus what was detected about the file.

    ``frame`` holds the file's columns (unique names, file order, all ``pl.String``), then
    ``source_row`` (Int64, 1..n) and ``issues`` (List(ISSUE): ``RAGGED_ROW``,
    ``UNTERMINATED_QUOTE``, ``ENCODING_MIXED`` findings).
    ``encoding`` is the detected text encoding ("binary" for Parquet), ``delimiter`` None for Parquet.
    ``fingerprint`` is the sha256 of the file's bytes, for exactly-once intake.
    """

    path: Path
    frame: pl.DataFrame
    encoding: str
    delimiter: str | None
    format: Literal["csv", "parquet"]
    fingerprint: str

    @property
    def headers(self) -> list[str]:
        """The file's own column names (as made unique), without ``source_row``/``issues``."""
        return [name for name in self.frame.columns if name not in RESERVED_COLUMNS]


def read_lead_file(path: Path, encoding: str | None = None) -> IngestedFile:
    """Read a CSV or Parquet lead file; raise ``LeadFileError`` if it cannot be imported.

    ``encoding`` (a name ``transforms.encodings.checked_encoding`` returned): the CSV's text
    encoding as the operator gave it, decoded strictly instead of detected; a Parquet file
    ignores it."""
    data = read_file_bytes(path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        fingerprint = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if data.startswith(b"PAR1"):
            return IngestedFile(
                path, _read_parquet(path, data), "binary", None, "parquet", fingerprint.result()
            )
        if path.suffix.lower() in (".parquet", ".pq"):
            raise LeadFileError(
                path,
                "the file is named like Parquet but is not a Parquet file",
                "Export the Parquet file again",
            )
        frame, found, delimiter = _read_csv(path, without_marker(data, encoding), encoding)
        return IngestedFile(path, frame, found, delimiter, "csv", fingerprint.result())


def check_readable(path: Path) -> None:
    """``LeadFileError`` unless ``path`` is a file this process may open, in the words
    ``read_lead_file`` uses, without reading it: what a caller checks before handing the file
    to work that would report the same mistake later (``leadflow import --prefect``)."""
    with _opened(path):
        pass


def read_file_bytes(path: Path) -> bytes:
    """The bytes of ``path``, or ``LeadFileError`` saying why not (a directory, a missing or
    unreadable file): the words every input file gets, leads and do-not-contact lists alike."""
    with _opened(path) as file:
        try:
            return file.read()
        except OSError as exc:
            raise _unreadable(path, exc) from None


@contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    if path.is_dir():
        raise LeadFileError(
            path, "this is a directory, not a lead file", "Give the path of one CSV or Parquet file"
        )
    try:
        file = path.open("rb")
    except FileNotFoundError:
        raise LeadFileError(path, "the file does not exist", "Check the path and the file name") from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with file:
        yield file


def _unreadable(path: Path, exc: OSError) -> LeadFileError:
    return LeadFileError(
        path, f"the file cannot be read ({exc.strerror or type(exc).__name__})", "Check that it is readable"
    )


def _read_csv(path: Path, data: bytes, given: str | None = None) -> tuple[pl.DataFrame, str, str]:
    from transforms.code_pages import code_page_error
    from transforms.csv_lines import Foreign, lines_are_records
    from transforms.encodings import SAVE_AS, as_utf8, decode_as, nul_byte_error, other_script_error

    decoded = as_utf8(path, data) if given is None else decode_as(path, data, given)
    encoding, buffer, start = decoded.encoding, decoded.buffer, decoded.start
    head = _head(buffer, start)
    if not head.strip() and not buffer[start:].decode("utf-8").strip():
        raise LeadFileError(
            path, "the file is empty", "Export the leads again with a header row and data rows"
        )
    guessed = given is None and (encoding in _GUESSED or "+" in encoding)
    nul = buffer.find(b"\x00", start)
    nul_lines: list[int] = []
    if nul >= 0:  # the clean path pays this find only
        # a line of NULs alone stays a row (a space and its NULs), not a blank line dropped
        buffer = _NUL_ONLY_LINE.sub(b" \\g<0>", buffer)
        nul = buffer.find(b"\x00", start)
        nul_lines = _nul_lines(path, buffer, start, nul, head)
        buffer = buffer.replace(b"\x00", b"")
        head = _head(buffer, start)
    elif guessed and _control_share(head[:4096]) > 0.05:
        raise LeadFileError(path, "the file is binary, not text (CSV)", SAVE_AS)
    if guessed and encoding in _GUESSED:
        refusal = other_script_error(path, head) or code_page_error(path, head)
        if refusal is not None:
            raise refusal
    delimiter = _sniff_delimiter(head, truncated=len(buffer) - start > _SNIFF_BYTES)
    header, header_chars = _split_header(head, delimiter)
    if header_chars >= len(head) and len(buffer) - start > _SNIFF_BYTES:
        head = buffer[start:].decode("utf-8")
        header, header_chars = _split_header(head, delimiter)
    if header is None:
        raise LeadFileError(path, "the file has no header row", "Add a header row naming the columns")
    names = _unique_names(header)
    offset = start + len(head[:header_chars].encode("utf-8"))
    if nul >= 0 and nul < offset:  # the NULs removed come after the first: it is where it was
        raise nul_byte_error(path, buffer.count(b"\n", start, nul) + 1, b"", where="in the header")
    marked = decoded.foreign_lines or nul_lines
    header_lines = len(_EOL.findall(head, 0, header_chars)) if marked else 0
    foreign = Foreign(
        [line - header_lines for line in decoded.foreign_lines if line >= header_lines],
        decoded.foreign_as,
        encoding.split("+")[0],
        [line - header_lines for line in nul_lines],
    )
    frame = _read_regular(buffer, offset, names, delimiter)
    if frame is not None and (foreign.lines or foreign.nul_lines):
        # a mixed file's rows are found by their lines: only where row i is line i
        if lines_are_records(buffer, offset, frame.height):
            frame = frame.with_columns(foreign.issues(frame.height))
        else:
            frame = None
    if frame is None:
        frame = _read_careful(path, buffer[offset:].decode("utf-8"), names, delimiter, foreign)
    return frame, encoding, delimiter


_NUL_ONLY_LINE = re.compile(rb"(?:(?<=\n)|(?<=\r)(?!\x00*\n))\x00+(?=[\r\n]|\Z)")
"""A data line of NUL bytes alone. Removed, they would leave a blank line, which is no row: the
line would vanish from the results. Before them goes a space: the line is a row of one blank
field (``RAGGED_ROW``, no channel), flagged ``NUL_BYTE_REMOVED`` as any line that held a NUL.
NULs between a CR and its LF are no line: they are damage in that line's end, which stays one
(:func:`_nul_lines` marks the line before)."""

_NUL_LINES_ALLOWED = 10
"""NUL-holding lines a text CSV may have, plus one per ``_NUL_LINES_PER`` lines (module docstring)."""
_NUL_LINES_PER = 1000
_NUL_PIECE_BYTES = 1 << 24


def _nul_lines(path: Path, buffer: bytes, start: int, first: int, head: str) -> list[int]:
    """The 0-based physical lines (from ``start``) of a text CSV's few NUL bytes, the first at
    ``first``; ``LeadFileError`` for a file that is not a text CSV: UTF-16 without a BOM, a
    binary head (control bytes over 5% of its first 4 KB), a NUL on the first line (the header),
    or NULs on more lines than a
    damaged text file has (``_NUL_LINES_ALLOWED``, plus one a thousand lines)."""
    import numpy as np

    from transforms.encodings import nul_byte_error
    from transforms.line_pieces import line_starts_before

    line = buffer.count(b"\n", start, first) + 1
    sample = head[:4096]
    controls, others = _control_share(sample), _control_share(sample.replace("\x00", ""))
    if others > 0.05 or controls > 0.25:  # binary, or UTF-32 (three NULs a character)
        raise nul_byte_error(path, line, buffer[start : start + 4096])
    if b"\n" not in buffer[start:first] and b"\r" not in buffer[start:first]:
        raise nul_byte_error(path, line, buffer[start : start + 4096], where="in the header")
    if controls > 0.05 and len(sample) >= 1024:  # NULs dense in a text head are no damage (in
        # a few lines, two NULs are that many: the line count below judges those)
        raise nul_byte_error(path, line, buffer[start : start + 4096])
    found: list[np.ndarray] = []
    position, lines_before = start, 0
    while position < len(buffer):  # in pieces cut after a \n: numpy's masks stay 16 MB
        cut = buffer.find(b"\n", position + _NUL_PIECE_BYTES)
        end = len(buffer) if cut < 0 else cut + 1
        piece = buffer[position:end]
        if b"\x00" in piece:  # lines counted as the reader sees them: a NUL in a \r\n joins it
            at = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == 0)
            piece = piece.replace(b"\x00", b"")
            at -= np.arange(at.size)
            lines = line_starts_before(piece, at)
            raw = np.frombuffer(piece, dtype=np.uint8)
            inside = (at > 0) & (at < raw.size)
            inside[inside] &= (raw[at[inside]] == 10) & (raw[at[inside] - 1] == 13)
            found.append(lines - inside + lines_before)
        lines_before += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
        position = end
    lines = np.unique(np.concatenate(found))
    allowed = _NUL_LINES_ALLOWED + buffer.count(b"\n", start) // _NUL_LINES_PER
    if lines.size > allowed:
        raise nul_byte_error(path, line, buffer[start : start + 4096], lines=int(lines.size))
    result: list[int] = lines.tolist()
    return result


def _head(buffer: bytes, start: int) -> str:
    return buffer[start : start + _SNIFF_BYTES].decode("utf-8", errors="ignore")


def _control_share(sample: str) -> float:
    controls = sum(1 for char in sample if char < " " and char not in "\t\r\n\f")
    return controls / max(len(sample), 1)


def _sniff_delimiter(head: str, truncated: bool) -> str:
    """The delimiter that splits the header into most fields, consistently over the next
    records; the one an Excel separator line (``sep=;``) names, when the file starts with one."""
    if (excel := _EXCEL_SEP.match(head)) is not None:
        return excel.group(1)
    if truncated and "\n" in head:
        head = head[: head.rindex("\n")]
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for delimiter in DELIMITERS:
        records = [
            record for record in _limited_records(head, delimiter) if any(field.strip() for field in record)
        ]
        width = len(records[0]) if records else 0
        if width < 2:
            continue
        rest = records[1:]
        consistency = sum(len(record) == width for record in rest) / len(rest) if rest else 1.0
        if best is None or (consistency, width) > best:
            best, chosen = (consistency, width), delimiter
    if chosen is not None:
        return chosen
    return next((delimiter for delimiter in DELIMITERS if delimiter not in head), DELIMITERS[0])


def _limited_records(head: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
            if len(records) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    return records


def _split_header(text: str, delimiter: str) -> tuple[list[str] | None, int]:
    """The first non-blank record and the offset in ``text`` where the data records start.

    A header whose quote is left open would take the data lines with it (no rows at all):
    such a header is its first line alone, the open quote a literal ``"``. An Excel separator
    line naming ``delimiter`` before it is skipped."""
    excel = _EXCEL_SEP.match(text)
    skipped = excel.end() if excel is not None and excel.group(1) == delimiter else 0
    consumed = [skipped]

    def lines() -> Iterator[str]:
        position = skipped
        while position < len(text):
            match = _EOL.search(text, position)
            end = consumed[0] = match.end() if match else len(text)
            yield text[position:end]
            position = end

    with _large_fields():
        begin = skipped
        for record in csv.reader(lines(), delimiter=delimiter):
            if any(field.strip() for field in record):
                first = _EOL.search(text, begin)
                if first is None or first.end() >= consumed[0]:
                    return record, consumed[0]
                from transforms.csv_lines import split_line, well_formed  # a header over several lines

                if well_formed(text[begin : consumed[0]], delimiter):
                    return record, consumed[0]
                return split_line(text[begin : first.end()], delimiter)[0], first.end()
            begin = consumed[0]
    return None, len(text)


def _unique_names(header: list[str]) -> list[str]:
    """Header names trimmed, blanks named ``column_<n>``, repeats suffixed ``_2``, ``_3``..."""
    base = [name.strip() or f"column_{position}" for position, name in enumerate(header, start=1)]
    return _dedupe_names(base, taken=set(RESERVED_COLUMNS))


def sniffed_layout(head: str, *, truncated: bool) -> tuple[str, list[str], int] | None:
    """What the file's first ``_SNIFF_BYTES`` (decoded: ``head``) say of its layout, sniffed
    as :func:`read_lead_file` sniffs it: (delimiter, unique column names, the header's length in
    characters); None where only the careful path can decide: a blank head, no header, or a
    header longer than the sniffed head. The streamed readers (transforms.ingest_batches,
    transforms.csv_scan) start from it, so they frame a file as the careful reader does."""
    if not head.strip():
        return None
    delimiter = _sniff_delimiter(head, truncated=truncated)
    header, header_chars = _split_header(head, delimiter)
    if header is None or (header_chars >= len(head) and truncated):
        return None
    return delimiter, _unique_names(header), header_chars


def _dedupe_names(base: list[str], taken: set[str]) -> list[str]:
    wanted = set(base)
    names: list[str] = []
    for name in base:
        candidate, suffix = name, 1
        while candidate in taken or (candidate != name and candidate in wanted):
            suffix += 1
            candidate = f"{name}_{suffix}"
        taken.add(candidate)
        names.append(candidate)
    return names


def _read_regular(buffer: bytes, offset: int, names: list[str], delimiter: str) -> pl.DataFrame | None:
    """Arrow's parallel reader for UTF-8 data whose every record has the header's width, else None."""
    keys = [f"c{index}" for index in range(len(names))]
    quoted = buffer.find(b'"', offset) >= 0
    try:
        table = pacsv.read_csv(
            pa.BufferReader(memoryview(buffer)[offset:]),
            read_options=pacsv.ReadOptions(column_names=keys, block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid:
        return None
    from transforms.csv_lines import one_record_per_line, quotes_well_formed

    if (
        quoted
        and not one_record_per_line(buffer, offset, table.num_rows, delimiter)
        and not quotes_well_formed(buffer, offset, delimiter)
    ):
        return None  # a value spans lines, and a quote is out of place: csv_lines judges it
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return _finish(frame.rename(dict(zip(keys, names, strict=True))))


def _read_careful(path: Path, body: str, names: list[str], delimiter: str, foreign: Foreign) -> pl.DataFrame:
    """The careful re-read: every record kept and tied to its lines (``transforms.csv_lines``)."""
    from transforms.csv_lines import read_records, records_frame

    with _large_fields():
        read = read_records(path, body, delimiter, len(names), names)
    spill = max((len(record) for record in read.records), default=len(names)) - len(names)
    extras = _dedupe_names(
        [f"extra_{n}" for n in range(1, spill + 1)], taken=set(names) | set(RESERVED_COLUMNS)
    )
    frame, issues = records_frame(read, names + extras, len(names), foreign)
    return _finish(frame, issues)


def _finish(frame: pl.DataFrame, issues: pl.Series | None = None) -> pl.DataFrame:
    """``source_row`` and ``issues`` (none, unless given) added to the file's columns."""
    return frame.with_columns(
        source_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        issues=empty_lists(frame.height, ISSUE, name="issues") if issues is None else issues,
    )


@contextmanager
def _large_fields() -> Iterator[None]:
    """Lift the csv module's 128 KiB field limit: a lead file may hold long notes."""
    previous = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_parquet(path: Path, data: bytes) -> pl.DataFrame:
    """Every column as text (transforms.ingest_parquet says how each Arrow type is rendered)."""
    from transforms.ingest_parquet import read_parquet_text  # a CSV file needs none of it

    frame, found = read_parquet_text(path, data, _unique_names)
    return append_issue_rows(_finish(frame), [found])
