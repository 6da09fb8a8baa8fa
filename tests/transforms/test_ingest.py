"""Ingest: real files written to tmp_path, read back through read_lead_file."""

from __future__ import annotations

import codecs
import hashlib
import pickle
from pathlib import Path

import polars as pl
import pytest

from schemas.raw_leads import ISSUE
from tests.transforms.test_code_pages import WESTERN
from transforms.errors import LeadFileError, MappingError
from transforms.ingest import read_lead_file
from transforms.ingest_batches import open_lead_batches


def write(tmp_path: Path, content: bytes | str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def rows(path: Path) -> list[dict[str, object]]:
    return read_lead_file(path).frame.drop("source_row", "issues").to_dicts()


def test_every_column_is_a_string_and_leading_zeros_survive(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "id,phone,zip\n007,0049 30 1234,01067\n"))
    assert ingested.frame.schema == pl.Schema(
        {
            "id": pl.String(),
            "phone": pl.String(),
            "zip": pl.String(),
            "source_row": pl.Int64(),
            "issues": pl.List(ISSUE),
        }
    )
    assert rows(ingested.path) == [{"id": "007", "phone": "0049 30 1234", "zip": "01067"}]
    assert ingested.format == "csv"


def test_empty_fields_are_null_and_whitespace_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b,c\n, x ,""\n')
    assert rows(path) == [{"a": None, "b": " x ", "c": None}]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
        ("utf-16-be", "utf-16"),
    ],
)
def test_encoding_is_detected_and_text_decoded(tmp_path: Path, encoding: str, expected: str) -> None:
    text = "Vorname;Telefon;Notiz\nJürgen;+49 151 2345678;Preis 5 €, Straße\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    ingested = read_lead_file(write(tmp_path, data))
    assert ingested.encoding == expected
    assert ingested.frame.columns[:3] == ["Vorname", "Telefon", "Notiz"]
    assert rows(ingested.path) == [
        {"Vorname": "Jürgen", "Telefon": "+49 151 2345678", "Notiz": "Preis 5 €, Straße"}
    ]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, b"name,phone\nA\x81\xe9,1\n"))
    assert ingested.encoding == "latin-1"
    assert rows(ingested.path) == [{"name": "A\x81é", "phone": "1"}]


def test_a_cp1252_file_with_one_undefined_byte_keeps_its_cp1252_letters_whole_and_in_batches(
    tmp_path: Path,
) -> None:
    # one stray 0x81 made the file Latin-1, where 0x80-0x9F are controls: "O’Brien", "Cœur", "5 €"
    # and "Šimon" were read with invisible control characters in them, and no finding said so
    text = "name,phone,note\nSean O’Brien,1,5 €\nZoë Cœur,2,Šimon\n"
    path = write(tmp_path, text.encode("cp1252") + b"A\x81,3,x\n")
    ingested = read_lead_file(path)
    assert ingested.encoding == "latin-1"
    assert ingested.frame["name"].to_list() == ["Sean O’Brien", "Zoë Cœur", "A\x81"]
    assert ingested.frame["note"].to_list() == ["5 €", "Šimon", "x"]
    for size in (1, 2):
        assert pl.concat(list(open_lead_batches(path, size).batches())).equals(ingested.frame)


@pytest.mark.parametrize("line", ["sep=;\n", '"sep=;"\r\n', "SEP=;  \n"])
def test_an_excel_separator_line_names_the_delimiter_and_is_no_header(tmp_path: Path, line: str) -> None:
    # commas in the values: sniffed without the line, they would look like the delimiter too
    ingested = read_lead_file(write(tmp_path, line + "name;phone;note\nAnn;0151 2;a,b\nBo;0152 3;c,d\n"))
    assert ingested.delimiter == ";"
    assert ingested.headers == ["name", "phone", "note"]
    assert rows(ingested.path) == [
        {"name": "Ann", "phone": "0151 2", "note": "a,b"},
        {"name": "Bo", "phone": "0152 3", "note": "c,d"},
    ]


