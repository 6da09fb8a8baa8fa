"""Reading do-not-contact files: the registry's area-code files, one value a line, email lists;
every line read or reported by its number, never dropped."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.dnc_formats import read_dnc_file, read_dnc_values


def write(tmp_path: Path, text: str, name: str = "list.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_ftc_registry_file_is_read_as_area_code_plus_seven_digits(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "201,5550123\n415, 2345678\n"))

    assert read.format == "ftc"
    assert read.values.rows() == [(1, "+12015550123", "phone"), (2, "+14152345678", "phone")]
    assert read.refused.is_empty()


def test_ftc_lines_that_are_no_nanp_number_are_refused_with_their_line_numbers(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "201,5550123\n\n099,5550123\n201,555012\nareacode,number\n"))

    assert read.values["value"].to_list() == ["+12015550123"]
    assert read.refused["line"].to_list() == [3, 4, 5]


def test_national_numbers_are_read_with_the_country_given(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "030 1234567\n+44 20 7946 0958\n"), "lines", "DE")

    assert read.values["value"].to_list() == ["+49301234567", "+442079460958"]


def test_a_national_number_without_a_country_is_refused_not_guessed(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "030 1234567\n"), "lines", None)

    assert read.values.is_empty()
    assert read.refused.rows() == [(1, "030 1234567", "PHONE_NO_REGION")]


def test_a_mixed_list_keeps_emails_lower_cased_and_skips_blank_and_comment_lines(tmp_path: Path) -> None:
    text = "# opt-outs of March\n+1 415 555 0123\n\nAnn@Example.COM\nnot a value\n"
    read = read_dnc_file(write(tmp_path, text), "auto", "US")

    assert read.values.rows() == [(2, "+14155550123", "phone"), (4, "ann@example.com", "email")]
    assert read.refused.rows() == [(5, "not a value", "PHONE_UNPARSEABLE")]


def test_an_email_list_refuses_a_line_that_is_no_email(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "ann@example.com\n+14155550123\n"), "emails")

    assert read.values["value"].to_list() == ["ann@example.com"]
    assert read.refused.rows() == [(2, "+14155550123", "EMAIL_INVALID")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+-@., ()abcx#", max_size=16), max_size=30))
def test_every_line_is_either_read_or_refused_once(texts: list[str]) -> None:
    lines = pl.DataFrame(
        {"line": list(range(1, len(texts) + 1)), "text": texts}, schema={"line": pl.Int64, "text": pl.String}
    )
    lines = lines.with_columns(pl.col("text").str.strip_chars()).filter(
        (pl.col("text") != "") & ~pl.col("text").str.starts_with("#")
    )

    read = read_dnc_values(lines, "lines", "US")

    assert sorted(read.values["line"].to_list() + read.refused["line"].to_list()) == lines["line"].to_list()


def test_a_first_line_that_is_a_column_name_is_the_header_and_nothing_else(tmp_path: Path) -> None:
    read = read_dnc_file(write(tmp_path, "# exported\nPhone or e-mail\n+14155550123\nann@example.com\n"))

    assert read.header == (2, "Phone or e-mail")
    assert read.values["line"].to_list() == [3, 4]
    assert read.refused.is_empty()


def test_a_first_line_with_digits_or_an_at_sign_is_a_value_not_a_header(tmp_path: Path) -> None:
    for first in ("1-800-FLOWERS", "ann@example"):
        read = read_dnc_file(write(tmp_path, f"{first}\n+14155550123\n"), "lines", "US")

        assert read.header is None, first
        assert sorted([*read.values["line"], *read.refused["line"]]) == [1, 2], first


def test_a_dos_end_of_file_marker_after_the_last_line_is_no_refused_value(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"+12015550123\r\nann@example.com\r\n\x1a")

    read = read_dnc_file(path)

    assert read.values["value"].to_list() == ["+12015550123", "ann@example.com"]
    assert read.refused.is_empty()
