"""The cyclic garbage collector around a command's imports and run.

Importing polars, pyarrow, numpy, rich, phonenumbers and our modules makes a few hundred
thousand objects that live as long as the process, and the collector walked them again and
again: about 140 collections in a one-row ``leadflow validate``, 35 ms of its 0.55 s of CPU.
:func:`collector_off` imports without collecting (nothing imported is garbage); :func:`frozen`
then keeps what is there out of the collector's walks while the command runs (``gc.freeze``)
and gives it back when the command returns (``gc.unfreeze``), so that a caller that runs the
command in-process (the tests) finds its garbage collectable as before. What the run makes is
collected as always.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_off", "frozen"]


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


@contextmanager
def frozen() -> Iterator[None]:
    """What exists on entry is not walked by the collector inside (gc.freeze), and is again after."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
