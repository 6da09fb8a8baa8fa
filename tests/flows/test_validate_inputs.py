"""`leadflow validate` on inputs that once ended in a traceback: a row's bad value is a row
issue, an empty file is a run, odd Parquet column types are text or one clear line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
from rich.console import Console

from flows.validate import main as validate


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
        'C,"+49 30 123456 (mobile)",DE\n'
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
