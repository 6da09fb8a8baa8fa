"""At 80 columns, or piped (where rich assumes 80), nothing a reader greps for is cut or wrapped.

Reason codes and target names used to end in "…" in the report's tables, and the one-line
``Error:`` of a bad file wrapped onto three lines.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from rich.console import Console

from connectors.config import ConfigError
from flows.console import print_error
from flows.report.command import run_report
from schemas.codes import Issue
from tests.report.runs import write_run


def _narrow() -> Console:
    return Console(record=True, width=80, color_system=None, file=io.StringIO())


def test_report_at_80_columns_shows_every_reason_code_and_target_name_whole(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "out", run_id="20261124T012233Z-ab12cd", rows=40)
    console = _narrow()

    assert run_report(run_dir, None, None, console) == 0

    text = console.export_text()
    assert "…" not in text
    results = pl.read_parquet(run_dir / "results")
    for target in results["target"].unique():
        assert target in text
    codes = {code for codes in results["reasons"].to_list() for code in codes}
    assert codes and codes <= {code.value for code in Issue}
    for code in codes:
        assert code in text


def test_an_error_is_one_whole_line_at_80_columns() -> None:
    message = (
        "/srv/leadflow/config/production.targets.toml: target 'ucontact-email-marketing': base_url: "
        "uses ${LEADFLOW_UCONTACT_URL} but the environment variable LEADFLOW_UCONTACT_URL is not set"
    )
    console = _narrow()

    print_error(console, ConfigError(message))

    assert console.export_text() == f"Error: {message}\n"
