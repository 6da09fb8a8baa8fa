from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.lists import empty_lists, lists_from_long, long_from_lists


@settings(deadline=None)
@given(st.lists(st.lists(st.text(max_size=3), max_size=4), max_size=30))
def test_each_row_gets_its_values_in_the_order_given(rows: list[list[str]]) -> None:
    numbers = [i for i, values in enumerate(rows) for _ in values]
    values = [value for values in rows for value in values]
    lists = lists_from_long(
        pl.Series(numbers, dtype=pl.Int64), pl.Series(values, dtype=pl.String), len(rows), name="out"
    )
    assert lists.name == "out"
    assert lists.dtype == pl.List(pl.String)
    assert lists.to_list() == rows


def test_struct_values_keep_their_type() -> None:
    values = pl.Series([{"code": "A", "n": 1}, {"code": "B", "n": 2}])
    lists = lists_from_long(pl.Series([1, 1]), values, 3, name="issues")
    assert lists.dtype == pl.List(values.dtype)
    assert lists.to_list() == [[], [{"code": "A", "n": 1}, {"code": "B", "n": 2}], []]


def test_a_row_number_past_the_end_is_refused() -> None:
    with pytest.raises(ValueError, match="beyond the 2 rows"):
        lists_from_long(pl.Series([0, 2]), pl.Series(["a", "b"]), 2, name="out")


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=4))))
def test_lists_laid_out_long_come_back_as_they_were(rows: list[list[str | None] | None]) -> None:
    lists = pl.Series(rows, dtype=pl.List(pl.String))
    numbers, values = long_from_lists(lists)
    assert numbers.to_list() == [i for i, row in enumerate(rows) for _ in row or []]
    assert values.to_list() == [value for row in rows for value in row or []]
    # a null list comes back empty
    back = lists_from_long(numbers, values, len(rows), name="back")
    assert back.to_list() == [row or [] for row in rows]


@pytest.mark.parametrize("height", [0, 1, 1000])
def test_empty_lists_are_as_many_empty_lists_of_the_type(height: int) -> None:
    inner = pl.Struct({"name": pl.String, "value": pl.String})
    lists = empty_lists(height, inner, name="attributes")
    assert (lists.name, lists.dtype) == ("attributes", pl.List(inner))
    assert lists.to_list() == [[]] * height
