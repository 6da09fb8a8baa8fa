"""`leadflow validate` of a file whose names are placeholders: they are left empty with
``NAME_PLACEHOLDER``, the rows stay leads, and their generated ids are those of earlier runs."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from rich.console import Console

from flows.commands.validate import main as validate

NAMES = """First Name,Last Name,Phone
N/A,Smith,+1 212 555 0101
 n/a ,--,+1 212 555 0102
Test,unknown,+1 212 555 0103
Carl,Test,+1 212 555 0104
#N/A,NULL,+1 212 555 0105
Jennifer,Null,+1 212 555 0106
?,(none),+1 212 555 0107
"""
PINNED_IDS = ["lf-423b0d3d1bda86aa", "lf-ecb6f0bb2d0e4cec", "lf-e2d7df841a2657b6"]
"""The first three rows' ids as runs before placeholders were emptied gave them."""


def test_placeholder_names_are_left_empty_and_noted_and_the_rows_stay_ready(tmp_path: Path) -> None:
    leads = tmp_path / "crm.csv"
    leads.write_text(NAMES, encoding="utf-8")
    buffer = io.StringIO()
    code = validate(
        [str(leads), "--out", str(tmp_path / "out"), "--country", "US"], console=Console(file=buffer)
    )
    assert code == 0, buffer.getvalue()
    (run_dir,) = list((tmp_path / "out").iterdir())
    results = pl.read_parquet(run_dir / "results" / "*" / "*.parquet").sort("source_row")
    assert results["first_name"].to_list() == [None, None, None, "Carl", None, "Jennifer", None]
    assert results["last_name"].to_list() == ["Smith", None, None, "Test", None, "Null", None]
    assert results["status"].to_list() == ["ready"] * 7
    noted = [("NAME_PLACEHOLDER" in reasons) for reasons in results["reasons"].to_list()]
    assert noted == [True, True, True, False, True, False, True]
    # hashed from the names as written: the ids the leads had before placeholders were emptied
    assert results["external_id"].to_list()[:3] == PINNED_IDS
