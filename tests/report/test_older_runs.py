"""Run folders written before a result column was added are still reported."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.report.runs import load_run
from schemas.results import ADDED_COLUMNS, RESULTS
from tests.report.runs import build_results, write_run


def test_a_run_without_the_extension_and_zone_columns_loads_with_them_null(tmp_path: Path) -> None:
    older = build_results("20261124T012233Z-ab12cd", 6).drop(ADDED_COLUMNS)
    run_dir = write_run(tmp_path / "out", results=older, rows=6)
    results = load_run(run_dir).results.collect()
    assert results.schema == pl.Schema(RESULTS)
    assert results.height == older.height
    assert results.select(pl.col(ADDED_COLUMNS).is_null().all()).row(0) == (True,) * len(ADDED_COLUMNS)