_RUSSIAN = "id,name,phone\n" + "".join(
    f"{n},{name},+7 495 123-45-{n:02d}\n"
    for n, name in enumerate(["Иванов Пётр", "Смирнова Анна", "Кузнецов Олег", "Попова Мария"])
)


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r", "cp1253", "cp1255"])
def test_a_file_in_another_scripts_code_page_is_refused_not_read_as_gibberish(
    tmp_path: Path, encoding: str
) -> None:
    text = _RUSSIAN
    if encoding == "cp1253":
        text = text.replace("Иванов Пётр", "Παπαδόπουλος Γιώργος").replace("Смирнова", "Οικονόμου")
        text = text.replace("Анна", "Ελένη").replace("Кузнецов Олег", "Νικολάου Κώστας")
        text = text.replace("Попова Мария", "Ιωάννου Μαρία")
    if encoding == "cp1255":
        text = text.replace("Иванов Пётр", "כהן משה").replace("Смирнова Анна", "לוי שרה")
        text = text.replace("Кузнецов Олег", "מזרחי דוד").replace("Попова Мария", "פרץ רחל")
    error = _error(write(tmp_path, text.encode(encoding)))
    assert "gibberish" in error.problem and "CSV UTF-8" in error.fix
    # the same names in UTF-8 are read as they are
    assert rows(write(tmp_path, text, "utf8.csv"))[0]["name"] == text.split("\n")[1].split(",")[1]


def test_western_names_in_cp1252_are_not_taken_for_another_script(tmp_path: Path) -> None:
    names = WESTERN[:10]
    text = "id,name,phone\n" + "".join(f"{n},{name},+49 30 1234{n:02d}\n" for n, name in enumerate(names))
    ingested = read_lead_file(write(tmp_path, text.encode("cp1252")))
    assert ingested.encoding == "cp1252"
    assert [row["name"] for row in rows(ingested.path)] == names


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    other = ";" if delimiter == "," else ","
    lines = ["name", "phone", "note"], ["Ann", "0151", f"a{other}b"], ["Bo", "0152", "c"]
    path = write(tmp_path, "".join(delimiter.join(line) + "\n" for line in lines))
    ingested = read_lead_file(path)
    assert ingested.delimiter == delimiter
    assert rows(path) == [
        {"name": "Ann", "phone": "0151", "note": f"a{other}b"},
        {"name": "Bo", "phone": "0152", "note": "c"},
    ]


def test_quoted_fields_keep_newlines_quotes_and_delimiters(tmp_path: Path) -> None:
    path = write(tmp_path, 'name,note\r\n"Smith, Ann","line 1\r\nline ""2"""\r\nBo,x\r\n')
    ingested = read_lead_file(path)
    assert rows(path) == [{"name": "Smith, Ann", "note": 'line 1\r\nline "2"'}, {"name": "Bo", "note": "x"}]
    assert ingested.frame["source_row"].to_list() == [1, 2]


def test_old_mac_line_endings_are_records(tmp_path: Path) -> None:
    assert rows(write(tmp_path, "a,b\r1,2\r3,4\r")) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_blank_lines_are_not_records_and_source_row_counts_records(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "\n\na,b\n1,2\n\n3,4\n\n"))
    assert ingested.frame.select("a", "source_row").rows() == [("1", 1), ("3", 2)]


def test_header_only_file_is_a_valid_empty_import(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "phone,email"))
    assert ingested.frame.height == 0
    assert ingested.frame.columns == ["phone", "email", "source_row", "issues"]


def test_short_rows_get_nulls_and_a_ragged_row_issue(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "id,phone,email\n1,0151,a@b.de\n2,0152\n3,0153,c@d.de\n"))
    frame = ingested.frame
    assert frame.drop("issues").rows() == [
        ("1", "0151", "a@b.de", 1),
        ("2", "0152", None, 2),
        ("3", "0153", "c@d.de", 3),
    ]
    assert frame["issues"].to_list() == [
        [],
        [{"code": "RAGGED_ROW", "column": None, "value": "expected 3 fields, got 2"}],
        [],
    ]


