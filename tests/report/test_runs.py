"""flows.report.runs: finding runs and results on disk, reading only inside the given folder."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from flows.report.run_folders import find_runs, trend
from flows.report.runs import (
    PathKind,
    ReportError,
    classify,
    load_run,
    read_results,
    write_summary,
)
from tests.report.runs import RUN_ID, build_results, write_run
from transforms.summary import summarize, summary_json


def test_classifies_run_folder_results_and_folder_of_runs(run_dir: Path) -> None:
    part = run_dir / "results" / "target=obi_main" / "part-0.parquet"

    assert classify(run_dir) is PathKind.RUN
    assert classify(run_dir / "results") is PathKind.RESULTS
    assert classify(part) is PathKind.RESULTS
    assert classify(run_dir.parent) is PathKind.RUNS


@pytest.mark.parametrize("name", ["missing", "notes.txt", "empty"])
def test_rejects_paths_without_results(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()

    with pytest.raises(ReportError, match=name):
        classify(tmp_path / name)


def test_reads_every_target_partition_of_a_run(run_dir: Path) -> None:
    run = load_run(run_dir)

    frame = run.results.collect()

    assert frame.height == 40 * 4
    assert frame.select("source_row", "target").is_duplicated().sum() == 0
    assert run.meta is not None
    assert run.meta.run_id == RUN_ID


def test_results_that_are_not_leadflow_results_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(other)

    with pytest.raises(ReportError, match="missing columns"):
        read_results(other)


def test_parquet_linked_from_outside_the_folder_is_not_read(tmp_path: Path, run_dir: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    build_results(rows=5).write_parquet(outside / "part-9.parquet")
    (run_dir / "results" / "target=linked").symlink_to(outside, target_is_directory=True)

    frame = load_run(run_dir).results.collect()

    assert frame.height == 40 * 4


def test_run_json_and_runs_linked_from_outside_are_not_read(tmp_path: Path) -> None:
    elsewhere = write_run(tmp_path / "elsewhere", run_id="20261120T000000Z-000000", rows=5)
    out = tmp_path / "out"
    run_dir = write_run(out, rows=10)
    (run_dir / "run.json").unlink()
    (run_dir / "run.json").symlink_to(elsewhere / "run.json")
    (out / elsewhere.name).symlink_to(elsewhere, target_is_directory=True)

    runs = find_runs(out)

    assert [run.path.name for run in runs] == [RUN_ID]
    assert runs[0].meta is None
    assert runs[0].meta_problem == "run.json not found"


def test_broken_run_json_is_reported_without_failing_the_report(run_dir: Path) -> None:
    (run_dir / "run.json").write_text("{not json", encoding="utf-8")

    run = load_run(run_dir)

    assert run.meta is None
    assert run.meta_problem == "run.json unreadable (JSONDecodeError)"
    assert run.run_id == run_dir.name


def test_trend_counts_statuses_per_run_and_target_oldest_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_run(out, run_id="20261125T000000Z-bbbbbb", rows=20)
    write_run(out, run_id="20261124T000000Z-aaaaaa", rows=10)

    table = trend(find_runs(out))

    assert table["run_id"].unique(maintain_order=True).to_list() == [
        "20261124T000000Z-aaaaaa",
        "20261125T000000Z-bbbbbb",
    ]
    first = table.filter(pl.col("run_id") == "20261124T000000Z-aaaaaa", pl.col("target") == "obi_main")
    expected = summarize(build_results(rows=10))["targets"]["obi_main"]["statuses"]
    assert first.row(0, named=True)["rows"] == 10
    assert first.row(0, named=True)["accepted"] == expected["accepted"]
    assert first.row(0, named=True)["rejected"] == expected["rejected"]


def test_write_summary_puts_summary_json_in_the_run_folder(run_dir: Path) -> None:
    path = write_summary(run_dir)

    assert path == run_dir / "summary.json"
    assert path.read_text(encoding="utf-8") == summary_json(summarize(build_results()))
    assert json.loads(path.read_text(encoding="utf-8"))["rows"] == 40
