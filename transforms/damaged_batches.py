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

import csv
from collections.abc import Iterator

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from schemas.raw_leads import ISSUE
from transforms.csv_lines import Foreign, read_records, records_frame
from transforms.csv_records import split_records
from transforms.damaged_scan import DamagedCsv
from transforms.line_pieces import line_starts_before
from transforms.lists import empty_lists

__all__ = ["damaged_batches"]

_FEW_DAMAGED = 64
"""Damaged records in a block up to which its clean runs are still read by Arrow; past it the
block is read by the careful reader as a whole (a file of mostly ragged rows)."""


def damaged_batches(damaged: DamagedCsv, size: int) -> Iterator[pl.DataFrame]:
    """The file's records, ``size`` rows a batch, as read_lead_file frames them."""
    reader = _BlockReader(damaged)
    pending: list[pl.DataFrame] = []
    held = done = 0
    line = 0
    with damaged.ingested.path.open("rb") as file:
        file.seek(damaged.body)
        previous = damaged.body
        for cut in damaged.cuts:
            raw = file.read(cut - previous)
            previous = cut
            for frame in reader.frames(raw, line):
                pending.append(frame)
                held += frame.height
            line += int(line_starts_before(raw, np.array([len(raw)]))[0])
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

    def frames(self, raw: bytes, first_line: int) -> Iterator[pl.DataFrame]:
        """The block's records as frames of the file's columns and ``issues``, in order."""
        text, foreign = self.decoding.decode(raw)
        records = split_records(text, self.delimiter, final=True)
        if records is None:
            raise RuntimeError("a block the scan found well formed is not")  # pragma: no cover
        if records.starts.size == 0:
            return
        damaged = records.fields != self.width
        firsts = line_starts_before(text, records.starts)
        lasts = line_starts_before(text, records.stops)
        if foreign:
            lines = np.asarray(foreign, dtype=np.int64)
            holder = np.searchsorted(firsts, lines, side="right") - 1
            inside = (holder >= 0) & (lasts[np.maximum(holder, 0)] >= lines)
            damaged[holder[inside]] = True
        count = int(np.count_nonzero(damaged))
        if count == 0:
            yield self._arrow(text, records.starts.size)
            return
        if count > _FEW_DAMAGED:
            yield self._careful(text, foreign)
            return
        position, after_last = 0, 0  # after_last: the first record not yet read
        for index in np.flatnonzero(damaged).tolist():
            start, after = int(records.starts[index]), int(records.nexts[index])
            if index > after_last:
                yield self._arrow(text[position:start], index - after_last)
            base = int(firsts[index])
            mine = [line - base for line in foreign if base <= line <= int(lasts[index])]
            yield self._careful(text[start:after], mine)
            position, after_last = after, index + 1
        if after_last < records.starts.size:
            yield self._arrow(text[position:], records.starts.size - after_last)

    def _careful(self, text: bytes, foreign: list[int]) -> pl.DataFrame:
        """read_lead_file's careful read of these records (transforms.csv_lines)."""
        previous = csv.field_size_limit(2**31 - 1)
        try:
            read = read_records(self.path, text.decode("utf-8"), self.delimiter, self.width, self.names)
        finally:
            csv.field_size_limit(previous)
        mixed = (
            Foreign(foreign, self.decoding.minority, self.decoding.majority) if self.decoding.mixed else None
        )
        frame, issues = records_frame(read, self.all_names, self.width, mixed)
        return frame.with_columns(issues)

    def _arrow(self, text: bytes, records: int) -> pl.DataFrame:
        """Arrow's read of ``records`` clean records, as read_lead_file's fast read makes them."""
        keys = [f"c{index}" for index in range(self.width)]
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
        return frame.rename(dict(zip(keys, self.names, strict=True))).with_columns(
            *(pl.lit(None, dtype=pl.String).alias(name) for name in self.extras),
            issues=empty_lists(frame.height, ISSUE, name="issues"),
        )

    def finish(self, frame: pl.DataFrame, done: int) -> pl.DataFrame:
        """The batch in read_lead_file's column order, ``source_row`` counted from ``done``."""
        return frame.select(
            *self.all_names,
            pl.int_range(done + 1, done + 1 + pl.len(), dtype=pl.Int64).alias("source_row"),
            "issues",
        )
