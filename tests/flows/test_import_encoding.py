"""``leadflow import --encoding`` and the ``import_leads`` flow's ``encoding``: a Central
European file reaches the targets with its names as written, not read as cp1252."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS

POLISH = (
    "First Name;Last Name;Phone;Email\n"
    "Jan;Łukasiewicz;+48 22 123 45 67;jan@example.pl\n"
    "Żaneta;Świętochowska;+48 22 123 45 68;zaneta@example.pl\n"
)


@pytest.fixture
def polish(tmp_path: Path) -> Path:
    path = tmp_path / "klienci.csv"
    path.write_bytes(POLISH.encode("cp1250"))
    return path


def _names(run_dir: Path) -> set[tuple[str, str]]:
    results = pl.read_parquet(run_dir / "results" / "*" / "*.parquet")
    return set(results.select("first_name", "last_name").iter_rows())


def test_an_import_with_the_encoding_given_carries_the_names_as_written(
    polish: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEMO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a dry run sends nothing
    buffer = io.StringIO()
    out = tmp_path / "out"
    argv = [str(polish), "--targets", str(SANDBOX_TARGETS), "--out", str(out), "--encoding", "cp1250"]

    code = import_main([*argv, "--dry-run"], console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    [run_dir] = [path for path in out.iterdir() if path.is_dir()]
    assert _names(run_dir) == {("Jan", "Łukasiewicz"), ("Żaneta", "Świętochowska")}
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert (run["encoding"], run["encoding_source"]) == ("cp1250", "option")


def test_an_import_with_an_unknown_encoding_is_one_error_line_before_anything_is_written(
    polish: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")
    buffer = io.StringIO()
    out = tmp_path / "out"
    argv = [str(polish), "--targets", str(SANDBOX_TARGETS), "--out", str(out), "--encoding", "latin-2x"]

    code = import_main([*argv, "--dry-run"], console=Console(file=buffer, width=200))

    assert code == 1
    [line] = buffer.getvalue().strip().splitlines()
    assert line.startswith("Error: ") and "'latin-2x' is not a text encoding" in line and "cp1250" in line
    assert not out.exists() or not any(out.iterdir())


def test_the_import_flow_reads_the_file_in_its_encoding_parameter(
    prefect_harness: None, polish: Path, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads

    summary = import_leads(str(polish), out_dir=str(tmp_path / "out"), encoding="cp1250")

    assert isinstance(summary, dict)
    assert _names(Path(summary["run_dir"])) == {("Jan", "Łukasiewicz"), ("Żaneta", "Świętochowska")}
