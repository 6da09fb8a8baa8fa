"""The records of a block of well-formed CSV bytes, located without parsing them (numpy).

Why: the streamed readers of damaged files (transforms.damaged_scan, transforms.damaged_batches)
must know, for every block of a file, where its records start and end, how many fields each
has (a ragged record is one of another width than the header) and which span lines, at the
cost of a scan of the bytes, not of the ``csv`` module's parse. That holds when the block's
quotes are well formed (``transforms.csv_lines.quotes_well_formed``, read_lead_file's own
test for trusting a fast read): then a line end or a delimiter after an even number of quotes
is outside a value, and the ``csv`` module reads exactly these records. Otherwise the block is
not split (None), and the file is read whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.csv_lines import quotes_well_formed

__all__ = ["Records", "split_records"]

_QUOTE, _LF, _CR = 34, 10, 13


@dataclass(frozen=True)
class Records:
    """The non-blank records of ``data[:cut]``: where each starts, where its content ends
    (its line end, or ``cut``), the byte after its line end, its fields, and whether a line
    end is inside it (a quoted value spanning lines)."""

    cut: int
    starts: np.ndarray
    stops: np.ndarray
    nexts: np.ndarray
    fields: np.ndarray
    multiline: np.ndarray


def split_records(data: bytes, delimiter: str, *, final: bool) -> Records | None:
    """The whole records at the start of ``data`` (all of it when ``final``: the end of the
    file ends the last), or None when their quotes are not well formed. A ``\\r`` as the last
    byte of a block that is not the last may be half of a ``\\r\\n``: the block is cut before it."""
    raw = np.frombuffer(data, dtype=np.uint8)
    line_feed = raw == _LF
    breaks = raw == _CR  # a \r ends a record unless a \n follows: then the \n does
    breaks[:-1] &= ~line_feed[1:]
    breaks |= line_feed
    is_end = breaks
    is_separator = raw == ord(delimiter)
    quoted = b'"' in data
    if quoted:
        outside = (np.cumsum(raw == _QUOTE, dtype=np.uint8) & 1) == 0
        is_end = breaks & outside
        is_separator &= outside
    ends = np.flatnonzero(is_end)
    if final:
        cut = raw.size
    else:
        if ends.size and ends[-1] == raw.size - 1 and raw[-1] == _CR:
            ends = ends[:-1]
        if ends.size == 0:
            return _empty()
        cut = int(ends[-1]) + 1
        ends = ends[ends < cut]
    if quoted and not quotes_well_formed(data[:cut] if cut < len(data) else data, 0, delimiter):
        return None
    if cut == 0:
        return _empty()
    if ends.size == 0 or ends[-1] != cut - 1:
        ends = np.append(ends, cut)  # the file's last record, without a line end
    starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1] + 1])
    last = np.minimum(ends, cut - 1)
    crlf = (ends > starts) & (ends < cut) & (raw[last] == _LF) & (raw[np.maximum(ends - 1, 0)] == _CR)
    stops = ends - crlf
    kept = stops > starts
    separators = np.flatnonzero(is_separator[:cut])
    fields = np.searchsorted(separators, stops) - np.searchsorted(separators, starts) + 1
    if quoted:
        inside = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(breaks[:cut], dtype=np.int64)])
        multiline = inside[stops] - inside[starts] > 0
    else:
        multiline = np.zeros(starts.size, dtype=bool)
    nexts = np.minimum(ends + 1, cut)
    return Records(cut, starts[kept], stops[kept], nexts[kept], fields[kept], multiline[kept])


def _empty() -> Records:
    none = np.zeros(0, dtype=np.int64)
    return Records(0, none, none, none, none, np.zeros(0, dtype=bool))
