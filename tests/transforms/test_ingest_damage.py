"""Ingest on damaged CSV: a quote that swallows lines, and files mixing UTF-8 and cp1252.

Real files written to tmp_path and read back through read_lead_file; the end-to-end
counterpart (``leadflow validate`` in a subprocess) is tests/flows/test_validate_csv_damage.py.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
import pytest

from transforms.ingest import read_lead_file


def write(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def codes(frame: pl.DataFrame) -> list[list[str]]:
    found: list[list[str]] = frame["issues"].list.eval(pl.element().struct.field("code")).to_list()
    return found


def test_a_quote_open_until_the_end_of_the_file_costs_no_row(tmp_path: Path) -> None:
    names = {n: f"Name {n}" for n in range(1, 51)} | {2: '"Bob'}
    lines = ["id,name,phone"] + [f"{n},{names[n]},+49301234{n:02d}" for n in range(1, 51)]
    frame = read_lead_file(write(tmp_path, "\n".join(lines) + "\n")).frame
    assert frame.height == 50
    assert frame["id"].to_list() == [str(n) for n in range(1, 51)]
    assert frame.row(1, named=True)["name"] == '"Bob'  # the stray quote is kept, not guessed away
    assert frame.row(1, named=True)["phone"] == "+4930123402"
    assert codes(frame)[1] == ["UNTERMINATED_QUOTE"]
    assert frame["issues"][1][0]["column"] == "name"
    assert all(found == [] for number, found in enumerate(codes(frame)) if number != 1)


def test_a_quote_closed_by_a_second_stray_quote_lines_later_costs_no_row(tmp_path: Path) -> None:
    text = 'id,name,phone\n1,Ann,+4930111\n2,"Bob,+4930222\n3,Cy,+4930333\n4,"Di,+4930444\n5,Ed,+4930555\n'
    frame = read_lead_file(write(tmp_path, text)).frame
    assert frame["id"].to_list() == ["1", "2", "3", "4", "5"]
    assert [number for number, found in enumerate(codes(frame), 1) if "UNTERMINATED_QUOTE" in found] == [2, 4]


def test_a_quote_that_swallows_rows_into_a_record_of_the_wrong_width_costs_no_row(tmp_path: Path) -> None:
    text = 'id,name,phone\n1,"Ann,+4930111\n2,Bob,+4930222\n3,Cy",+4930333,extra\n4,Di,+4930444\n'
    frame = read_lead_file(write(tmp_path, text)).frame
    assert frame["id"].to_list() == ["1", "2", "3", "4"]
    assert codes(frame) == [["UNTERMINATED_QUOTE"], [], ["RAGGED_ROW"], []]


def test_a_quote_left_open_on_the_last_line_is_named(tmp_path: Path) -> None:
    frame = read_lead_file(write(tmp_path, 'id,name,phone\n1,Ann,+4930111\n2,Bob,"+4930222')).frame
    assert frame["phone"].to_list() == ["+4930111", '"+4930222']
    assert codes(frame) == [[], ["UNTERMINATED_QUOTE"]]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_genuine_multi_line_values_stay_one_row(tmp_path: Path, eol: str) -> None:
    text = eol.join(
        ["id,notes,phone", '1,"Called,', 'no answer",+4930111', '2,"a', "", 'b",+4930222', "3,x,+49"]
    )
    frame = read_lead_file(write(tmp_path, text + eol)).frame
    assert frame["id"].to_list() == ["1", "2", "3"]
    assert frame["notes"].to_list() == [f"Called,{eol}no answer", f"a{eol}{eol}b", "x"]
    assert codes(frame) == [[], [], []]


def test_blank_lines_and_quoted_fields_on_one_line_keep_the_fast_read(tmp_path: Path) -> None:
    text = 'id,name,phone\r\n\r\n1,"Müller, Hans",+4930111\r\n\r\n2,"Ann ""A""",+4930222\r\n\r\n'
    frame = read_lead_file(write(tmp_path, text)).frame
    assert frame["name"].to_list() == ["Müller, Hans", 'Ann "A"']
    assert codes(frame) == [[], []]


def test_cp1252_lines_in_a_utf8_file_are_decoded_as_cp1252_and_flagged(tmp_path: Path) -> None:
    lines = [b"id;name;phone\r\n"] + [
        f"{n};José Müller;+49301234{n:02d}\r\n".encode("cp1252" if n == 3 else "utf-8") for n in range(1, 6)
    ]
    ingested = read_lead_file(write(tmp_path, b"".join(lines)))
    assert ingested.encoding == "utf-8+cp1252"
    assert set(ingested.frame["name"].to_list()) == {"José Müller"}
    assert codes(ingested.frame) == [[], [], ["ENCODING_MIXED"], [], []]
    assert "cp1252" in ingested.frame["issues"][2][0]["value"]


def test_utf8_lines_in_a_cp1252_file_are_decoded_as_utf8_and_flagged(tmp_path: Path) -> None:
    lines = [b"id,name\n"] + [
        f"{n},Jürgen Groß\n".encode("utf-8" if n == 4 else "cp1252") for n in range(1, 7)
    ]
    ingested = read_lead_file(write(tmp_path, b"".join(lines)))
    assert ingested.encoding == "cp1252+utf-8"
    assert set(ingested.frame["name"].to_list()) == {"Jürgen Groß"}
    assert [n for n, found in enumerate(codes(ingested.frame), 1) if found] == [4]


def test_a_utf8_bom_file_with_cp1252_lines_flags_them(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + "id,name\n1,Zoë\n".encode() + "2,Zoë\n".encode("cp1252")
    ingested = read_lead_file(write(tmp_path, data))
    assert ingested.frame["name"].to_list() == ["Zoë", "Zoë"]
    assert codes(ingested.frame) == [[], ["ENCODING_MIXED"]]


def test_a_cp1252_header_line_in_a_utf8_file_flags_no_row(tmp_path: Path) -> None:
    data = "Straße,phone\n".encode("cp1252") + "Grüner Weg,+4930111\n".encode()
    ingested = read_lead_file(write(tmp_path, data))
    assert ingested.headers == ["Straße", "phone"]
    assert codes(ingested.frame) == [[]]


def test_a_pure_cp1252_file_is_not_mixed(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "name\nJürgen\nJosé\n".encode("cp1252")))
    assert ingested.encoding == "cp1252"
    assert codes(ingested.frame) == [[], []]


def test_a_quote_left_open_in_the_header_costs_no_row(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, 'id,"name,phone\n1,Ann,+4930111\n2,Bob,+4930222\n'))
    assert ingested.headers == ["id", '"name', "phone"]
    assert ingested.frame["id"].to_list() == ["1", "2"]


def test_mixed_encoding_rows_are_found_among_blank_lines_and_ragged_rows(tmp_path: Path) -> None:
    data = "id,name\n\n1,José\n".encode() + "2,José\n".encode("cp1252") + "\n3,Zoë,extra\n".encode()
    frame = read_lead_file(write(tmp_path, data)).frame
    assert frame["name"].to_list() == ["José", "José", "Zoë"]
    assert codes(frame) == [[], ["ENCODING_MIXED"], ["RAGGED_ROW"]]
