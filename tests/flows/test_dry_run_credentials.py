"""``leadflow import --dry-run`` needs no credentials: it sends nothing, so it reads none.

An operator checks a new targets file and a lead file on a machine that has no vendor access
(no ``env:`` variables, no Prefect Secret blocks yet). The dry run used to stop at the first
unresolved credential with exit code 1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS


def test_a_dry_run_predicts_outcomes_without_any_credential(
    tmp_path: Path, sample_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEMO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a URL, not a credential
    buffer = io.StringIO()
    out = tmp_path / "out"
    argv = [str(sample_data / "us_crm_export.csv"), "--targets", str(SANDBOX_TARGETS), "--out", str(out)]

    code = import_main([*argv, "--dry-run"], console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    [run_dir] = [path for path in out.iterdir() if path.is_dir()]
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["dry_run"] is True
    written = "".join(path.read_text("utf-8", "replace") for path in run_dir.glob("*.json"))
    assert "dry-run-not-resolved" not in written


def test_a_real_run_still_names_the_missing_credential(
    tmp_path: Path, sample_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEMO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")
    buffer = io.StringIO()
    argv = [str(sample_data / "us_crm_export.csv"), "--targets", str(SANDBOX_TARGETS), "--out", str(tmp_path)]

    code = import_main(argv, console=Console(file=buffer, width=200))

    assert code == 1
    [line] = buffer.getvalue().strip().splitlines()
    assert line.startswith("Error: ") and "credentials." in line and "is not set" in line
