"""The progress bars of ``leadflow import``: rows read, and per target the rows with a result.

Its own module so that ``leadflow import --help`` and a usage error load neither rich's
progress nor the sending machinery (flows.import_batches): only a run that sends needs them.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from flows.import_batches import BatchProgress

__all__ = ["Bars", "progress"]


class Bars(BatchProgress):
    """Rich progress: rows read and normalized, and per target the rows with a result, with an ETA
    (every total is the file's row count, known before the first batch)."""

    def __init__(self, bars: Progress, rows: int, targets: list[str]) -> None:
        self.bars = bars
        self.reading = bars.add_task("read", total=rows)
        self.tasks = {name: bars.add_task(name, total=rows) for name in targets}

    def read(self, rows: int) -> None:
        self.bars.advance(self.reading, rows)

    def sent(self, target: str, rows: int) -> None:
        self.bars.update(self.tasks[target], completed=rows)


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),  # a bare clock next to the elapsed one reads as a second elapsed time
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
