"""``leadflow import`` progress bars show the time remaining, not only the time elapsed.

An operator sending 50,000 rows wants to know whether to wait or come back later (issue 16,
item 8: "progress bars have no ETA").
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS


def test_the_progress_bar_of_each_target_shows_an_eta(
    tmp_path: Path, sample_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEMO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", "http://127.0.0.1:9")  # a dry run contacts nobody
    buffer = io.StringIO()
    terminal = Console(file=buffer, width=200, force_terminal=True, color_system=None)
    argv = [str(sample_data / "us_crm_export.csv"), "--targets", str(SANDBOX_TARGETS)]

    code = import_main([*argv, "--out", str(tmp_path / "out"), "--dry-run"], console=terminal)

    assert code == 0, buffer.getvalue()
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", buffer.getvalue()).splitlines()
    for target in ("obi", "engage", "ucontact-sms", "ucontact-email", "onc", "maxcontact"):
        bar = re.compile(rf"^{target} +\S+ (\d+)/\1 +\d:\d\d:\d\d ETA \d:\d\d:\d\d$")
        assert any(bar.match(line) for line in frames), (target, [f for f in frames if target in f][-3:])
