"""report.html and trend.html get the mode the run's Parquet files get (0644 under umask 022).

They were written through mkstemp, which makes files private (0600): a report a web server or
a colleague should open was readable by its writer only, beside Parquet files anyone could read.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from flows.report.command import run_report
from tests.report.runs import write_run


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_run_report_and_trend_are_as_readable_as_the_parquet_results(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out"
    run_dir = write_run(out, run_id="20261124T012233Z-ab12cd", rows=20)
    write_run(out, run_id="20261125T080000Z-cd34ef", rows=20)
    [parquet, *_] = sorted(run_dir.rglob("*.parquet"))
    console = Console(file=io.StringIO(), width=200)

    assert run_report(run_dir, run_dir / "report.html", None, console) == 0
    assert run_report(out, out / "trend.html", None, console) == 0

    assert _mode(parquet) == 0o644
    assert _mode(run_dir / "report.html") == _mode(parquet)
    assert _mode(out / "trend.html") == _mode(parquet)
    assert not list(out.rglob("*.tmp"))
