from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.raw_leads import ISSUE
from transforms.emails import normalize_emails


def _run(values: list[str | None]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"email": values, "issues": [[] for _ in values]},
        schema={"email": pl.String, "issues": pl.List(ISSUE)},
    )
    return normalize_emails(frame)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" John.Doe@Example.COM ", "John.Doe@example.com"),
        ("Ann Smith <ann@Shop.ORG>", "ann@shop.org"),
        ("mailto:a.b+tag@b.co", "a.b+tag@b.co"),
        ("x@sub.domain.example.", "x@sub.domain.example"),
    ],
)
def test_valid_emails_are_trimmed_unwrapped_and_domain_lowercased(raw: str, expected: str) -> None:
    out = _run([raw])
    assert out["email"].to_list() == [expected]
    assert out["email_raw"].to_list() == [raw]
    assert out["issues"].to_list() == [[]]


@pytest.mark.parametrize(
    "raw",
    ["a@x.com\u200b", "\ufeffa@x.com", "\u200e a@x.com \u200f", "<a@x.com\u2060>"],
)
def test_invisible_characters_around_an_address_are_trimmed_like_whitespace(raw: str) -> None:
    # a zero-width space or direction mark copied with an address from a web page or document:
    # the address looks right, so EMAIL_INVALID would ask for a fix no one can see
    out = _run([raw])
    assert out["email"].to_list() == ["a@x.com"]
    assert out["issues"].to_list() == [[]]


@pytest.mark.parametrize(
    "raw",
    ["bad@", "@x.com", "a..b@x.com", ".a@x.com", "a@x", "x@localhost", "a b@x.com", "a@-x.com"],
)
def test_invalid_emails_become_null_with_the_raw_value_in_the_issue(raw: str) -> None:
    out = _run([raw])
    assert out["email"].to_list() == [None]
    assert out["issues"].to_list() == [[{"code": "EMAIL_INVALID", "column": "email", "value": raw}]]


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_email_is_not_an_issue(raw: str | None) -> None:
    out = _run([raw])
    assert out["email"].to_list() == [None]
    assert out["issues"].to_list() == [[]]


def test_overlong_local_part_is_invalid() -> None:
    assert _run(["a" * 65 + "@x.com"])["email"].to_list() == [None]


@given(st.lists(st.one_of(st.none(), st.text(max_size=40), st.emails()), max_size=30))
def test_any_input_keeps_row_count_and_output_is_valid_or_flagged(values: list[str | None]) -> None:
    out = _run(values)
    assert out.height == len(values)
    assert out["email_raw"].to_list() == values
    for email, issues in zip(out["email"].to_list(), out["issues"].to_list(), strict=True):
        if email is not None:
            assert email.count("@") == 1
            assert email.split("@")[1] == email.split("@")[1].lower()
            assert issues == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("josé@bücher.de", "josé@xn--bcher-kva.de"),
        ("user@例え.jp", "user@xn--r8jz45g.jp"),
        ("ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai"),
        ("A.Jones@BÜCHER.DE", "A.Jones@xn--bcher-kva.de"),
        ("Müller@Straße.de", "Müller@xn--strae-oqa.de"),  # IDNA 2008: ß is no "ss"
        ("user@例え\u3002jp", "user@xn--r8jz45g.jp"),  # an ideographic full stop is a dot
        ("José <josé@bücher.de>", "josé@xn--bcher-kva.de"),
        ("ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"),
        ("a@xn--e1afmkfd.xn--p1ai", "a@xn--e1afmkfd.xn--p1ai"),
        ("jose\u0301@example.com", "jos\u00e9@example.com"),  # a decomposed é composed (NFC)
        ("ü@x.com", "ü@x.com"),  # a Unicode local part is valid (RFC 6531), kept as written
    ],
)
def test_internationalized_addresses_are_valid_with_the_domain_in_its_idna_ascii_form(
    raw: str, expected: str
) -> None:
    out = _run([raw])
    assert out["email"].to_list() == [expected]
    assert out["issues"].to_list() == [[]]


def test_one_mailbox_written_in_unicode_and_in_punycode_is_one_address() -> None:
    out = _run(["josé@bücher.de", "josé@XN--BCHER-KVA.de", "jose\u0301@Bücher.de"])
    assert out["email"].unique().to_list() == ["josé@xn--bcher-kva.de"]


@pytest.mark.parametrize(
    "raw",
    ["a@bü cher.de", "a@-bü.de", "a@bücher.de@evil.com", "a@bücher", "jo\u200bsé@bücher.de", "a@bü_cher.de"],
)
def test_an_internationalized_address_idna_refuses_is_still_email_invalid(raw: str) -> None:
    out = _run([raw])
    assert out["email"].to_list() == [None]
    assert [found["code"] for found in out["issues"][0]] == ["EMAIL_INVALID"]
    assert out["issues"][0][0]["value"] == raw
