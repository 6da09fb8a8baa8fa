from __future__ import annotations

import random

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.distinct import _first_by_hash, _first_by_value, _names_equal_keys, distinct_values

values = st.one_of(st.none(), st.sampled_from(["1", "2", "x", "", " 1"]))
regions = st.one_of(st.none(), st.sampled_from(["US", "DE"]))


def _frame(rows: list[tuple[str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"a": a, "b": b, "region": region} for a, b, region in rows],
        schema={"a": pl.String, "b": pl.String, "region": pl.String},
    )


def test_each_value_and_region_pair_appears_once_in_order_of_first_appearance() -> None:
    frame = _frame([("1", "2", "US"), ("2", "1", "US"), ("1", None, "DE"), (None, "1", "US")])
    distinct = distinct_values(frame, ["a", "b"], along=["region"])
    # column a first, then b: (1,US) (2,US) (1,DE) from a; nothing new from b
    assert distinct.values.rows() == [("1", "US"), ("2", "US"), ("1", "DE")]


def test_answers_go_back_to_every_row_and_column_that_held_the_value() -> None:
    frame = _frame([("1", "2", "US"), ("2", None, "US"), ("1", "1", None)])
    distinct = distinct_values(frame, ["a", "b"], along=["region"])
    answers = distinct.values.select(answer=pl.col("value") + "@" + pl.col("region").fill_null("-"))
    assert distinct.gather(answers, 0)["answer"].to_list() == ["1@US", "2@US", "1@-"]
    assert distinct.gather(answers, 1)["answer"].to_list() == ["2@US", None, "1@-"]


@settings(deadline=None)
@given(st.lists(st.tuples(values, values, regions), max_size=30))
def test_gathering_the_answers_is_a_left_join_on_value_and_region(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    frame = _frame(rows)
    distinct = distinct_values(frame, ["a", "b"], along=["region"])
    assert distinct.values.height == distinct.values.unique().height
    answers = distinct.values.with_row_index("answer")
    for k, column in enumerate(["a", "b"]):
        gathered = distinct.gather(answers.select("answer"), k)["answer"].to_list()
        expected = frame.join(
            answers.rename({"value": column}),
            on=[column, "region"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        ).with_columns(answer=pl.when(pl.col(column).is_not_null()).then(pl.col("answer")))
        assert gathered == expected["answer"].to_list()


@settings(deadline=None, max_examples=50)
@given(st.lists(st.tuples(values, values, regions), max_size=30), st.randoms(use_true_random=False))
def test_answers_given_in_another_order_go_back_to_the_same_rows(
    rows: list[tuple[str | None, str | None, str | None]], rng: random.Random
) -> None:
    distinct = distinct_values(_frame(rows), ["a", "b"], along=["region"])
    answers = distinct.values.with_row_index("answer").select("answer")
    shuffled_rows = list(range(answers.height))
    rng.shuffle(shuffled_rows)
    order = np.array(shuffled_rows, dtype=np.int64)
    shuffled = distinct.reordered(order)
    for k in range(2):
        assert shuffled.gather(answers[order], k).equals(distinct.gather(answers, k))


@settings(deadline=None)
@given(st.lists(st.tuples(values, regions), max_size=30))
def test_first_occurrences_by_hash_and_by_value_agree(rows: list[tuple[str | None, str | None]]) -> None:
    long = pl.DataFrame(rows, schema={"value": pl.String, "region": pl.String}, orient="row")
    expected = [next(i for i, other in enumerate(rows) if other == row) for row in rows]
    assert _first_by_value(long, ["value", "region"]).tolist() == expected
    by_hash = _first_by_hash(long, ["value", "region"])
    assert _names_equal_keys(long, ["value", "region"], by_hash)
    assert by_hash.tolist() == expected


def test_a_hash_collision_is_caught_so_the_values_decide() -> None:
    long = pl.DataFrame({"value": ["1", "2", "1"], "region": ["US", "US", "US"]})
    # as if "2" had hashed like "1": the check must see that row 1 is not row 0's key
    collided = np.array([0, 0, 0])
    assert not _names_equal_keys(long, ["value", "region"], collided)
    assert _names_equal_keys(long, ["value", "region"], _first_by_value(long, ["value", "region"]))
