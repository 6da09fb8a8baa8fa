"""One run's calling windows, computed once per compliance profile and shared by its targets.

Several targets of a run often have the same ``compliance`` profile (a dialer and an SMS
platform under ``us-tcpa``); their windows are the same, from the same leads and the same
reference (the run's start). The caller makes one :class:`SharedWindows` per run and hands it to
every target's send (flows.importer.send_target), so nothing outlives the run: no module-level
cache that a later run, or another test, could read.

Profiles are compared by value (a table in the targets file gives a new, equal profile for
each target that repeats it), and sends of a Prefect flow run in threads: a lock keeps two
targets of one profile from computing the same windows twice.
"""

from __future__ import annotations

import threading
from datetime import datetime

import polars as pl

from transforms.calling_rules import Profile
from transforms.calling_windows import with_call_windows

__all__ = ["SharedWindows"]


class SharedWindows:
    """:func:`transforms.calling_windows.with_call_windows` of one ``clean`` frame, remembered
    per (profile, reference)."""

    def __init__(self, clean: pl.DataFrame) -> None:
        self._clean = clean
        self._lock = threading.Lock()
        # a list, not a dict: a Profile holds mappings and is not hashable; a run has few
        self._computed: list[tuple[Profile, datetime, pl.DataFrame]] = []

    def windows(self, clean: pl.DataFrame, profile: Profile, reference: datetime) -> pl.DataFrame:
        """Every row's window under ``profile`` from ``reference``: computed the first time
        they are asked for, the same frame afterwards. ``clean``: the frame they are asked for,
        which must be the one this was made for (ValueError otherwise: a caller's mistake)."""
        if clean is not self._clean:
            raise ValueError("SharedWindows asked for the windows of another frame than its own")
        with self._lock:
            for known, at, windows in self._computed:
                if known == profile and at == reference:
                    return windows
            windows = with_call_windows(self._clean, profile, reference)
            self._computed.append((profile, reference, windows))
            return windows

    @property
    def computed(self) -> int:
        """How many distinct (profile, reference) were computed (what the tests count)."""
        return len(self._computed)
