from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaError

from schemas.checks import unique_together
from schemas.raw_leads import RAW_LEADS, RAW_LEADS_SCHEMA

ROWS_PER_TARGET = pa.DataFrameSchema(
    {"source_row": pa.Column(pl.Int64, nullable=True), "target": pa.Column(pl.String)},
    checks=[unique_together("source_row", "target")],
)
ROWS = pa.DataFrameSchema(
    {"source_row": pa.Column(pl.Int64, nullable=True)}, checks=[unique_together("source_row")]
)


def _frame(rows: list[tuple[int | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source_row": pl.Int64, "target": pl.String}, orient="row")


def test_a_row_once_per_target_passes() -> None:
    ROWS_PER_TARGET.validate(_frame([(1, "obi"), (2, "obi"), (1, "engage"), (2, "engage")]))


def test_a_row_twice_for_one_target_fails_naming_the_rows() -> None:
    with pytest.raises(SchemaError, match="no two rows share source_row, target") as failed:
        ROWS_PER_TARGET.validate(_frame([(1, "obi"), (2, "obi"), (2, "obi"), (2, "engage")]))
    cases = failed.value.failure_cases
    assert isinstance(cases, pl.DataFrame)
    assert cases.to_dicts() == [{"source_row": 2, "target": "obi"}] * 2


def test_a_repeated_source_row_fails_the_raw_leads_contract() -> None:
    rows = [dict.fromkeys(RAW_LEADS) | {"source_row": n, "attributes": [], "issues": []} for n in (1, 2, 2)]
    with pytest.raises(SchemaError, match="no two rows share source_row"):
        RAW_LEADS_SCHEMA.validate(pl.DataFrame(rows, schema=RAW_LEADS))


def test_an_empty_frame_passes() -> None:
    ROWS_PER_TARGET.validate(_frame([]))
    ROWS.validate(pl.DataFrame(schema={"source_row": pl.Int64}))


def test_two_nulls_are_a_repeated_value_as_in_pandera() -> None:
    with pytest.raises(SchemaError):
        ROWS.validate(pl.DataFrame({"source_row": [None, 1, None]}, schema={"source_row": pl.Int64}))


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 6)), st.sampled_from(["obi", "engage", "onc"])),
        max_size=25,
    )
)
def test_passes_exactly_when_no_pair_repeats(rows: list[tuple[int | None, str]]) -> None:
    repeats = len(set(rows)) < len(rows)
    try:
        ROWS_PER_TARGET.validate(_frame(rows))
    except SchemaError:
        assert repeats
    else:
        assert not repeats
