"""`leadflow validate` on inputs that once ended in a traceback: a row's bad value is a row
issue, an empty file is a run, odd Parquet column types are text or one clear line."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from flows.commands.validate import main as validate
from flows.report.command import main as report_main
from flows.report.run_folders import find_runs, trend
from schemas.results import RESULTS_SCHEMA


def _run(args: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    code = validate(args, console=Console(file=buffer, width=120))
    return code, buffer.getvalue()


def _only_run(out: Path) -> Path:
    (run_dir,) = list(out.iterdir())
    return run_dir


def test_phones_e164_cannot_carry_are_row_issues_not_a_failed_file(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "first_name,phone,country\n"
        "A,01110,AT\n"
        "B,030 123456789012,DE\n"
        'C,"+49 30 123456 MOBILE",DE\n'  # letters read as digits: too long for E.164
        "D,0151 12345678,DE\n",
        encoding="utf-8",
    )
    code, printed = _run([str(leads), "--out", str(tmp_path / "out")])
    assert code == 0, printed
    results = pl.read_parquet(_only_run(tmp_path / "out") / "results" / "target=validate" / "part-0.parquet")
    assert results["status"].to_list() == ["rejected", "rejected", "rejected", "ready"]
    assert [set(reasons) for reasons in results["reasons"].head(3)] == [{"NO_CHANNEL", "PHONE_INVALID"}] * 3
    assert "Traceback" not in printed
    summary = json.loads((_only_run(tmp_path / "out") / "summary.json").read_text())
    assert summary["reasons"]["PHONE_INVALID"] == 3


def _empty_csv(path: Path) -> None:
    path.write_text("first_name,last_name,phone,email\n", encoding="utf-8")


def _empty_parquet(path: Path) -> None:
    pl.DataFrame(schema={"first_name": pl.String, "phone": pl.Int64, "email": pl.String}).write_parquet(path)


@pytest.mark.parametrize(("name", "write"), [("empty.csv", _empty_csv), ("empty.parquet", _empty_parquet)])
def test_a_file_of_no_rows_is_a_run_with_empty_typed_results(
    name: str, write: Callable[[Path], None], tmp_path: Path
) -> None:
    leads = tmp_path / name
    write(leads)
    code, printed = _run([str(leads), "--out", str(tmp_path / "out")])
    assert code == 0, printed
    run_dir = _only_run(tmp_path / "out")
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet")
    assert results.height == 0
    RESULTS_SCHEMA.validate(results)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["rows"], summary["results"]) == (0, 0)
    nothing = {"total": 0, "statuses": {}, "reasons": {}, "vendor_errors": []}
    assert summary["targets"] == {"validate": nothing}
    assert json.loads((run_dir / "run.json").read_text())["rows"] == 0
    assert (run_dir / "report.html").is_file()
    assert "0 leads (rows of the file), 1 target, 0 leads need attention" in printed


def test_parquet_durations_and_non_utf8_binary_are_text_and_a_row_issue(tmp_path: Path) -> None:
    leads = tmp_path / "leads.parquet"
    table = pa.table(
        {
            "Last Name": pa.array([b"M\xfcller", b"Ann"], pa.binary()),
            "Phone": pa.array([b"0151 12345678", b"\xff\xfe"], pa.large_binary()),
            "Call time": pa.array([dt.timedelta(seconds=90), None], pa.duration("s")),
        }
    )
    pq.write_table(table, leads)
    code, printed = _run([str(leads), "--country", "DE", "--out", str(tmp_path / "out")])
    assert code == 0, printed
    results = pl.read_parquet(_only_run(tmp_path / "out") / "results" / "target=validate" / "part-0.parquet")
    assert results["status"].to_list() == ["ready", "rejected"]
    assert results["last_name"].to_list() == ["Müller", "Ann"]
    assert "BINARY_NOT_UTF8" in results["reasons"][0].to_list()
    assert {"BINARY_NOT_UTF8", "PHONE_UNPARSEABLE"} <= set(results["reasons"][1].to_list())


def test_the_trend_over_runs_lists_an_empty_runs_targets_with_zeros(tmp_path: Path) -> None:
    empty, one = tmp_path / "empty.csv", tmp_path / "one.csv"
    _empty_csv(empty)
    one.write_text("phone\n0151 12345678\n", encoding="utf-8")
    out = tmp_path / "out"
    for leads in (empty, one):
        assert _run([str(leads), "--country", "DE", "--out", str(out)])[0] == 0
    # both runs may start in the same second, when their ids do not sort by start: by rows
    counted = trend(find_runs(out)).select("target", "rows", "rejected").sort("rows")
    assert counted.to_dicts() == [
        {"target": "validate", "rows": 0, "rejected": 0},
        {"target": "validate", "rows": 1, "rejected": 0},
    ]
    buffer = io.StringIO()
    assert report_main([str(out), "--html", str(tmp_path / "trend.html")], console=Console(file=buffer)) == 0


def test_a_file_without_countries_reads_its_national_numbers_in_the_region_its_numbers_agree_on(
    tmp_path: Path,
) -> None:
    leads = tmp_path / "no_country.csv"
    international = [f"A{i},+1 415 555 {1000 + i}" for i in range(30)]
    national = [f"B{i},(212) 555-{2000 + i}" for i in range(20)]
    leads.write_text("first_name,phone\n" + "\n".join(international + national) + "\n", encoding="utf-8")
    code, printed = _run([str(leads), "--out", str(tmp_path / "out")])
    assert code == 0, printed
    assert "region inferred: US from 30 of 30 international numbers" in printed
    run_dir = _only_run(tmp_path / "out")
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["default_country"], info["default_country_source"], info["region_inference"]) == (
        "US",
        "inferred",
        "region inferred: US from 30 of 30 international numbers",
    )
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet")
    assert results["status"].to_list() == ["ready"] * 50
    assert results["phone1"][30] == "+12125552000"


def test_a_header_polars_reads_as_a_pattern_is_one_column_not_a_traceback(tmp_path: Path) -> None:
    # "*" is every column to pl.col, "^ph.*$" a regex; the region inference reads mapped columns too
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "id,*,^ph.*$,country\nX1,+44 20 7946 0001,a,GB\nX2,020 7946 0002,b,GB\n", encoding="utf-8"
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\nphone1 = "*"\n', encoding="utf-8")
    code, printed = _run([str(leads), "--mapping", str(mapping), "--out", str(tmp_path / "out")])
    assert code == 0, printed
    results = pl.read_parquet(_only_run(tmp_path / "out") / "results" / "target=validate" / "part-0.parquet")
    assert results["phone1"].to_list() == ["+442079460001", "+442079460002"]
