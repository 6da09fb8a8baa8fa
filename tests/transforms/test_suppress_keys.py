"""Do-not-contact entries held as 64-bit keys decide exactly as matching their text did: a phone's
key is exact, an email's a stable hash of it lower-cased, and the lookup finds the listed
contacts of a file and no others."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.suppress_keys import KeyBuilder, SuppressionKeys, email_keys, phone_keys, stable_hash64

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


_MASK = (1 << 64) - 1
PINNED = [
    14055286877309948590,
    10485933723333210777,
    4820815829900262122,
    15247135692707338014,
    15608591240660758387,
]


def _fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK
    return h ^ (h >> 33)


def reference_hash(text: str) -> int:
    """The key's definition, one value at a time in plain Python (transforms.suppress_keys)."""
    data = text.encode()
    h = _fmix(0x6C65616466C6F77D ^ ((len(data) * 0x9E3779B97F4A7C15) & _MASK))
    for at in range(0, len(data), 8):
        word = int.from_bytes(data[at : at + 8], "little")
        h = _fmix(h ^ ((word * 0x9E3779B97F4A7C15) & _MASK))
    return _fmix(h)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=70), max_size=40))
def test_the_vectorized_email_hash_is_its_one_value_definition(values: list[str]) -> None:
    assert stable_hash64(pl.Series(values, dtype=pl.String)).to_list() == [reference_hash(v) for v in values]


def test_the_email_hash_is_pinned_so_keys_do_not_change_with_the_installed_libraries() -> None:
    # lists keyed by one installation must match leads keyed by another: these numbers are the key
    got = stable_hash64(
        pl.Series(["", "a", "ann@example.com", "exactly8", "a-rather-longer@example.org", None])
    )

    assert got.to_list() == [*PINNED, None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=30), st.integers(0, 29))
def test_the_email_hash_depends_on_the_text_only_not_on_how_the_column_is_laid_out(
    values: list[str], cut: int
) -> None:
    whole = pl.Series(values, dtype=pl.String)
    # a slice of a column and a column of several chunks hash as the values alone would
    sliced = pl.concat([pl.Series(["x" * 17]), whole]).slice(1)
    chunked = pl.concat([whole.head(cut), whole.tail(len(values) - min(cut, len(values)))], rechunk=False)

    expected = stable_hash64(whole).to_list()
    assert stable_hash64(sliced).to_list() == expected
    assert stable_hash64(chunked).to_list() == expected
    assert len(set(expected)) == len(set(values))


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
