"""What a command imports before it does its work: start-up is paid on every run.

Each check runs a fresh interpreter (``python -c``) and lists the modules loaded once the
command is done: a module imported at the top of a shared module would show up here long
before anyone notices the second it costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROGRAM = """
import json, sys
from flows.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
tables = {
    f"{module}.{name}": getattr(sys.modules[module], name).cache_info().currsize
    for module, name in (("transforms.countries", "country_keys"), ("transforms.us_zones", "_state_keys"))
    if module in sys.modules
}
print(json.dumps({"code": code, "modules": sorted(sys.modules), "tables": tables}))
"""

SENDING = ("prefect", "httpx", "psycopg", "psycopg_pool", "sqlalchemy", "fastapi", "uvicorn", "starlette")
"""What sends, orchestrates or serves: a command that sends nothing never needs it."""
DRAWING = ("matplotlib",)
"""The run report's charts are SVG text (flows.report.charts); only the trend page plots."""
READERS_NOT_NEEDED = (
    "transforms.csv_lines",  # the careful reader
    "transforms.damaged_scan",
    "transforms.damaged_batches",
    "transforms.ingest_parquet",
    "transforms.person_keys",  # the email keys of a suppression list
    "flows.report.run_folders",  # the trend over a folder of runs
    "transforms.phone_reading",  # the regions' columnar reading: no region is worth a plan
    "connectors.ledger_types",  # no do-not-contact store to read
    "pyarrow.compute",  # polars imports it to take a pyarrow Array (transforms.lists takes batches)
)
"""What a one-row CSV's validate never needs: a plain CSV streams, and no list is applied."""
DATA = ("polars", "pyarrow", "numpy", "pandas", "pandera", "phonenumbers", "rich", "pydantic", "fsspec")


def _run(*args: str) -> dict[str, Any]:
    """What the command left in a fresh interpreter: its exit code (``code``), the modules loaded
    at its end (``modules``) and how many of the lookup tables built on first use were built
    (``tables``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _loaded(*args: str) -> tuple[int, set[str]]:
    """The command's exit code and the modules loaded at its end (top-level names and full)."""
    answer = _run(*args)
    modules: list[str] = answer["modules"]
    return answer["code"], {name.split(".")[0] for name in modules} | set(modules)


def test_validate_of_a_small_file_loads_nothing_that_sends_or_plots(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("phone,email,first_name\n+14155550123,ann@example.com,Ann\n", encoding="utf-8")

    code, loaded = _loaded("validate", str(leads), "--out", str(tmp_path / "out"))

    assert code == 0
    assert (tmp_path / "out").is_dir()
    assert loaded & {*SENDING, *DRAWING} == set()
    assert loaded & {"flows.importer", "connectors.engine", "connectors.config"} == set()
    assert "fsspec" not in loaded  # the run folder is a local path: nothing to copy to a URL
    assert "rphonenumbers" not in loaded  # one number: the fast phone backend is not worth choosing
    # the contracts are checked by schemas.checks.Contract; pandera (and pandas with it, 0.5 s
    # of every start) is imported only to explain a frame that fails them
    assert loaded & {"pandera", "pandas"} == set()
    # run.json is read back by flows.report.exact_json: pydantic (~50 ms) only for a value to coerce
    assert "pydantic" not in loaded
    assert loaded & set(READERS_NOT_NEEDED) == set()


def test_validate_of_a_file_without_countries_or_addresses_builds_no_country_or_state_table(
    tmp_path: Path,
) -> None:
    """pycountry's names (countries, US states) cost 0.3 s and more to load and fold; a file that
    names no country and no state needs neither table (a one-row file paid for both)."""
    leads = tmp_path / "leads.csv"
    leads.write_text("phone,email,first_name\n+14155550123,ann@example.com,Ann\n", encoding="utf-8")

    answer = _run("validate", str(leads), "--out", str(tmp_path / "out"))

    assert answer["code"] == 0
    assert answer["tables"] == {"transforms.countries.country_keys": 0, "transforms.us_zones._state_keys": 0}


def test_validate_of_a_file_that_gives_its_countries_as_codes_builds_no_country_name_table(
    tmp_path: Path,
) -> None:
    """A country column of ISO codes ("US") is answered by the codes and aliases alone
    (transforms.countries): the 5,600 folded names, 0.1 s of a one-row run, are not built."""
    leads = tmp_path / "leads.csv"
    leads.write_text("first_name,phone,country\nAnn,2025550123,US\n", encoding="utf-8")

    answer = _run("validate", str(leads), "--out", str(tmp_path / "out"))

    assert answer["code"] == 0
    assert answer["tables"]["transforms.countries.country_keys"] == 0


def test_validate_help_loads_no_data_library() -> None:
    code, loaded = _loaded("validate", "--help")

    assert code == 0
    assert loaded & {*DATA, *SENDING, *DRAWING} == set()


@pytest.mark.parametrize("command", ["import", "report", "check"])
def test_help_of_a_command_loads_no_data_library_and_nothing_that_sends(command: str) -> None:
    code, loaded = _loaded(command, "--help")

    assert code == 0
    assert loaded & {*DATA, *SENDING, *DRAWING} == set()


@pytest.mark.parametrize("command", ["watch", "serve"])
def test_help_of_a_watching_or_serving_command_loads_neither_prefect_nor_a_data_library(command: str) -> None:
    """Both commands run Prefect flows, and importing Prefect costs 2 s: their ``--help`` paid it
    (and the intake registry's psycopg, watchfiles, httpx) before printing a line."""
    code, loaded = _loaded(command, "--help")

    assert code == 0
    assert loaded & {*DATA, *SENDING, *DRAWING, "watchfiles"} == set()


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],
        ["validate", "--no-such-option", "x.csv"],
        ["import", "x.csv"],  # no --targets
        ["report"],
    ],
)
def test_a_usage_error_loads_no_data_library(argv: list[str]) -> None:
    code, loaded = _loaded(*argv)

    assert code == 2
    assert loaded & {*DATA, *SENDING, *DRAWING} == set()
