"""Parquet lead files as text: every Arrow column type read as strings, or refused in one line.

Why its own module: a Parquet file carries types, and Leadflow reads every value as text
(transforms.ingest), so each Arrow type needs a decided rendering. The file is read with
pyarrow, which reads every type Parquet can hold (polars refuses some, e.g. 256-bit
decimals, and panics on others), and each column is rendered here (a file of strings,
numbers and booleans only is read by polars, faster, to the same text):

* strings, integers, booleans ("true"/"false"), decimals ("123.45"), dates ("2020-01-02"),
  times ("01:02:03"), timestamps ("2020-01-02 03:04:05.000", with the zone's offset when the
  type has a zone: "...+0100", "...Z"): Arrow's own cast to string;
* floats (half, single, double): integral values without ".0" (phones saved as numbers),
  NaN and infinities as null;
* durations: the count and its unit, "5s", "1500ms", "12us", "7ns";
* dictionary-encoded columns: their values, rendered by the rules of the value type;
  extension types: their storage (UUIDs as "12345678-1234-...", 8-bit booleans as booleans);
* binary (any width): the text when it is UTF-8; a value that is not is read as cp1252
  (Latin-1 where cp1252 leaves a byte undefined), the encoding a legacy export most likely
  used, and its row gets a ``BINARY_NOT_UTF8`` issue naming the column, so the guess is never
  silent;
* nested columns (lists, structs, maps): compact JSON text, ``["a","b"]``, ``{"a":1}``, maps
  as lists of ``[key, value]`` pairs; bytes inside are decoded as above, other values as
  their text (Python's ``str``); this runs per value in Python, a cost only such columns pay;
* the null type: null.

Any other type (intervals, unions) refuses the file with ``LeadFileError`` naming the column
and its type. An empty string is null, as in a CSV file.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.codes import Issue
from schemas.raw_leads import ISSUE
from transforms.errors import LeadFileError
from transforms.issues import issue
from transforms.legacy_text import decode_latin1

__all__ = ["parquet_as_text", "read_parquet_text"]

_AGAIN: Final = "Export the Parquet file again"
_TEXT = pa.large_string()
Text: TypeAlias = pa.ChunkedArray | pl.Series
"""A column rendered as text: Arrow's cast, or a polars Series where polars renders it."""
_NO_FINDINGS: Final = pl.DataFrame(schema={"_row": pl.Int64, "_issue": ISSUE})


