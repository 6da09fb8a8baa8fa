"""The careful CSV reader: every record tied to the physical lines it was read from.

Why: a quote that opens a field and never closes (a stray ``"`` typed into a name) makes
any CSV parser read the rest of the file as one field: 50 data lines in, 2 records out, and
nothing counted records against lines. Here every record knows its first and last physical
line, so a quoted field that swallows line breaks is judged instead of trusted. It is a
swallowed quote, not a genuine multi-line value, when

* the record's text is not well-formed CSV: the quote is still open at the end of the file,
  or a closing quote is followed by more text (a second stray quote at a field's start), or
* the record has the wrong width and a line it took, read on its own, has the header's
  width (it is a row).

Then the line where the quote opened is read on its own (the open quote kept as a literal
character) with an ``UNTERMINATED_QUOTE`` issue, and reading starts again on the next line,
so each of the following lines is a row again. A well-formed record of the header's width
is trusted: its line breaks are a value's (a stray quote closed by a second one at the very
end of a later field, with the widths adding up, reads as such a value: rare, and still
visible, the lines are in that value). Finally every non-blank line must belong to exactly one record, or
the file is refused: rows never vanish silently.

Records of the wrong width get ``RAGGED_ROW`` (missing fields null, surplus fields kept in
``extra_<n>`` columns), and records read from lines of a mixed-encoding file's minority
encoding get ``ENCODING_MIXED``, those from lines that held NUL bytes (removed before the read)
``NUL_BYTE_REMOVED``. Ingest uses this reader when Arrow's fast reader refuses the
file, when the fast read's records do not match the file's lines one to one, and for mixed
encodings; :func:`one_record_per_line` is that match, a cheap scan of the bytes.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs

from schemas.codes import Issue
from schemas.raw_leads import ISSUE
from transforms.encodings import SAVE_AS
from transforms.errors import LeadFileError
from transforms.lists import lists_from_long

__all__ = [
    "Foreign",
    "ReadRecords",
    "lines_are_records",
    "one_record_per_line",
    "quote_message",
    "quotes_well_formed",
    "read_records",
    "records_frame",
    "split_line",
    "unclosed_quote",
    "well_formed",
]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_QUOTE = '"'
NUL_MESSAGE = "NUL bytes (0x00) removed from the line"


@dataclass(frozen=True)
class Foreign:
    """Body lines (0-based, physical) decoded with a mixed file's minority encoding, and those
    that held NUL bytes (removed before the read)."""

    lines: Sequence[int]
    decoded_as: str
    majority: str
    """The encoding of the file's other lines."""
    nul_lines: Sequence[int] = ()

    @property
    def message(self) -> str:
        return f"line decoded as {self.decoded_as}; the file's other lines are {self.majority}"

    def issues(self, height: int) -> pl.Series:
        """``issues`` for ``height`` records read one per line: ENCODING_MIXED on the foreign
        lines, then NUL_BYTE_REMOVED on the lines that held a NUL."""
        found = pl.concat(
            [
                pl.DataFrame(
                    {"code": code, "column": None, "value": value, "row": pl.Series(rows, dtype=pl.Int64)},
                    schema={"code": pl.String, "column": pl.String, "value": pl.String, "row": pl.Int64},
                ).with_columns(order=pl.lit(order))
                for order, code, value, rows in (
                    (0, Issue.ENCODING_MIXED.value, self.message, self.lines),
                    # a line past the records held NULs only: blank once they are removed
                    (1, Issue.NUL_BYTE_REMOVED.value, NUL_MESSAGE, [n for n in self.nul_lines if n < height]),
                )
            ]
        ).sort("row", "order")
        structs = found.select(pl.struct("code", "column", "value").cast(ISSUE)).to_series()
        return lists_from_long(found.get_column("row"), structs, height, name="issues")


@dataclass(frozen=True)
class ReadRecords:
    """Records with the (first, last) body line each was read from, and their quote findings."""

    records: list[list[str]]
    spans: list[tuple[int, int]]
    quote_issues: list[tuple[int, str | None, str]]
    """(record index, column where the quote opened, what happened) per swallowed quote."""


