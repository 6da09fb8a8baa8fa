"""Leadflow as several machines run it, on this one machine: a Prefect server on PostgreSQL, the
process work pool, the two deployments of prefect.yaml, and two workers as separate processes, each
with the shared PostgreSQL ledger and intake registry in its environment (README "Several
machines"). The sandbox vendors answer on 127.0.0.1 from this process.

Several lead files are dropped into the watched folder at once, one of them twice (the same
content under two names), and a second file is due for the nightly import. Two scans of the
watched folder and the nightly import are triggered together; each worker takes at least one of
them, so the two import at the same time (the two scans race over the one folder when the second
starts before the first has taken every file; either way each file is imported once, which a
registry that forgets duplicates fails: checked). Then, from the vendors' own state,
every lead arrives at each vendor exactly once; every row of every imported file has its result
per target in the run folders; the duplicate content was imported once; and the ledger holds no
claim or request in flight.

The deployments are created through Prefect's client from prefect.yaml's entries (entry point,
work pool, tags), as ``prefect deploy`` would create them, with this checkout as the working
directory and this test's parameters; the scan's ``concurrency_limit`` is left out so that two
scans run at once, the race the shared registry exists for.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import polars as pl
import pytest
import yaml

from connectors.engine import target_key
from connectors.ledgers import open_ledger
from flows.importer import load_connectors
from sample_data.generate import messy_lead_frame
from tests.conftest import REPO_ROOT
from tests.flows.conftest import DELIVERED, DEMO_CREDENTIALS, Vendors, held_ids, write_targets
from tests.flows.prefect_cluster import Cluster, prefect_cluster

pytestmark = pytest.mark.slow

POOL = "leadflow-process"
TARGETS = ("obi", "ucontact-sms", "ucontact-email", "maxcontact")
LEADS = 60
SCANNED = {"a.csv": "A", "b.csv": "B"}
"""Files dropped into the watched folder, and the prefix of their leads' ids (distinct leads)."""
COPY = "a-copy.csv"
"""Dropped with them: a.csv's content under another name."""
NIGHTLY = ("d.csv", "D")
RUNS_TIMEOUT = 300.0
"""Generous: on a loaded 2-core machine a flow run's process takes 30 s to import its flow."""


def _deployment_entries() -> dict[str, dict[str, Any]]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in document["deployments"]}


def _deploy(client: Any, entry: dict[str, Any], flow_name: str, parameters: dict[str, Any]) -> UUID:
    """``prefect deploy`` of one prefect.yaml entry, working directory this checkout, no schedule."""
    deployment_id: UUID = client.create_deployment(
        flow_id=client.create_flow_from_name(flow_name),
        name=entry["name"],
        entrypoint=entry["entrypoint"],
        work_pool_name=entry["work_pool"]["name"],
        work_queue_name=entry["work_pool"]["work_queue_name"],
        tags=entry["tags"],
        parameters=parameters,
        pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_ROOT)}}],
    )
    return deployment_id


