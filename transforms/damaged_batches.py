"""A damaged CSV (transforms.damaged_scan) read a block at a time, as read_lead_file frames it.

Why: read_lead_file reads a file with ragged rows or mixed encodings whole, through the
``csv`` module: memory grows with the file, and every record pays Python's parse. Here each
block of whole records the scan found is read alone: decoded by the file's rule
(transforms.line_pieces), split into records without parsing (transforms.csv_records), and

* its clean records (the header's width, none on a line of the minority encoding) read by
  Arrow's reader, as read_lead_file's fast read reads a clean file;
* its damaged records read by read_lead_file's own careful reader
  (``transforms.csv_lines.read_records`` and ``records_frame``) on just their lines, which
  gives the same ``RAGGED_ROW`` and ``ENCODING_MIXED`` findings and the same padding into the
  file's ``extra_<n>`` columns. A block with many damaged records is read by it as a whole.

The frames are then cut into batches of the requested size, ``source_row`` counted across them.
"""

from __future__ import annotations

import bisect
import codecs
import csv
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from schemas.codes import Issue
from schemas.raw_leads import ISSUE
from transforms.csv_lines import Foreign, quote_message, read_records, records_frame
from transforms.csv_records import split_records
from transforms.damaged_scan import DamagedCsv
from transforms.line_pieces import line_starts_before
from transforms.lists import empty_lists, lists_from_long

__all__ = ["damaged_batches"]

_MANY_RUNS = 256
"""Runs (records of one width, or on minority-encoding lines) in a block up to which each is
read on its own; past it the careful reader reads the block as a whole (a file whose widths
change every few rows: Arrow's fixed cost per read would exceed the careful parse)."""


def damaged_batches(damaged: DamagedCsv, size: int) -> Iterator[pl.DataFrame]:
    """The file's records, ``size`` rows a batch, as read_lead_file frames them."""
    reader = _BlockReader(damaged)
    pending: list[pl.DataFrame] = []
    held = done = 0
    with damaged.ingested.path.open("rb") as file:
        file.seek(damaged.body)
        previous = damaged.body
        for cut in damaged.cuts:
            raw = file.read(cut - previous)
            previous = cut
            for frame in reader.block(raw, cut - len(raw)):
                pending.append(frame)
                held += frame.height
            del raw
            if held >= size:
                combined = pl.concat(pending)
                pending.clear()
                while combined.height >= size:
                    yield reader.finish(combined.slice(0, size), done)
                    done += size
                    combined = combined.slice(size)
                pending, held = [combined], combined.height
    if held or done == 0:
        rest = pl.concat(pending) if pending else damaged.ingested.frame.drop("source_row")
        yield reader.finish(rest, done)


