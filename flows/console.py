"""Terminal helpers shared by the commands: one-line errors and stage progress.

Long files take seconds per stage, so commands show which stage is running (a spinner and
elapsed time on a terminal, plain lines in logs and CI where there is no terminal).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

from connectors.config import ConfigError
from transforms.errors import LeadFileError

__all__ = ["USER_ERRORS", "print_error", "stage"]

USER_ERRORS: tuple[type[Exception], ...] = (LeadFileError, ConfigError)
"""Errors caused by the user's files or settings: one line, no traceback."""


def print_error(console: Console, error: Exception) -> None:
    console.print(Text(f"Error: {error}", style="bold red"))


@contextmanager
def stage(console: Console, message: str) -> Iterator[None]:
    """Show ``message`` while the block runs, then a done line with the elapsed time."""
    import time

    started = time.perf_counter()
    if console.is_terminal:
        with console.status(Text(message)):
            yield
    else:
        yield
    console.print(Text(f"✓ {message} ({time.perf_counter() - started:.1f}s)", style="dim"))
