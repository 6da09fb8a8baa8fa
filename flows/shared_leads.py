"""One batch's leads as :class:`connectors.base.Lead` objects, built once and shared by its targets.

Every target of a run sends Leads made from the same clean rows; only a few fields differ from
one target to the next: the phone it dials first (``channel_phone``), the end of the lead's
calling window under its compliance profile, the email's person key under a frequency limit.
Built per target, a batch of 100,000 rows held six copies of every name, email, phone and
external id while its six targets were sent concurrently (about 0.3 GB more at 100,000 rows). Here
each ready row becomes a Lead once; a target gets that same object, or a copy (``replace``:
the strings and phones stay shared) only where one of its own fields differs.

The caller makes one :class:`SharedLeads` per batch and hands it to every target's send
(flows.importer.send_target), as it does transforms.shared_windows: nothing outlives the batch.

Under a frequency limit a target's person keys are not read off these Leads: flows.importer
computes them from the same eligible frame as arrays aligned with :meth:`SharedLeads.leads`'
list (transforms.people.batch_people) and hands both to the engine. ``email_key`` is still set
on the Leads: batch_people reads it from the frame, and a send given no arrays reads it there.
The emails' keys are the batch's, computed once for all its targets (:meth:`SharedLeads.email_key`:
~10 ms per 100,000 rows, was that per target), and when any target of the batch has a limit
(``keyed``) its shared Leads carry them from the start: a limited target's Lead is then the
shared object, not a copy with its key (``dataclasses.replace``, ~2.6 us a lead, ten times the
keys' cost: a second limited target's Leads and keys took 311 ms CPU for the 74,000 eligible
rows of a 100,000-row batch, now 118, as much as a target without a limit). A target without a
limit then gets Leads whose ``email_key`` is set too; nothing reads it there.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import polars as pl

from connectors.base import Lead
from connectors.engine import prefer_phone
from schemas.codes import Disposition
from transforms.person_keys import email_key_column

__all__ = ["TARGET_FIELDS", "SharedLeads"]

TARGET_FIELDS = ("call_window_end", "email_key")
"""Lead fields a target's frame may set for itself (its calling windows, its person keys)."""


class SharedLeads:
    """The ready rows of one ``clean`` frame as Leads, by ``source_row``, built when first asked;
    ``keyed``: each with its email's key (some target of the batch has a frequency limit)."""

    def __init__(self, clean: pl.DataFrame, *, keyed: bool = False) -> None:
        self._clean = clean
        self._keyed = keyed
        self._lock = threading.Lock()  # sends of a flow may run in threads, as for SharedWindows
        self._by_row: dict[int, Lead] | None = None
        self._email_key: pl.Series | None = None

    def _batch_email_key(self) -> pl.Series:
        """The clean frame's ``email_key`` column, made at the first call (under the lock)."""
        if self._email_key is None:
            self._email_key = email_key_column(self._clean["email"])
        return self._email_key

    def email_key(self, frame: pl.DataFrame) -> pl.Series:
        """``frame``'s ``email_key`` column (transforms.person_keys.email_key_column): the batch's,
        computed once for all its targets, when ``frame`` is the clean frame row for row (a
        target's decided frame: the same ``source_row`` and ``email`` columns, checked: ~1 ms);
        else computed for ``frame``."""
        clean = self._clean
        if (
            frame.height == clean.height
            and frame["source_row"].equals(clean["source_row"])
            and frame["email"].equals(clean["email"])
        ):
            with self._lock:
                return self._batch_email_key()
        return email_key_column(frame["email"])

    def _leads(self) -> dict[int, Lead]:
        with self._lock:
            if self._by_row is None:
                clean = self._clean.with_columns(self._batch_email_key()) if self._keyed else self._clean
                ready = clean.filter(pl.col("disposition") == Disposition.READY.value)
                self._by_row = {
                    lead.source_row: lead for lead in map(Lead.from_row, ready.iter_rows(named=True))
                }
            return self._by_row

    def leads(self, eligible: pl.DataFrame) -> list[Lead]:
        """The Leads of ``eligible`` (a target's eligible rows of this batch, with its
        ``channel_phone`` and any of :data:`TARGET_FIELDS`), in its order: each the shared Lead
        of its row, with the target's phone first and the target's fields where they differ.
        Equal to ``Lead.from_row`` of each row of ``eligible`` then ``prefer_phone`` (keyed:
        with the batch's ``email_key`` where ``eligible`` has none)."""
        shared = self._leads()
        own = [name for name in TARGET_FIELDS if name in eligible.columns]
        leads: list[Lead] = []
        append = leads.append
        for source_row, phone, *values in eligible.select("source_row", "channel_phone", *own).iter_rows():
            lead = shared[source_row]
            changed = {
                name: value for name, value in zip(own, values, strict=True) if getattr(lead, name) != value
            }
            append(prefer_phone(replace(lead, **changed) if changed else lead, phone))
        return leads
