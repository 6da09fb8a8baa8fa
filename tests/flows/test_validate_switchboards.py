"""`leadflow validate` of files whose leads share a switchboard: each extension is its own lead,
the same extension again is a duplicate, and a listed main number suppresses every extension."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.commands.validate import main as validate

SWITCHBOARDS = """First Name,Last Name,Phone,Email
Ann,Lee,+1 212 555 0100 ext 12,
Bob,Ray,+1 212 555 0100 ext 34,
Cy,Main,+1 212 555 0100,
Dee,Dup,(212) 555-0100 x12,
Eve,Ng,+1 212 555 0199 ext 1,
Fay,Ng,+1 212 555 0199 ext 2,
,,+1 212 555 0100 ext 56,
,,+1 212 555 0100 ext 78,
"""


def _validate(file: Path, out: Path, *options: str) -> pl.DataFrame:
    buffer = io.StringIO()
    code = validate([str(file), "--out", str(out), "--country", "US", *options], console=Console(file=buffer))
    assert code == 0, buffer.getvalue()
    (run_dir,) = list(out.iterdir())
    return pl.read_parquet(run_dir / "results" / "*" / "*.parquet").sort("source_row")


@pytest.mark.parametrize("batch_rows", ["100000", "1", "3"])
def test_each_extension_is_its_own_lead_and_a_listed_main_number_suppresses_them_all(
    batch_rows: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", batch_rows)
    leads = tmp_path / "leads.csv"
    leads.write_text(SWITCHBOARDS, encoding="utf-8")
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("phone\n+1 212 555 0199\n", encoding="utf-8")
    results = _validate(leads, tmp_path / "out", "--suppress", str(dnc))
    assert results.height == 8
    assert results["phone1_ext"].to_list() == ["12", "34", None, "12", "1", "2", "56", "78"]
    assert results["status"].to_list() == [
        "ready",
        "ready",
        "ready",
        "duplicate",
        "suppressed",
        "suppressed",
        "ready",
        "ready",
    ]
    assert results["duplicate_of"].to_list() == [None, None, None, 1, None, None, None, None]
    assert results["reasons"][3].to_list() == ["DUPLICATE_PHONE"]
    assert results["reasons"][4].to_list() == ["SUPPRESSED_PHONE"]
    ready = results.filter(pl.col("status") == "ready")
    # no names or emails to tell rows 7 and 8 apart: the extension keeps their ids apart
    assert ready["external_id"].n_unique() == ready.height
