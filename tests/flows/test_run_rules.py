"""The run-level rules a `leadflow import` is given: ``--compliance PROFILE`` for every voice/SMS
target without its own calling hours, and ``$LEADFLOW_FREQUENCY`` in place of the targets
file's ``[frequency]``. Both reach each target's sends and run.json (and the report's run
inputs); a bad value is one ``Error:`` line and exit code 1, before anything is read or sent."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from connectors.config import EMAIL_KINDS
from connectors.registry import CONNECTORS, connector_class
from flows.commands.import_file import main as import_main
from tests.flows.conftest import only_run, write_targets

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _sandbox_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry run sends nothing: the targets file's base URLs need only be well formed."""
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("LEADFLOW_FREQUENCY", raising=False)


def _dry_run(file: Path, targets: Path, out: Path, *args: str) -> tuple[int, str]:
    buffer = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(out), "--dry-run", *args]
    code = import_main(argv, console=Console(file=buffer, width=300))
    return code, buffer.getvalue()


def _recorded(out: Path) -> dict[str, dict[str, object]]:
    meta = json.loads((only_run(out) / "run.json").read_text(encoding="utf-8"))
    return {target["name"]: target for target in meta["targets"]}


def test_compliance_option_applies_to_voice_and_sms_targets_without_their_own(
    lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        only=("obi", "ucontact-sms", "ucontact-email", "onc"),
        onc={"compliance": "de"},
    )
    code, output = _dry_run(lead_file(20), targets, tmp_path / "out", "--compliance", "us-tcpa")
    assert code == 0, output
    recorded = _recorded(tmp_path / "out")
    assert recorded["obi"]["compliance"] == "us-tcpa"
    assert recorded["ucontact-sms"]["compliance"] == "us-tcpa"
    assert recorded["onc"]["compliance"] == "de", "a target's own profile is kept"
    assert "compliance" not in recorded["ucontact-email"], "email has no calling hours"
    report = (only_run(tmp_path / "out") / "report.html").read_text(encoding="utf-8")
    assert "obi (sinch_obi; calling hours us-tcpa)" in report


def test_compliance_in_the_targets_file_applies_and_the_option_takes_its_place(
    lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "targets.toml", only=("obi", "engage"))
    targets.write_text('compliance = "uk"\n' + targets.read_text(encoding="utf-8"), encoding="utf-8")
    file = lead_file(10)
    assert _dry_run(file, targets, tmp_path / "file")[0] == 0
    assert {t["compliance"] for t in _recorded(tmp_path / "file").values()} == {"uk"}
    assert _dry_run(file, targets, tmp_path / "option", "--compliance", "de")[0] == 0
    assert {t["compliance"] for t in _recorded(tmp_path / "option").values()} == {"de"}


def test_an_unknown_compliance_profile_is_one_error_line(
    lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "targets.toml", only=("obi",))
    code, output = _dry_run(lead_file(5), targets, tmp_path / "out", "--compliance", "us-tcap")
    assert code == 1
    (line,) = [line for line in output.splitlines() if line.strip()]
    assert line.startswith("Error: --compliance: unknown compliance profile 'us-tcap'"), output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_frequency_from_the_environment_replaces_the_files_and_is_recorded(
    lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        only=("obi", "maxcontact"),
        maxcontact={"frequency": {"max_contacts": 5, "within_days": 30}},
    )
    with targets.open("a", encoding="utf-8") as text:
        text.write("\n[frequency]\nmax_contacts = 3\nwithin_hours = 24\n")
    monkeypatch.setenv("LEADFLOW_FREQUENCY", "2/7d,targets,phone")
    code, output = _dry_run(lead_file(10), targets, tmp_path / "out")
    assert code == 0, output
    recorded = _recorded(tmp_path / "out")
    assert recorded["obi"]["frequency"] == {
        "max_contacts": 2,
        "within_days": 7.0,
        "count": "targets",
        "per": "phone",
    }
    assert recorded["maxcontact"]["frequency"] == {
        "max_contacts": 5,
        "within_days": 30.0,
        "count": "contacts",
        "per": "person",
    }, "a target's own limit is its own"
    report = (only_run(tmp_path / "out") / "report.html").read_text(encoding="utf-8")
    assert "obi (sinch_obi; at most 2 targets per 7 days per phone)" in report


@pytest.mark.parametrize("spec", ["3", "3/24", "0/24h", "3/24h,email,phone", "three a day"])
def test_a_bad_frequency_in_the_environment_is_one_error_line(
    lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    targets = write_targets(tmp_path / "targets.toml", only=("obi",))
    monkeypatch.setenv("LEADFLOW_FREQUENCY", spec)
    code, output = _dry_run(lead_file(5), targets, tmp_path / "out")
    assert code == 1
    (line,) = [line for line in output.splitlines() if line.strip()]
    assert line.startswith("Error: LEADFLOW_FREQUENCY: "), output
    assert "such as 3/24h" in line


def test_email_kinds_are_the_connectors_whose_channel_is_email() -> None:
    assert {kind for kind in CONNECTORS if connector_class(kind).channel == "email"} == EMAIL_KINDS
