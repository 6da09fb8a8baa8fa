"""Do-not-contact entries as 64-bit keys: 8 bytes an entry, whatever the list's size.

A registry of 250 million numbers held as polars strings is ~25 bytes an entry plus its
offsets, and as a hash set several times that; held as sorted unsigned 64-bit keys it is 8
bytes an entry, looked up by binary search from the file's side (a batch's few thousand
distinct contacts against the list: no set is built over the list, per batch or ever).

- A phone's key is the integer of its E.164 digits. A value a lead can hold matches
  ``schemas.clean_leads.E164_PATTERN`` ("+", a first digit 1-9, at most 15 digits in all), so
  its digits are the canonical decimal spelling of one integer below 10^15 < 2^64: the key is
  exact, two different numbers never share one (no hash, no collision). A listed value of
  any other shape can match no lead's phone and gets no key.
- An email's key is :func:`stable_hash64` of the email lower-cased (leads are matched on
  their normalized email lower-cased, as before). Two different emails share a key with
  probability 2^-64 a pair: for a list of n entries and a file of m distinct emails about
  n*m/2^64 false matches are expected (250M x 10M: 1e-4). A false match suppresses a lead
  that was not listed, never the reverse: a listed person is always found.

The hash is computed here, over the Arrow string buffer with numpy (8 bytes at a time), not
with polars' ``hash`` (documented as not stable across polars versions: a list keyed by one
version must match leads keyed by another in the same process only, but the keys of a run
must not depend on the installed polars at all) and not with hashlib per value (about 1 us a
value in Python; bench/dnc.py measures both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from schemas.clean_leads import E164_PATTERN

__all__ = ["KeyBuilder", "SuppressionKeys", "email_keys", "phone_keys", "stable_hash64"]

_SEED = np.uint64(0x6C65616466C6F77D)  # "leadflow}"; changing it changes every key
_K1 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: a bijection of uint64 in which every input bit flips
    each output bit with probability about 1/2."""
    h ^= h >> np.uint64(33)
    h *= _M1
    h ^= h >> np.uint64(33)
    h *= _M2
    h ^= h >> np.uint64(33)
    return h


def stable_hash64(values: pl.Series) -> pl.Series:
    """A 64-bit hash of each string's UTF-8 bytes (UInt64; null stays null), the same on every
    machine and every version of polars and numpy: its definition is this function.

    Per 8-byte little-endian word ``w`` (the last one zero-padded): ``h = fmix64(h ^ w * K1)``,
    starting from the seed mixed with the byte length, then ``fmix64`` once more. Each step is a
    bijection of ``h`` for a given word, so equal-length inputs that differ collide only by the
    mixing's chance. Not a keyed hash: it guards against accidents, not against someone
    choosing emails to collide (which could only get a lead of theirs suppressed)."""
    array = values.cast(pl.String).to_arrow().cast(pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    n = len(array)
    hashed = np.zeros(n, dtype=np.uint64)
    if n:
        _, offsets_buffer, data_buffer = array.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + n + 1]
        starts = offsets[:-1]
        lengths = offsets[1:] - starts
        size = 0 if data_buffer is None else data_buffer.size
        padded = np.zeros(size + 8, dtype=np.uint8)
        if data_buffer is not None:
            padded[:size] = np.frombuffer(data_buffer, dtype=np.uint8)
        # every byte position read as the start of an unaligned little-endian 64-bit word
        words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
        hashed = _fmix64(_SEED ^ (lengths.astype(np.uint64) * _K1))
        active = np.flatnonzero(lengths > 0)
        at = 0
        while len(active):
            remaining = lengths[active] - at
            word = words[starts[active] + at]
            short = remaining < 8
            shift = (np.minimum(remaining, 7) * 8).astype(np.uint64)
            word = np.where(short, word & ((np.uint64(1) << shift) - np.uint64(1)), word)
            hashed[active] = _fmix64(hashed[active] ^ (word * _K1))
            active = active[~short & (remaining > 8)]
            at += 8
        hashed = _fmix64(hashed)
    keys = pl.Series(values.name, hashed, dtype=pl.UInt64)
    if values.null_count():
        keys = pl.select(pl.when(values.is_not_null()).then(keys)).to_series()
    return keys


def phone_keys(values: pl.Series) -> pl.Series:
    """The exact key of each E.164 value (UInt64: its digits as an integer); null for a null or
    for a value of any other shape (it can match no lead's phone)."""
    e164 = values.cast(pl.String).str.contains(E164_PATTERN).fill_null(False)
    digits = values.cast(pl.String).str.strip_prefix("+")
    return pl.select(pl.when(e164).then(digits.cast(pl.UInt64, strict=False))).to_series().alias(values.name)


