"""schemas.checks.Contract: the same verdict as pandera on every frame, in one pass."""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaError, SchemaErrors

from schemas.clean_leads import CLEAN_LEADS_CONTRACT
from schemas.raw_leads import RAW_LEADS, RAW_LEADS_CONTRACT
from schemas.results import RESULTS_CONTRACT

CONTRACTS = {"raw": RAW_LEADS_CONTRACT, "clean": CLEAN_LEADS_CONTRACT, "results": RESULTS_CONTRACT}

_PHONES = [
    "+14155550123",
    "+493012345678",
    "14155550123",
    "+0301234",
    "+123456",
    "+1234567890123456",
    " +14155550123",
]


def _values(column: pa.Column) -> list[Any]:
    """Values that meet the column's checks, and some that do not (each check's edges)."""
    dtype = column.dtype.type
    values: list[Any] = [None]
    for check in column.checks:
        given = check.statistics
        if check.name == "isin":
            values += [*list(given["allowed_values"])[:3], "not-a-code", ""]
        elif check.name == "str_matches":
            values += _PHONES
        elif check.name == "greater_than_or_equal_to":
            values += [given["min_value"] - 1, given["min_value"], given["min_value"] + 5]
    if len(values) > 1:
        return values
    if isinstance(dtype, pl.List):
        return [None, []]
    if dtype == pl.String:
        return [None, "a", "b"]
    if dtype.is_integer():
        return [None, 1, 2, 3]
    return [None]


@st.composite
def frames(draw: st.DrawFn, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """A small frame of the contract's columns: valid values, then at times one column drawn
    from all its values (some break a check), or the frame's shape wrong."""
    rows = draw(st.integers(0, 4))
    columns = list(schema.columns.items())
    checked = [name for name, column in columns if column.checks or not column.nullable]
    loose = draw(st.sampled_from([None, *checked]))
    data: dict[str, list[Any]] = {}
    for name, column in columns:
        values = _values(column)
        if name != loose:  # the values a passing frame holds: an allowed one, null where allowed
            good = [v for v in values if v is not None][:1]
            if not good:
                good = [[]] if isinstance(column.dtype.type, pl.List) else [None]
            values = [*good, None] if column.nullable else good
        data[name] = [draw(st.sampled_from(values)) for _ in range(rows)]
    if "source_row" in data and draw(st.booleans()):
        data["source_row"] = list(range(1, rows + 1))
    frame = pl.DataFrame(data, schema={name: column.dtype.type for name, column in schema.columns.items()})
    shape = draw(st.sampled_from(["as is"] * 6 + ["dropped", "swapped", "cast", "extra"]))
    names = frame.columns
    if shape == "dropped":
        frame = frame.drop(names[-1])
    elif shape == "swapped":
        frame = frame.select(names[1], names[0], *names[2:])
    elif shape == "cast":
        frame = frame.with_columns(pl.col("source_row").cast(pl.Int32))
    elif shape == "extra":
        frame = frame.with_columns(extra=pl.lit(1))
    return frame


def _pandera_verdict(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> str | None:
    try:
        schema.validate(frame)
    except (SchemaError, SchemaErrors) as error:
        return str(error)
    return None


@pytest.mark.parametrize("which", list(CONTRACTS))
# hypothesis's default 100 examples a contract: each builds pandera's verdict too (300 took 22 s of CI)
@settings(deadline=None, max_examples=100)
@given(data=st.data())
def test_a_frame_passes_the_fast_contract_exactly_when_it_passes_pandera(
    which: str, data: st.DataObject
) -> None:
    contract = CONTRACTS[which]
    schema = contract.schema
    frame = data.draw(frames(schema))
    expected = _pandera_verdict(schema, frame)
    if expected is None:
        assert contract.validate(frame).equals(frame)
    else:
        with pytest.raises((SchemaError, SchemaErrors)) as failed:
            contract.validate(frame)
        assert str(failed.value) == expected  # pandera's own error, as before


def test_a_repeated_source_row_fails_with_pandera_s_error() -> None:
    rows = [dict.fromkeys(RAW_LEADS) | {"source_row": n, "attributes": [], "issues": []} for n in (1, 2, 2)]

    with pytest.raises(SchemaError, match="no two rows share source_row"):
        RAW_LEADS_CONTRACT.validate(pl.DataFrame(rows, schema=RAW_LEADS))
