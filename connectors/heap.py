"""Keep the garbage collector off the objects a dispatch run starts with.

A run allocates one result row per lead that lives until the run returns, so CPython's oldest
generation grows by tens of thousands of objects per run and a full collection comes due about
every run; each one walks every object in the process (the leads, the app's modules, Prefect's
state), not only the run's own. ``gc.freeze()`` moves the objects that exist when the run starts
out of the collector's sight (they are not garbage: the run holds the leads, the process the rest)
and ``gc.unfreeze()`` hands them back when the run ends; collections in between look at the run's
own objects only. Measured on the OBI bench (20k leads, concurrency 4, 2 cores, interleaved runs):
26.9 against 28.8 us of client CPU per lead.

Runs may overlap (targets dispatch concurrently, in one event loop or in threads): the first run
in freezes, the last one out unfreezes. A process that froze objects itself (a pre-fork server) or
switched the collector off is left alone: its policy is not ours to undo.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["frozen_heap"]


class _Freezer:
    """How many runs are on, and whether the freeze in force is ours to undo."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs = 0
        self.ours = False

    def enter(self) -> None:
        with self.lock:
            if self.runs == 0:
                self.ours = gc.isenabled() and gc.get_freeze_count() == 0
                if self.ours:
                    gc.freeze()
            self.runs += 1

    def leave(self) -> None:
        with self.lock:
            self.runs -= 1
            if self.runs == 0 and self.ours:
                gc.unfreeze()
                self.ours = False


_freezer = _Freezer()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap for the duration of the block (see the module docstring)."""
    _freezer.enter()
    try:
        yield
    finally:
        _freezer.leave()
