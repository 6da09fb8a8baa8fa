from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.names import normalize_names, placeholder_names


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


def _placeholders(
    first: list[str | None], last: list[str | None]
) -> tuple[pl.DataFrame, list[list[dict[str, str]]]]:
    frame = normalize_names(
        pl.DataFrame({"first_name": first, "last_name": last}, schema=dict.fromkeys(_NAMES, pl.String))
    )
    out, found = placeholder_names(frame.collect())
    issues: list[list[dict[str, str]]] = [[] for _ in first]
    for part in found:
        for row, item in part.iter_rows():
            issues[row].append(item)
    return out, issues


@pytest.mark.parametrize(
    "value",
    [
        "N/A",
        "n/a",
        " n / a ",
        "#N/A",
        "N.A.",
        "n\\a",
        "-",
        "--",
        ".",
        "?",
        "...",
        "NULL",
        "<null>",
        "None",
        "(unknown)",
        "UNKNOWN",
        "test",
        "TEST",
        "xxx",
        "XXXX",
        "tbd",
        "0",
        "123",
        "-- n/a --",
        "k.A.",
        "k. A.",
        "o.A.",
        "Keine Angabe",
        "unbekannt",
        "N.N.",
        "inconnu",
        "Desconocido",
        "ninguno",
        "s/n",
        "sconosciuto",
        "Onbekend",
    ],
)
def test_a_placeholder_first_name_is_left_empty_and_recorded_with_the_value_as_read(value: str) -> None:
    out, issues = _placeholders([value], ["Smith"])
    assert out.row(0) == (None, "Smith")
    assert issues[0] == [{"code": "NAME_PLACEHOLDER", "column": "first_name", "value": _as_cleaned(value)}]


def _as_cleaned(value: str) -> str:
    return re.sub(r"[\s\u200b]+", " ", value).strip()


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Carl", "Test", ("Carl", "Test")),  # a real surname beside a real first name
        ("Jennifer", "Null", ("Jennifer", "Null")),
        ("Test", "Test", (None, None)),
        (None, "Null", (None, None)),
        ("n/a", "test", (None, None)),
        ("Ann", "N/A", ("Ann", None)),
        ("Ann", "unknown", ("Ann", None)),
        ("Na", "Yeon", ("Na", "Yeon")),  # Korean surname as a given name: no separator, no placeholder
        ("Nan", "Goldin", ("Nan", "Goldin")),
        ("Nil", "Moliner", ("Nil", "Moliner")),
        ("X", "Æ", ("X", "Æ")),
        ("Testa", "Nullmeyer", ("Testa", "Nullmeyer")),
        ("N/A Smith", "Anna-Test", ("N/A Smith", "Anna-Test")),
        ("李", "小龙", ("李", "小龙")),
        ("O'Neil", "d'Arc", ("O'Neil", "d'Arc")),
        ("K.A.", "Smith", ("K.A.", "Smith")),  # initials, unlike German's lower-case "k.A."
        ("J.", "Ng", ("J.", "Ng")),
    ],
)
def test_only_whole_placeholders_are_left_empty_and_real_names_stay(
    first: str | None, last: str | None, expected: tuple[str | None, str | None]
) -> None:
    out, issues = _placeholders([first], [last])
    assert out.row(0) == expected
    assert [i["column"] for i in issues[0]] == [
        column
        for column, before, after in zip(_NAMES, (first, last), expected, strict=True)
        if before != after
    ]


_TOKENS = ["n/a", "n.a", "none", "unknown", "tbd", "noname", "xxx", "test", "null"]
_AROUND = st.text(
    alphabet=st.sampled_from([" ", "\t", "\u00a0", "#", "(", ")", "<", ">", ".", "-", "?", "*"]), max_size=3
)


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_TOKENS), st.lists(st.booleans(), min_size=7, max_size=7), _AROUND, _AROUND
        ),
        min_size=1,
        max_size=20,
    )
)
def test_placeholder_tokens_in_any_case_with_spaces_and_end_punctuation_are_left_empty(
    drawn: list[tuple[str, list[bool], str, str]],
) -> None:
    values = []
    for token, upper, before, after in drawn:
        cased = "".join(c.upper() if up else c for c, up in zip(token, upper * 2, strict=False))
        spaced = " ".join(cased) if upper[0] and upper[1] else cased
        values.append(before + spaced + after)
    out, issues = _placeholders(values, values)
    assert out.get_column("first_name").null_count() == len(values)
    assert out.get_column("last_name").null_count() == len(values)
    assert all([i["code"] for i in row] == ["NAME_PLACEHOLDER"] * 2 for row in issues)
