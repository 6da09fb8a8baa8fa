"""The cyclic garbage collector around a command's imports.

Importing polars, pyarrow, numpy, rich, phonenumbers and our modules makes a few hundred
thousand objects that live as long as the process, and the collector walked them again and
again: about 140 collections in a one-row ``leadflow validate``, 35 ms of its 0.55 s of CPU.
:func:`collector_off` imports without collecting (nothing imported is garbage); the command
then runs inside connectors.heap.frozen_heap, which keeps what is there out of the collector's
walks (``gc.freeze``) and gives it back when the command returns, so that a caller that runs
the command in-process (the tests) finds its garbage collectable as before. What the run makes
is collected as always.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_off"]


@contextmanager
def collector_off() -> Iterator[None]:
    """No cyclic collection inside (as it was after: a caller's ``gc.disable()`` is kept)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
