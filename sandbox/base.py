"""What every simulated vendor provides to the sandbox server (sandbox/app.py).

A vendor simulator owns its in-memory state and a Starlette app for its own routes. The
server mounts it under its ``prefix``, wraps it in the fault-injection middleware, and exposes
``dump``/``reset`` through the inspection API under ``/_sandbox/``. Simulators import nothing
from ``connectors/``: they are the vendors' side and must not share the client's assumptions.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.faults import Faults

__all__ = ["VendorSimulator"]


class VendorSimulator(Protocol):
    kind: str
    """Target kind it simulates, e.g. ``sinch_obi`` (``ucontact`` serves both uContact kinds)."""
    prefix: str
    """Mount path, e.g. ``/obi``."""
    credentials: dict[str, str]
    """Test credentials accepted, printed by ``leadflow sandbox`` (e.g. username/password)."""

    def __init__(self, clock: Clock, faults: Faults) -> None: ...

    def app(self) -> ASGIApp:
        """The vendor's own routes, relative to ``prefix``."""
        ...

    def dump(self) -> dict[str, Any]:
        """JSON-serialisable state (campaigns, contacts, queued rows, sessions count...)."""
        ...

    def reset(self) -> None:
        """Forget all state and sessions; credentials stay."""
        ...
