"""Ingest in batches: a lead file as a sequence of frames of at most ``batch_rows`` rows.

Why: ``read_lead_file`` holds the whole file (its bytes, then its columns) in memory, about
1.1 GB per million rows by the end of a run; a file of tens of millions of rows does not fit.
Here the usual big file, UTF-8 text whose every line is one record of the header's width,
is checked in one pass over its bytes (16 MB at a time: the sha256 fingerprint, UTF-8, no
NUL, no quote, the width of every non-blank line) and then read by Arrow's streaming CSV
reader, a few MB at a time. Each batch is exactly the slice of the frame ``read_lead_file``
would have made (same columns, ``source_row`` counted across batches, no issues: such a file
has none).

A Parquet file whose columns Leadflow can all render is read a batch at a time too
(``iter_batches``, each batch rendered by transforms.ingest_parquet's general path, which
renders as its fast path does).

A CSV with quoted values (spanning lines or not) or in cp1252 is streamed as well when one
quote-aware pass (transforms.csv_scan) finds it well formed, read by the same reader with
quoting and transcoding. A CSV with ragged records, mixed UTF-8/cp1252 lines, Latin-1 bytes,
or stray and open quotes is streamed by a block reader (transforms.damaged_scan,
transforms.damaged_walk, transforms.damaged_batches) that gives read_lead_file's findings
(RAGGED_ROW, ENCODING_MIXED, UNTERMINATED_QUOTE with the lines each quote ran over) and
``extra_<n>`` columns; a NUL byte leaves the file to read_lead_file (NUL_BYTE_REMOVED rows). A CSV in an
encoding the operator named (``--encoding``) is checked strictly by transforms.named_scan and
streamed by the same readers, when the encoding is UTF-8 or a single-byte code page. Every other
file (a record over 64 MB, an unreadable or empty file, a head that sniffs differently once
decoded, data lines that start with a byte-order mark) goes through ``read_lead_file``
itself, whose frame is then handed out in slices: its file-level errors and findings are
today's by construction, only the memory stays what it is for those files.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from transforms.csv_scan import TextCsv, data_start_is_bom, scan_text_csv
from transforms.encodings import text_format_of
from transforms.eof_marker import text_end
from transforms.errors import LeadFileError
from transforms.hashed_read import hashed_blocks
from transforms.ingest import (
    _SNIFF_BYTES,
    IngestedFile,
    _finish,
    _unique_names,
    read_lead_file,
    sniffed_layout,
)
from transforms.issues import append_issue_rows

log = logging.getLogger("leadflow.ingest")

__all__ = [
    "BATCH_ROWS_VARIABLE",
    "DEFAULT_BATCH_ROWS",
    "SMALL_FILE_BATCH_ROWS",
    "SMALL_FILE_ROWS",
    "LeadBatches",
    "RowsPerBatch",
    "batch_rows",
    "open_lead_batches",
    "validate_batch_rows",
]

BATCH_ROWS_VARIABLE = "LEADFLOW_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 100_000
"""Rows per batch unless $LEADFLOW_BATCH_ROWS says otherwise, chosen by bench/normalize.py (2-core
machine): the memory a big file's run holds beside its batches grows with the file (its dedupe
keys, about 45 MB per million rows): at 10M rows 100k-row batches peaked at 1.08 GB, 150k at
1.20; and ``leadflow import`` holds two batches, their payloads and chunks (the import_leads
flow's dry run of 1M rows, bench/flow_memory.py: 1.23 GB at 100k, 1.77 at 200k, no faster)."""

SMALL_FILE_ROWS = 1_250_000
SMALL_FILE_BATCH_ROWS = 200_000
"""Rows per batch of :func:`validate_batch_rows` for a file of at most :data:`SMALL_FILE_ROWS`
rows. Why larger there: a batch's fixed costs (some 300 polars queries planned and run, each
with serial parts) are paid half as often and both cores stay busier: ``leadflow validate`` of
a 1M-row file took 0.94 of the wall time and CPU of 100k-row batches (seven pairs, 5.56 s
against 5.86 median), peaking at 873-895 MiB rather than 702; 1.5M rows peaked at 913-946
MiB (three runs) and 2M at 947 (100k: 777), so files of up to 1.25M rows stay clear of issue
17's 1.0 GB (954 MiB); beyond, 100k-row batches leave the file's dedupe keys room."""

_SCAN_BYTES = 1 << 23
_LONGEST_LINE = 1 << 26
"""A 'line' longer than this (a file with ``\\r`` line ends only, say) is read the old way."""
_ARROW_BLOCK = 1 << 22
_NOT_STREAMED = (
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"PAR1",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"%PDF",  # read_lead_file refuses a PDF even when its first bytes read as a header
)


def batch_rows(chosen: int | None = None) -> int:
    """Rows per batch: $LEADFLOW_BATCH_ROWS (a positive integer), else ``chosen`` (default
    :data:`DEFAULT_BATCH_ROWS`). Any other value is warned about (the variable, its value, the
    size used instead): an operator who wrote ``50k`` to halve the memory must not believe it
    was taken."""
    chosen = DEFAULT_BATCH_ROWS if chosen is None else chosen
    given = os.environ.get(BATCH_ROWS_VARIABLE, "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    if given:
        log.warning(
            "$%s is %r, not a positive whole number of rows: batches of %d rows are used instead",
            BATCH_ROWS_VARIABLE,
            given,
            chosen,
        )
    return chosen


def validate_batch_rows(file_rows: int) -> int:
    """Rows per batch of a run that holds one batch at a time (``leadflow validate``):
    :func:`batch_rows` of :data:`SMALL_FILE_BATCH_ROWS` for a file of at most
    :data:`SMALL_FILE_ROWS` rows, of :data:`DEFAULT_BATCH_ROWS` for a bigger one."""
    return batch_rows(SMALL_FILE_BATCH_ROWS if file_rows <= SMALL_FILE_ROWS else DEFAULT_BATCH_ROWS)


RowsPerBatch = int | Callable[[int], int] | None
"""A batch size: rows, a rule from the file's rows (:func:`validate_batch_rows`), or None for
:func:`batch_rows`."""


def _batch_size(rows_per_batch: RowsPerBatch, file_rows: int) -> int:
    if not rows_per_batch:  # None, or 0 as before: the setting or the default
        return batch_rows()
    if isinstance(rows_per_batch, int):
        return rows_per_batch
    return rows_per_batch(file_rows)


@dataclass(frozen=True)
class LeadBatches:
    """A lead file ready to be read in batches.

    ``ingested`` describes the file as ``read_lead_file`` would (path, encoding, delimiter,
    format, fingerprint) with an empty frame of the file's columns; ``rows`` is the number of
    data rows; ``batches()`` reads the file (again) from its start, batch by batch (at least
    one batch, empty for a file of no rows).
    ``streamed`` says whether the file is read a batch at a time (False: it is held whole).
    ``columns``, where the file is read by Arrow's CSV reader: only the named columns of the
    file (``ingested.headers``), as the same text, in file order, in frames of about
    ``batches``' size without ``source_row`` or ``issues``. Why: a pass that needs two or
    three columns (the region inference, flows.prepare_batches) converts and maps those only,
    a fraction of reading every column; None for the other files (read them with ``batches``).
    ``size``: the rows of a batch at most (a file of no more ``rows`` is one batch, or a few
    smaller ones where a Parquet file's row groups cut it).
    """

    ingested: IngestedFile
    rows: int
    batches: Callable[[], Iterator[pl.DataFrame]]
    streamed: bool
    columns: Callable[[Sequence[str]], Iterator[pl.DataFrame]] | None = None
    size: int = DEFAULT_BATCH_ROWS


def open_lead_batches(
    path: Path, rows_per_batch: RowsPerBatch = None, encoding: str | None = None
) -> LeadBatches:
    """The file as batches of ``rows_per_batch`` rows (:data:`RowsPerBatch`: a rule is given the
    file's rows, counted by the scan before the first batch); raises
    ``LeadFileError`` exactly where ``read_lead_file`` does. A CSV with an operator's
    ``encoding`` (``--encoding``) in an encoding a byte scan can read (UTF-8, single-byte code
    pages) is streamed: by Arrow when transforms.named_scan finds it well formed, else by the
    damaged file's reader; in any other encoding (that module's docstring says which and why),
    or when neither takes it, it is read whole by ``read_lead_file`` and handed out in slices."""
    if encoding is not None:
        parquet = _streamable_parquet(path)  # a Parquet file has no text encoding to apply
        if parquet is not None:
            return _parquet(*parquet, rows_per_batch)
        from transforms.named_scan import scan_named_csv, streamable_encoding

        named = scan_named_csv(path, encoding)  # raises read_lead_file's error for a bad byte
        if named is not None:
            return _streamed_text(named, rows_per_batch)
        if streamable_encoding(encoding) is not None:
            damaged = _damaged(path, rows_per_batch, encoding)  # ragged rows, stray quotes
            if damaged is not None:
                return damaged
        return _whole(path, rows_per_batch, encoding)
    streamed = _streamable_csv(path)
    if streamed is not None:
        ingested, offset, rows = streamed
        size = _batch_size(rows_per_batch, rows)
        if rows == 0:  # Arrow's streaming reader refuses a body of no records
            return LeadBatches(ingested, 0, lambda: iter([ingested.frame]), True, size=size)
        return LeadBatches(
            ingested,
            rows,
            lambda: _csv_batches(ingested, offset, size),
            True,
            lambda names: _csv_columns(ingested, offset, size, names),
            size,
        )
    text = scan_text_csv(path)  # quoted values, cp1252
    if text is not None:
        return _streamed_text(text, rows_per_batch)
    parquet = _streamable_parquet(path)
    if parquet is not None:
        return _parquet(*parquet, rows_per_batch)
    damaged = _damaged(path, rows_per_batch)  # ragged rows, mixed or Latin-1 encodings
    return _whole(path, rows_per_batch) if damaged is None else damaged


def _parquet(ingested: IngestedFile, rows: int, rows_per_batch: RowsPerBatch) -> LeadBatches:
    """A Parquet file read a row group at a time (:func:`_parquet_batches`)."""
    size = _batch_size(rows_per_batch, rows)
    return LeadBatches(ingested, rows, lambda: _parquet_batches(ingested, size), True, size=size)


def _damaged(path: Path, rows_per_batch: RowsPerBatch, encoding: str | None = None) -> LeadBatches | None:
    """The file streamed by the damaged file's reader (transforms.damaged_scan), else None."""
    # six modules, ~20 ms to import: only for a file that needs them
    from transforms.damaged_batches import damaged_batches
    from transforms.damaged_scan import scan_damaged_csv

    damaged = scan_damaged_csv(path, encoding)
    if damaged is None:
        return None
    size = _batch_size(rows_per_batch, damaged.rows)
    return LeadBatches(
        damaged.ingested, damaged.rows, lambda: damaged_batches(damaged, size), True, size=size
    )


def _streamed_text(text: TextCsv, rows_per_batch: RowsPerBatch) -> LeadBatches:
    """A quoted, cp1252 or operator-encoded file (transforms.csv_scan, transforms.named_scan) read
    by Arrow's streaming reader, transcoding ``text.arrow_encoding``."""
    size = _batch_size(rows_per_batch, text.rows)
    if text.rows == 0:  # Arrow's streaming reader refuses a body of no records
        return LeadBatches(text.ingested, 0, lambda: iter([text.ingested.frame]), True, size=size)
    return LeadBatches(
        text.ingested,
        text.rows,
        lambda: _text_batches(text, size),
        True,
        lambda names: _csv_columns(
            text.ingested, text.offset, size, names, encoding=text.arrow_encoding, quoted=True
        ),
        size,
    )


def _whole(path: Path, rows_per_batch: RowsPerBatch, encoding: str | None = None) -> LeadBatches:
    """``read_lead_file``'s frame in slices of ``rows_per_batch`` rows (not streamed)."""
    whole = read_lead_file(path, encoding)
    frame = whole.frame
    size = _batch_size(rows_per_batch, frame.height)
    ingested = replace(whole, frame=frame.clear())

    def slices() -> Iterator[pl.DataFrame]:
        for start in range(0, max(frame.height, 1), size):  # a file of no rows: one empty batch
            yield frame.slice(start, size)

    return LeadBatches(ingested, frame.height, slices, False, size=size)


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_SCAN_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _streamable_parquet(path: Path) -> tuple[IngestedFile, int] | None:
    """(the file as detected, its rows) for a Parquet file whose every column Leadflow renders
    as text (transforms.ingest_parquet), read a row group at a time; else None (read whole)."""
    try:
        with path.open("rb") as file:
            if file.read(4) != b"PAR1":
                return None
        metadata = pq.ParquetFile(path)
        schema = metadata.schema_arrow
        if not schema.names:
            return None
        from transforms.ingest_parquet import parquet_as_text

        names = _unique_names(list(schema.names))
        parquet_as_text(path, schema.empty_table(), names)  # refuses a type it cannot render
    except (pa.ArrowException, OSError, ValueError, TypeError, LeadFileError):
        return None  # read_lead_file says what is wrong, in its words
    frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    ingested = IngestedFile(path, _finish(frame), "binary", None, "parquet", _fingerprint(path))
    return ingested, metadata.metadata.num_rows


def _parquet_batches(ingested: IngestedFile, size: int) -> Iterator[pl.DataFrame]:
    """The file's rows as ``read_lead_file`` frames them, ``size`` rows a batch."""
    from transforms.ingest_parquet import parquet_as_text

    names = ingested.headers
    path = ingested.path
    done = 0
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=size)
        for record_batch in batches:
            text, found = parquet_as_text(path, pa.Table.from_batches([record_batch]), names)
            frame = append_issue_rows(_finish(text), [found]).with_columns(pl.col("source_row") + done)
            del text, found
            done += frame.height
            yield frame
            del frame
    except (pa.ArrowException, OSError) as exc:
        raise LeadFileError(
            path, f"the Parquet file cannot be read ({type(exc).__name__})", "Export the Parquet file again"
        ) from None
    if done == 0:
        yield ingested.frame


def _streamable_csv(path: Path) -> tuple[IngestedFile, int, int] | None:
    """(the file as detected, where its data records start, how many there are) when the file
    can be streamed (module docstring), else None."""
    try:
        if not path.is_file() or path.suffix.lower() in (".parquet", ".pq"):
            return None
        size = text_end(path)  # a DOS end-of-file marker is no text
        with path.open("rb") as file:
            first = file.read(min(_SNIFF_BYTES + len(codecs.BOM_UTF8), size))
    except OSError:
        return None
    if (
        not first
        or first.startswith(_NOT_STREAMED)
        or first.startswith(codecs.BOM_UTF32_LE)
        or text_format_of(first) is not None
    ):
        return None
    start = len(codecs.BOM_UTF8) if first.startswith(codecs.BOM_UTF8) else 0
    head = first[start : start + _SNIFF_BYTES].decode("utf-8", errors="ignore")
    truncated = size - start > _SNIFF_BYTES
    layout = sniffed_layout(head, truncated=truncated)
    if layout is None:
        return None  # no header, or one longer than the sniffed head: the careful path decides
    delimiter, names, header_chars = layout
    offset = start + len(head[:header_chars].encode("utf-8"))
    try:
        first[:offset].decode("utf-8")  # the header too must be UTF-8 (else the whole file is re-decoded)
    except UnicodeDecodeError:
        return None
    if b"\x00" in first[:offset]:
        return None  # read_lead_file refuses a NUL in the header
    if data_start_is_bom(path, offset):
        return None
    scanned = _scan(path, offset, delimiter, len(names))
    if scanned is None:
        return None
    fingerprint, rows = scanned
    encoding = "utf-8-sig" if start else "utf-8"
    frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    ingested = IngestedFile(path, _finish(frame), encoding, delimiter, "csv", fingerprint)
    return ingested, offset, rows


def _scan(path: Path, offset: int, delimiter: str, width: int) -> tuple[str, int] | None:
    """One pass over the bytes: (sha256, non-blank data lines) when every data line is UTF-8
    without NUL or quote and of ``width`` fields, else None."""
    digest = hashlib.sha256()
    rows, position, carry = 0, 0, b""
    separator = ord(delimiter)
    for chunk in hashed_blocks(path, _SCAN_BYTES, digest):
        begin = max(offset - position, 0)
        position += len(chunk)
        if begin >= len(chunk):
            continue
        data = carry + chunk[begin:] if carry else chunk[begin:]
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > _LONGEST_LINE:
                return None
            carry = data
            continue
        counted = _lines(data[:cut], separator, width)
        if counted is None:
            return None
        rows += counted
        carry = data[cut:]
    if carry:
        counted = _lines(carry, separator, width)
        if counted is None:
            return None
        rows += counted
    return digest.hexdigest(), rows


def _lines(block: bytes, separator: int, width: int) -> int | None:
    """Non-blank lines of ``block`` (whole lines) if each is clean UTF-8 of ``width`` fields."""
    if b"\x00" in block or b'"' in block or _long_line(block):
        return None
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if b"\r" not in block and not block.startswith(b"\n"):
        # a blank line breaks the pattern _plain_lines reads when lines hold separators (width
        # over 1): it is looked for only when that fails, because searching a block for
        # "\n\n" cost two thirds of what _plain_lines does (0.08 s of a 78 MB file's scan)
        if width > 1:
            counted = _plain_lines(block, separator, width)
            if counted is not None:
                return counted
        elif b"\n\n" not in block:
            return _plain_lines(block, separator, width)
    raw = np.frombuffer(block, dtype=np.uint8)
    following = np.append(raw[1:], np.uint8(0))
    is_end = (raw == 10) | ((raw == 13) & (following != 10))
    ends = np.flatnonzero(is_end)
    if ends.size == 0 or ends[-1] != raw.size - 1:
        ends = np.append(ends, raw.size)  # the file's last line, without a line end
    starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1] + 1])
    # a \r\n line's content ends before its \r
    padded = np.append(raw, np.uint8(0))
    crlf = (ends > starts) & (padded[ends] == 10) & (padded[np.maximum(ends - 1, 0)] == 13)
    content_end = ends - crlf
    blank = content_end <= starts
    separators = np.flatnonzero(raw == separator)
    fields = np.searchsorted(separators, content_end) - np.searchsorted(separators, starts) + 1
    if not bool(np.all(fields[~blank] == width)):
        return None
    return int(np.count_nonzero(~blank))


