"""Person keys as arrays: every lead's keys of a batch or a chunk, one after the other.

The frequency guardrail (connectors.frequency) asks, for every chunk a target claims, which of
its leads' people were contacted. Reading each lead's keys off its Lead object (a phone's
integer parse, a tuple a lead) cost about 0.23 us a lead, most of the budget of the whole
guardrail (issue 18: under 0.35 us a contact). Here they are computed once per target and
batch from the columns (:func:`batch_people`: the phones' E.164 digits cast by polars, the
emails' keys transforms.person_keys.email_keys already made), and a chunk's are a slice of them
(:meth:`People.slice`: two views, no copy), handed to the ledger as numpy arrays.

:class:`People` is the compressed-row form: ``keys`` (int64) and ``ends`` (int64 offsets into
``keys``, one more than there are leads; lead ``i``'s keys are ``keys[ends[i]:ends[i + 1]]``).
A slice keeps the batch's ``keys`` array and a view of ``ends``, so ``ends[0]`` need not be 0.

:func:`batch_people` on 100,000 eligible rows of a real batch (two phone slots partly null,
the third empty, ~8% without email), best of 7, load 3-4: 8.5-10 ms CPU, was 23-26. Each phone
column is one polars cast (``"+4930123456"`` to 4930123456 directly: ~1.5 ms, most of what is
left) read as a view of its buffer; a column without a phone is left out, as is the channel's
phone when it is each row's first phone already (a voice target's); each column's kept keys are
scattered to their places rather than a matrix of them masked (a mask that varies row to row
costs ~5 ns a value to compress).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, islice

import numpy as np
import polars as pl

from transforms.person_keys import email_keys

__all__ = ["PHONE_COLUMNS", "People", "as_people", "batch_people"]

PHONE_COLUMNS = ("phone1", "phone2", "phone3")
"""The clean frame's phone slots, in the order connectors.base.Lead.from_row keeps them."""


@dataclass(frozen=True, slots=True, eq=False)
class People:
    """The person keys of consecutive leads (module docstring): ``keys[ends[i]:ends[i + 1]]``."""

    keys: np.ndarray
    ends: np.ndarray
    sizes: np.ndarray | None = field(default=None, repr=False)
    """Each lead's number of keys (``np.diff(ends)``, made once for a batch; a slice's is a view)."""
    flat: np.ndarray = field(init=False, repr=False)
    """Every key of these leads, in order (a view made once: the ledger's contact memory knows
    the array it looked up when the same one is recorded, and reuses its hashes)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "flat", self.keys[self.ends[0] : self.ends[-1]])
        if self.sizes is None:
            object.__setattr__(self, "sizes", np.diff(self.ends))

    def __len__(self) -> int:
        return len(self.ends) - 1

    @classmethod
    def from_lists(cls, people: Sequence[Sequence[int]]) -> People:
        """From one sequence of keys per lead (the per-lead form, connectors.frequency.leads_people)."""
        ends = np.fromiter(accumulate(map(len, people), initial=0), dtype=np.int64, count=len(people) + 1)
        keys = np.fromiter(chain.from_iterable(people), dtype=np.int64, count=int(ends[-1]))
        return cls(keys, ends)

    def counts(self) -> np.ndarray:
        """Each lead's number of keys."""
        assert self.sizes is not None
        return self.sizes

    def slice(self, start: int, stop: int) -> People:
        """Leads ``start`` to ``stop`` (exclusive): views, nothing copied."""
        return People(self.keys, self.ends[start : stop + 1], self.counts()[start:stop])

    def take(self, positions: np.ndarray | Sequence[int]) -> People:
        """The leads at ``positions``, in that order (a copy, compact)."""
        at = np.asarray(positions, dtype=np.int64)
        starts, counts = self.ends[:-1][at], self.counts()[at]
        ends = np.zeros(len(at) + 1, dtype=np.int64)
        np.cumsum(counts, out=ends[1:])
        # each kept key's place in ``keys``: its lead's start, then one more per key of the lead
        offsets = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(starts - ends[:-1], counts)
        return People(self.keys[offsets], ends)

    def to_lists(self) -> list[tuple[int, ...]]:
        """One tuple of keys per lead (the per-lead form, for the paths that walk leads)."""
        counts = self.counts()
        flat = iter(self.flat.tolist())
        if len(counts) and (counts == counts[0]).all():  # as many keys each (one phone, one email)
            return list(zip(*[flat] * int(counts[0]), strict=True)) if counts[0] else [()] * len(counts)
        return [tuple(islice(flat, count)) for count in counts.tolist()]


def as_people(people: People | Sequence[Sequence[int]]) -> People:
    """``people`` as arrays (a caller's per-lead sequences are converted, arrays kept)."""
    return people if isinstance(people, People) else People.from_lists(people)


