"""Fixtures for the report tests: realistic run folders and a headless Chromium.

Chromium comes from Debian's ``chromium`` package. The session fixture installs it with
apt-get when it is absent and we are root; elsewhere the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.report.runs import write_run

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_OUTPUT = REPO_ROOT / "test-output"
_BROWSERS = ("chromium", "chromium-browser")


def _which_chromium() -> str | None:
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str:
    """Path of a Chromium binary, installing Debian's package when possible; else skip."""
    found = _which_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("headless Chromium absent and apt-get unavailable: install the 'chromium' package")
    if os.geteuid() != 0:
        pytest.skip("headless Chromium absent and not root: run `apt-get install -y chromium` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    for command in (["apt-get", "update"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.skip(f"could not install Chromium ({' '.join(command)}): {done.stderr.strip()[-300:]}")
    found = _which_chromium()
    if found is None:
        pytest.skip("apt-get installed 'chromium' but no chromium binary is on PATH")
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    return ensure_chromium()


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "out")
