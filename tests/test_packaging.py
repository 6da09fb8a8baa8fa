"""What a production install carries: every module of the source packages, and nothing else.

Why: the development venv's editable install finds any package in the checkout, so a package
left out of pyproject.toml's list went unnoticed there; a regular install (README's "For
production") then lacked ``flows.split`` and ``leadflow import --prefect`` failed with
ModuleNotFoundError. This builds the install's tree with setuptools, as ``pip install .`` does,
and compares it with the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("flows", "transforms", "schemas", "connectors", "sandbox")


def _modules(root: Path, tops: tuple[str, ...]) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for top in tops
        for path in (root / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_a_production_install_carries_every_module_of_the_source_packages(tmp_path: Path) -> None:
    built = tmp_path / "lib"
    build = ["build_py", "--build-lib", str(built)]
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", *build],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    installed = {path.relative_to(built).as_posix() for path in built.rglob("*.py")}
    missing = _modules(ROOT, SOURCE_PACKAGES) - installed
    assert not missing, f"modules a production install would lack: {sorted(missing)}"
    tops = {name.split("/", 1)[0] for name in installed}
    assert tops == set(SOURCE_PACKAGES), f"top-level packages installed: {sorted(tops)}"
