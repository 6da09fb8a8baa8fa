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
- An email's key is the frequency guardrail's stable 64-bit email hash
  (transforms.person_keys: computed with numpy over the Arrow string buffer, the same on every
  machine and version, not polars' ``hash`` nor hashlib per value) of the email lower-cased
  (leads are matched on their normalized email lower-cased, as before). Two different emails
  share a key with probability 2^-64 a pair: for a list of n entries and a file of m distinct
  emails about n*m/2^64 false matches are expected (250M x 10M: 1e-4). A false match
  suppresses a lead that was not listed, never the reverse: a listed person is always found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from schemas.clean_leads import E164_PATTERN

__all__ = ["KeyBuilder", "SuppressionKeys", "email_keys", "phone_keys"]


def phone_keys(values: pl.Series) -> pl.Series:
    """The exact key of each E.164 value (UInt64: its digits as an integer); null for a null or
    for a value of any other shape (it can match no lead's phone)."""
    e164 = values.cast(pl.String).str.contains(E164_PATTERN).fill_null(False)
    digits = values.cast(pl.String).str.strip_prefix("+")
    return pl.select(pl.when(e164).then(digits.cast(pl.UInt64, strict=False))).to_series().alias(values.name)


def email_keys(values: pl.Series) -> pl.Series:
    """The key of each email as leads are matched (lower-cased): the frequency guardrail's
    email key (transforms.person_keys, one definition of an email's hash in Leadflow), its
    64 bits read unsigned; null for a null or blank value."""
    from transforms.person_keys import email_key_column  # a run that meets no email list needs none

    keys = email_key_column(values.cast(pl.String).str.to_lowercase())
    return keys.reinterpret(signed=False).alias(values.name)


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
