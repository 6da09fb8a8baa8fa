"""Parquet columns of every Arrow type are read as text (transforms.ingest_parquet), or the
file is refused with one clear line: never a traceback."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.prepare import prepare_leads
from transforms.errors import LeadFileError
from transforms.ingest import read_lead_file
from transforms.ingest_parquet import parquet_as_text

RENDERED: list[tuple[str, pa.Array, list[str | None]]] = [
    ("duration_s", pa.array([dt.timedelta(seconds=5), None], pa.duration("s")), ["5s", None]),
    ("duration_ms", pa.array([dt.timedelta(seconds=1.5), None], pa.duration("ms")), ["1500ms", None]),
    ("duration_ns", pa.array([7, None], pa.duration("ns")), ["7ns", None]),
    ("binary", pa.array([b"+49 30 1234567", None], pa.binary()), ["+49 30 1234567", None]),
    ("large_binary", pa.array([b"M\xc3\xbcller", b""], pa.large_binary()), ["Müller", None]),
    ("fixed_binary", pa.array([b"ab", None], pa.binary(2)), ["ab", None]),
    ("decimal", pa.array([decimal.Decimal("-1.50"), None], pa.decimal128(5, 2)), ["-1.50", None]),
    (
        "decimal256",
        pa.array([decimal.Decimal("4155552671"), None], pa.decimal256(40, 0)),
        ["4155552671", None],
    ),
    ("date32", pa.array([dt.date(2020, 1, 2), None], pa.date32()), ["2020-01-02", None]),
    ("date64", pa.array([dt.date(2020, 1, 2), None], pa.date64()), ["2020-01-02", None]),
    (
        "timestamp",
        pa.array([dt.datetime(2020, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
        ["2020-01-02 03:04:05.000000", None],
    ),
    (
        "timestamp_tz",
        # a naive datetime is the UTC instant; Berlin is an hour ahead in January
        pa.array([dt.datetime(2020, 1, 2, 2, 4, 5)], pa.timestamp("ms", tz="Europe/Berlin")),
        ["2020-01-02 03:04:05.000+0100"],
    ),
    # Parquet keeps milliseconds at the least
    ("time32", pa.array([dt.time(1, 2, 3), None], pa.time32("s")), ["01:02:03.000", None]),
    ("time64", pa.array([dt.time(1, 2, 3, 4), None], pa.time64("us")), ["01:02:03.000004", None]),
    ("list", pa.array([["a", "b"], None, []], pa.list_(pa.string())), ['["a","b"]', None, "[]"]),
    ("large_list", pa.array([[1, 2]], pa.large_list(pa.int64())), ["[1,2]"]),
    ("fixed_list", pa.array([[1, 2]], pa.list_(pa.int64(), 2)), ["[1,2]"]),
    (
        "struct",
        pa.array([{"a": 1, "b": "x"}, None], pa.struct([("a", pa.int64()), ("b", pa.string())])),
        ['{"a":1,"b":"x"}', None],
    ),
    ("map", pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())), ['[["k",1]]', None]),
    (
        "nested_odd_leaves",
        pa.array(
            [[{"b": b"\xff", "d": decimal.Decimal("1.5"), "t": dt.timedelta(seconds=1)}]],
            pa.list_(pa.struct([("b", pa.binary()), ("d", pa.decimal128(4, 1)), ("t", pa.duration("s"))])),
        ),
        ['[{"b":"ÿ","d":"1.5","t":"0:00:01"}]'],
    ),
    ("dictionary", pa.array(["DE", None, "DE"]).dictionary_encode(), ["DE", None, "DE"]),
    ("dictionary_of_ints", pa.array([4155552671, None]).dictionary_encode(), ["4155552671", None]),
    ("null", pa.array([None, None], pa.null()), [None, None]),
    ("float16", pa.array([1.5, None], pa.float16()), ["1.5", None]),
    (
        "float_huge",
        pa.array([1e300, float("nan"), float("inf"), 4155552671.0]),
        ["1e+300", None, None, "4155552671"],
    ),
    ("bool", pa.array([True, False, None]), ["true", "false", None]),
    ("uint64", pa.array([2**64 - 1, None], pa.uint64()), ["18446744073709551615", None]),
    ("string_view", pa.array(["x", ""], pa.string_view()), ["x", None]),
    (
        "uuid",
        pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"\x12" * 16, None], pa.binary(16))),
        ["12121212-1212-1212-1212-121212121212", None],
    ),
    ("bool8", pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, 0], pa.int8())), ["true", "false"]),
]


def _write(tmp_path: Path, name: str, values: pa.Array) -> Path:
    path = tmp_path / f"{name}.parquet"
    emails = pa.array([f"lead{n}@example.com" for n in range(len(values))])
    pq.write_table(pa.table({"email": emails, "notes": values}), path)
    return path


@pytest.mark.parametrize(("name", "values", "expected"), RENDERED, ids=[case[0] for case in RENDERED])
def test_every_arrow_type_is_read_as_text(
    name: str, values: pa.Array, expected: list[str | None], tmp_path: Path
) -> None:
    frame = read_lead_file(_write(tmp_path, name, values)).frame
    assert frame["notes"].to_list() == expected
    assert frame["issues"].to_list() == [[]] * len(expected)


def test_binary_values_that_are_not_utf8_are_read_as_cp1252_and_flagged_on_their_row(
    tmp_path: Path,
) -> None:
    values = pa.array([b"M\xfcller", b"ok", None, b"\x81\xff"], pa.binary())
    frame = read_lead_file(_write(tmp_path, "legacy", values)).frame
    assert frame["notes"].to_list() == ["Müller", "ok", None, "\x81ÿ"]
    issues: list[list[dict[str, Any]]] = frame["issues"].to_list()
    assert issues == [
        [{"code": "BINARY_NOT_UTF8", "column": "notes", "value": "Müller"}],
        [],
        [],
        [{"code": "BINARY_NOT_UTF8", "column": "notes", "value": "\x81ÿ"}],
    ]


def test_a_binary_value_with_a_byte_cp1252_leaves_undefined_keeps_its_cp1252_letters(tmp_path: Path) -> None:
    # read whole as Latin-1 before, its "\x92" (cp1252's "’") became an invisible control
    values = pa.array([b"O\x92Brien \x81", b"C\x9cur \x80 \x8d"], pa.binary())
    frame = read_lead_file(_write(tmp_path, "legacy", values)).frame
    assert frame["notes"].to_list() == ["O\u2019Brien \x81", "C\u0153ur \u20ac \x8d"]


def test_a_type_with_no_text_rendering_refuses_the_file_naming_the_column() -> None:
    table = pa.table({"phone": ["1"], "Wait": pa.array([(1, 2, 3)], pa.month_day_nano_interval())})
    with pytest.raises(LeadFileError) as caught:
        parquet_as_text(Path("leads.parquet"), table, ["phone", "Wait"])
    message = str(caught.value)
    assert message.startswith("leads.parquet: the column 'Wait' has the Parquet type month_day_nano_interval")
    assert "\n" not in message


def test_a_refusal_naming_a_header_with_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    pq.write_table(pa.table({"Notes\nmore": ["x"]}), path)
    with pytest.raises(LeadFileError) as caught:
        prepare_leads(path)
    assert "Notes\\nmore" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_polars_fast_path_renders_as_the_arrow_path(tmp_path: Path) -> None:
    """Plain files are read by polars: the text must be what the general path gives."""
    table = pa.table(
        {
            "phone": pa.array([4155552671.0, float("nan"), 1e300, -0.5, None]),
            "f32": pa.array([1.1, 2.0, None, float("inf"), 3.25], pa.float32()),
            "id": pa.array([7, -1, None, 2**63 - 1, 0], pa.int64()),
            "u8": pa.array([255, 0, None, 1, 2], pa.uint8()),
            "ok": pa.array([True, False, None, True, False]),
            "email": pa.array(["a@b.de", "", None, "x", "é"], pa.large_string()),
        }
    )
    path = tmp_path / "plain.parquet"
    pq.write_table(table, path)
    fast = read_lead_file(path).frame.drop("source_row", "issues")
    general, _ = parquet_as_text(path, table, table.column_names)
    assert fast.to_dicts() == general.to_dicts()
    assert fast["phone"].to_list() == ["4155552671", None, "1e+300", "-0.5", None]
    assert fast["f32"].to_list() == ["1.1", "2", None, None, "3.25"]
