"""The watched folder's settings, apart from its mechanics (flows.inbox.intake).

Why a module of its own: ``leadflow watch --help`` and ``leadflow serve --help`` print these
defaults, and the mechanics import the intake registry (and with it psycopg); the help needs
none of that.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InboxSettings"]


@dataclass(frozen=True)
class InboxSettings:
    settle_seconds: float = 30.0
    """A file counts as complete once its size and mtime have not changed for this long (the
    base of the settle window; a NAME.ready marker or a writer renaming NAME.part skips it)."""
    settle_growth: float = 0.5
    """The window grows by this share of how long the file was seen being written."""
    settle_max_seconds: float = 600.0
    """The window never grows beyond this (nor below ``settle_seconds``)."""
    retry_attempts: int = 6
    """Imports of a file whose rows failed to send before it goes to failed/ (1: no retry)."""
    retry_delay_seconds: float = 60.0
    """Wait before the second attempt; doubles for each further one."""
    retry_max_delay_seconds: float = 3600.0
    max_bytes: int | None = None
    """Refuse larger files (None: no limit; the fingerprint is computed in chunks either way)."""
    chunk_bytes: int = 1 << 20
