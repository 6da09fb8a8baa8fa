"""`leadflow import` of a file with no data rows, against the sandbox vendors: a run like any
other (a run folder, an empty results file per target, a summary of zeros), and nothing sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from schemas.results import RESULTS_SCHEMA
from tests.flows.conftest import SANDBOX_TARGETS, Vendors, only_run
from tests.flows.test_import_cli import TARGETS, run_import

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_importing_a_file_of_no_rows_writes_an_empty_run_and_sends_nothing(
    name: str, vendors: Vendors, tmp_path: Path
) -> None:
    leads = tmp_path / name
    if name.endswith(".csv"):
        leads.write_text("first_name,phone,email\n", encoding="utf-8")
    else:
        pl.DataFrame(schema={"first_name": pl.String, "phone": pl.String}).write_parquet(leads)
    code, printed = run_import(leads, tmp_path / "out")
    assert "Traceback" not in printed
    assert code == 0, printed
    run_dir = only_run(tmp_path / "out")
    for target in TARGETS:
        results = pl.read_parquet(run_dir / "results" / f"target={target}" / "part-0.parquet")
        RESULTS_SCHEMA.validate(results)
        assert results.height == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["rows"], summary["results"], summary["attention"]) == (0, 0, 0)
    assert {target: figures["total"] for target, figures in summary["targets"].items()} == dict.fromkeys(
        TARGETS, 0
    )
    assert vendors.held() == dict.fromkeys(TARGETS, 0)


def test_the_import_flow_of_a_file_of_no_rows_writes_its_run_and_lists_every_target(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads

    leads = tmp_path / "empty.csv"
    leads.write_text("first_name,phone,email\n", encoding="utf-8")
    state = import_leads(str(leads), str(SANDBOX_TARGETS), out_dir=str(tmp_path / "out"), return_state=True)
    summary: dict[str, Any] = state.result()
    assert (summary["rows"], summary["results"]) == (0, 0)
    assert sorted(summary["targets"]) == sorted(TARGETS)
    run_dir = Path(summary["run_dir"])
    assert run_dir == only_run(tmp_path / "out")
    assert json.loads((run_dir / "summary.json").read_text())["results"] == 0
    assert vendors.held() == dict.fromkeys(TARGETS, 0)
