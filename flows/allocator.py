"""Tune the memory allocator polars uses, for Leadflow's million-row frames, before polars loads.

Why: polars allocates through its own jemalloc, whose defaults suit a long-lived server, not
a run that builds and drops a few hundred column buffers of 8-100 MB:

* every allocation of 8 MiB or more (``oversize_threshold``: a million-row column is one) is
  served by a dedicated arena that hands freed pages back to the OS at once, so the next
  column of the same size faults its pages in and has them zeroed again;
* four arenas per core, so pages one thread freed are often not reused by another.

With big buffers in the ordinary arenas and one arena per core, the million-row benchmark
(bench/normalize.py, 2 cores, paired runs) spends 1.3 s of system time instead of 1.9 s,
takes 0.95x the wall time and peaks about 30 MiB lower. Two arenas were as fast as one there.

jemalloc reads its settings once, as polars loads: :func:`tune_allocator` runs when the
``flows`` package is imported, which every entry point does before it imports polars (the
Prefect entry files import it first for that reason). A value already in the environment wins,
so an operator can set ``_RJEM_MALLOC_CONF`` themselves; it is also inherited by the processes
a run starts (the phone parser's pool).
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable

__all__ = ["MALLOC_CONF_VARIABLE", "malloc_conf", "release_freed", "tune_allocator"]

MALLOC_CONF_VARIABLE = "_RJEM_MALLOC_CONF"
"""Where polars' jemalloc (built with the ``_rjem_`` prefix) reads its options."""


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def malloc_conf(cores: int) -> str:
    """The jemalloc options for a machine with ``cores`` usable cores."""
    return f"oversize_threshold:0,narenas:{max(1, cores)}"


def tune_allocator() -> str:
    """Set the allocator options unless the environment has its own; return the ones in force.

    Has no effect on a process that has already loaded polars (only on its children).
    """
    return os.environ.setdefault(MALLOC_CONF_VARIABLE, malloc_conf(_usable_cores()))


BATCH_FREE_AT_LEAST = 48 << 20
"""Free bytes in the C heap from which a batched run hands them back after a batch
(:func:`release_freed`): a 1M-row run stays under it (19-35 MiB free between batches), so its
batches' pages are not faulted in again and again; a 10M-row run's dedupe leaves 50-100 MiB."""


def release_freed(at_least: int = 0) -> None:
    """Hand the C heap's free pages back to the OS (glibc's ``malloc_trim``; nothing where
    there is none), when at least ``at_least`` bytes of it are free (glibc's ``mallinfo2``).
    For a run read in batches, once a batch is written (``at_least``
    :data:`BATCH_FREE_AT_LEAST`), and once its batches are done.

    Why: numpy's arrays (the dedupe's sorted runs and each batch's hashes and orders,
    transforms.dedupe_batches) come from the C heap, not polars' jemalloc. glibc gives back
    only the free space at the top of a heap, so the holes left as runs merge and batches come
    and go stay resident: 50-70 MiB at 10M rows. Measured on the 10M-row file (leadflow
    validate, single runs on a loaded machine, so within some 30 MiB): peak 1,174,476 kB
    without, 1,144,124 with a trim after each batch's dedupe, 1,147,432 with one after each
    batch's write (and the merge of transforms.dedupe_batches letting go earlier). A trim walks
    the heaps' free chunks: 0.1 ms or less a batch; the pages it hands back cost their faults
    when used again (a 1M-row run: about 0.1 s of system time, hence ``at_least``)."""
    trim = _malloc_trim()
    if trim is None or (at_least and _heap_free() < at_least):
        return
    trim(0)


_MALLINFO2_FIELDS = [
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
]


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


def _heap_free() -> int:
    """Free bytes in the C heap's arenas (glibc 2.33+; else as if many were)."""
    info = _mallinfo2()
    return 1 << 62 if info is None else int(info().fordblks)


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's ``mallinfo2``, looked up once (it is asked after every batch)."""
    try:
        info = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    info.restype = _MallInfo2
    return info


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim
