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
the wrong width instead; the file is then re-read with the ``csv`` module, and each such
row gets a ``RAGGED_ROW`` issue: missing fields are null, surplus fields are kept in
``extra_1``, ``extra_2``... columns (null on regular rows) so no value is lost.

A file that cannot be imported at all raises ``LeadFileError``; a bad row never raises.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from schemas.codes import Issue
from schemas.raw_leads import ISSUE
from transforms.errors import LeadFileError
from transforms.ingest_parquet import read_parquet_text
from transforms.issues import append_issue_rows
from transforms.lists import empty_lists

__all__ = ["DELIMITERS", "IngestedFile", "read_lead_file"]

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Candidate delimiters, in order of preference when the sniff cannot tell them apart."""

RESERVED_COLUMNS: tuple[str, ...] = ("source_row", "issues")

_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 200
_BLOCK_BYTES = 1 << 24
_EOL = re.compile(r"\r\n|\r|\n")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GUESSED = ("cp1252", "latin-1")
"""Encodings inferred from invalid UTF-8 alone: binary junk lands here, so control characters count."""
_SAVE_AS = "Export or save the leads as CSV (UTF-8) or Parquet and try again"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)


@dataclass(frozen=True)
class IngestedFile:
    """One lead file as read: the frame plus what was detected about the file.

    ``frame`` holds the file's columns (unique names, file order, all ``pl.String``), then
    ``source_row`` (Int64, 1..n) and ``issues`` (List(ISSUE), ``RAGGED_ROW`` findings).
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


def read_lead_file(path: Path) -> IngestedFile:
    """Read a CSV or Parquet lead file; raise ``LeadFileError`` if it cannot be imported."""
    data = _read_bytes(path)
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
        frame, encoding, delimiter = _read_csv(path, data)
        return IngestedFile(path, frame, encoding, delimiter, "csv", fingerprint.result())


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise LeadFileError(
            path, "this is a directory, not a lead file", "Give the path of one CSV or Parquet file"
        )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LeadFileError(path, "the file does not exist", "Check the path and the file name") from None
    except OSError as exc:
        raise LeadFileError(
            path,
            f"the file cannot be read ({exc.strerror or type(exc).__name__})",
            "Check that it is readable",
        ) from None


def _read_csv(path: Path, data: bytes) -> tuple[pl.DataFrame, str, str]:
    encoding, buffer, start = _as_utf8(path, data)
    head = _head(buffer, start)
    if not head.strip() and not buffer[start:].decode("utf-8").strip():
        raise LeadFileError(
            path, "the file is empty", "Export the leads again with a header row and data rows"
        )
    if b"\x00" in buffer or (encoding in _GUESSED and _control_share(head[:4096]) > 0.05):
        raise LeadFileError(path, "the file is binary, not text (CSV)", _SAVE_AS)
    delimiter = _sniff_delimiter(head, truncated=len(buffer) - start > _SNIFF_BYTES)
    header, header_chars = _split_header(head, delimiter)
    if header_chars >= len(head) and len(buffer) - start > _SNIFF_BYTES:
        head = buffer[start:].decode("utf-8")
        header, header_chars = _split_header(head, delimiter)
    if header is None:
        raise LeadFileError(path, "the file has no header row", "Add a header row naming the columns")
    names = _unique_names(header)
    offset = start + len(head[:header_chars].encode("utf-8"))
    frame = _read_regular(buffer, offset, names, delimiter)
    if frame is None:
        frame = _read_ragged(path, buffer[offset:].decode("utf-8"), names, delimiter)
    return frame, encoding, delimiter


def _as_utf8(path: Path, data: bytes) -> tuple[str, bytes, int]:
    """The detected encoding, and the file as valid UTF-8 bytes from an offset (no copy for UTF-8)."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise LeadFileError(path, f"the file is not a CSV file, it looks like {what}", _SAVE_AS)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8-sig" and _is_utf8(data):
                return encoding, data, len(bom)
            try:
                return encoding, data.decode(encoding).encode("utf-8"), 0
            except UnicodeDecodeError:
                raise LeadFileError(
                    path,
                    f"the file starts with a {encoding} byte-order mark but is not valid {encoding}",
                    _SAVE_AS,
                ) from None
    if _is_utf8(data):
        return "utf-8", data, 0
    try:
        return "cp1252", data.decode("cp1252").encode("utf-8"), 0
    except UnicodeDecodeError:
        return "latin-1", data.decode("latin-1").encode("utf-8"), 0


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


def _head(buffer: bytes, start: int) -> str:
    return buffer[start : start + _SNIFF_BYTES].decode("utf-8", errors="ignore")


def _control_share(sample: str) -> float:
    controls = sum(1 for char in sample if char < " " and char not in "\t\r\n\f")
    return controls / max(len(sample), 1)


def _sniff_delimiter(head: str, truncated: bool) -> str:
    """The delimiter that splits the header into most fields, consistently over the next records."""
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
    """The first non-blank record and the offset in ``text`` where the data records start."""
    consumed = [0]

    def lines() -> Iterator[str]:
        position = 0
        while position < len(text):
            match = _EOL.search(text, position)
            end = consumed[0] = match.end() if match else len(text)
            yield text[position:end]
            position = end

    with _large_fields():
        for record in csv.reader(lines(), delimiter=delimiter):
            if any(field.strip() for field in record):
                return record, consumed[0]
    return None, len(text)


def _unique_names(header: list[str]) -> list[str]:
    """Header names trimmed, blanks named ``column_<n>``, repeats suffixed ``_2``, ``_3``..."""
    base = [name.strip() or f"column_{position}" for position, name in enumerate(header, start=1)]
    return _dedupe_names(base, taken=set(RESERVED_COLUMNS))


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
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return _finish(frame.rename(dict(zip(keys, names, strict=True))))


def _read_ragged(path: Path, body: str, names: list[str], delimiter: str) -> pl.DataFrame:
    """The careful re-read: every record kept, wrong widths padded or spilled into extra columns."""
    with _large_fields():
        try:
            records = [
                record for record in csv.reader(io.StringIO(body, newline=""), delimiter=delimiter) if record
            ]
        except csv.Error as exc:
            raise LeadFileError(path, f"the CSV structure is broken ({exc})", _SAVE_AS) from None
    width = len(names)
    spill = max((len(record) for record in records), default=width) - width
    all_names = names + _dedupe_names(
        [f"extra_{n}" for n in range(1, spill + 1)], taken=set(names) | set(RESERVED_COLUMNS)
    )
    total = len(all_names)
    padded = [record if len(record) == total else record + [""] * (total - len(record)) for record in records]
    columns = list(zip(*padded, strict=True)) if padded else [()] * total
    frame = pl.DataFrame(
        [pl.Series(name, values, dtype=pl.String) for name, values in zip(all_names, columns, strict=True)]
    ).with_columns(pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in all_names)
    fields = pl.Series("fields", [len(record) for record in records], dtype=pl.Int64)
    ragged = pl.concat_list(
        pl.struct(
            code=pl.lit(Issue.RAGGED_ROW.value),
            column=pl.lit(None, dtype=pl.String),
            value=pl.format("expected {} fields, got {}", pl.lit(width), pl.lit(fields)),
        )
    )
    return _finish(frame, pl.when(pl.lit(fields) == width).then(_NO_ISSUES).otherwise(ragged))


_NO_ISSUES = pl.lit([], dtype=pl.List(ISSUE))


def _finish(frame: pl.DataFrame, issues: pl.Expr | None = None) -> pl.DataFrame:
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
    frame, found = read_parquet_text(path, data, _unique_names)
    return append_issue_rows(_finish(frame), [found])