def _long_line(block: bytes) -> bool:
    """Whether a line of ``block`` may be too long for Arrow's streaming reader, which refuses a
    record over more than one of its blocks (:data:`_ARROW_BLOCK`, read_lead_file's read takes
    16 MB): a stretch of half a block without a line end, looked for at every half block (a line
    of a whole block holds one), each search stopping at the first line end it meets."""
    half = _ARROW_BLOCK // 2
    return any(
        block.find(b"\n", begin, begin + half) < 0 and block.find(b"\r", begin, begin + half) < 0
        for begin in range(0, len(block) - half + 1, half)
    )


def _plain_lines(block: bytes, separator: int, width: int) -> int | None:
    """:func:`_lines` for a block of ``\n`` line ends and no blank line (the usual file): its
    separators and line ends alone, in order, must read ``width - 1`` separators then a line
    end, line after line (the last line may lack its end). Compared as bytes: twice as fast
    as locating every line and counting its separators, the scan's main cost."""
    special = block.translate(None, _deleted_but(separator))
    open_end = not block.endswith(b"\n")
    rows, left = divmod(len(special) + open_end, width)
    if left:
        return None
    expected = (bytes([separator]) * (width - 1) + b"\n") * rows
    return rows if special == (expected[:-1] if open_end else expected) else None


