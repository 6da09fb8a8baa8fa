"""Parquet properties: any schema, any values -> one clear file error, or exactly one result per row.

Random Arrow columns (primitive and nested types, nulls everywhere, dictionary and extension
types) under names that map to the canonical columns or not, written with pyarrow to a real
file. Ingest either refuses it with ``LeadFileError`` (one line, naming the file) or reads
every row with every column as text; then the whole preparation (mapping, normalization,
dedupe, results) either refuses it the same way or gives one valid result row per input row.
And a plain file (booleans, integers, floats, strings), which polars reads, gives the same text
as the general (pyarrow) path.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.prepare import prepare_leads
from schemas.results import RESULTS_SCHEMA
from transforms.errors import LeadFileError
from transforms.ingest import RESERVED_COLUMNS, read_lead_file
from transforms.ingest_parquet import parquet_as_text
from transforms.results import VALIDATE_TARGET, build_results, check_row_invariant

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Modest: an example writes and reads a real file, and the pipeline one normalizes it too."""

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_PHONEISH = st.sampled_from(["0151 12345678", "+49 30 1234567", "01110", "+1 415 555 2671", "x", ""])


def _int_range(kind: pa.DataType) -> st.SearchStrategy[int]:
    bits = kind.bit_width
    if pa.types.is_signed_integer(kind):
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.integers(0, 2**bits - 1)


_PRIMITIVES: list[tuple[pa.DataType, st.SearchStrategy[Any]]] = [
    (pa.bool_(), st.booleans()),
    *((kind, _int_range(kind)) for kind in (pa.int8(), pa.int32(), pa.int64(), pa.uint8(), pa.uint64())),
    (pa.float16(), st.floats(width=16)),
    (pa.float32(), st.floats(width=32)),
    (pa.float64(), st.floats() | st.integers(0, 10**12).map(float)),
    (pa.string(), _TEXT | _PHONEISH),
    (pa.large_string(), _TEXT),
    (pa.binary(), st.binary(max_size=8) | _PHONEISH.map(str.encode)),
    (pa.large_binary(), st.binary(max_size=8)),
    (pa.binary(3), st.binary(min_size=3, max_size=3)),
    (
        pa.decimal128(12, 2),
        st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    ),
    (pa.decimal256(40, 0), st.integers(-(10**39) + 1, 10**39 - 1).map(decimal.Decimal)),
    (pa.date32(), st.dates()),
    (pa.date64(), st.dates()),
    (pa.timestamp("ms"), st.datetimes()),
    (pa.timestamp("us", tz="UTC"), st.datetimes()),
    (pa.timestamp("ms", tz="America/New_York"), st.datetimes()),
    (pa.time32("ms"), st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))),
    (pa.time64("us"), st.times()),
    (pa.duration("s"), st.timedeltas(dt.timedelta(days=-(10**5)), dt.timedelta(days=10**5))),
    (pa.duration("ns"), st.timedeltas(dt.timedelta(days=-(10**4)), dt.timedelta(days=10**4))),
    (pa.null(), st.none()),
]


def _nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


def _nested(
    child: st.SearchStrategy[tuple[pa.DataType, st.SearchStrategy[Any]]],
) -> st.SearchStrategy[tuple[pa.DataType, st.SearchStrategy[Any]]]:
    def lists(
        inner: tuple[pa.DataType, st.SearchStrategy[Any]],
    ) -> tuple[pa.DataType, st.SearchStrategy[Any]]:
        kind, values = inner
        return pa.list_(kind), st.lists(_nullable(values), max_size=3)

    def large_lists(inner: tuple[pa.DataType, st.SearchStrategy[Any]]) -> tuple[pa.DataType, Any]:
        kind, values = inner
        return pa.large_list(kind), st.lists(_nullable(values), max_size=3)

    def fixed_lists(inner: tuple[pa.DataType, st.SearchStrategy[Any]]) -> tuple[pa.DataType, Any]:
        kind, values = inner
        return pa.list_(kind, 2), st.lists(_nullable(values), min_size=2, max_size=2)

    def structs(pair: list[tuple[pa.DataType, st.SearchStrategy[Any]]]) -> tuple[pa.DataType, Any]:
        fields = [(f"f{n}", kind) for n, (kind, _) in enumerate(pair)]
        values = st.fixed_dictionaries({f"f{n}": _nullable(values) for n, (_, values) in enumerate(pair)})
        return pa.struct(fields), values

    def maps(inner: tuple[pa.DataType, st.SearchStrategy[Any]]) -> tuple[pa.DataType, Any]:
        kind, values = inner
        return pa.map_(pa.string(), kind), st.lists(st.tuples(_TEXT, _nullable(values)), max_size=3)

    return st.one_of(
        child.map(lists),
        child.map(large_lists),
        child.map(fixed_lists),
        st.lists(child, min_size=1, max_size=2).map(structs),
        child.map(maps),
    )


_VIEWS: list[tuple[pa.DataType, st.SearchStrategy[Any]]] = [
    (pa.string_view(), _TEXT),
    (pa.binary_view(), st.binary(max_size=8)),
]
"""Top-level columns only: the Parquet writer cannot write views inside nested types."""
_DICTIONARY_VALUES = (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())
"""Besides the primitive types, what the Parquet writer takes dictionary-encoded (not views)."""
_TYPES = st.recursive(st.sampled_from(_PRIMITIVES), _nested, max_leaves=3)

_CANONICAL = ["phone", "Mobile", "email", "E-Mail", "country", "timezone", "Vorname", "Nachname", "ID"]
_OTHER = ["notes", "", " ", "source_row", "issues", "attributes", "phone", "Notes\r\nmore", "\x00"]
_NAMES = st.sampled_from([*_CANONICAL, *_OTHER]) | _TEXT.map(lambda name: name[:5])
"""Names that map to the canonical columns (so values reach normalization), reserved and odd ones."""


@st.composite
def arrow_tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 5))
    arrays: list[pa.Array] = []
    names: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind, values = draw(_TYPES | st.sampled_from(_VIEWS))
        column = draw(st.lists(_nullable(values), min_size=rows, max_size=rows))
        array = pa.array(column, type=kind)
        encoding = draw(st.sampled_from(["plain", "dictionary", "uuid"]))
        if encoding == "dictionary" and (pa.types.is_primitive(kind) or kind in _DICTIONARY_VALUES):
            array = array.dictionary_encode()
        elif encoding == "uuid" and pa.types.is_fixed_size_binary(kind):
            uuids = st.lists(_nullable(st.binary(min_size=16, max_size=16)), min_size=rows, max_size=rows)
            array = pa.ExtensionArray.from_storage(pa.uuid(), pa.array(draw(uuids), pa.binary(16)))
        arrays.append(array)
        names.append(draw(_NAMES))
    return pa.Table.from_arrays(arrays, names=names)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file rewritten by every example (function-scoped tmp_path does not mix with @given)."""
    return tmp_path_factory.mktemp("parquet-properties") / "leads.parquet"


def _assert_one_clear_line(error: LeadFileError, path: Path) -> None:
    message = str(error)
    assert message.startswith(f"{path}: ")
    assert error.problem and error.fix
    assert "Traceback" not in message
    assert "\n" not in message, "the CLI prints the error on one line"


@SETTINGS
@given(table=arrow_tables())
def test_any_parquet_columns_are_read_as_text_or_refused_in_one_line(scratch: Path, table: pa.Table) -> None:
    pq.write_table(table, scratch)
    try:
        ingested = read_lead_file(scratch)
    except LeadFileError as error:
        _assert_one_clear_line(error, scratch)
        return
    frame = ingested.frame
    assert frame.height == table.num_rows
    assert frame["source_row"].to_list() == list(range(1, table.num_rows + 1))
    assert len(ingested.headers) == table.num_columns
    assert all(frame.schema[name] == pl.String for name in frame.columns if name not in RESERVED_COLUMNS)
    assert not any((frame[name] == "").any() for name in ingested.headers)  # empty is null


@SETTINGS
@given(table=arrow_tables())
def test_any_parquet_file_gives_a_file_error_or_exactly_one_result_per_row(
    scratch: Path, table: pa.Table
) -> None:
    pq.write_table(table, scratch)
    try:
        prepared = prepare_leads(scratch)
    except LeadFileError as error:
        _assert_one_clear_line(error, scratch)
        return
    results = build_results(prepared.clean, run_id="r", source_file=str(scratch), target=VALIDATE_TARGET)
    check_row_invariant(results, table.num_rows, 1)
    RESULTS_SCHEMA.validate(results)
    assert results["source_row"].to_list() == list(range(1, table.num_rows + 1))


_PLAIN = [
    (kind, values)
    for kind, values in _PRIMITIVES
    if kind in (pa.bool_(), pa.int8(), pa.int64(), pa.uint64(), pa.float32(), pa.float64(), pa.string())
]


@st.composite
def plain_columns(draw: st.DrawFn) -> tuple[pa.Array, ...]:
    rows = draw(st.integers(0, 5))
    kinds = draw(st.lists(st.sampled_from(_PLAIN), min_size=1, max_size=4))
    return tuple(
        pa.array(draw(st.lists(_nullable(values), min_size=rows, max_size=rows)), type=kind)
        for kind, values in kinds
    )


@SETTINGS
@given(columns=plain_columns())
def test_plain_files_read_by_polars_give_the_text_of_the_general_path(
    scratch: Path, columns: tuple[pa.Array, ...]
) -> None:
    table = pa.Table.from_arrays(list(columns), names=[f"c{n}" for n in range(len(columns))])
    pq.write_table(table, scratch)
    fast = read_lead_file(scratch).frame.drop(*RESERVED_COLUMNS)
    general, _ = parquet_as_text(scratch, pq.read_table(scratch), table.column_names)
    assert fast.to_dicts() == general.to_dicts()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_dictionary_of_durations_polars_types_apart_from_pyarrow_is_read_as_text(
    tmp_path: Path, unit: str
) -> None:
    """Found by the property above: pyarrow reads such a column back as int64, so the polars fast
    path took the file, but polars types it Duration (from the file's Arrow schema) and cannot cast
    that to text: a raw polars error instead of the file's rows. It now goes the pyarrow way."""
    path = tmp_path / "leads.parquet"
    durations = pa.array([1, None, 1], pa.duration(unit)).dictionary_encode()
    pq.write_table(pa.table({"waited": durations, "email": ["a@x.org", "b@x.org", None]}), path)
    frame = read_lead_file(path).frame
    assert frame["email"].to_list() == ["a@x.org", "b@x.org", None]
    assert frame["waited"].dtype == pl.String and frame["waited"][1] is None
    general, _ = parquet_as_text(path, pq.read_table(path), ["waited", "email"])
    assert frame.drop(*RESERVED_COLUMNS).to_dicts() == general.to_dicts()
