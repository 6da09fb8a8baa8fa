"""``leadflow check``: the connection test command against the real sandbox server.

One line per target, exit 0 when all pass, 4 when one fails, 1 for a bad targets file; nothing
sent, nothing written to a ledger; no secret on the screen; ``--help`` in plain text.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from connectors.secrets import SecretSet
from flows.cli import main as leadflow
from flows.commands.check import main as check_main
from tests.flows.conftest import SANDBOX_TARGETS, Vendors, write_targets

TARGET_NAMES = ["obi", "engage", "ucontact-sms", "ucontact-email", "onc", "maxcontact"]


def run_check(*args: str, targets: Path = SANDBOX_TARGETS) -> tuple[int, str]:
    buffer = io.StringIO()
    code = check_main(["--targets", str(targets), *args], console=Console(file=buffer, width=80))
    return code, buffer.getvalue()


def lines_by_target(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        name, colon, _ = line.partition(": ")
        if colon and name in TARGET_NAMES:
            found[name] = line
    return found


def test_every_sandbox_target_passes_and_nothing_is_sent_or_written(
    vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run_check()
    assert code == 0, output
    lines = lines_by_target(output)
    assert list(lines) == TARGET_NAMES, output
    assert len(output.splitlines()) == len(TARGET_NAMES) + 1, "one line per target, never wrapped"
    assert all(line.split(": ", 1)[1].startswith("✓ login, ") for line in lines.values()), output
    assert "Exit code 0" in output
    assert vendors.held() == dict.fromkeys(TARGET_NAMES, 0)
    assert vendors.state("maxcontact")["lists"] == {}, "a check must not create MaxContact's list"
    assert vendors.state("onc")["open_sessions"] == 0
    assert list(tmp_path.iterdir()) == [], "a check writes no ledger and no run folder"


def test_a_failing_target_exits_4_and_names_the_credential_reference(
    vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG_PASSWORD", "hunter2-wrong")
    credentials = {
        "account_id": "env:SANDBOX_ONC_ACCOUNT",
        "username": "env:SANDBOX_USER",
        "password": "env:WRONG_PASSWORD",
    }
    targets = write_targets(tmp_path / "targets.toml", only=["obi", "onc"], onc={"credentials": credentials})
    code, output = run_check(targets=targets)
    assert code == 4, output
    lines = lines_by_target(output)
    assert lines["obi"].startswith("obi: ✓ login, ")
    assert lines["onc"].startswith("onc: ✗ login refused")
    assert "credentials.password (env:WRONG_PASSWORD)" in lines["onc"]
    assert "Exit code 4: 1 of 2 targets failed (onc)" in output
    assert not [form for form in SecretSet(["hunter2-wrong", "demo-secret"]) if form in output]


def test_a_credential_that_does_not_resolve_fails_its_target_only(
    vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SANDBOX_ONC_ACCOUNT")
    code, output = run_check("--target", "onc", "--target", "obi")
    assert code == 4, output
    lines = lines_by_target(output)
    assert list(lines) == ["obi", "onc"], "printed in the file's order"
    assert lines["obi"].startswith("obi: ✓ ")
    assert "SANDBOX_ONC_ACCOUNT" in lines["onc"] and "credentials.account_id" in lines["onc"]
    assert lines["onc"].endswith(
        "correct that setting in the targets file (or set the variable or Prefect "
        "Secret block it names), then check again"
    ), lines["onc"]


def test_an_unknown_campaign_and_a_vendor_that_is_down_say_what_to_fix(
    vendors: Vendors, tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        only=["engage", "maxcontact"],
        engage={"campaign": "NOT-THERE"},
        maxcontact={"base_url": "http://127.0.0.1:9/maxcontact"},
    )
    code, output = run_check(targets=targets)
    assert code == 4
    lines = lines_by_target(output)
    assert (
        "campaign 'NOT-THERE' not found; the vendor lists DEFAULT ('Default'), LEADFLOW-DEMO"
        in lines["engage"]
    )
    assert "cannot connect to http://127.0.0.1:9/maxcontact" in lines["maxcontact"]


def test_a_garbled_answer_fails_with_the_shape_expected(vendors: Vendors) -> None:
    vendors.set_faults({"vendors": {"sinch_obi": {"/campaigns/*": {"rate_html": 1.0}}}})
    code, output = run_check("--target", "obi")
    assert code == 4
    assert "(HTTP 200, text/html)" in output
    assert "the connector expects the campaign as a JSON object with id, name" in output


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("[targets.x\nkind = ", "not valid TOML"),
        ('[targets.x]\nkind = "fax"\n', "target 'x'"),
    ],
)
def test_a_bad_targets_file_exits_1_with_one_error_line(tmp_path: Path, content: str, said: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(content, encoding="utf-8")
    code, output = run_check(targets=path)
    assert code == 1
    assert output.startswith("Error: ") and said in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_an_unknown_target_name_exits_1_naming_the_known_ones(vendors: Vendors) -> None:
    code, output = run_check("--target", "nope")
    assert code == 1
    assert "no target named 'nope'" in output and "obi" in output


def test_help_is_plain_text_and_the_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        leadflow(["check", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: leadflow check [-h] [--targets FILE] [--target NAME]")
    assert "exit codes:" in text and "4  at least one target failed" in text
    assert not re.search(r"\x1b\[|``|\[/?[a-z ]+\]", text), "no markup or escape codes"
    assert leadflow(["--help"]) == 0
    assert "check" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_prefect_secret_references_resolve_and_a_missing_block_says_how_to_create_it(
    vendors: Vendors, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret

    Secret(value="demo-secret").save("check-obi-password", overwrite=True)
    targets = write_targets(
        tmp_path / "targets.toml",
        only=["obi", "maxcontact"],
        obi={"credentials": {"username": "env:SANDBOX_USER", "password": "prefect:check-obi-password"}},
        maxcontact={"credentials": {"login": "env:SANDBOX_USER", "password": "prefect:never-stored"}},
    )
    code, output = run_check(targets=targets)
    assert code == 4, output
    lines = lines_by_target(output)
    assert lines["obi"].startswith("obi: ✓ login, "), output
    assert "leadflow secrets set never-stored" in lines["maxcontact"], output


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_check_resolving_a_prefect_secret_ends_with_its_own_last_line_and_nothing_from_prefect(
    vendors: Vendors, tmp_path: Path
) -> None:
    """Loading a Secret block queues a Prefect event; left queued, Prefect's events worker logged
    "Still processing items: 1 items remaining..." on stderr as the process exited, after the
    check's verdict. Run as a person runs it: its own process, its own exit."""
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL

    Secret(value="demo-secret").save("check-obi-password", overwrite=True)
    targets = write_targets(
        tmp_path / "targets.toml",
        only=["obi"],
        obi={"credentials": {"username": "env:SANDBOX_USER", "password": "prefect:check-obi-password"}},
    )
    environment = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "check", "--targets", str(targets)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        check=False,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "Exit code 0: all 1 targets passed.", done.stdout
    assert "Still processing items" not in done.stderr, done.stderr
