"""A run's lease on a ledger target, renewed by a thread while the run is alive.

A claim (connectors.ledger) belongs to a run; the run is alive while its lease is in the future.
The renewal is a thread with its own connection, not an asyncio task: a send loop that holds the
event loop for a while (parsing a large answer) must not let the lease lapse and have another
run take its leads for a crash's. A run that dies stops renewing; ``LEASE_SECONDS`` later its
in-flight chunks are orphans that the next run settles through the vendor's reconcile path.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

__all__ = ["LEASE_ENV", "LEASE_SECONDS", "Renewer", "env_seconds", "lease_seconds"]

LEASE_SECONDS = 30.0
"""How long a run's claims outlive its last renewal (renewed every third of it): a rerun after a
crash within this time reports the dead run's in-flight leads ``IN_PROGRESS_ELSEWHERE``."""
LEASE_ENV = "LEADFLOW_LEDGER_LEASE"


def env_seconds(name: str, default: float) -> float:
    """$``name`` as seconds when it is a number > 0, else ``default``."""
    given = os.environ.get(name, "").strip()
    try:
        value = float(given) if given else default
    except ValueError:
        value = default
    return value if value > 0 else default


def lease_seconds() -> float:
    """$LEADFLOW_LEDGER_LEASE (seconds, > 0), else :data:`LEASE_SECONDS`."""
    return env_seconds(LEASE_ENV, LEASE_SECONDS)


log = logging.getLogger("leadflow.connectors")


class Renewer(threading.Thread):
    """Calls ``renew`` every third of ``seconds`` until :meth:`stop`; a failed renewal is logged
    and tried again at the next tick (the lease outlives two missed ones)."""

    def __init__(self, renew: Callable[[], None], run_id: str, seconds: float) -> None:
        super().__init__(name=f"ledger-lease-{run_id}", daemon=True)
        self._renew = renew
        self._run_id = run_id
        self._seconds = seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._seconds / 3):
            try:
                self._renew()
            except Exception as exc:
                log.warning("ledger: renewing the lease of run %s failed: %s", self._run_id, exc)

    def stop(self) -> None:
        self._stopping.set()
        self.join()
