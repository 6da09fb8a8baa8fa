"""flows.report.csv_export: the attention export runs no formulas in a spreadsheet; the Parquet stays raw."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report.csv_export import FORMULA_PREFIXES, neutralise, neutralise_frame, write_attention_csv
from flows.report.runs import load_run
from tests.report.runs import FORMULA, XSS_SCRIPT
from transforms.summary import summarize


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


def test_export_holds_only_rows_needing_attention_with_formulas_neutralised(
    run_dir: Path, tmp_path: Path
) -> None:
    results = load_run(run_dir).results
    out = tmp_path / "attention.csv"

    written = write_attention_csv(results, out)

    rows = _read(out)
    assert written == len(rows) == summarize(results)["attention"]
    assert {row["status"] for row in rows} == {"failed", "vendor_rejected", "rejected"}
    formula = [row for row in rows if row["source_row"] == "23"]
    assert len(formula) == 4
    assert all(row["last_name"] == "'" + FORMULA for row in formula)
    assert all(row["phone1"].startswith("'+") for row in rows)
    assert any(row["first_name"] == XSS_SCRIPT for row in rows)
    assert rows[0]["reasons"] == "PHONE_INVALID;NO_CHANNEL"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_export_leaves_the_results_parquet_raw(run_dir: Path, tmp_path: Path) -> None:
    write_attention_csv(load_run(run_dir).results, tmp_path / "attention.csv")

    raw = load_run(run_dir).results.filter(pl.col("source_row") == 23).collect()

    assert set(raw["last_name"]) == {FORMULA}
    assert raw["phone1"].str.starts_with("+").all()
