"""Do-not-contact entries held as 64-bit keys decide exactly as matching their text did: a phone's
key is exact, an email's a stable hash of it lower-cased, and the lookup finds the listed
contacts of a file and no others."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.person_keys import email_key
from transforms.suppress_keys import KeyBuilder, SuppressionKeys, email_keys, phone_keys

e164 = st.builds(lambda first, rest: f"+{first}{rest}", st.integers(1, 9), st.from_regex(r"\A[0-9]{6,14}\Z"))
local = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", min_size=1, max_size=40
)
domain = st.sampled_from(["example.com", "EXAMPLE.org", "mail.example.co.uk", "ex.de", "bücher.example"])
emails = st.builds(lambda user, host: f"{user}@{host}", local, domain)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(e164, max_size=40),
    st.lists(e164, max_size=40),
    st.lists(emails, max_size=40),
    st.lists(emails, max_size=40),
    st.data(),
)
def test_the_compact_lists_find_exactly_the_contacts_text_matching_finds(
    listed_phones: list[str],
    other_phones: list[str],
    listed_emails: list[str],
    other_emails: list[str],
    data: st.DataObject,
) -> None:
    # the file: some listed contacts (emails in any case), some not, nulls
    file_phones = listed_phones[: data.draw(st.integers(0, len(listed_phones)))] + other_phones + [None]
    cased = [data.draw(st.sampled_from([e, e.upper(), e.lower()])) for e in listed_emails]
    file_emails = cased[: data.draw(st.integers(0, len(cased)))] + other_emails + [None]
    keys = SuppressionKeys.from_values(
        pl.Series(listed_phones, dtype=pl.String), pl.Series(listed_emails, dtype=pl.String)
    )

    phones = keys.listed_phones(pl.Series(file_phones, dtype=pl.String)).to_list()
    found = keys.listed_emails(pl.Series(file_emails, dtype=pl.String)).to_list()

    assert sorted(phones) == sorted({p for p in file_phones if p in set(listed_phones)})
    lowered = {e.lower() for e in listed_emails}
    assert sorted(found) == sorted({e for e in file_emails if e is not None and e.lower() in lowered})


@settings(max_examples=100, deadline=None)
@given(st.lists(e164, max_size=50))
def test_a_phones_key_is_the_integer_of_its_digits_so_different_numbers_never_share_one(
    numbers: list[str],
) -> None:
    keys = phone_keys(pl.Series(numbers, dtype=pl.String)).to_list()

    assert keys == [int(n[1:]) for n in numbers]
    assert len(set(keys)) == len(set(numbers))


def test_a_listed_value_no_lead_can_hold_gets_no_phone_key() -> None:
    values = pl.Series(
        ["+0412345678", "4155550123", "+1415555012x", "+1234567890123456", None, "+14155550123"]
    )

    assert phone_keys(values).to_list() == [None, None, None, None, None, 14155550123]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), emails, st.text(max_size=30)), min_size=1, max_size=30), st.integers(0, 29)
)
def test_an_emails_key_is_the_guardrails_key_of_it_lower_cased_however_the_column_is_laid_out(
    values: list[str | None], cut: int
) -> None:
    # one definition of an email's hash in Leadflow (transforms.person_keys), pinned there
    whole = pl.Series(values, dtype=pl.String)
    sliced = pl.concat([pl.Series(["x" * 17]), whole]).slice(1)
    chunked = pl.concat([whole.head(cut), whole.tail(len(values) - min(cut, len(values)))], rechunk=False)
    expected = [
        None if v is None or not v.strip(" \t\n\v\f\r") else email_key(v.lower()) & ((1 << 64) - 1)
        for v in values
    ]

    assert email_keys(whole).to_list() == expected
    assert email_keys(sliced).to_list() == expected
    assert email_keys(chunked).to_list() == expected


def test_different_emails_get_different_keys_at_scale() -> None:
    # 200k distinct emails: a 64-bit hash should give no collision (expected 1e-9); a weak mix
    # (a sum of bytes, a short word) would give thousands
    values = pl.Series([f"person.{n}@example{n % 13}.com" for n in range(200_000)])

    assert email_keys(values).n_unique() == values.len()


def test_an_email_is_keyed_lower_cased_as_leads_are_matched() -> None:
    upper, lower, other = email_keys(
        pl.Series(["Ann@Example.COM", "ann@example.com", "anne@example.com"])
    ).to_list()

    assert upper == lower != other


def test_keys_gathered_in_chunks_are_sorted_and_distinct_across_chunks() -> None:
    builder = KeyBuilder()
    builder.add(phones=pl.Series(["+14155550123", "+14155550100"]), emails=pl.Series(["a@x.org"]))
    builder.add(phones=pl.Series(["+14155550123", "+4930123456"]), emails=pl.Series(["A@x.org", "b@x.org"]))

    keys = builder.build()

    assert keys.phones.to_list() == [4930123456, 14155550100, 14155550123]
    assert keys.emails.len() == 2 and keys.emails.is_sorted()
    assert keys.phones.dtype == pl.UInt64 and len(keys) == 5
