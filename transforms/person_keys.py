"""Who a lead's person is, for the frequency guardrail: 64-bit keys computed a chunk at a time.

A **phone**'s key is the exact integer of its E.164 digits (``+4930123456`` -> 4930123456): at
most 15 digits, so below 10**15, positive, and no hash at all. An **email**'s key is
:func:`email_keys`' stable hash of its UTF-8 bytes, trimmed of ASCII whitespace and ASCII letters
lower-cased (no Unicode table, which may change between versions), with the top bit set, so
always negative: a phone and an email never share a key, and ``per = "phone"`` / ``"email"``
select keys by sign. Keys are the ledger's stored identity of a person (connectors.ledger_contacts),
so their definition may never change without a ledger step; :data:`KEY_VERSION` names it.

The email hash (version 2), over the bytes ``b[0..n-1]``, all arithmetic modulo 2**64::

    h = sum(b[i] * P ** (n - 1 - i)) + n * L      # a polynomial hash, Horner's rule's value
    h = splitmix64(h)                              # the finalizer of Steele et al. (2014)
    key = h | 2**63, read as a signed 64-bit integer

with ``P = 0x100000001B3`` (FNV's 64-bit prime) and ``L = 0x9E3779B97F4A7C15``. The sum is
computed for a whole chunk in numpy: each byte times its power, a cumulative sum, one
difference per string; no Python per email. :func:`email_key` is the same in plain Python,
the definition the tests hold the vectorized one to (tests/connectors/test_person_keys.py, with
fixed vectors). The version 1 key (blake2b, per lead in Python) is :func:`legacy_people`, read
only while a ledger still holds contacts it keyed (connectors.ledger_contacts).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "KEY_VERSION",
    "email_key",
    "email_key_column",
    "email_keys",
    "legacy_people",
    "phone_key",
]

KEY_VERSION = 2
"""1: blake2b of ``"p:" + e164`` / ``"e:" + email`` (until this module); 2: this module's keys."""

_MASK = (1 << 64) - 1
_P = 0x100000001B3
_L = 0x9E3779B97F4A7C15
_TOP = 1 << 63
_ASCII_SPACE = " \t\n\v\f\r"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def phone_key(e164: str) -> int:
    """A phone's key: its E.164 digits as an integer."""
    return int(e164.lstrip("+"))


def _splitmix64(z: int) -> int:
    z = (z + _L) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def email_key(email: str) -> int:
    """An email's key, in plain Python: the definition of :func:`email_keys`."""
    data = email.strip(_ASCII_SPACE).translate(_ASCII_LOWER).encode()
    h = 0
    for byte in data:
        h = (h * _P + byte) & _MASK
    h = _splitmix64((h + len(data) * _L) & _MASK) | _TOP
    return h - (1 << 64)


@functools.cache
def _power_table(size: int) -> np.ndarray:
    """P**k modulo 2**64 for k below ``size`` (a power of two: few tables are ever made)."""
    powers = np.empty(size, dtype=np.uint64)
    powers[0] = 1
    with np.errstate(over="ignore"):
        for k in range(1, size):
            powers[k] = powers[k - 1] * np.uint64(_P)
    return powers


def _powers(longest: int) -> np.ndarray:
    return _power_table(1 << max(8, (longest - 1).bit_length()))


def email_keys(emails: pa.Array | Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the non-empty emails and their positions: (positions int32, keys int64).
    Every string's bytes are summed in one pass over the Arrow buffer (a null or blank one
    adds nothing and is left out at the end): each byte times P to the power of the bytes
    after it in its string, a cumulative sum, one difference per string."""
    array = emails if isinstance(emails, pa.Array) else pa.array(emails, type=pa.large_string())
    array = pc.ascii_lower(pc.ascii_trim_whitespace(array.cast(pa.large_string())))
    size = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + size + 1]
    lengths = np.diff(offsets)
    present = lengths > 0
    if array.null_count:
        present &= array.is_valid().to_numpy(zero_copy_only=False)
    where = np.flatnonzero(present).astype(np.int32)
    if not len(where):
        return where, np.empty(0, dtype=np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[first:last].astype(np.uint64)
    after = np.repeat(offsets[1:] - (first + 1), lengths) - np.arange(last - first, dtype=np.int64)
    with np.errstate(over="ignore"):
        sums = np.empty(last - first + 1, dtype=np.uint64)
        sums[0] = 0
        np.cumsum(data * _powers(int(lengths.max()))[after], dtype=np.uint64, out=sums[1:])
        ends = offsets[1:][where] - first
        h = sums[ends] - sums[ends - lengths[where]] + lengths[where].astype(np.uint64) * np.uint64(_L)
        z = h + np.uint64(_L)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return where, (z | np.uint64(_TOP)).view(np.int64)


def email_key_column(emails: pl.Series) -> pl.Series:
    """``email_key``: each email's key (:func:`email_keys`), null where there is none."""
    where, keys = email_keys(emails.to_arrow())
    values = np.zeros(len(emails), dtype=np.int64)
    values[where] = keys
    missing = np.ones(len(emails), dtype=bool)
    missing[where] = False
    return pl.Series("email_key", pa.array(values, mask=missing), dtype=pl.Int64)


def legacy_people(leads: Iterable[tuple[Sequence[str], str | None]], per: str) -> list[tuple[int, ...]]:
    """Version 1 keys ((phones, email) per lead): blake2b-64 of ``"p:" + e164`` and
    ``"e:" + lower(trimmed email)``, little-endian signed. Only to read contacts an earlier
    leadflow recorded, for as long as they are within a window."""
    out: list[tuple[int, ...]] = []
    for phones, email in leads:
        keys = [] if per == "email" else [_blake("p:" + phone) for phone in phones]
        if email and per != "phone":
            keys.append(_blake("e:" + email.strip().lower()))
        out.append(tuple(dict.fromkeys(keys)))
    return out


def _blake(text: str) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
