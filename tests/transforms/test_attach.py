from __future__ import annotations

import polars as pl
import pytest

from transforms.attach import attach


def test_the_other_frames_columns_are_set_beside_each_row_in_order() -> None:
    frame = pl.DataFrame({"source_row": [3, 1, 2], "name": ["c", "a", "b"]})
    other = pl.DataFrame({"source_row": [1, 3], "status": ["ok", "failed"]})

    out = attach(frame, other, on="source_row")

    assert out.rows() == [(3, "c", "failed"), (1, "a", "ok"), (2, "b", None)]


def test_a_key_found_twice_is_refused_rather_than_adding_a_row() -> None:
    frame = pl.DataFrame({"source_row": [1, 2]})
    other = pl.DataFrame({"source_row": [1, 1], "status": ["ok", "failed"]})

    with pytest.raises(ValueError, match="match more than one row"):
        attach(frame, other, on="source_row")
