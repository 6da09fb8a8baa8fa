"""transforms.arrow_series: an Arrow array taken as a one-column batch is the Series polars makes of it."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from transforms.arrow_series import arrow_series

ARRAYS = [
    pa.LargeListArray.from_arrays(
        pa.array([0, 2, 2, 3], pa.int64()), pa.array(["a", None, "c"], pa.large_string())
    ),
    pa.LargeListArray.from_arrays(pa.array([0, 0], pa.int64()), pa.array([], pa.large_string())),
    pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), 2, [None, pa.py_buffer(bytes(range(16)))]),
    pa.array(["x", None, ""], pa.large_string()),
    pa.array([], pa.int64()),
    pa.array([1, None, 3], pa.int32()).slice(1),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda array: str(array.type))
def test_an_array_taken_as_a_batch_is_the_series_polars_makes_of_it(array: pa.Array) -> None:
    made = arrow_series("col", array)

    assert made.equals(pl.Series("col", array), check_names=True)
    assert made.dtype == pl.Series("col", array).dtype