def _wait_final(client: Any, ids: list[UUID], cluster: Cluster, timeout: float) -> dict[UUID, Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = {run_id: client.read_flow_run(run_id) for run_id in ids}
        if all(run.state is not None and run.state.is_final() for run in runs.values()):
            return runs
        if time.monotonic() > deadline:
            states = {str(k): v.state_name for k, v in runs.items()}
            raise TimeoutError(f"flow runs not finished after {timeout:.0f} s: {states}\n{cluster.logs()}")
        time.sleep(1)


def _drop(staged: Path, inbox: Path) -> None:
    """Every staged file into the inbox at once, each by an atomic rename."""
    inbox.mkdir(parents=True, exist_ok=True)
    for path in sorted(staged.iterdir()):
        os.replace(path, inbox / path.name)


def test_two_workers_on_postgres_import_each_dropped_file_once_and_each_lead_once(
    vendors: Vendors,
    postgres_server: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    # patient requests: on a loaded machine a lost answer would be resent (POSSIBLY_DUPLICATED)
    patient = {"timeout": 60, "deadline": 120}
    small = {"chunk_size": 20, "concurrency": 2, **patient}
    targets = write_targets(
        tmp_path / "targets.toml",
        only=TARGETS,
        obi=small,
        ucontact_sms=small,
        ucontact_email=small,
        maxcontact={"concurrency": 2, **patient},
    )
    staged = tmp_path / "staged"
    staged.mkdir()
    for name, prefix in SCANNED.items():
        messy_lead_frame(LEADS, seed=len(name) + ord(prefix), id_prefix=prefix).write_csv(staged / name)
    (staged / COPY).write_bytes((staged / "a.csv").read_bytes())
    nightly_file = tmp_path / NIGHTLY[0]
    messy_lead_frame(LEADS, seed=99, id_prefix=NIGHTLY[1]).write_csv(nightly_file)
    contents = {
        hashlib.sha256(p.read_bytes()).hexdigest(): p.name
        for p in (nightly_file, staged / "a.csv", staged / "b.csv")
    }
    root = tmp_path / "watched"
    nightly_out = tmp_path / "nightly-runs"
    worker_env = {
        "LEADFLOW_LEDGER": postgres_url,
        "LEADFLOW_REGISTRY": postgres_url,
        "LEADFLOW_SANDBOX_URL": vendors.base_url,
        "PYTHONPATH": str(REPO_ROOT),
        **DEMO_CREDENTIALS,
    }
    entries = _deployment_entries()
    began = time.monotonic()

    def phase(name: str) -> None:  # shown with the test's output: where the time goes
        print(f"{time.monotonic() - began:6.1f} s  {name}")

    with (
        prefect_cluster(postgres_server, tmp_path / "prefect") as cluster,
        temporary_settings(updates={PREFECT_API_URL: cluster.api_url}),
        get_client(sync_client=True) as client,
    ):
        phase("Prefect server on PostgreSQL healthy")
        template = ProcessWorker.get_default_base_job_template()  # `prefect work-pool create --type process`
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process", base_job_template=template))
        for name in ("worker-1", "worker-2"):
            cluster.start_worker(name, POOL, worker_env, limit=2)
        scan = _deploy(
            client,
            entries["watched-folder-scan"],
            "scan-inbox",
            {"root": str(root), "targets_file": str(targets), "settle_seconds": 0, "retry_delay_seconds": 1},
        )
        nightly = _deploy(
            client,
            entries["nightly-import"],
            "import-leads",
            {"path": str(nightly_file), "targets_file": str(targets), "out_dir": str(nightly_out)},
        )
        cluster.wait_for_workers(POOL, timeout=120)
        phase("pool, deployments, both workers polling")
        _drop(staged, root / "inbox")
        started = [client.create_flow_run_from_deployment(d).id for d in (scan, scan, nightly)]
        runs = _wait_final(client, started, cluster, RUNS_TIMEOUT)
        phase("files dropped, 3 flow runs finished")

        assert {str(i): r.state_name for i, r in runs.items()} == {str(i): "Completed" for i in started}, (
            cluster.logs()
        )
        taken = {name: cluster.submitted_by(name) for name in cluster.workers}
        assert all(taken.values()), f"a worker took no run: {taken}"
        assert set().union(*taken.values()) == set(started)

    # the watched folder: each file filed in archive/, the copy as a duplicate drop of the other
    archive = root / "archive"
    assert not list((root / "inbox").iterdir())
    notes = sorted(p.name for p in archive.iterdir() if p.name.endswith(".json"))
    assert len([n for n in notes if n.endswith(".result.json")]) == len(SCANNED), notes
    (duplicate,) = [n for n in notes if n.endswith(".duplicate-drop.json")]
    assert duplicate.endswith(("-a.csv.duplicate-drop.json", f"-{COPY}.duplicate-drop.json")), notes

    # the run folders: one per imported file, every row with its result per target
    run_dirs = [p for folder in (root / "runs", nightly_out) for p in folder.iterdir() if p.is_dir()]
    assert len(run_dirs) == len(SCANNED) + 1, run_dirs
    results = []
    imported = []
    for run_dir in run_dirs:
        frame = pl.read_parquet(run_dir / "results" / "*" / "*.parquet")
        imported.append(contents[json.loads((run_dir / "run.json").read_text())["fingerprint"]])
        assert frame.height == LEADS * len(TARGETS), run_dir
        assert set(frame["target"]) == set(TARGETS)
        per_target = frame.group_by("target").agg(rows=pl.col("source_row").n_unique(), n=pl.len())
        assert per_target.filter((pl.col("rows") != LEADS) | (pl.col("n") != LEADS)).is_empty(), run_dir
        assert "failed" not in set(frame["status"]), run_dir
        results.append(frame)
    assert Counter(imported) == {"a.csv": 1, "b.csv": 1, NIGHTLY[0]: 1}, imported

    # the vendors: each lead held once, and exactly the leads the results say were delivered
    everything = pl.concat(results, how="diagonal_relaxed")
    for target, held in held_ids(vendors, everything).items():
        delivered = Counter(
            everything.filter((pl.col("target") == target) & pl.col("status").is_in(DELIVERED))["external_id"]
        )
        assert len(delivered) > LEADS, f"{target}: {len(delivered)} delivered"
        assert max(delivered.values()) == 1, f"{target}: a lead delivered twice"
        twice = [lead for lead, n in held.items() if n > 1]
        rows = everything.filter((pl.col("target") == target) & pl.col("external_id").is_in(twice))
        shown = rows.select("external_id", "status", "reasons", "attempts")
        assert not twice, f"{target}: held twice: {shown}"
        assert set(held) == set(delivered), target

    # the ledger: nothing claimed or in flight is left behind
    with open_ledger(postgres_url) as book:
        for connector in load_connectors(targets):
            key = target_key(connector)
            assert book.pending_chunks(key, exclude_run="") == [], connector.target.name
            assert book.live_runs(key) == frozenset(), connector.target.name