def test_long_rows_spill_into_extra_columns_with_a_ragged_row_issue(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "id,name\n1,Ann\n2,Smith, Bo,late\n"))
    frame = ingested.frame
    assert frame.columns == ["id", "name", "extra_1", "extra_2", "source_row", "issues"]
    assert frame.drop("issues").rows() == [("1", "Ann", None, None, 1), ("2", "Smith", " Bo", "late", 2)]
    assert frame["issues"].to_list()[1] == [
        {"code": "RAGGED_ROW", "column": None, "value": "expected 2 fields, got 4"}
    ]


def test_a_ragged_row_does_not_change_how_regular_rows_read(tmp_path: Path) -> None:
    body = 'id,note\n1,"a\nb"\n2,"x,""y"""\n3, z \n'
    regular = rows(write(tmp_path, body, "regular.csv"))
    with_ragged = rows(write(tmp_path, body + "4\n", "ragged.csv"))
    assert with_ragged[:3] == regular
    assert with_ragged[3] == {"id": "4", "note": None}


def test_duplicate_blank_and_reserved_headers_are_made_unique(tmp_path: Path) -> None:
    path = write(tmp_path, "Phone, Phone ,,Phone_2,issues,source_row\n1,2,3,4,5,6\n")
    assert read_lead_file(path).headers == [
        "Phone",
        "Phone_3",
        "column_3",
        "Phone_2",
        "issues_2",
        "source_row_2",
    ]


def test_headerless_file_still_reads_with_its_first_row_as_names(tmp_path: Path) -> None:
    ingested = read_lead_file(write(tmp_path, "+4915112345678\n+4915187654321\n"))
    assert ingested.headers == ["+4915112345678"]
    assert ingested.frame["+4915112345678"].to_list() == ["+4915187654321"]


def test_fingerprint_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = b"phone\n0151\n"
    assert read_lead_file(write(tmp_path, data)).fingerprint == hashlib.sha256(data).hexdigest()


def test_parquet_values_become_readable_strings(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    pl.DataFrame(
        {
            "id": [7, None],
            "phone": [4155552671.0, float("nan")],
            "score": [1.5, None],
            "ok": [True, None],
            "tags": [["a", "b"], None],
            "email": ["a@b.de", ""],
        }
    ).write_parquet(path)
    ingested = read_lead_file(path)
    assert (ingested.format, ingested.delimiter) == ("parquet", None)
    assert ingested.frame.schema["source_row"] == pl.Int64
    assert rows(path) == [
        {
            "id": "7",
            "phone": "4155552671",
            "score": "1.5",
            "ok": "true",
            "tags": '["a","b"]',
            "email": "a@b.de",
        },
        {"id": None, "phone": None, "score": None, "ok": None, "tags": None, "email": None},
    ]


def _error(path: Path) -> LeadFileError:
    with pytest.raises(LeadFileError) as caught:
        read_lead_file(path)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b" \r\n\t\n", "the file is empty"),
        (codecs.BOM_UTF8, "the file is empty"),
        (b"name,phone\x00\x01\x02\n", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"PK\x03\x04rest-of-a-workbook", "Excel .xlsx"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\xff\xfeA\x00\xd8", "utf-16 byte-order mark but is not valid"),
        (b'""\n" "\n', "no header row"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, content: bytes, problem: str) -> None:
    error = _error(write(tmp_path, content))
    assert problem in error.problem
    assert error.fix


def test_missing_file_and_directory_are_file_errors(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.csv").problem == "the file does not exist"
    assert "directory" in _error(tmp_path).problem


def test_unreadable_parquet_is_a_file_error(tmp_path: Path) -> None:
    assert "Parquet file cannot be read" in _error(write(tmp_path, b"PAR1 garbage PAR1", "x.parquet")).problem
    assert "not a Parquet file" in _error(write(tmp_path, b"phone\n1\n", "y.parquet")).problem


def test_file_errors_survive_pickling_for_task_runners(tmp_path: Path) -> None:
    error = MappingError(tmp_path / "m.toml", "bad key", "Fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.path, copy.problem, copy.fix, str(copy)) == (
        MappingError,
        error.path,
        "bad key",
        "Fix it",
        f"{tmp_path / 'm.toml'}: bad key. Fix it",
    )