class _BlockReader:
    """Reads blocks of whole records of one file (module docstring)."""

    def __init__(self, damaged: DamagedCsv) -> None:
        self.path = damaged.ingested.path
        self.decoding = damaged.decoding
        self.delimiter = damaged.ingested.delimiter or ","
        self.width = damaged.width
        self.all_names = damaged.ingested.headers
        self.names = self.all_names[: self.width]
        self.extras = self.all_names[self.width :]
        self.careful = damaged.careful
        self.careful_starts = [start for start, _ in damaged.careful]
        self.quotes = damaged.quotes
        self.quote_starts = [start for start, _ in damaged.quotes]

    def block(self, raw: bytes, start: int) -> Iterator[pl.DataFrame]:
        """The records of ``raw`` (the file's bytes from ``start``, whole records) as frames, in
        order: the careful reader's records (the scan's ``careful`` ranges: stray quotes) read
        by it, the rest by :meth:`frames`."""
        stop = start + len(raw)
        index = max(bisect.bisect_right(self.careful_starts, start) - 1, 0)
        position = start
        while index < len(self.careful) and self.careful[index][0] < stop:
            # a range runs over a block's cut only where a record starts: cut it there too
            first, after = max(self.careful[index][0], start), min(self.careful[index][1], stop)
            if after <= first:
                index += 1
                continue
            if first > position:
                yield from self.frames(raw[position - start : first - start])
            text, foreign = self.decoding.decode(raw[first - start : after - start])
            yield self._careful(text, foreign, self._swallowed(raw[first - start : after - start], first))
            position, index = after, index + 1
        if position < stop:
            yield from self.frames(raw[position - start :])

    def _swallowed(self, raw: bytes, start: int) -> dict[int, int]:
        """{line of ``raw``: lines run over in the whole file} for its swallowed quotes."""
        low = bisect.bisect_left(self.quote_starts, start)
        high = bisect.bisect_left(self.quote_starts, start + len(raw))
        if low == high:
            return {}
        found = self.quotes[low:high]
        lines = line_starts_before(raw, np.array([at - start for at, _ in found], dtype=np.int64))
        return {int(line): over for line, (_, over) in zip(lines.tolist(), found, strict=True)}

    def frames(self, raw: bytes) -> Iterator[pl.DataFrame]:
        """The block's records as frames of the file's columns and ``issues``, in order: runs
        of records of one width read by Arrow, records on a minority-encoding line by the
        careful reader (the whole block by it past :data:`_MANY_RUNS` runs)."""
        text, foreign = self.decoding.decode(raw)
        records = split_records(text, self.delimiter, final=True)
        if records is None:
            raise RuntimeError("a block the scan found well formed is not")  # pragma: no cover
        if records.starts.size == 0:
            return
        key = records.fields.copy()  # a run's width, -1 for a record on a foreign line
        firsts = line_starts_before(text, records.starts)
        if foreign:
            lasts = line_starts_before(text, records.stops)
            lines = np.asarray(foreign, dtype=np.int64)
            holder = np.searchsorted(firsts, lines, side="right") - 1
            inside = (holder >= 0) & (lasts[np.maximum(holder, 0)] >= lines)
            key[holder[inside]] = -1
        firsts_of_runs = np.concatenate([np.zeros(1, np.int64), np.flatnonzero(np.diff(key)) + 1])
        if firsts_of_runs.size > _MANY_RUNS:
            yield self._careful(text, foreign)
            return
        ends_of_runs = np.append(firsts_of_runs[1:], key.size)
        position = 0
        for first, end in zip(firsts_of_runs.tolist(), ends_of_runs.tolist(), strict=True):
            after = int(records.nexts[end - 1]) if end < key.size else len(text)
            if key[first] >= 0 and not text.startswith(codecs.BOM_UTF8, position):
                # Arrow drops a byte-order mark that starts its input: the careful reader keeps it
                yield self._arrow(text[position:after], end - first, int(key[first]))
            else:
                base = int(line_starts_before(text, np.array([position]))[0])
                yield self._careful(text[position:after], [line - base for line in foreign if line >= base])
            position = after

    def _careful(
        self, text: bytes, foreign: list[int], swallowed: dict[int, int] | None = None
    ) -> pl.DataFrame:
        """read_lead_file's careful read of these records (transforms.csv_lines); ``swallowed``:
        {line: lines run over} of quotes that ran past these records in the whole file."""
        previous = csv.field_size_limit(2**31 - 1)
        try:
            read = read_records(self.path, text.decode("utf-8"), self.delimiter, self.width, self.names)
        finally:
            csv.field_size_limit(previous)
        if swallowed:
            found = [
                (row, column, quote_message(swallowed[read.spans[row][0]]))
                if read.spans[row][0] in swallowed
                else (row, column, message)
                for row, column, message in read.quote_issues
            ]
            read = replace(read, quote_issues=found)
        mixed = (
            Foreign(foreign, self.decoding.minority, self.decoding.majority) if self.decoding.mixed else None
        )
        frame, issues = records_frame(read, self.all_names, self.width, mixed)
        return frame.with_columns(issues)

    def _arrow(self, text: bytes, records: int, width: int) -> pl.DataFrame:
        """Arrow's read of ``records`` records of ``width`` fields, as read_lead_file frames them:
        fields past the header's width in ``extra_<n>``, missing ones null, and a RAGGED_ROW
        on each when ``width`` is not the header's (transforms.csv_lines.records_frame's)."""
        keys = [f"c{index}" for index in range(width)]
        table = pacsv.read_csv(
            pa.py_buffer(text),
            read_options=pacsv.ReadOptions(column_names=keys, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=b'"' in text),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if frame.height != records:  # never seen: the split and Arrow disagree, no row may be lost
            raise RuntimeError(f"{self.path}: Arrow read {frame.height} records where {records} were found")
        height = frame.height
        frame = frame.rename(dict(zip(keys, self.all_names, strict=False)))
        return frame.with_columns(
            *(pl.lit(None, dtype=pl.String).alias(name) for name in self.all_names[width:]),
            issues=self._ragged(height, width),
        ).select(*self.all_names, "issues")

    def _ragged(self, height: int, width: int) -> pl.Series:
        if width == self.width:
            return empty_lists(height, ISSUE, name="issues")
        found = pl.select(
            code=pl.repeat(Issue.RAGGED_ROW.value, height, dtype=pl.String),
            column=pl.repeat(None, height, dtype=pl.String),
            value=pl.repeat(f"expected {self.width} fields, got {width}", height, dtype=pl.String),
        )
        structs = found.select(pl.struct("code", "column", "value").cast(ISSUE)).to_series()
        return lists_from_long(pl.int_range(0, height, eager=True), structs, height, name="issues")

    def finish(self, frame: pl.DataFrame, done: int) -> pl.DataFrame:
        """The batch in read_lead_file's column order, ``source_row`` counted from ``done``."""
        return frame.select(
            *self.all_names,
            pl.int_range(done + 1, done + 1 + pl.len(), dtype=pl.Int64).alias("source_row"),
            "issues",
        )
