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
"""

from __future__ import annotations

import threading
from dataclasses import replace

import polars as pl

from connectors.base import Lead
from connectors.engine import prefer_phone
from schemas.codes import Disposition

__all__ = ["TARGET_FIELDS", "SharedLeads"]

TARGET_FIELDS = ("call_window_end", "email_key")
"""Lead fields a target's frame may set for itself (its calling windows, its person keys)."""


class SharedLeads:
    """The ready rows of one ``clean`` frame as Leads, by ``source_row``, built when first asked."""

    def __init__(self, clean: pl.DataFrame) -> None:
        self._clean = clean
        self._lock = threading.Lock()  # sends of a flow may run in threads, as for SharedWindows
        self._by_row: dict[int, Lead] | None = None

    def _leads(self) -> dict[int, Lead]:
        with self._lock:
            if self._by_row is None:
                ready = self._clean.filter(pl.col("disposition") == Disposition.READY.value)
                self._by_row = {
                    lead.source_row: lead for lead in map(Lead.from_row, ready.iter_rows(named=True))
                }
            return self._by_row

    def leads(self, eligible: pl.DataFrame) -> list[Lead]:
        """The Leads of ``eligible`` (a target's eligible rows of this batch, with its
        ``channel_phone`` and any of :data:`TARGET_FIELDS`), in its order: each the shared Lead
        of its row, with the target's phone first and the target's fields where they differ.
        Equal to ``Lead.from_row`` of each row of ``eligible`` then ``prefer_phone``."""
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