def unclosed_quote(line: str, delimiter: str) -> int:
    """Where the quote that opens a field still open at the end of ``line`` is, else -1.

    Follows the ``csv`` module's reading: a quote is special only at a field's start; ``""``
    inside a quoted field is a quote; text after a closing quote joins the field unquoted.
    """
    position, end = 0, len(line)
    while position <= end:
        if line.startswith(_QUOTE, position):
            search = position + 1
            while True:
                close = line.find(_QUOTE, search)
                if close < 0:
                    return position
                if not line.startswith(_QUOTE, close + 1):
                    break
                search = close + 2
            following = line.find(delimiter, close + 1)
        else:
            following = line.find(delimiter, position)
        if following < 0:
            return -1
        position = following + len(delimiter)
    return -1


def split_line(line: str, delimiter: str) -> tuple[list[str], int]:
    """The fields of one physical line read alone, an open quote kept as a literal ``"``, and
    the index of the field it opened (-1 if none)."""
    text = line.rstrip("\r\n")
    opened = unclosed_quote(text, delimiter)
    if opened < 0:
        return next(csv.reader([text], delimiter=delimiter), []), -1
    before = next(csv.reader([text[:opened]], delimiter=delimiter), [""])[:-1] if opened else []
    return before + text[opened:].split(delimiter), len(before)


def well_formed(text: str, delimiter: str) -> bool:
    """Whether ``text`` reads as CSV in the ``csv`` module's strict mode (every quote closed,
    nothing after a closing quote but a delimiter or the line's end)."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def _swallowed(lines: list[str], record: list[str], delimiter: str, width: int, at_end: bool) -> bool:
    """Whether a record read from ``lines`` is a quote that swallowed rows (module docstring)."""
    if len(lines) == 1:
        return at_end and unclosed_quote(lines[0].rstrip("\r\n"), delimiter) >= 0
    if not well_formed("".join(lines), delimiter):
        return True
    return len(record) != width and any(len(split_line(line, delimiter)[0]) == width for line in lines[1:])


def read_records(path: Path, body: str, delimiter: str, width: int, names: Sequence[str]) -> ReadRecords:
    """Every record of ``body`` (the text after the header) with its lines; see the module doc.

    One ``csv.reader`` over the list of lines, its ``line_num`` giving each record's last
    line: a record spanning lines, or ending the file, is the only one looked at twice. A
    swallowed quote stops the reader; a new one starts on the line after the quote's."""
    lines = _LINE.findall(body)
    total = len(lines)
    records: list[list[str]] = []
    firsts: list[int] = []
    lasts: list[int] = []
    quote_issues: list[tuple[int, str | None, str]] = []
    start: int | None = 0
    try:
        while start is not None:
            first, start = start, None
            reader = csv.reader(itertools.islice(lines, first, None), delimiter=delimiter)
            base = first
            for record in reader:
                after = base + reader.line_num  # the line after this record's last
                if (after - first > 1 or after == total) and _swallowed(
                    lines[first:after], record, delimiter, width, after == total
                ):
                    fields, opened = split_line(lines[first], delimiter)
                    column = names[opened] if 0 <= opened < len(names) else None
                    quote_issues.append((len(records), column, quote_message(after - 1 - first)))
                    records.append(fields)
                    firsts.append(first)
                    lasts.append(first)
                    start = first + 1
                    break
                if record:
                    records.append(record)
                    firsts.append(first)
                    lasts.append(after - 1)
                first = after
    except csv.Error as exc:
        raise LeadFileError(path, f"the CSV structure is broken ({exc})", SAVE_AS) from None
    spans = list(zip(firsts, lasts, strict=True))
    _check_every_line_read(path, lines, np.asarray(firsts, dtype=np.int64), np.asarray(lasts, dtype=np.int64))
    return ReadRecords(records, spans, quote_issues)


def quote_message(swallowed: int) -> str:
    """UNTERMINATED_QUOTE's value for a quote that ran over ``swallowed`` more lines."""
    if swallowed == 0:
        return "a quote opened in this field is not closed before the end of the file"
    return f"a quote opened in this field ran over {swallowed} more line(s); they are read as rows"


