"""The allocator tuning reaches polars: set before polars loads, on every way in, and honoured.

Each case runs in a fresh interpreter, because jemalloc reads its options once per process.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from flows.allocator import MALLOC_CONF_VARIABLE, malloc_conf

ROOT = Path(__file__).resolve().parents[2]

# records the variable as it is when polars is first imported: by the entry point, or after it
# (the command line imports polars only once a command runs)
_SPY = """
import json, os, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "polars" and "at_polars" not in seen:
            seen["at_polars"] = os.environ.get(%(variable)r)
        return None
sys.meta_path.insert(0, Spy())
%(load)s
import polars  # what the command or flow does next, when the entry point has not yet
print(json.dumps(seen))
"""


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != MALLOC_CONF_VARIABLE}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )


def _setting_when_polars_loads(load: str, env: dict[str, str] | None = None) -> str | None:
    done = _python(_SPY % {"variable": MALLOC_CONF_VARIABLE, "load": load}, env)
    seen: dict[str, str | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen["at_polars"]


@pytest.mark.parametrize(
    "load",
    [
        pytest.param("import flows.cli", id="the leadflow command"),
        pytest.param("import flows.import_leads", id="leadflow serve (module entry point)"),
        pytest.param(
            "from prefect.flows import load_flow_from_entrypoint\n"
            "load_flow_from_entrypoint('flows/import_leads.py:import_leads')",
            id="prefect.yaml import_leads (file entry point)",
        ),
        pytest.param(
            "from prefect.flows import load_flow_from_entrypoint\n"
            "load_flow_from_entrypoint('flows/scan_inbox.py:scan_inbox')",
            id="prefect.yaml scan_inbox (file entry point)",
        ),
    ],
)
def test_every_entry_point_sets_the_allocator_options_before_polars_loads(load: str) -> None:
    assert _setting_when_polars_loads(load) == malloc_conf(len(os.sched_getaffinity(0)))


def test_an_operators_own_allocator_options_are_kept() -> None:
    assert _setting_when_polars_loads("import flows.cli", {MALLOC_CONF_VARIABLE: "narenas:3"}) == "narenas:3"


@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"),
    reason="polars bundles jemalloc on Linux x86_64/aarch64 only",
)
def test_polars_allocator_reads_the_variable_this_tuning_sets() -> None:
    # if a polars upgrade renames the variable or drops jemalloc, the tuning silently does
    # nothing: this says so. stats_print makes jemalloc print the options it runs with.
    done = _python(
        "import polars as pl; pl.DataFrame({'a': [1]}).sum()",
        {MALLOC_CONF_VARIABLE: "stats_print:true,oversize_threshold:0,narenas:3"},
    )
    assert "opt.narenas: 3" in done.stderr
    assert "opt.oversize_threshold: 0" in done.stderr


@pytest.mark.parametrize("cores", [1, 2, 16])
def test_one_arena_per_core_and_no_dedicated_arena_for_big_buffers(cores: int) -> None:
    assert malloc_conf(cores) == f"oversize_threshold:0,narenas:{cores}"


_HOLES = """
import numpy as np
from flows.allocator import release_freed

def resident_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

# 64 KiB arrays come from the heap (under glibc's mmap threshold); the last one kept pins
# the heap's top, so the freed ones are holes a plain free leaves resident
held = [np.ones(8192) for _ in range(3200)]
last = held[-1]
del held
before = resident_kb()
release_freed(%(at_least)d)
print(before - resident_kb())
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's"
)
@pytest.mark.parametrize(("at_least", "handed_back"), [(0, True), (100 << 20, True), (1 << 40, False)])
def test_the_c_heaps_freed_holes_are_handed_back_when_enough_is_free(
    at_least: int, handed_back: bool
) -> None:
    done = _python(_HOLES % {"at_least": at_least})
    # of the 200 MiB freed, in kB
    assert (int(done.stdout.strip().splitlines()[-1]) > 100_000) == handed_back