def email_keys(values: pl.Series) -> pl.Series:
    """The key of each email as leads are matched: :func:`stable_hash64` of it lower-cased."""
    return stable_hash64(values.cast(pl.String).str.to_lowercase())


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    keys.sort()
    if len(keys) < 2:
        return keys
    new = keys[1:] != keys[:-1]
    if new.all():  # the usual list: no copy
        return keys
    return keys[np.concatenate(([True], new))]


@dataclass(frozen=True, eq=False)
class SuppressionKeys:
    """The phones' and the emails' keys of every list a run applies: sorted, distinct UInt64."""

    phones: pl.Series = field(default_factory=lambda: pl.Series("phone_key", [], pl.UInt64))
    emails: pl.Series = field(default_factory=lambda: pl.Series("email_key", [], pl.UInt64))

    def __len__(self) -> int:
        return self.phones.len() + self.emails.len()

    @classmethod
    def from_values(cls, phones: pl.Series, emails: pl.Series) -> SuppressionKeys:
        """Keys of listed E.164 phones and emails (any case)."""
        builder = KeyBuilder()
        builder.add(phones=phones, emails=emails)
        return builder.build()

    def listed_phones(self, values: pl.Series) -> pl.Series:
        """Of the E.164 ``values``, the listed ones (distinct)."""
        distinct = values.drop_nulls().unique()
        return distinct.filter(_found(self.phones, phone_keys(distinct)))

    def listed_emails(self, values: pl.Series) -> pl.Series:
        """Of the emails ``values``, the listed ones (distinct, as given)."""
        distinct = values.drop_nulls().unique()
        return distinct.filter(_found(self.emails, email_keys(distinct)))

    def joined(self, other: SuppressionKeys) -> SuppressionKeys:
        """These keys and ``other``'s."""
        return SuppressionKeys(_union(self.phones, other.phones), _union(self.emails, other.emails))


def _union(one: pl.Series, other: pl.Series) -> pl.Series:
    if other.is_empty():
        return one
    if one.is_empty():
        return other
    return pl.Series(one.name, _sorted_unique(np.concatenate([one.to_numpy(), other.to_numpy()])), pl.UInt64)


def _found(listed: pl.Series, keys: pl.Series) -> pl.Series:
    """Whether each key is in the sorted ``listed`` (false for a null key): binary search."""
    if listed.is_empty() or keys.is_empty():
        return pl.repeat(False, keys.len(), dtype=pl.Boolean, eager=True)
    sorted_keys = listed.to_numpy()
    wanted = keys.fill_null(0).to_numpy()
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return pl.Series(sorted_keys[at] == wanted) & keys.is_not_null()


class KeyBuilder:
    """Keys gathered chunk by chunk (a list file's batches, the store's pages), each chunk made
    distinct as it comes; :meth:`build` sorts them into one array per kind."""

    def __init__(self) -> None:
        self._phones: list[np.ndarray] = []
        self._emails: list[np.ndarray] = []

    def add(self, *, phones: pl.Series | None = None, emails: pl.Series | None = None) -> None:
        """Key and keep a chunk of E.164 phones and of emails (the values can then go)."""
        self.add_keys(
            None if phones is None else phone_keys(phones), None if emails is None else email_keys(emails)
        )

    def add_keys(self, phones: pl.Series | None, emails: pl.Series | None) -> None:
        for keys, chunks in ((phones, self._phones), (emails, self._emails)):
            if keys is not None and keys.len():
                chunks.append(_sorted_unique(keys.drop_nulls().to_numpy().astype(np.uint64, copy=True)))

    def build(self) -> SuppressionKeys:
        """The keys gathered, sorted and distinct. The chunks are let go as they are copied
        into one array: the peak is that array plus one chunk, then a copy only if the chunks
        shared keys."""
        return SuppressionKeys(
            pl.Series("phone_key", _drained(self._phones), pl.UInt64),
            pl.Series("email_key", _drained(self._emails), pl.UInt64),
        )


def _drained(chunks: list[np.ndarray]) -> np.ndarray:
    total = sum(len(chunk) for chunk in chunks)
    keys = np.empty(total, dtype=np.uint64)
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        keys[at : at + len(chunk)] = chunk
        at += len(chunk)
        del chunk
    return _sorted_unique(keys)