def _check_every_line_read(path: Path, lines: list[str], firsts: np.ndarray, lasts: np.ndarray) -> None:
    """Records against physical lines: spans in order, none overlapping, every line outside
    them blank. A quoted value's line breaks are inside a span; nothing else may be."""
    ordered = bool(np.all(lasts >= firsts)) and bool(np.all(firsts[1:] > lasts[:-1]))
    depth = np.zeros(len(lines) + 1, dtype=np.int64)
    np.add.at(depth, firsts, 1)
    np.add.at(depth, lasts + 1, -1)
    outside = np.flatnonzero(np.cumsum(depth[:-1]) == 0)
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    # a blank line is at most its two line-end characters
    lost = [int(line) for line in outside[lengths[outside] <= 2] if lines[line].strip("\r\n")]
    lost = sorted([*outside[lengths[outside] > 2].tolist(), *lost])
    if not ordered or lost:
        raise LeadFileError(
            path,
            f"data line {lost[0] + 1 if lost else 1} after the header could not be read as a row",
            "Check the quotes around that line, then export the leads again",
        )


def _line_ends(raw: np.ndarray, buffer: bytes, offset: int) -> int:
    """The line ends in ``raw`` (``buffer[offset:]``): ``\n``, ``\r`` and ``\r\n`` one each."""
    line_ends = int(np.count_nonzero(raw == 10))
    if buffer.find(b"\r", offset) >= 0:
        crlf = int(np.count_nonzero((raw[:-1] == 13) & (raw[1:] == 10)))
        line_ends += int(np.count_nonzero(raw == 13)) - crlf
    return line_ends


def lines_are_records(buffer: bytes, offset: int, records: int) -> bool:
    """Whether ``buffer[offset:]`` has exactly ``records`` lines and none blank: then record i
    was read from line i (a mixed-encoding file's rows are found by their lines)."""
    raw = np.frombuffer(buffer, dtype=np.uint8)[offset:]
    if raw.size == 0:
        return records == 0
    return _line_ends(raw, buffer, offset) + (0 if raw[-1] in (10, 13) else 1) == records


def one_record_per_line(buffer: bytes, offset: int, records: int, delimiter: str) -> bool:
    """Whether ``records`` (read by a parser that lets quoted values span lines) are exactly
    the non-blank physical lines of ``buffer[offset:]`` and the last one closes its quotes:
    then no value spans lines and no quote swallowed anything. A vectorised count, about
    20 ms for 100 MB without blank lines or lone ``\\r``s."""
    raw = np.frombuffer(buffer, dtype=np.uint8)[offset:]
    if raw.size == 0:
        return records == 0
    end = len(buffer)
    while end > offset and buffer[end - 1] in (10, 13):
        end -= 1
    start = max(buffer.rfind(b"\n", offset, end), buffer.rfind(b"\r", offset, end), offset - 1) + 1
    last_line = buffer[start:end].decode("utf-8", errors="replace")
    if end > offset and unclosed_quote(last_line, delimiter) >= 0:
        return False  # the last line leaves a quote open: the careful reader says what it took
    unterminated = 0 if raw[-1] in (10, 13) else 1
    if _line_ends(raw, buffer, offset) + unterminated == records:
        return True  # as many lines as records: no blank line, no value across lines
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    # a \n right after a \r is the second byte of one \r\n line end
    second = np.zeros(ends.size, dtype=bool)
    second[1:] = (ends[1:] == ends[:-1] + 1) & (raw[ends[1:]] == 10) & (raw[ends[:-1]] == 13)
    closes = ends[~second]
    paired = np.append(second[1:], False)
    after = np.where(paired, np.append(ends[1:], 0), ends)[~second] + 1
    starts = np.concatenate([np.zeros(1, dtype=np.int64), after[:-1]])
    blank = int(np.count_nonzero(starts == closes))
    return closes.size + unterminated - blank == records


