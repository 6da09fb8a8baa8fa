"""flows.report.csv_export: the lead export (one row per lead, a column per target) runs no
formulas in a spreadsheet; the Parquet stays raw."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report.csv_export import (
    FORMULA_PREFIXES,
    export_lead_csv,
    lead_csv_frame,
    neutralise,
    neutralise_frame,
    write_lead_csv,
)
from flows.report.runs import load_run
from tests.report.runs import FORMULA, TARGETS, XSS_SCRIPT, build_results, result_row, results_frame


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


@given(st.text())
def test_no_cell_starts_with_a_formula_character_and_the_value_is_kept(value: str) -> None:
    cell = neutralise(value)

    assert cell is not None
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell in (value, "'" + value)
    assert (cell != value) == value.startswith(FORMULA_PREFIXES)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=20))
def test_frame_neutralisation_matches_the_cell_rule(values: list[str | None]) -> None:
    frame = pl.DataFrame(
        {"text": values, "number": list(range(len(values)))}, schema={"text": pl.String, "number": pl.Int64}
    )

    out = neutralise_frame(frame)

    assert out["text"].to_list() == [neutralise(v) for v in values]
    assert out["number"].to_list() == frame["number"].to_list()


def test_export_has_one_row_per_lead_not_delivered_everywhere_with_a_column_per_target(
    run_dir: Path, tmp_path: Path
) -> None:
    run = load_run(run_dir)
    out = tmp_path / "leads.csv"

    written = write_lead_csv(lead_csv_frame(run.results, run.target_names), out)

    rows = _read(out)
    # 40 leads: 15 delivered to all four targets, the other 25 listed once each
    assert written == len(rows) == 25
    assert len({row["source_row"] for row in rows}) == 25
    assert rows[0]["outcome"] == "needs attention"
    assert [row["outcome"] for row in rows[:10]] == ["needs attention"] * 10
    ineligible = [row for row in rows if "ineligible" in {row[f"{t} status"] for t, _ in TARGETS}]
    assert ineligible, "leads ineligible at a target are listed"
    failed = next(row for row in rows if row["source_row"] == "4")
    assert (failed["engage_eu status"], failed["engage_eu reasons"]) == ("failed", "TRANSPORT_FAILED")
    assert failed["engage_eu vendor_message"] == "Service Unavailable"
    assert failed["obi_main status"] == "accepted"
    formula = [row for row in rows if row["source_row"] == "23"]
    assert len(formula) == 1
    assert formula[0]["last_name"] == "'" + FORMULA
    assert all(row["phone1"].startswith("'+") for row in rows)
    assert any(row["first_name"] == XSS_SCRIPT for row in rows)
    assert rows[0]["reasons"] == "PHONE_INVALID;NO_CHANNEL"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_target_named_like_a_formula_is_neutralised_in_the_header() -> None:
    frame = results_frame([result_row(target="=cmd", status="failed", reasons=["TRANSPORT_FAILED"])])

    header = lead_csv_frame(frame).columns

    assert "'=cmd status" in header
    assert not any(name.startswith(FORMULA_PREFIXES) for name in header)


def test_a_lead_delivered_everywhere_is_not_exported() -> None:
    assert lead_csv_frame(build_results(rows=2)).height == 1  # row 2 lacks an email: ineligible


def test_export_leaves_the_results_parquet_raw(run_dir: Path, tmp_path: Path) -> None:
    run = load_run(run_dir)
    write_lead_csv(lead_csv_frame(run.results, run.target_names), tmp_path / "leads.csv")

    raw = load_run(run_dir).results.filter(pl.col("source_row") == 23).collect()

    assert set(raw["last_name"]) == {FORMULA}
    assert raw["phone1"].str.starts_with("+").all()


@pytest.mark.parametrize("chunk", [1, 7, 25, 50_000])
def test_export_a_slice_of_leads_at_a_time_writes_the_same_bytes_as_the_whole_frame(
    run_dir: Path, tmp_path: Path, chunk: int
) -> None:
    run = load_run(run_dir)

    whole = write_lead_csv(lead_csv_frame(run.results, run.target_names), tmp_path / "whole.csv")
    sliced = export_lead_csv(run.results, run.target_names, tmp_path / "sliced.csv", chunk=chunk)

    assert sliced == whole == 25
    assert (tmp_path / "sliced.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_export_of_a_run_with_every_lead_delivered_writes_the_header_only(tmp_path: Path) -> None:
    frame = results_frame([result_row(status="accepted")])
    write_lead_csv(lead_csv_frame(frame), tmp_path / "whole.csv")

    written = export_lead_csv(frame, [], tmp_path / "sliced.csv", chunk=1)

    assert written == 0
    assert (tmp_path / "sliced.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert len(_read(tmp_path / "sliced.csv")) == 0
