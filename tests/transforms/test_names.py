from __future__ import annotations

import polars as pl
import pytest

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
