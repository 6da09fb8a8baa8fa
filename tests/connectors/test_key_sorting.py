"""connectors.key_sorting: polars' sorts of many keys agree with numpy's, whatever the keys, and
so do the keys once each."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from connectors import key_sorting
from connectors.key_sorting import KeyOrder, distinct_keys, sort_order, sorted_keys

keys = arrays(
    np.int64,
    st.integers(0, 300),
    elements=st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([-(2**63), -1, 0, 1, 2**63 - 1, 14155550100]),  # extremes and repeats
    ),
)


@pytest.mark.parametrize("polars_from", [0, 64, 1 << 30])  # polars always, for the longer ones, never
def test_sorts_of_keys_agree_with_numpy_whichever_library_sorts_them(
    monkeypatch: pytest.MonkeyPatch, polars_from: int
) -> None:
    monkeypatch.setattr(key_sorting, "POLARS_FROM", polars_from)

    @settings(max_examples=300, deadline=None)
    @given(found=keys)
    def check(found: np.ndarray) -> None:
        expected = np.sort(found)
        order = sort_order(found)
        assert sorted(order.tolist()) == list(range(len(found)))  # each position once
        assert (found[order] == expected).all()
        assert (sorted_keys(found) == expected).all()
        assert distinct_keys(found).tolist() == np.unique(found).tolist()
        values = found.tolist()
        assert KeyOrder.of(found).repeated().tolist() == [values.count(value) > 1 for value in values]

    check()


def test_a_plan_sized_array_is_sorted_by_polars_and_still_exactly() -> None:
    found = np.random.default_rng(18).integers(
        -(2**63), 2**63 - 1, key_sorting.POLARS_FROM * 2, dtype=np.int64
    )
    found[7] = found[70_000 % len(found)]
    assert sort_order(found).dtype == np.uint32  # polars' order, not numpy's intp
    assert (found[sort_order(found)] == np.sort(found)).all()
    assert KeyOrder.of(found).repeated().sum() == 2
    assert not KeyOrder.of(np.unique(found)).repeated().any()