@functools.cache
def _deleted_but(separator: int) -> bytes:
    return bytes(byte for byte in range(256) if byte not in (separator, 10))


def _text_batches(text: TextCsv, size: int) -> Iterator[pl.DataFrame]:
    """A quoted or cp1252 file's records (transforms.csv_scan), ``size`` rows a batch."""
    return _csv_batches(text.ingested, text.offset, size, encoding=text.arrow_encoding, quoted=True)


def _data_records(path: Path, offset: int) -> pa.NativeFile:
    """The file's bytes from ``offset`` to where its text ends (transforms.eof_marker): a file
    ending in a DOS end-of-file marker is read through a stream that stops before it."""
    end = text_end(path)
    file = pa.OSFile(str(path))
    if end < file.size():
        file.close()
        return pa.PythonFile(_Bounded(path, offset, end), mode="r")
    file.seek(offset)
    return file


class _Bounded(io.RawIOBase):
    """The bytes of ``path`` from ``start`` to ``end``, as a readable stream."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self.file = path.open("rb")
        self.file.seek(start)
        self.left = max(end - start, 0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self.left]
        read = self.file.readinto(view) or 0
        self.left -= read
        return read

    def close(self) -> None:
        self.file.close()
        super().close()


def _csv_reader(
    file: pa.NativeFile,
    ingested: IngestedFile,
    keys: list[str],
    *,
    encoding: str,
    quoted: bool,
    included: list[str] | None = None,
) -> pacsv.CSVStreamingReader:
    """Arrow's streaming reader over ``file`` (at the first data record), every column text,
    its columns named ``keys``; ``included``: only those of ``keys`` are converted."""
    return pacsv.open_csv(
        file,
        read_options=pacsv.ReadOptions(column_names=keys, block_size=_ARROW_BLOCK, encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=ingested.delimiter or ",", newlines_in_values=quoted),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(keys, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=included,
        ),
    )


def _csv_columns(
    ingested: IngestedFile,
    offset: int,
    size: int,
    names: Sequence[str],
    *,
    encoding: str = "utf8",
    quoted: bool = False,
) -> Iterator[pl.DataFrame]:
    """The columns ``names`` (of ``ingested.headers``) of the data records from ``offset`` on,
    the text :func:`_csv_batches` reads, in frames of at least ``size`` rows (the last one
    fewer)."""
    headers = ingested.headers
    keys = [f"c{index}" for index in range(len(headers))]
    wanted = list(dict.fromkeys(names))
    included = [keys[headers.index(name)] for name in wanted]
    renamed = dict(zip(included, wanted, strict=True))
    with _data_records(ingested.path, offset) as file:
        reader = _csv_reader(file, ingested, keys, encoding=encoding, quoted=quoted, included=included)
        pending: list[pa.RecordBatch] = []
        held = 0
        for record_batch in reader:
            pending.append(record_batch)
            held += record_batch.num_rows
            if held >= size:
                yield _renamed(pa.Table.from_batches(pending), renamed)
                pending, held = [], 0
        if pending:
            yield _renamed(pa.Table.from_batches(pending), renamed)


def _renamed(table: pa.Table, renamed: dict[str, str]) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.rename(renamed)


def _csv_batches(
    ingested: IngestedFile, offset: int, size: int, *, encoding: str = "utf8", quoted: bool = False
) -> Iterator[pl.DataFrame]:
    """The data records from ``offset`` on, ``size`` rows a batch, as ``read_lead_file`` frames
    them; ``quoted``: values may span lines, ``encoding``: Arrow transcodes it to UTF-8."""
    names = ingested.headers
    keys = [f"c{index}" for index in range(len(names))]
    done = 0
    with _data_records(ingested.path, offset) as file:
        reader = _csv_reader(file, ingested, keys, encoding=encoding, quoted=quoted)
        pending: list[pa.RecordBatch] = []
        held = 0
        for record_batch in reader:
            pending.append(record_batch)
            held += record_batch.num_rows
            while held >= size:
                # slices of the blocks, not one combined copy: what is left over keeps only
                # its own blocks alive, and nothing of this batch is held while the caller works
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, size), table.slice(size)
                pending, held = rest.to_batches(), rest.num_rows
                del table, rest
                frame = _frame(head, keys, names, done)
                del head
                done += size
                yield frame
                del frame
        if held or done == 0:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield _frame(table, keys, names, done)


def _frame(table: pa.Table, keys: list[str], names: list[str], done: int) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    finished = _finish(frame.rename(dict(zip(keys, names, strict=True))))
    return finished.with_columns(pl.col("source_row") + done)
