"""Person keys (transforms.person_keys) are the ledger's stored identity of a person: the same
on every machine and in every version, the vectorized email hash equal to its definition for
any text, and a phone's key never an email's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import polars as pl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import Lead, Phone
from connectors.frequency import leads_people, person_keys
from transforms import person_keys as keys_module
from transforms.person_keys import email_key, email_key_column, email_keys, legacy_people, phone_key

MASK = (1 << 64) - 1


def _defined(email: str) -> int:
    """The module docstring's definition, written out again as a sum of powers."""
    data = (
        email.strip(" \t\n\v\f\r")
        .translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
        .encode()
    )
    n = len(data)
    h = sum(b * pow(0x100000001B3, n - 1 - i, 1 << 64) for i, b in enumerate(data)) + n * 0x9E3779B97F4A7C15
    z = (h + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z = (z ^ (z >> 31)) | (1 << 63)
    return z - (1 << 64)


KNOWN = {
    "ann@example.com": -6400314397316235296,
    "Ann@example.com ": -6400314397316235296,
    "a": -3473475813353017774,
    "person0@example.com": -5383057587778237649,
    "jürgen.müller@beispiel.de": -3444630397543047977,
}


def test_an_email_key_is_the_same_on_every_machine_and_version() -> None:
    for email, key in KNOWN.items():
        assert email_key(email) == key == _defined(email), email
    where, keys = email_keys(list(KNOWN))
    assert where.tolist() == list(range(len(KNOWN)))
    assert keys.tolist() == list(KNOWN.values())


def test_a_phone_key_is_its_e164_digits() -> None:
    assert phone_key("+4930123456") == 4930123456
    assert phone_key("+999999999999999") == 10**15 - 1 < 2**63
    assert person_keys(["+4930123456"], "Ann@example.com ", "person") == (
        4930123456,
        KNOWN["ann@example.com"],
    )


def test_version_1_keys_are_still_the_ones_older_ledgers_hold() -> None:
    assert legacy_people([(["+4930123456"], "Ann@example.com ")], "person") == [
        (-7733851765363436835, 105975872786467735)
    ]


emails = st.none() | st.text(max_size=40) | st.text(st.sampled_from("aAzZ@._- \t\xe9\u0130"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(emails, max_size=40), offset=st.integers(0, 3))
def test_the_vectorized_email_keys_are_the_definitions_for_any_text(
    values: list[str | None], offset: int
) -> None:
    array = pa.array(["pad"] * offset + values, type=pa.string()).slice(offset)
    where, keys = email_keys(array)
    expected = [(i, _defined(v)) for i, v in enumerate(values) if v is not None and v.strip(" \t\n\v\f\r")]
    assert where.tolist() == [i for i, _ in expected]
    assert keys.tolist() == [k for _, k in expected]
    assert (keys < 0).all(), "an email's key is negative, a phone's positive: they never meet"
    column = email_key_column(pl.Series(values, dtype=pl.String))
    assert column.to_list() == [dict(expected).get(i) for i in range(len(values))]


texts = (
    st.none()
    | st.text(max_size=70)
    | st.text(st.sampled_from("aAzZ@._- \t\n\r\x0b\x0c\xe9\u0130\U0001f600"), max_size=90)
    | st.builds(str.__add__, st.text(st.sampled_from(" \t"), max_size=3), st.text("bB\xe4", max_size=40))
)


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(texts, max_size=30),
    block=st.sampled_from([1, 2, 3, 8, 16, 64]),
    pad=st.sampled_from(["", "pad", " "]),
    offset=st.integers(0, 2),
)
def test_the_email_keys_are_the_definitions_across_block_boundaries(
    values: list[str | None], block: int, pad: str, offset: int
) -> None:
    """Strings in groups by block, cut at block boundaries, longer than one or two blocks,
    trimmed (bytes left between strings) or not, in an array sliced or not: with small blocks
    every path of email_keys is taken by short text."""
    array = pa.array([pad] * offset + values, type=pa.string()).slice(offset)
    filled = pa.array([pad + "X" if v is None else v for v in values], type=pa.large_string())
    valid = pa.py_buffer(
        np.packbits(np.array([v is not None for v in values], dtype=bool), bitorder="little")
    )
    # a null with bytes (Arrow allows it): bytes between strings, not theirs
    junk = pa.Array.from_buffers(pa.large_string(), len(values), [valid, *filled.buffers()[1:]])
    with mock.patch.object(keys_module, "_BLOCK", block):
        found = [email_keys(array), email_keys(pa.array(values, type=pa.large_string())), email_keys(junk)]
    expected = [(i, email_key(v)) for i, v in enumerate(values) if v is not None and v.strip(" \t\n\v\f\r")]
    for where, keys in found:
        assert list(zip(where.tolist(), keys.tolist(), strict=True)) == expected


def test_emails_longer_than_two_blocks_and_many_blocks_of_emails_have_their_keys() -> None:
    block = keys_module._BLOCK
    values = [
        None,
        "a" * (2 * block + 5),
        "",
        " Ab@c.de",
        "x" * (block + 1),
        *(f"p{n}@example.com" for n in range(5000)),
    ]
    values += ["\xe9" * (3 * block), " ", "Z" * (block - 1)]
    where, keys = email_keys(values)
    expected = [(i, email_key(v)) for i, v in enumerate(values) if v and v.strip()]
    assert list(zip(where.tolist(), keys.tolist(), strict=True)) == expected


phones = st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    people=st.lists(st.tuples(st.lists(phones, max_size=3), emails), max_size=8),
    per=st.sampled_from(["person", "phone", "email"]),
    keyed=st.booleans(),
)
def test_the_chunk_keys_are_each_leads_person_keys_with_or_without_the_batchs_email_keys(
    people: list[tuple[list[str], str | None]], per: str, keyed: bool
) -> None:
    column = email_key_column(pl.Series([email for _, email in people], dtype=pl.String)).to_list()
    chunk = [
        Lead(
            n,
            str(n),
            phones=tuple(Phone(p) for p in numbers),
            email=email,
            email_key=column[n] if keyed else None,
        )
        for n, (numbers, email) in enumerate(people)
    ]
    assert leads_people(chunk, per) == [person_keys(numbers, email, per) for numbers, email in people]
    assert all(
        np.iinfo(np.int64).min <= k <= np.iinfo(np.int64).max
        for keys in leads_people(chunk, per)
        for k in keys
    )


def test_email_keys_of_a_column_with_nulls_do_not_import_pandas() -> None:
    """pyarrow's to_numpy of a boolean array imports pandas, 0.15-0.25 s once in every process
    that computes the email keys of a batch with an email missing (more than a million keys)."""
    script = (
        "import sys\n"
        "import polars as pl\n"
        "from transforms.person_keys import email_key_column\n"
        "keys = email_key_column(pl.Series('email', [None, 'A@x.com', None, 'b@y.org'] * 3).slice(2))\n"
        "assert keys.null_count() == 5, keys\n"
        "print('pandas' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
