"""Prefect's telemetry is off in Leadflow's processes unless the operator turns it on.

Each case runs in a fresh interpreter with neither opt-out in its environment, because Prefect
reads its settings once, when it is imported: what matters is what Prefect sees after an entry
point loaded it, not what a test process that imported Prefect long ago would see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.telemetry import TELEMETRY_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, os
%(load)s
from prefect.settings import get_current_settings
print(json.dumps({
    "server_analytics": get_current_settings().server.analytics_enabled,
    "do_not_track": os.environ.get("DO_NOT_TRACK"),
}))
"""


def _prefect_sees(load: str, env: dict[str, str] | None = None) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if k not in TELEMETRY_DEFAULTS}
    environment |= {"PYTHONPATH": str(ROOT)} | (env or {})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % {"load": load}],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    seen: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize(
    "load",
    [
        pytest.param("import flows.cli", id="the leadflow command"),
        pytest.param("import flows.import_leads", id="leadflow serve and prefect.yaml entry points"),
    ],
)
def test_every_entry_point_turns_prefect_telemetry_off_before_prefect_loads(load: str) -> None:
    assert _prefect_sees(load) == {"server_analytics": False, "do_not_track": "1"}


def test_an_operator_who_turns_telemetry_on_is_obeyed() -> None:
    opted_in = {"PREFECT_SERVER_ANALYTICS_ENABLED": "true", "DO_NOT_TRACK": "0"}

    seen = _prefect_sees("import flows.cli", opted_in)

    assert seen == {"server_analytics": True, "do_not_track": "0"}
