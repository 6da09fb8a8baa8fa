"""A polars Series from a pyarrow Array, without importing pyarrow.compute.

polars takes an Array (``pl.from_arrow(array)``, ``pl.Series(name, array)``) through a check
that imports pyarrow.compute, ~30 ms of the start of every run that makes one; it takes a
RecordBatch's columns without it. The same array as a one-column batch gives the same column
(tests/transforms/test_arrow_series.py).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

__all__ = ["arrow_series"]


def arrow_series(name: str, array: pa.Array) -> pl.Series:
    """``pl.Series(name, array)``, taken as a one-column batch."""
    frame = pl.from_arrow(pa.RecordBatch.from_arrays([array], names=[name]))
    assert isinstance(frame, pl.DataFrame)
    return frame.to_series()
