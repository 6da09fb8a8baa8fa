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


def _phone_keys(frame: pl.DataFrame, columns: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Each phone column's keys (its E.164 digits as an integer, transforms.person_keys.phone_key)
    and where it has one (not null, not empty, as Lead.from_row keeps a phone), in one select
    (a column the frame lacks has none). None when a present value is not digits after its
    ``+`` (nothing a clean frame holds): the per-lead path then says what it says of it."""
    there = [column for column in columns if column in frame.columns]
    parsed = frame.select(
        *(pl.col(c).cast(pl.String).str.len_bytes().fill_null(0).gt(0).alias(f"has {c}") for c in there),
        *(
            pl.col(c).cast(pl.String).str.strip_chars_start("+").cast(pl.Int64, strict=False).alias(c)
            for c in there
        ),
    )
    if (
        parsed.select(pl.any_horizontal(pl.col(f"has {c}") & pl.col(c).is_null() for c in there).any()).item()
        if there
        else False
    ):
        return None
    nothing = np.zeros(frame.height, dtype=np.int64), np.zeros(frame.height, dtype=bool)
    return [
        (parsed[c].fill_null(0).to_numpy(), parsed[f"has {c}"].to_numpy()) if c in there else nothing
        for c in columns
    ]


def batch_people(frame: pl.DataFrame, per: str) -> People | None:
    """Each row's person keys exactly as connectors.frequency.leads_people gives them for the
    row's Lead (``Lead.from_row`` then ``prefer_phone(lead, channel_phone)``), for the whole
    frame at once: the channel's phone first when it is one of the row's phones, then the
    phones in slot order, then the email's key; each key once. ``email_key`` is read when the
    frame has it (flows.importer computed it), else computed. None when a phone is not plain
    E.164 (nothing a clean frame holds): the caller then leaves the keys to each Lead."""
    rows = frame.height
    columns: list[np.ndarray] = []
    present: list[np.ndarray] = []
    if per != "email":
        with_channel = "channel_phone" in frame.columns
        found = _phone_keys(frame, [*PHONE_COLUMNS, "channel_phone"] if with_channel else PHONE_COLUMNS)
        if found is None:
            return None
        slots = found[: len(PHONE_COLUMNS)]
        if with_channel:
            first, has = found[-1]
            # prefer_phone moves the channel's phone first only when the lead has that phone
            has = has & np.logical_or.reduce([p & (k == first) for k, p in slots])
            slots.insert(0, (first, has))
        for keys, has in slots:
            kept = has.copy()
            for earlier, there in zip(columns, present, strict=True):
                kept &= ~(there & (earlier == keys))
            columns.append(keys)
            present.append(kept)
    if per != "phone":
        email = np.zeros(rows, dtype=np.int64)
        has_email = np.zeros(rows, dtype=bool)
        if "email_key" in frame.columns:
            given = frame["email_key"]
            has_email[:] = given.is_not_null().to_numpy()
            email[:] = given.fill_null(0).to_numpy()
        elif "email" in frame.columns:
            where, keys = email_keys(frame["email"].to_arrow())
            email[where], has_email[where] = keys, True
        columns.append(email)
        present.append(has_email)
    if not columns:
        return People(np.zeros(0, dtype=np.int64), np.zeros(rows + 1, dtype=np.int64))
    matrix, kept = np.column_stack(columns), np.column_stack(present)
    ends = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(kept.sum(axis=1), out=ends[1:])
    return People(np.ascontiguousarray(matrix[kept]), ends)