def quotes_well_formed(buffer: bytes, offset: int, delimiter: str) -> bool:
    """Whether every quote of ``buffer[offset:]`` sits where well-formed CSV puts one: then a
    value that spans lines is a genuine quoted value, and a file with multi-line notes keeps
    Arrow's fast read. Vectorised over the quotes' positions: the k-th quote (0-based) opens
    a field when k is even (after a delimiter or a line end, or is the second of a doubled
    ``""``), closes it when k is odd (before a delimiter, a line end, the end, or a quote);
    and the count is even (no quote left open at the end of the file)."""
    raw = np.frombuffer(buffer, dtype=np.uint8)[offset:]
    quotes = np.flatnonzero(raw == 34)
    if quotes.size % 2:
        return False
    separator = ord(delimiter)
    opening, closing = quotes[0::2], quotes[1::2]
    before = raw[np.maximum(opening - 1, 0)]
    doubled = np.zeros(opening.size, dtype=bool)  # the second quote of a "" inside a value
    doubled[1:] = closing[: opening.size - 1] == opening[1:] - 1
    opens = (opening == 0) | (before == separator) | (before == 10) | (before == 13) | doubled
    following = raw[np.minimum(closing + 1, raw.size - 1)]
    at_end = closing + 1 >= raw.size
    closes = at_end | (following == separator) | (following == 10) | (following == 13) | (following == 34)
    return bool(opens.all() and closes.all())


def records_frame(
    read: ReadRecords, all_names: list[str], width: int, foreign: Foreign | None
) -> tuple[pl.DataFrame, pl.Series]:
    """The records as an all-string frame of ``all_names`` (the header's ``width`` names, then
    the ``extra_<n>`` names surplus fields spill into; short records padded with nulls), and
    their ``issues``: UNTERMINATED_QUOTE, RAGGED_ROW, ENCODING_MIXED, NUL_BYTE_REMOVED, in that
    order."""
    records, total = read.records, len(all_names)
    if any(len(record) != total for record in records):
        records = [record + [""] * (total - len(record)) for record in records]
    # one flat list sliced per column: zip(*records) builds a million tuples
    flat = list(itertools.chain.from_iterable(records))
    frame = pl.DataFrame(
        [pl.Series(name, flat[index::total], dtype=pl.String) for index, name in enumerate(all_names)]
    ).with_columns(  # by name: pl.col reads a header "*" as every column, "^ph.*$" as a regex
        pl.when(cs.by_name(name) != "").then(cs.by_name(name)).alias(name) for name in all_names
    )
    return frame, _issues(read, width, foreign)


def _issues(read: ReadRecords, width: int, foreign: Foreign | None) -> pl.Series:
    found: list[tuple[int, int, str, str | None, str]] = [
        (row, 0, Issue.UNTERMINATED_QUOTE.value, column, value) for row, column, value in read.quote_issues
    ]
    found += [
        (row, 1, Issue.RAGGED_ROW.value, None, f"expected {width} fields, got {len(record)}")
        for row, record in enumerate(read.records)
        if len(record) != width
    ]
    if foreign is not None and read.spans:
        firsts, lasts = (np.asarray(side, dtype=np.int64) for side in zip(*read.spans, strict=True))
        for order, code, value, marked in (
            (2, Issue.ENCODING_MIXED.value, foreign.message, foreign.lines),
            (3, Issue.NUL_BYTE_REMOVED.value, NUL_MESSAGE, foreign.nul_lines),
        ):
            if not marked:
                continue
            lines = np.asarray(sorted(marked), dtype=np.int64)
            nearest = np.searchsorted(lines, firsts, side="left")
            hit = lines[np.minimum(nearest, lines.size - 1)]
            found += [
                (row, order, code, None, value)
                for row in np.flatnonzero((nearest < lines.size) & (hit <= lasts)).tolist()
            ]
    found.sort(key=lambda entry: entry[:2])
    long = pl.DataFrame(
        [entry[:1] + entry[2:] for entry in found],
        schema={"row": pl.Int64, "code": pl.String, "column": pl.String, "value": pl.String},
        orient="row",
    )
    structs = long.select(pl.struct("code", "column", "value").cast(ISSUE)).to_series()
    return lists_from_long(long.get_column("row"), structs, len(read.records), name="issues")
