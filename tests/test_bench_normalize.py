"""bench/normalize.py at a tiny size: what its modes print (the benchmark itself runs, no figure
is judged but that it is there and positive)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"(\d+(?:\.\d+)?)"
SIGNED = r"(-?\d+(?:\.\d+)?)"
"""A difference of two noisy loops, which a small file can make negative."""


def _bench(*args: str) -> str:
    """The benchmark's output, run as one runs it (``python -m bench.normalize``)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.normalize", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _figures(line: str, out: str) -> list[float]:
    """The numbers of the output's line matching ``line`` (a pattern of the whole line)."""
    found = re.search(line, out, re.MULTILINE)
    assert found, out
    return [float(number) for number in found.groups()]


def test_frequency_with_compliance_prints_the_guardrails_cost_per_million_rows(tmp_path: Path) -> None:
    out = _bench(
        "--rows", "2000", "--skip-baseline", "--compliance", "us-tcpa", "--frequency",
        "--keep-file", str(tmp_path / "leads.csv"),
    )  # fmt: skip
    keys, ledger, total, of_prepare, of_run = _figures(
        rf"^frequency guardrail \(person, 2 per 24 h\): keys {NUMBER} s \+ ledger {NUMBER} s = "
        rf"{NUMBER} s per million rows, {NUMBER}% of prepare \(ingest \+ normalize\), "
        rf"{NUMBER}% of the whole run$",
        out,
    )
    assert keys > 0
    assert ledger > 0
    assert total == pytest.approx(keys + ledger, abs=0.002)
    assert of_prepare > 0
    assert of_run > 0
    low, high, own, claims, added = _figures(
        rf"^  ledger: median of 3 pairs, {NUMBER}-{NUMBER} s, of which {NUMBER} s in its own calls; "
        rf"the claims' own ledger work \(the loop without it\) {NUMBER} s per million rows: the "
        rf"guardrail adds {NUMBER}% to it$",
        out,
    )
    assert low <= ledger <= high
    assert own > 0
    assert claims > 0
    assert added == pytest.approx(100 * ledger / claims, rel=0.05, abs=0.2)
    floor, floor_low, floor_high, inserts = _figures(
        rf"^  floor: each claimed chunk's contact row and nothing else, median of 3 pairs {SIGNED} s "
        rf"\({SIGNED} to {SIGNED}\), of which {NUMBER} s in the rows' inserts, per million rows$",
        out,
    )
    assert floor_low <= floor <= floor_high
    assert inserts > 0
    together, of_prepare, of_run = _figures(
        rf"^windows \+ guardrail: {NUMBER} s per million rows = {NUMBER}% of prepare, "
        rf"{NUMBER}% of the whole run$",
        out,
    )
    assert together > total
    assert of_prepare > 0
    assert of_run > 0
