"""`leadflow validate` as a user runs it (a subprocess) on CSV files damaged the usual ways:
a stray quote that never closes, and a UTF-8 file with lines saved as cp1252. Every data
line must come out as its own result, the damage named on the rows it hit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from tests.conftest import REPO_ROOT

ROWS = 50


def _validate(path: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], pl.DataFrame]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "validate", str(path), "--country", "DE", "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (run_dir,) = list(out.iterdir()) if out.exists() else [out]
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "part-0.parquet")
    return done, results.sort("source_row")


def _codes(results: pl.DataFrame, row: int) -> list[str]:
    reasons: list[str] = results.filter(pl.col("source_row") == row)["reasons"].item().to_list()
    return reasons


def test_an_unbalanced_quote_keeps_all_fifty_rows_and_names_the_row_it_opened_on(tmp_path: Path) -> None:
    lines = ["id,first_name,last_name,phone"]
    for row in range(1, ROWS + 1):
        first = '"Anna' if row == 2 else f"Name{row}"
        lines.append(f"{row},{first},Muster,+49 30 1234{row:04d}")
    path = tmp_path / "unbalanced.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done, results = _validate(path, tmp_path / "out")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert results.height == ROWS
    assert results["source_row"].to_list() == list(range(1, ROWS + 1))
    assert results["external_id"].to_list() == [str(row) for row in range(1, ROWS + 1)]
    assert "UNTERMINATED_QUOTE" in _codes(results, 2)
    assert all("UNTERMINATED_QUOTE" not in _codes(results, row) for row in range(3, ROWS + 1))
    assert results["status"].to_list().count("ready") == ROWS


def test_cp1252_lines_in_a_utf8_file_are_decoded_as_cp1252_and_flagged(tmp_path: Path) -> None:
    header = b"id,first_name,last_name,phone\n"
    body = [
        f"{row},José,Müller,+49 30 1234{row:04d}\n".encode("cp1252" if row in (3, 7) else "utf-8")
        for row in range(1, 11)
    ]
    path = tmp_path / "mixed.csv"
    path.write_bytes(header + b"".join(body))

    done, results = _validate(path, tmp_path / "out")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert results.height == 10
    assert set(results["first_name"].to_list()) == {"José"}
    assert set(results["last_name"].to_list()) == {"Müller"}
    flagged = [row for row in range(1, 11) if "ENCODING_MIXED" in _codes(results, row)]
    assert flagged == [3, 7]


def test_a_turkish_file_read_as_cp1252_is_refused_by_the_cli_with_its_code_page(tmp_path: Path) -> None:
    names = ["Ayşe Yılmaz", "Mehmet Kılıç", "Gülşen Demirtaş", "Çağlar Doğan", "Şükrü Gündoğdu"]
    lines = ["id,name,phone", *(f"{n},{name},+90 212 555 {n:04d}" for n, name in enumerate(names, 1))]
    path = tmp_path / "musteriler.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1254"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "flows.cli", "validate", str(path), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed
    assert printed.startswith(f"Error: {path}: ")
    assert "'Ayþe', which reads 'Ayşe' in cp1254 (Turkish)" in printed
    assert "--encoding cp1254" in printed
    assert len(printed.strip().splitlines()) == 1 and "Traceback" not in printed
    assert not (tmp_path / "out").exists()
