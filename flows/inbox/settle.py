"""When a dropped file counts as complete: the settle window, and what a waiting file is told.

A file being copied, uploaded or exported grows in bursts: a network copy or a CRM export
may pause for many seconds between writes. Its size and mtime standing still for a few seconds
proves nothing, so a file is taken only when both have stayed unchanged, across scans, for a
window that starts at ``settle_seconds`` (30 s by default) and grows with how long the file
was seen being written (``settle_growth`` of that time: a file written over ten minutes must
then stand still for another five), up to ``settle_max_seconds``.

Writers that can do better than being waited for should say when they are done, and every
message about waiting says how:

- write ``NAME.part`` (or ``.partial``, ``.tmp``, ``.crdownload``) and rename it to ``NAME``
  when complete: partial names are never taken, the renamed file is taken once settled; or
- create an empty ``NAME.ready`` marker after ``NAME`` is complete: it is taken at once.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["conventions", "settle_window", "waiting_message"]


class _Settle(Protocol):
    @property
    def settle_seconds(self) -> float: ...
    @property
    def settle_growth(self) -> float: ...
    @property
    def settle_max_seconds(self) -> float: ...


def settle_window(settings: _Settle, *, written_for: float) -> float:
    """Seconds a file must stay unchanged, given how long it was seen being written."""
    grown = settings.settle_seconds + settings.settle_growth * max(written_for, 0.0)
    return max(settings.settle_seconds, min(grown, settings.settle_max_seconds))


def conventions(name: str) -> str:
    """How a writer avoids the wait for ``name`` (the ``.part`` and ``.ready`` conventions)."""
    return (
        f"to skip the wait, write {name}.part and rename it to {name} when done, "
        f"or create an empty {name}.ready after {name} is complete"
    )


def waiting_message(name: str, unchanged_for: float, window: float) -> str:
    """The log line for a file not yet taken because it may still be being written."""
    return (
        f"inbox: waiting for {name} to settle: size and mtime unchanged for {unchanged_for:.0f} s "
        f"of the {window:.0f} s needed ({conventions(name)})"
    )
