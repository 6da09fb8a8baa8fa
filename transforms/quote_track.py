"""One record as the careful reader reads it from a line of a file, found without holding it.

Why: a stray quote that opens a field makes the ``csv`` module read on to the next quote of
the file, or to its end: read_lead_file's careful reader (transforms.csv_lines) holds that
whole stretch as one field, then reads the quote's line on its own (``UNTERMINATED_QUOTE``)
and starts again on the next line. A streamed read (transforms.damaged_scan) must know what
the careful reader decides for such a record without holding it, which may be the rest of a
10 GB file. Here the ``csv`` module's reading of one record is followed over the file's bytes
by jumps (from a quote to the next quote inside a quoted field, from a delimiter to the next
line end outside one), keeping only what the careful reader's decision rests on
(``transforms.csv_lines._swallowed``): the lines the record takes, its fields, whether strict
CSV reads it (no text after a closing quote, no quote open at the end of the file), and whether
it ends the file. Quote, delimiter and line ends are ASCII bytes in every encoding ingest
reads, so the bytes are followed as they are, undecoded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from transforms.csv_lines import split_line

__all__ = ["FileBytes", "Tracked", "first_misplaced", "record_start", "swallowed", "track"]

_CHUNK = 1 << 20
_QUOTE, _LF, _CR = 34, 10, 13
_FIELD_LIMIT = 2**31 - 1
"""The ``csv`` module's field limit as ingest lifts it: a longer record is left to read_lead_file."""
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class FileBytes:
    """Reads at any position of an open file, a chunk at a time (``os.pread``)."""

    def __init__(self, descriptor: int, size: int) -> None:
        self.descriptor = descriptor
        self.size = size

    def read(self, start: int, stop: int) -> bytes:
        parts: list[bytes] = []
        stop = min(stop, self.size)
        while start < stop:
            part = os.pread(self.descriptor, stop - start, start)
            if not part:
                break
            parts.append(part)
            start += len(part)
        return b"".join(parts)

    def byte(self, position: int) -> int | None:
        return self.read(position, position + 1)[0] if position < self.size else None

    def find(self, needle: bytes, start: int, stop: int | None = None) -> int:
        """Where ``needle`` first starts in ``[start, stop)`` (it must end there too), else -1."""
        stop = self.size if stop is None else stop
        while start < stop:
            end = min(start + _CHUNK, stop)
            found = self.read(start, min(end + len(needle) - 1, stop)).find(needle)
            if found >= 0:
                return start + found
            start = end
        return -1

    def line_end(self, start: int) -> int:
        """Where the first ``\\r`` or ``\\n`` from ``start`` is, else the file's size."""
        while start < self.size:
            data = self.read(start, min(start + _CHUNK, self.size))
            ends = [found for found in (data.find(b"\n"), data.find(b"\r")) if found >= 0]
            if ends:
                return start + min(ends)
            start += len(data)
        return self.size

    def after_line_end(self, end: int) -> int:
        """The byte after the line end at ``end`` (``\\r\\n`` is one)."""
        if end >= self.size:
            return self.size
        pair = self.read(end, end + 2)
        return end + (2 if pair == b"\r\n" else 1)

    def count(self, needle: bytes, start: int, stop: int) -> int:
        """``needle`` (one byte) in ``[start, stop)``."""
        total = 0
        while start < stop:
            end = min(start + _CHUNK, stop)
            total += self.read(start, end).count(needle)
            start = end
        return total

    def line_ends(self, start: int, stop: int) -> int:
        """Line ends in ``[start, stop)``, ``\\r\\n`` one."""
        total = 0
        while start < stop:
            end = min(start + _CHUNK, stop)
            data = self.read(start, end)
            total += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
            if data.endswith(b"\r") and end < stop and self.byte(end) == _LF:
                total -= 1
            start = end
        return total


@dataclass(frozen=True)
class Tracked:
    """The record the ``csv`` module reads from a line start: the lines it takes (the careful
    reader's ``after - first``), its fields, whether strict CSV reads it, whether a quote is
    still open at the end of the file, and the byte after its last line (its line end included)."""

    lines: int
    fields: int
    strict: bool
    open_at_end: bool
    stop: int


