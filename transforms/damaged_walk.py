"""The records of a damaged CSV as read_lead_file's careful reader finds them, a buffer at a time.

Why: transforms.damaged_scan streams a file only when it knows, in one pass, where the careful
reader (transforms.csv_lines) starts each record. Where the quotes are well formed that is
where a vectorised split puts it (transforms.csv_records). A stray quote (one where well-formed
CSV puts none: text after a closing quote, a quote inside an unquoted field, a quote open at
the end of the file) and a record spanning lines of the wrong width whose later line has the
header's width are where the careful reader may decide otherwise: that record is followed by
transforms.quote_track, as far as it goes (the file's end, for a quote never closed), and

* when the careful reader reads it as a quote that swallowed lines, its first line alone is a
  record (the field where the quote opened holding the literal ``"``) and reading starts
  again on the next line, with a split from there;
* otherwise (a value the csv module reads that strict CSV would not, a quote mid-field) it is
  one record, however many lines it takes (up to 64 MB, else the file is read whole).

Either way the record is marked to be read by the careful reader itself (``careful``, byte
ranges), with, for a swallowed quote, the number of lines it ran over in the whole file
(``quotes``: the careful reader of a block alone counts only up to the block's end). Each
record depends only on the lines it takes, so blocks cut between records read alone as the
whole file reads them. The split after a careful record works on a window that starts small
and doubles while no stray quote comes, so a file with many stray quotes is not re-split whole
for each one; and lines whose stray quotes all close on the line (a nickname in quotes inside
every name, an export that does not double its quotes) are taken a run at a time, each one
record, without following each.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import numpy as np

from transforms.csv_lines import split_line, unclosed_quote
from transforms.csv_records import Records, split_records
from transforms.quote_track import FileBytes, first_misplaced, record_start, swallowed, track

__all__ = ["RecordWalk", "TooLong"]

_LONGEST_RECORD = 1 << 26
_TRACK_AFTER = 1 << 20
"""A record still open after this many bytes is followed by quote_track rather than carried."""
_FIRST_WINDOW = 1 << 16
_WINDOW = 1 << 24
_QUOTE, _LF, _CR = 34, 10, 13
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class TooLong(Exception):
    """A record the walk does not stream (over 64 MB, or as long as the csv field limit)."""


@dataclass
class RecordWalk:
    """Records found so far: their count, the widest, the careful reader's records (byte
    ranges, merged when adjacent) and its swallowed quotes (line start: lines run over)."""

    source: FileBytes
    delimiter: str
    width: int
    rows: int = 0
    widest: int = 0
    careful: list[tuple[int, int]] = field(default_factory=list)
    quotes: dict[int, int] = field(default_factory=dict)
    window: int = _WINDOW

    def advance(self, data: bytes, data_start: int, position: int, *, final: bool) -> int:
        """Walks the records of ``data`` (the file's bytes from ``data_start``) from the record
        start ``position`` on; returns the next record start, which may lie past ``data`` (a
        record followed to its end), or the start of a record ``data`` does not finish."""
        while True:
            offset = position - data_start
            if offset >= len(data):
                return position
            window = data[offset : offset + self.window]
            last = offset + len(window) >= len(data)
            moved = self._window(window, position, final=final and last)
            if moved is not None:
                position = moved
                continue
            if not last:  # no whole record in the window: a longer one
                self.window *= 2
                continue
            if len(window) > _TRACK_AFTER:
                position = self._followed(position)
                continue
            return position

    def _window(self, window: bytes, start: int, *, final: bool) -> int | None:
        """The next record start after this window's records (None: it finishes none)."""
        misplaced = first_misplaced(window, self.delimiter, final=final) if b'"' in window else -1
        if misplaced < 0:
            records = split_records(window, self.delimiter, final=final)
            if records is None:  # pragma: no cover - split_records refuses only a misplaced quote
                raise RuntimeError("a block refused by the split has no misplaced quote")
            suspect = _first_swallowing(window, records, self.delimiter, self.width)
            if suspect is None:
                if records.cut == 0:
                    return None
                self._take(records, records.starts.size)
                self.window = min(self.window * 2, _WINDOW)
                return start + records.cut
            self._take(records, suspect)
            return self._followed(start + int(records.starts[suspect]))
        begin = record_start(window, misplaced)
        before = split_records(window[:begin], self.delimiter, final=True)
        if before is None:  # pragma: no cover - quotes before the first misplaced one are well placed
            raise RuntimeError("records before a stray quote are not well formed")
        suspect = _first_swallowing(window, before, self.delimiter, self.width)
        self._take(before, before.starts.size if suspect is None else suspect)
        if suspect is not None:
            begin = int(before.starts[suspect])
        self.window = _FIRST_WINDOW
        if suspect is None:
            run = _lines_alone(window, begin, self.delimiter, final=final)
            if run is not None:
                stop, rows, widest = run
                self.rows += rows
                self.widest = max(self.widest, widest)
                self._careful(start + begin, start + stop)
                return start + stop
        return self._followed(start + begin)

    def _take(self, records: Records, count: int) -> None:
        if count:
            self.rows += count
            self.widest = max(self.widest, int(records.fields[:count].max()))

    def _followed(self, start: int) -> int:
        """The careful reader's record at ``start`` (module docstring); the next record start."""
        tracked = track(self.source, start, self.delimiter)
        if tracked is None:
            raise TooLong
        if swallowed(self.source, start, tracked, self.delimiter, self.width):
            stop = self.source.after_line_end(self.source.line_end(start))
            if stop - start > _LONGEST_RECORD:
                raise TooLong
            line = self.source.read(start, stop).decode("latin-1")
            fields = len(split_line(line, self.delimiter)[0])
            self.quotes[start] = tracked.lines - 1
        else:
            stop = tracked.stop
            if stop - start > _LONGEST_RECORD:
                raise TooLong
            fields = tracked.fields
        self.rows += 1
        self.widest = max(self.widest, fields)
        self._careful(start, stop)
        return stop

    def _careful(self, start: int, stop: int) -> None:
        if self.careful and self.careful[-1][1] == start:
            self.careful[-1] = (self.careful[-1][0], stop)
        else:
            self.careful.append((start, stop))


def _first_swallowing(data: bytes, records: Records, delimiter: str, width: int) -> int | None:
    """The first record the careful reader reads as a quote that swallowed rows although its
    quotes are well placed: spanning lines, of the wrong width, with a later line of the
    header's width alone (transforms.csv_lines._swallowed)."""
    suspects = (records.multiline & (records.fields != width)).nonzero()[0]
    for index in suspects.tolist():
        text = data[int(records.starts[index]) : int(records.stops[index])].decode("latin-1")
        if any(len(split_line(line, delimiter)[0]) == width for line in _LINE.findall(text)[1:]):
            return int(index)
    return None


def _lines_alone(data: bytes, begin: int, delimiter: str, *, final: bool) -> tuple[int, int, int] | None:
    """(where the run ends, its records, the widest) for the lines from ``begin`` (a record
    start) that hold a stray quote but close every quote they open: each is one record of the
    careful reader (one line, trusted), its quotes literal text or closed on the line. A file
    with a nickname in quotes inside every unquoted name is walked a window at a time so, not a
    record at a time. None when the first line is not such a line (quote_track follows it)."""
    raw = np.frombuffer(data, dtype=np.uint8)[begin:]
    line_feed = raw == _LF
    breaks = raw == _CR
    breaks[:-1] &= ~line_feed[1:]
    breaks |= line_feed
    if not final and raw.size and raw[-1] == _CR:
        breaks[-1] = False  # half of a \r\n, perhaps
    ends = np.flatnonzero(breaks)
    if final and raw.size and (ends.size == 0 or ends[-1] != raw.size - 1):
        ends = np.append(ends, raw.size)
    if ends.size == 0:
        return None
    starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1] + 1])
    padded = np.append(raw, np.uint8(0))
    crlf = (ends > starts) & (padded[ends] == _LF) & (padded[np.maximum(ends - 1, 0)] == _CR)
    content_ends = ends - crlf
    quotes = np.flatnonzero(raw == _QUOTE)
    line_of = np.searchsorted(ends, quotes)
    first = np.searchsorted(line_of, np.arange(ends.size))
    rank = np.arange(quotes.size) - first[np.minimum(line_of, ends.size - 1)]  # a quote's place on its line
    separator = ord(delimiter)
    before = raw[np.maximum(quotes - 1, 0)]
    at_start = (quotes == starts[np.minimum(line_of, ends.size - 1)]) | (before == separator)
    after = padded[quotes + 1]
    at_end = (quotes + 1 == content_ends[np.minimum(line_of, ends.size - 1)]) | (after == separator)
    doubled = np.zeros(quotes.size, dtype=bool)
    doubled[1:] = (quotes[1:] == quotes[:-1] + 1) & (line_of[1:] == line_of[:-1])
    placed = np.where(rank % 2 == 0, at_start | doubled, at_end | (after == _QUOTE))
    counts = np.bincount(line_of, minlength=ends.size)[: ends.size]
    stray = (np.bincount(line_of[~placed], minlength=ends.size)[: ends.size] > 0) | (counts % 2 == 1)
    opens = np.bincount(line_of[at_start], minlength=ends.size)[: ends.size] > 0
    regular = np.flatnonzero(~stray)
    run = int(regular[0]) if regular.size else ends.size
    separators = np.flatnonzero(raw == separator)
    fields = np.searchsorted(separators, content_ends[:run]) - np.searchsorted(separators, starts[:run]) + 1
    for line in np.flatnonzero(opens[:run]).tolist():  # a quote opens a field: the csv module says
        text = data[begin + int(starts[line]) : begin + int(content_ends[line])].decode("latin-1")
        if unclosed_quote(text, delimiter) >= 0:
            run = line
            break
        fields[line] = len(next(csv.reader([text], delimiter=delimiter)))
    if run == 0:
        return None
    stop = int(ends[run - 1]) + 1 if int(ends[run - 1]) < raw.size else raw.size
    return begin + stop, run, int(fields[:run].max())