def _int64_values(series: pl.Series) -> np.ndarray:
    """An Int64 series' values as numpy, a view of its buffer (a null's value is any number)."""
    array = series.to_arrow()
    return np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array)]


class _NotE164(ValueError):
    """A phone that is not digits after its ``+`` (nothing a clean frame holds)."""


def _phone_keys(frame: pl.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A phone column's keys (its E.164 digits as an integer, transforms.person_keys.phone_key)
    and where it has one (not null, not empty, as Lead.from_row keeps a phone); a key where
    there is none may be any number. None when the column has no phone at all (or the frame no
    such column). :class:`_NotE164` when a present value is not digits after its ``+`` or is a
    negative number: the caller then leaves the keys to the per-lead path."""
    if column not in frame.columns:
        return None
    text = frame[column].cast(pl.String)
    if text.null_count() == len(text):
        return None
    keys = text.cast(pl.Int64, strict=False)  # "+4930123456" -> 4930123456; "", "++1" -> null
    if keys.null_count() != text.null_count():
        failed = text.filter(keys.is_null() & text.is_not_null())
        if failed.str.len_bytes().max() != 0:  # some are no number; an empty string is no phone
            raise _NotE164(column)
    values = _int64_values(keys)
    has = keys.is_not_null().to_numpy()
    if (values < 0).any() and (has & (values < 0)).any():  # an email's key is negative
        raise _NotE164(column)
    return values, has


def _flatten(columns: Sequence[tuple[np.ndarray, np.ndarray]], rows: int) -> People:
    """Each row's kept keys, column by column: the rows' ends from their counts, then each
    column's kept keys written to their places (one scatter a column, no boolean indexing of
    a matrix: the kept masks vary row to row, and a compress of them costs ~5 ns a value).
    A key a row does not keep is written to one spare place past the end."""
    counts = np.zeros(rows, dtype=np.uint8)
    for _, kept in columns:
        counts += kept
    ends = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=ends[1:])
    total = int(ends[-1])
    keys = np.empty(total + 1, dtype=np.int64)
    at = ends[:-1].copy()  # each row's next place
    spare = np.int64(total)
    for values, kept in columns:
        place = at - spare
        place *= kept
        place += spare  # its place where kept, else the spare
        keys[place] = values
        at += kept
    return People(keys[:total], ends, counts.astype(np.int64))


def batch_people(frame: pl.DataFrame, per: str) -> People | None:
    """Each row's person keys exactly as connectors.frequency.leads_people gives them for the
    row's Lead (``Lead.from_row`` then ``prefer_phone(lead, channel_phone)``), for the whole
    frame at once: the channel's phone first when it is one of the row's phones, then the
    phones in slot order, then the email's key; each key once. ``email_key`` is read when the
    frame has it (flows.importer computed it), else computed. None when a phone is not plain
    E.164 (nothing a clean frame holds): the caller then leaves the keys to each Lead.

    A phone column without any phone is left out, and so is the channel's phone when it is
    each row's first phone already (a voice target's, the first of the slots): moving it first
    changes nothing. An email's key is negative and a phone's not, so they are never compared."""
    rows = frame.height
    columns: list[tuple[np.ndarray, np.ndarray]] = []
    if per != "email":
        try:
            found = [_phone_keys(frame, column) for column in (*PHONE_COLUMNS, "channel_phone")]
        except _NotE164:
            return None
        slots = [f for f in found[: len(PHONE_COLUMNS)] if f is not None]
        channel = found[-1]
        if channel is not None and slots:
            first, has = channel
            # prefer_phone moves the channel's phone first only when the lead has that phone
            matches = [p & (k == first) for k, p in slots]
            has = has & np.logical_or.reduce(matches)
            # ... and it is the lead's first phone already where it matches the first slot it has
            already, before = matches[0].copy(), ~slots[0][1]
            for match, (_, there) in zip(matches[1:], slots[1:], strict=True):
                already |= before & match
                before &= ~there
            if (has & ~already).any():
                slots.insert(0, (first, has))
        for keys, has in slots:
            kept = has.copy()
            for earlier, there in columns:
                kept &= ~(there & (earlier == keys))
            columns.append((keys, kept))
    if per != "phone":
        if "email_key" in frame.columns:
            given = frame["email_key"].cast(pl.Int64)
            columns.append((_int64_values(given), given.is_not_null().to_numpy()))
        elif "email" in frame.columns:
            email = np.zeros(rows, dtype=np.int64)
            has_email = np.zeros(rows, dtype=bool)
            where, keys = email_keys(frame["email"].to_arrow())
            email[where], has_email[where] = keys, True
            columns.append((email, has_email))
    return _flatten(columns, rows)
