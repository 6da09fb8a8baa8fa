"""`leadflow validate` as a user runs it (a subprocess) on CSV files damaged the usual ways:
a stray quote that never closes, and a UTF-8 file with lines saved as cp1252. Every data
line must come out as its own result, the damage named on the rows it hit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.conftest import REPO_ROOT
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS

ROWS = 50


def _validate(
    path: Path, out: Path, batch_rows: int | None = None
) -> tuple[subprocess.CompletedProcess[str], pl.DataFrame]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    if batch_rows is not None:
        env["LEADFLOW_BATCH_ROWS"] = str(batch_rows)
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
    results = pl.read_parquet(run_dir / "results" / "target=validate" / "*.parquet")
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


def _five_rows_with_a_nul(path: Path) -> Path:
    lines = [b"id,first_name,last_name,phone,email"]
    for row in range(1, 6):
        last = b"Mus\x00ter" if row == 3 else b"Muster"
        lines.append(b"%d,Name%d,%s,+49 30 1234%04d,lead%d@example.com" % (row, row, last, row, row))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _nul_rows(results: pl.DataFrame) -> list[int]:
    marked = results.filter(pl.col("reasons").list.contains("NUL_BYTE_REMOVED"))
    rows: list[int] = marked["source_row"].to_list()
    return rows


def test_a_nul_byte_in_one_cell_costs_no_row_and_marks_its_row_whole_and_batched(tmp_path: Path) -> None:
    path = _five_rows_with_a_nul(tmp_path / "crashed_export.csv")

    done, whole = _validate(path, tmp_path / "whole")
    batched_done, batched = _validate(path, tmp_path / "batched", batch_rows=2)

    for run in (done, batched_done):
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr
    assert whole.height == batched.height == 5
    assert whole["source_row"].to_list() == [1, 2, 3, 4, 5]
    assert _nul_rows(whole) == _nul_rows(batched) == [3]
    row = whole.filter(pl.col("source_row") == 3).row(0, named=True)
    assert (row["first_name"], row["last_name"], row["email"]) == ("Name3", "Muster", "lead3@example.com")
    assert row["phone1"] == "+493012340003"
    assert whole["status"].to_list() == ["ready"] * 5
    assert whole.drop("run_id").equals(batched.drop("run_id"))


def test_an_import_dry_run_marks_the_same_nul_row_at_every_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEMO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a dry run sends nothing
    monkeypatch.setenv("LEADFLOW_BATCH_ROWS", "2")
    path = _five_rows_with_a_nul(tmp_path / "crashed_export.csv")
    buffer = io.StringIO()
    out = tmp_path / "out"
    argv = [str(path), "--targets", str(SANDBOX_TARGETS), "--out", str(out), "--dry-run"]

    code = import_main(argv, console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    [run_dir] = [entry for entry in out.iterdir() if entry.is_dir()]
    results = pl.read_parquet(run_dir / "results" / "*" / "*.parquet")
    targets = results["target"].unique().to_list()
    assert results.height == 5 * len(targets)
    for target in targets:
        at = results.filter(pl.col("target") == target).sort("source_row")
        assert at["source_row"].to_list() == [1, 2, 3, 4, 5]
        assert _nul_rows(at) == [3]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_spreadsheets_empty_rows_are_rejected_as_empty_not_as_missing_phones_whole_and_batched(
    tmp_path: Path, kind: str
) -> None:
    # Excel saves rows it once formatted as ",,,": rows of the file (no row is dropped), but
    # nothing to fix in them; NO_CHANNEL and PHONE_MISSING alone sent people looking for a phone
    frame = pl.DataFrame(
        {
            "first_name": ["Anna", None, "Ben", None, None],
            "phone": ["030 1234 0001", None, "030 1234 0003", None, None],
            "email": [None, None, None, None, None],
            "notes": [None, None, None, "call after 5", None],
        },
        schema=dict.fromkeys(("first_name", "phone", "email", "notes"), pl.String),
    )
    path = tmp_path / f"export.{kind}"
    if kind == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)

    done, whole = _validate(path, tmp_path / "whole")
    batched_done, batched = _validate(path, tmp_path / "batched", batch_rows=2)

    for run in (done, batched_done):
        assert run.returncode == 0, run.stdout + run.stderr
    assert whole.height == batched.height == 5
    for results in (whole, batched):
        assert results["status"].to_list() == ["ready", "rejected", "ready", "rejected", "rejected"]
        assert _codes(results, 2)[:2] == ["NO_CHANNEL", "ROW_EMPTY"]
        assert _codes(results, 5)[:2] == ["NO_CHANNEL", "ROW_EMPTY"]
        assert "ROW_EMPTY" not in _codes(results, 4)  # a note is a value: a lead without a channel
        assert "ROW_EMPTY" not in _codes(results, 1) + _codes(results, 3)
