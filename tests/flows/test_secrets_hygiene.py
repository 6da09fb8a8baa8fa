"""Vendor passwords never leave the process: not on the terminal, in logs, results, reports or errors.

Two paths per channel: the sandbox's demo password, which every vendor accepts (so the secret
travels in every login, Basic header and SOAP envelope), and a distinctive wrong password that
every vendor refuses (so it travels into error handling, retries and the stored failure
messages). Each secret is looked for as given and in the encodings the connectors put on the
wire: base64 of the password (MaxContact's Authorization header) and of ``user:password`` (HTTP
Basic), and URL-encoded.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest

from flows.importer import load_connectors, send_target
from flows.prepare import prepare_leads
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS, Vendors, only_run, read_results

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
WRONG_PASSWORD = "s3cr3t-Pa55-XyZ"
USER = DEMO_CREDENTIALS["SANDBOX_USER"]
PASSWORDS = pytest.mark.parametrize(
    ("password", "outcome"),
    [(DEMO_CREDENTIALS["SANDBOX_PASSWORD"], "accepted"), (WRONG_PASSWORD, "refused")],
    ids=["accepted", "refused"],
)


def forms_of(password: str) -> list[str]:
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"{USER}:{password}".encode()).decode(),
        quote(password, safe=""),
    ]


def assert_clean(text: str, password: str, where: str) -> None:
    for form in forms_of(password):
        assert form not in text, f"{where} holds the password (as {form!r})"


def assert_run_folder_clean(out: Path, password: str) -> None:
    """Every file the run wrote; Parquet by its string values (its pages may be compressed)."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and any(p.suffix == ".parquet" for p in files)
    for path in files:
        if path.suffix == ".parquet":
            text = pl.read_parquet(path).write_ndjson()
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        assert_clean(text, password, str(path.relative_to(out)))


def assert_outcome(out: Path, outcome: str) -> None:
    """The path really was taken: delivered everywhere, or refused at login everywhere."""
    results = read_results(only_run(out)).filter(
        pl.col("batch_id").is_not_null() | (pl.col("status") == "failed")
    )
    by_target = results.group_by("target").agg(pl.col("status").unique())
    assert by_target.height == 6
    for target, found in by_target.iter_rows():
        if outcome == "accepted":
            assert set(found) <= {"accepted", "submitted"}, (target, found)
        else:
            assert set(found) == {"failed"}, (target, found)
            reasons = results.filter(pl.col("target") == target)["reasons"].list.first()
            assert set(reasons) == {"AUTH_FAILED"}, (target, set(reasons))


@PASSWORDS
def test_the_command_prints_and_writes_no_password(
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    outcome: str,
) -> None:
    monkeypatch.setenv("SANDBOX_PASSWORD", password)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "import",
        str(lead_file(20)),
        "--targets",
        str(SANDBOX_TARGETS),
    ]
    done = subprocess.run(
        [*command, "--out", str(out)],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        timeout=120,
        check=False,
    )

    stdout, stderr = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    assert done.returncode == (0 if outcome == "accepted" else 4), stdout + stderr  # 4: targets stopped
    assert "Results by target and status" in stdout
    assert_clean(stdout, password, "stdout")
    assert_clean(stderr, password, "stderr")
    assert_outcome(out, outcome)
    assert_run_folder_clean(out, password)


@PASSWORDS
def test_no_log_record_or_logged_exception_holds_the_password(
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    password: str,
    outcome: str,
) -> None:
    """The import steps shared by the command and the Prefect flow, every logger at DEBUG (the
    command itself quiets httpx, whose INFO lines carry URLs; the flow does not)."""
    monkeypatch.setenv("SANDBOX_PASSWORD", password)
    for name in (None, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    prepared = prepare_leads(lead_file(20))
    results = [
        asyncio.run(send_target(prepared, connector, run_id="steps", ledger=tmp_path / "ledger.sqlite"))
        for connector in load_connectors(SANDBOX_TARGETS)
    ]

    sent = pl.concat(results).filter(pl.col("batch_id").is_not_null() | (pl.col("status") == "failed"))
    expected = {"accepted", "submitted"} if outcome == "accepted" else {"failed"}
    assert set(sent["status"]) <= expected and sent.height > 20
    assert {"httpx", "httpcore"} <= {record.name.split(".")[0] for record in caplog.records}
    if outcome == "refused":
        assert any(record.levelno >= logging.ERROR for record in caplog.records)
    for record in caplog.records:
        assert_clean(record.getMessage(), password, f"log record {record.name}")
    assert_clean(caplog.text, password, "the formatted log (with exception tracebacks)")
    assert_clean(pl.concat(results).write_ndjson(), password, "the result rows")
