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

import os

__all__ = ["MALLOC_CONF_VARIABLE", "malloc_conf", "tune_allocator"]

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