def read_parquet_text(
    path: Path, data: bytes, unique: Callable[[list[str]], list[str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file's columns as text (:func:`parquet_as_text`), under the names ``unique`` makes
    of the file's own; ``LeadFileError`` when the file cannot be read.

    A file of strings, integers, floats and booleans only (the usual export) is read by
    polars, a third faster than pyarrow's reader for a million rows, to the same text."""
    schema = _schema(path, data)
    names = unique(list(schema.names))
    if all(_polars_renders(field.type) for field in schema) and len(set(schema.names)) == len(schema.names):
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError):
            pass
        # polars may type a column from the file's Arrow schema where pyarrow's reader sees the
        # Parquet type (a dictionary of durations: int64 to pyarrow, Duration to polars, which
        # it cannot cast to text): such a file goes the pyarrow way
        else:
            if not all(_polars_text_kind(dtype) for dtype in frame.dtypes):
                return parquet_as_text(path, _table(path, data), names)
            text = [
                _no_empty(
                    (_floats(column) if column.dtype.is_float() else column.cast(pl.String)).alias(name)
                )
                for column, name in zip(frame.get_columns(), names, strict=True)
            ]
            return pl.DataFrame(text, height=frame.height), _NO_FINDINGS
    return parquet_as_text(path, _table(path, data), names)


def _schema(path: Path, data: bytes) -> pa.Schema:
    try:
        schema = pq.read_schema(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise LeadFileError(path, f"the Parquet file cannot be read ({type(exc).__name__})", _AGAIN) from None
    if not schema.names:
        raise LeadFileError(
            path, "the Parquet file has no columns", "Export the leads again with their columns"
        )
    return schema


def _table(path: Path, data: bytes) -> pa.Table:
    try:
        # ParquetFile, not read_table: the dataset reader refuses repeated column names
        return pq.ParquetFile(pa.BufferReader(data)).read()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise LeadFileError(path, f"the Parquet file cannot be read ({type(exc).__name__})", _AGAIN) from None


def _polars_renders(kind: pa.DataType) -> bool:
    """Types polars reads and renders exactly as :func:`_text` would."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_float32(kind)
        or pa.types.is_float64(kind)
    )


def _polars_text_kind(dtype: pl.DataType) -> bool:
    """Types polars read a column as that the fast path renders (:func:`_polars_renders`'s)."""
    return bool(dtype in (pl.String, pl.Boolean) or dtype.is_integer() or dtype.is_float())


def _no_empty(text: pl.Series) -> pl.Series:
    return pl.select(pl.when(text != "").then(text)).to_series().alias(text.name)


def parquet_as_text(path: Path, table: pa.Table, names: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``table``'s columns as strings under ``names`` (null for empty), and the findings
    (``_row``, ``_issue``) of values that were not text (``BINARY_NOT_UTF8``), by row."""
    columns: list[pl.Series] = []
    found: list[pl.DataFrame] = []
    for original, name, column in zip(table.column_names, names, table.columns, strict=True):
        text, guessed = _text(path, original, column)
        series = pl.Series(name, text, dtype=pl.String)
        columns.append(_no_empty(series))
        if guessed is not None and guessed.any():
            rows = pl.Series("_row", guessed.arg_true(), dtype=pl.Int64)
            found.append(
                pl.DataFrame([rows, series.gather(rows).alias("value")]).select(
                    "_row", _issue=issue(Issue.BINARY_NOT_UTF8.value, name, pl.col("value"))
                )
            )
    frame = pl.DataFrame(columns, height=table.num_rows)
    return frame, pl.concat(found).sort("_row", maintain_order=True) if found else _NO_FINDINGS


def _text(path: Path, name: str, column: pa.ChunkedArray) -> tuple[Text, pl.Series | None]:
    """The column as text, and (binary columns only) which values were not UTF-8."""
    kind = column.type
    if isinstance(kind, pa.BaseExtensionType):
        storage = pa.chunked_array([chunk.storage for chunk in column.chunks], type=kind.storage_type)
        if isinstance(kind, pa.UuidType):
            return _per_value(storage, lambda value: str(uuid.UUID(bytes=value))), None
        if isinstance(kind, pa.Bool8Type):
            return storage.cast(pa.bool_()).cast(_TEXT), None
        return _text(path, name, storage)
    if pa.types.is_dictionary(kind):
        return _text(path, name, column.cast(kind.value_type))
    if pa.types.is_null(kind):
        return pa.nulls(len(column), _TEXT), None
    if pa.types.is_floating(kind):
        # half floats as single ones (polars has none): a float keeps its own width's digits
        return _floats(pl.Series(column.cast(pa.float32()) if kind == pa.float16() else column)), None
    if pa.types.is_duration(kind):
        return pl.Series(column.cast(pa.int64()).cast(_TEXT)) + kind.unit, None
    if _is_binary(kind):
        return _binary(column)
    if pa.types.is_nested(kind):
        return _per_value(column, _json), None
    if _is_plain(kind):
        return _cast(path, name, column), None
    raise LeadFileError(
        path,
        f"the column {name!r} has the Parquet type {kind}, which Leadflow cannot read as text",
        "Export that column as text (or leave it out) and try again",
    )


def _cast(path: Path, name: str, column: pa.ChunkedArray) -> Text:
    """Arrow's cast to string; a timestamp whose zone Arrow does not know is rendered in UTC."""
    try:
        return column.cast(_TEXT)
    except pa.ArrowException:
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            utc = pl.Series(column.cast(pa.timestamp(column.type.unit)).cast(_TEXT))
            return utc + "Z"
        raise LeadFileError(
            path,
            f"the column {name!r} ({column.type}) holds values Leadflow cannot write as text",
            "Export that column as text (or leave it out) and try again",
        ) from None


def _is_plain(kind: pa.DataType) -> bool:
    """Types whose Arrow cast to string is the rendering."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_date(kind)
        or pa.types.is_time(kind)
        or pa.types.is_timestamp(kind)
    )


def _is_binary(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary_view(kind)
    )


def _floats(values: pl.Series) -> pl.Series:
    return pl.select(
        pl.when(values.is_nan() | values.is_infinite())
        .then(None)
        .when((values == values.round(0)) & (values.abs() < 1e15))
        .then(values.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(values.cast(pl.String))
    ).to_series()


def _binary(column: pa.ChunkedArray) -> tuple[Text, pl.Series | None]:
    """UTF-8 values as they are; when some are not, every value decoded by :func:`_decode`
    and those marked (a per-value pass only such a column pays)."""
    raw = column.cast(pa.large_binary())
    try:
        return raw.cast(_TEXT), None
    except pa.ArrowInvalid:
        pass
    values = raw.to_pylist()
    guessed = pl.Series([value is not None and not _is_utf8(value) for value in values], dtype=pl.Boolean)
    decoded = [None if value is None else _decode(value) for value in values]
    return pl.Series(decoded, dtype=pl.String), guessed


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(value: bytes) -> str:
    """Bytes as text: UTF-8, else cp1252 with the bytes it leaves undefined read as Latin-1
    (transforms.legacy_text, as a CSV's): a stray 0x81 beside "O\x92Brien" no longer turns
    its "’" into a control character."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return decode_latin1(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return _decode(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _per_value(column: pa.ChunkedArray, render: Callable[[Any], str]) -> pl.Series:
    return pl.Series(
        [None if value is None else render(value) for value in column.to_pylist()], dtype=pl.String
    )