def track(source: FileBytes, start: int, delimiter: str) -> Tracked | None:
    """The record from ``start`` (a line start) as the ``csv`` module reads it (non-strict, as
    the careful reader does); None for a record as long as the csv module's field limit."""
    separator = delimiter.encode()
    fields, strict = 1, True
    position = start
    quoted = source.byte(position) == _QUOTE
    position += quoted
    while True:
        if quoted:
            close = source.find(b'"', position)
            if close < 0:  # open to the end of the file
                return _finished(source, start, source.size, fields, strict=False, open_at_end=True)
            following = source.byte(close + 1)
            if following == _QUOTE:  # a doubled quote inside the value
                position = close + 2
                continue
            if following is None or following in (_LF, _CR):
                return _finished(source, start, close + 1, fields, strict=strict, open_at_end=False)
            if following == separator[0]:
                fields += 1
                position = close + 2
                quoted = source.byte(position) == _QUOTE
                position += quoted
                continue
            strict = False  # text after a closing quote joins the field, unquoted
            position = close + 1
        end = source.line_end(position)
        opening = source.find(separator + b'"', position, end)
        if opening < 0:
            fields += source.count(separator, position, end)
            return _finished(source, start, end, fields, strict=strict, open_at_end=False)
        fields += source.count(separator, position, opening + 1)
        position, quoted = opening + 2, True


def _finished(
    source: FileBytes, start: int, end: int, fields: int, *, strict: bool, open_at_end: bool
) -> Tracked | None:
    stop = source.after_line_end(end)
    if stop - start >= _FIELD_LIMIT:
        return None
    lines = source.line_ends(start, stop)
    if stop == source.size and source.size > start and source.byte(source.size - 1) not in (_LF, _CR):
        lines += 1  # the file's last line, without a line end
    return Tracked(lines, fields, strict, open_at_end, stop)


def swallowed(source: FileBytes, start: int, tracked: Tracked, delimiter: str, width: int) -> bool:
    """Whether the careful reader reads this record as a quote that swallowed lines
    (``transforms.csv_lines._swallowed``): then its first line is read alone."""
    if tracked.lines == 1:
        return tracked.open_at_end
    if not tracked.strict:
        return True
    return tracked.fields != width and _row_line(source, start, tracked.stop, delimiter, width)


def _row_line(source: FileBytes, start: int, stop: int, delimiter: str, width: int) -> bool:
    """Whether a line after the first in ``[start, stop)``, read alone, has ``width`` fields."""
    position = source.after_line_end(source.line_end(start))
    while position < stop:
        data = source.read(position, min(position + _CHUNK, stop))
        cut = len(data)
        if position + cut < stop:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
            if cut == 0:
                cut = len(data)  # a line longer than the chunk: read on to its end
                data = source.read(position, source.after_line_end(source.line_end(position)))
                cut = len(data)
        for line in _LINE.findall(data[:cut].decode("latin-1")):
            if len(split_line(line, delimiter)[0]) == width:
                return True
        position += cut
    return False


def first_misplaced(data: bytes, delimiter: str, *, final: bool) -> int:
    """Where the first quote of ``data`` (whole lines from a record's start) that well-formed CSV
    would not put there is (``transforms.csv_lines.quotes_well_formed``'s rule), else -1. Unless
    ``final`` (the end of ``data`` is the file's), a quote at the very end or one still open
    there may be well placed: the bytes after decide."""
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == _QUOTE)
    if quotes.size == 0:
        return -1
    separator = ord(delimiter)
    opening, closing = quotes[0::2], quotes[1::2]
    before = raw[np.maximum(opening - 1, 0)]
    doubled = np.zeros(opening.size, dtype=bool)
    doubled[1:] = closing[: opening.size - 1] == opening[1:] - 1
    opens = (opening == 0) | (before == separator) | (before == _LF) | (before == _CR) | doubled
    following = raw[np.minimum(closing + 1, raw.size - 1)]
    at_end = closing + 1 >= raw.size
    closes = (
        at_end | (following == separator) | (following == _LF) | (following == _CR) | (following == _QUOTE)
    )
    bad = [opening[~opens], closing[~closes]]
    if final and quotes.size % 2:
        bad.append(quotes[-1:])
    found = np.concatenate(bad)
    return int(found.min()) if found.size else -1


def record_start(data: bytes, position: int) -> int:
    """The start of the record holding ``position`` of ``data`` (whole lines from a record's
    start, quotes well placed before ``position``): after the last line end outside quotes."""
    raw = np.frombuffer(data, dtype=np.uint8)[:position]
    line_feed = raw == _LF
    breaks = raw == _CR
    breaks[:-1] &= ~line_feed[1:]
    breaks |= line_feed
    ends = np.flatnonzero(breaks)
    if ends.size == 0:
        return 0
    quotes = np.flatnonzero(raw == _QUOTE)
    outside = ends[np.searchsorted(quotes, ends) % 2 == 0]
    return int(outside[-1]) + 1 if outside.size else 0
