"""Two `leadflow import` processes of one file sharing one ledger, started together against one
sandbox server on 127.0.0.1: every lead reaches each vendor once, as the vendor's own state
shows, even at the vendors that keep repeats (uContact SMS and email, MaxContact), because each
lead is claimed in the ledger before its request leaves. Every row of both runs has a result
(``accepted``/``submitted`` in one run, ``already_sent`` or ``failed IN_PROGRESS_ELSEWHERE`` in the
other) and nothing is left claimed or in flight."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from connectors.engine import target_key
from connectors.ledgers import open_ledger
from flows.importer import load_connectors
from tests.flows.conftest import DELIVERED, Vendors, held_ids, only_run, read_results, write_targets

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LEADS = 2000
TARGETS = ("obi", "ucontact-sms", "ucontact-email", "maxcontact")
SLOWED = {
    "vendors": {
        "sinch_obi": {"*": {"latency": 0.02}},
        "ucontact": {"*": {"latency": 0.02}},
        "maxcontact": {"*": {"latency": 0.005}},
    }
}
"""A couple of seconds of sending per target, so that the two runs overlap for sure."""


@pytest.mark.parametrize("ledger_kind", ["sqlite", "postgresql"])
def test_two_imports_of_one_file_at_once_deliver_each_lead_once(
    vendors: Vendors,
    lead_file: Callable[..., Path],
    tmp_path: Path,
    ledger_kind: str,
    request: pytest.FixtureRequest,
) -> None:
    file = lead_file(LEADS, seed=14)
    small = {"chunk_size": 50, "concurrency": 2}
    targets = write_targets(
        tmp_path / "targets.toml",
        only=TARGETS,
        obi=small,
        ucontact_sms=small,
        ucontact_email=small,
        maxcontact={"concurrency": 2},
    )
    ledger = str(tmp_path / "ledger.sqlite")
    if ledger_kind == "postgresql":
        ledger = request.getfixturevalue("postgres_url")
    vendors.set_faults(SLOWED)
    runs = []
    for n in (1, 2):
        command = [sys.executable, "-m", "flows.cli", "import", str(file), "--targets", str(targets)]
        command += ["--out", str(tmp_path / f"out-{n}"), "--ledger", ledger]
        with (tmp_path / f"run-{n}.log").open("wb") as log:
            runs.append(
                subprocess.Popen(
                    command, cwd=REPO_ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT
                )
            )
    codes = [run.wait(timeout=300) for run in runs]
    logs = [(tmp_path / f"run-{n}.log").read_text(errors="replace")[-2000:] for n in (1, 2)]
    assert set(codes) <= {0, 3}, logs

    results = [read_results(only_run(tmp_path / f"out-{n}")) for n in (1, 2)]
    for frame in results:
        assert frame.height == LEADS * len(TARGETS)
        assert frame["status"].null_count() == 0
    both = pl.concat(results, how="diagonal_relaxed")
    for target, held in held_ids(vendors, both).items():
        rows = both.filter(pl.col("target") == target)
        delivered = Counter(rows.filter(pl.col("status").is_in(DELIVERED))["external_id"])
        assert delivered, f"{target}: nothing delivered"
        assert max(delivered.values()) == 1, f"{target}: a lead delivered by both runs"
        assert max(held.values()) == 1, f"{target}: {sum(n > 1 for n in held.values())} leads held twice"
        assert set(held) == set(delivered), target
        not_delivered = rows.filter(~pl.col("status").is_in(DELIVERED) & pl.col("batch_id").is_not_null())
        assert not_delivered.is_empty() or set(not_delivered["status"]) <= {"already_sent"}, target
        elsewhere = rows.filter(pl.col("reasons").list.contains("IN_PROGRESS_ELSEWHERE"))
        assert set(elsewhere["status"]) <= {"failed"}
        assert set(elsewhere["external_id"]) <= set(delivered), "held elsewhere, then not delivered"

    with open_ledger(ledger) as book:
        for connector in load_connectors(targets):
            key = target_key(connector)
            assert book.pending_chunks(key, exclude_run="") == [], connector.target.name
            assert book.live_runs(key) == frozenset(), connector.target.name
