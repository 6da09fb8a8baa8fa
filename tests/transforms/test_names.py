from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.names import normalize_names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mary   Ann ", "Mary Ann"),
        ("van der\tBerg", "van der Berg"),
        ("McDonald", "McDonald"),
        ("José\u00a0María", "José María"),
        ("   ", None),
        (None, None),
    ],
)
def test_names_are_trimmed_and_collapsed_but_keep_their_casing(raw: str | None, expected: str | None) -> None:
    frame = pl.DataFrame(
        {"first_name": [raw], "last_name": [raw]}, schema={"first_name": pl.String, "last_name": pl.String}
    )
    out = normalize_names(frame).collect()
    assert out.row(0) == (expected, expected)


_TEXT = st.text(alphabet=st.sampled_from(["a", "Z", "é", " ", "\t", "\n", "\u00a0", "\u200b", "\u3000", "-"]))


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXT), max_size=20))
def test_every_whitespace_run_becomes_one_space_and_the_ends_are_trimmed(values: list[str | None]) -> None:
    frame = pl.DataFrame({"first_name": values, "last_name": values}, schema=dict.fromkeys(_NAMES, pl.String))
    expected = [_reference(value) for value in values]
    out = normalize_names(frame).collect()
    assert out.get_column("first_name").to_list() == expected


_NAMES = ("first_name", "last_name")


def _reference(value: str | None) -> str | None:
    if value is None:
        return None
    collapsed = re.sub(r"[\s\u200b]+", " ", value).strip()
    return collapsed or None
