"""At 80 columns, or piped (where rich assumes 80), nothing a reader greps for is cut or wrapped.

Reason codes and target names used to end in "…" in the report's tables, and the one-line
``Error:`` of a bad file wrapped onto three lines.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from connectors.config import ConfigError
from flows.console import LOG_WIDTH, print_error
from flows.report.command import run_report
from schemas.codes import Issue, Status
from tests.report.runs import FINGERPRINT, result_row, results_frame, write_run


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


def _lead_section(text: str, row: int) -> list[str]:
    """The lines of lead ``row`` in the terminal's "Leads to look at" table."""
    table = text[text.index("Leads to look at") : text.index("Results by target")].splitlines()
    start = next(at for at, line in enumerate(table) if re.match(rf"[│┃]\s+{row} [│┃]", line))
    end = next((at for at in range(start + 1, len(table)) if table[at].startswith(("├", "└"))), len(table))
    return table[start:end]


def test_a_lead_with_one_outcome_at_every_target_is_one_line_at_80_columns(tmp_path: Path) -> None:
    # lead 3 is rejected for its own values, at all four targets alike
    run_dir = write_run(tmp_path / "out", rows=40)
    console = _narrow()

    assert run_report(run_dir, None, None, console) == 0

    section = _lead_section(console.export_text(), 3)
    assert "every target" in section[0]
    assert sum(line.count("rejected") for line in section) == 1
    assert sum(line.count(Issue.PHONE_INVALID.value) for line in section) == 1
    assert not any(name in line for line in section for name in ("obi_main", "engage_eu", "mail_promo"))


def test_targets_with_different_outcomes_keep_lines_of_their_own_at_80_columns(tmp_path: Path) -> None:
    rejected = {"status": Status.REJECTED.value, "reasons": [Issue.PHONE_INVALID.value]}
    ineligible = {"status": Status.INELIGIBLE.value, "reasons": [Issue.NEEDS_MOBILE.value]}
    rows = [
        result_row(source_row=1, target="obi_main", **rejected),
        result_row(source_row=1, target="engage_eu", **rejected),
        result_row(source_row=1, target="sms_promo", **ineligible),
        result_row(source_row=1, target="mail_promo", status=Status.SUBMITTED.value),
    ]
    run_dir = write_run(tmp_path / "out", results=results_frame(rows), rows=1)
    console = _narrow()

    assert run_report(run_dir, None, None, console) == 0

    section = "\n".join(_lead_section(console.export_text(), 1))
    assert "every target" not in section  # the mail target got it
    assert section.count("rejected") == 1 and section.count(Issue.PHONE_INVALID.value) == 1
    assert "obi_main" in section and "engage_eu" in section  # the two alike, on one line each name
    assert section.count("ineligible") == 1 and Issue.NEEDS_MOBILE.value in section
    assert "mail_promo" not in section  # delivered there: not listed


def _piped_report(run_dir: Path, columns: str | None) -> list[str]:
    env = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "report", str(run_dir)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.splitlines()


def test_a_report_written_to_a_log_is_as_wide_as_a_log_line_not_rich_s_80_columns(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "out", rows=40)

    lines = _piped_report(run_dir, None)

    rule = next(line for line in lines if "Leadflow run" in line)
    assert len(rule) == LOG_WIDTH
    assert any(FINGERPRINT in line for line in lines)  # whole, on one line
    # four targets fit a row per lead: lead 3's status at each target on its one line
    assert sum(1 for line in lines if re.match(r"[│┃]\s+3 [│┃]", line)) == 1


def test_a_report_takes_the_width_columns_gives_when_set(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "out", rows=40)

    lines = _piped_report(run_dir, "100")

    assert len(next(line for line in lines if "Leadflow run" in line)) == 100
    assert max(len(line) for line in lines) <= 100


def _report_at(run_dir: Path, width: int) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    assert run_report(run_dir, None, None, console) == 0
    return console.export_text()


@pytest.mark.parametrize("width", [40, 50, 60, 70])
def test_a_report_narrower_than_80_columns_cuts_no_reason_code_nor_target_name(
    tmp_path: Path, width: int
) -> None:
    run_dir = write_run(tmp_path / "out", rows=40)

    text = _report_at(run_dir, width)

    assert "…" not in text
    results = pl.read_parquet(run_dir / "results")
    words = set(re.findall(r"[\w-]+", text))
    assert set(results["target"].unique()) <= words
    assert {code for codes in results["reasons"].to_list() for code in codes} <= words


def _status_listing(text: str, targets: set[str]) -> dict[str, list[str]]:
    """The narrow "Results by target and status": each target's lines, its name taken off."""
    section = text[text.index("Results by target") : text.index("Vendor errors")].splitlines()
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in section:
        name, _, rest = line.strip().partition(" ")
        if name in targets:
            current = blocks.setdefault(name, [])
        current.append((rest if name in targets else line).strip())
    return blocks


@pytest.mark.parametrize("width", [40, 50])
def test_where_the_tables_do_not_fit_each_count_stays_whole_beside_its_status(
    tmp_path: Path, width: int
) -> None:
    """A count column folded "323" over two lines as "32" and "3"; the narrow form gives each
    count a line of its own with what it counts, under its target."""
    run_dir = write_run(tmp_path / "out", rows=40)

    text = _report_at(run_dir, width)

    results = pl.read_parquet(run_dir / "results")
    listing = _status_listing(text, set(results["target"].unique()))
    for target, total in results.group_by("target").len().rows():
        assert listing[target][0] == f"{total:,} leads"
    for target, status, count in results.group_by("target", "status").len().rows():
        assert f"{status} {count:,}" in listing[target], (target, status, count)
    lines = [line.strip() for line in text.splitlines()]
    lead = lines.index(next(line for line in lines if re.match(r"3\s+\S", line)))
    assert lines[lead + 1] == "every target: rejected"
    assert Issue.PHONE_INVALID.value in lines[lead + 2]


@pytest.mark.parametrize("width", [50, 80])
def test_a_trend_at_80_columns_or_fewer_shows_every_runs_shares_whole(tmp_path: Path, width: int) -> None:
    """At 80 columns the trend's table cropped its last column (failed) away."""
    runs = tmp_path / "runs"
    write_run(runs, "20261124T010000Z-aa0001", rows=40)
    write_run(runs, "20261125T010000Z-aa0002", rows=40)

    text = _report_at(runs, width)

    targets = set(pl.read_parquet(runs / "20261124T010000Z-aa0001" / "results")["target"].unique())
    words = set(re.findall(r"[\w-]+", text))
    assert targets | {"20261124T010000Z-aa0001", "20261125T010000Z-aa0002"} <= words
    shares = re.findall(r"delivered\s+\d+\.\d%,\s+rejected\s+\d+\.\d%,\s+failed\s+\d+\.\d%", text)
    assert len(shares) == 2 * len(targets)
