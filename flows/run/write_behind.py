"""One batch's results written in a thread of their own while the next batch is made.

Why: a run read in batches (flows.run.finish.finish_run_in_batches) spent about a sixth of
its time writing each batch's results (the contract's check, Arrow, zstd Parquet) on the
same thread that then reads and normalizes the next batch, while the second core idled
through the Python stretches of that work. The write is mostly Arrow and Parquet code, which
lets go of the GIL, so it runs beside the next batch's normalizing at little extra CPU.

At most one write is in flight: a batch's results are held until written, so one more batch
of results is all this adds to a run's memory, and the writes stay in batch order (one
thread). A write's error is raised at the next :meth:`WriteBehind.submit` or at
:meth:`WriteBehind.close`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["WriteBehind"]


class WriteBehind:
    """Runs the submitted writes one after the other in one thread, one at most in flight."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[[], None]) -> None:
        """Wait for the write before (raising its error), then start ``write``."""
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="results-writer")
        self._pending = self._pool.submit(write)

    def wait(self) -> None:
        """Wait for the write in flight (raising its error)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the last write (raising its error) and let the thread go."""
        try:
            self.wait()
        finally:
            self.drop()

    def drop(self) -> None:
        """After a failure elsewhere: let the write in flight finish (its error is not the
        run's), then let the thread go, so that the caller may abort the files."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
