"""Terminal helpers shared by the commands: one-line errors, stage progress, the run's verdict.

Long files take seconds per stage, so commands show which stage is running (a spinner and
elapsed time on a terminal, plain lines in logs and CI where there is no terminal).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

from rich.text import Text

from connectors.config_error import ConfigError
from transforms.errors import LeadFileError

if TYPE_CHECKING:
    from rich.console import Console

    from flows.verdict import RunVerdict

__all__ = [
    "LOG_WIDTH",
    "USER_ERRORS",
    "new_console",
    "print_error",
    "print_interrupted",
    "print_verdict",
    "quiet_user_errors",
    "stage",
]

LOG_WIDTH = 160
"""Columns of a command's output where no terminal says how wide it is (a Prefect worker's or
cron's log, CI, a file): a line costs nothing there, and at Rich's 80 the run's tables folded
their headers mid-word ("maxcon / tact") and listed a lead's identical status once per target
(18 lines for a lead rejected at six targets); at 160 the lead table fits six targets a row."""

USER_ERRORS: tuple[type[Exception], ...] = (LeadFileError, ConfigError)
"""Errors caused by the user's files or settings: one line, no traceback."""


class _WithoutUserErrors(logging.Filter):
    """Drops a log record carrying a user's mistake (Prefect's "Encountered exception during
    execution" and "Task run failed with exception", each with its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, USER_ERRORS)


@contextmanager
def quiet_user_errors() -> Iterator[None]:
    """While a command runs a Prefect flow in its process: the terminal's log handlers (the
    root logger's: Prefect's console handler) drop the records of a bad file or setting, whose
    one ``Error:`` line the command prints itself. Prefect's API handler, on Prefect's own
    loggers, is left alone: the flow run's log in the UI keeps the full record."""
    handlers = list(logging.getLogger().handlers)
    quiet = _WithoutUserErrors()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def new_console(*, file: IO[str] | None = None, stderr: bool = False, highlight: bool = True) -> Console:
    """The console a command prints to. On a terminal, its width; where the output is piped or
    redirected, the width of the terminal the command was started from (its standard error or
    input, as ``leadflow validate f.csv | less``) or, with none (logs), :data:`LOG_WIDTH`.
    ``COLUMNS``, when set, is the width (as Rich reads it)."""
    from rich.console import Console

    console = Console(file=file, stderr=stderr, highlight=highlight)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    console.width = _started_from_width() or LOG_WIDTH
    return console


def _started_from_width() -> int | None:
    """Columns of a terminal on standard error or input, None when neither is one."""
    for fd in (2, 0):
        try:
            if os.isatty(fd):
                return os.get_terminal_size(fd).columns or None
        except OSError:
            continue
    return None


def print_error(console: Console, error: Exception) -> None:
    """``Error: message`` as one line, whatever the terminal's width: not wrapped (a log or a
    grep gets the whole line) and not cut (soft wrap: the terminal folds it for the eye)."""
    console.print(Text(f"Error: {error}", style="bold red"), soft_wrap=True)


def print_interrupted(console: Console, what: str) -> None:
    """``Interrupted (Ctrl-C): <what it left and what to do>`` as one line (:func:`print_error`'s
    form): a person who stopped a run needs to know what it left, not Python's traceback."""
    console.print(Text(f"Interrupted (Ctrl-C): {what}", style="bold yellow"), soft_wrap=True)


def print_verdict(console: Console, verdict: RunVerdict) -> None:
    """One line per target (green sent, yellow sent with rows the vendor refused, red failed),
    then the exit code and what it means (flows.verdict ``conclusion``: never "sent" for a dry
    run or a rerun that sent nothing): the last thing a person or a CI log shows."""
    from flows.verdict import SendVerdict

    for target in verdict.targets:
        if not target.ok:
            mark, style = "✗", "bold red"
        elif target.vendor_rejected:
            mark, style = "!", "yellow"
        elif target.verdict is SendVerdict.SENT:
            mark, style = "✓", "green"
        else:
            mark, style = "·", ""
        console.print(Text(f"{mark} {target.line()}", style=style), soft_wrap=True)
    if verdict.ok:
        refused = any(target.vendor_rejected for target in verdict.targets)
        line = Text(f"Exit code 0: {verdict.conclusion()}.", style="yellow" if refused else "green")
    else:
        line = Text(f"Exit code {int(verdict.code)}: {verdict.conclusion()}", style="bold red")
    console.print(line, soft_wrap=True)


@contextmanager
def stage(console: Console, message: str, *, done: str | None = None) -> Iterator[None]:
    """Show ``message`` while the block runs, then a done line with the elapsed time: ``done``
    when given, else ``message`` with a check mark (a step that cannot fail half-way)."""
    import time

    started = time.perf_counter()
    if console.is_terminal:
        with console.status(Text(message)):
            yield
    else:
        yield
    line = done if done is not None else f"✓ {message}"
    console.print(Text(f"{line} ({time.perf_counter() - started:.1f}s)", style="dim"))
