"""A split import on the work pool: one file as 3 partitions on 2 workers gives each row the
result of one run, in one run folder, with each lead sent once.

The reference is the same file imported in one run (``leadflow import``, in this process, with a
SQLite ledger of its own). Then the sandbox is emptied and the file imported again through
prefect.yaml's ``nightly-import`` deployment with ``partitions: 3``, on a Prefect server on
PostgreSQL with two process workers sharing a PostgreSQL ledger (tests/flows/prefect_cluster.py,
as tests/flows/test_several_machines.py runs it). The parent flow run and its three
``import-partition`` runs take the pool's four slots; both workers take some of them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from connectors.engine import target_key
from connectors.ledgers import open_ledger
from flows.commands.import_file import main as leadflow_import
from flows.importer import load_connectors
from flows.split.parent import PARTITION_DEPLOYMENT
from sample_data.generate import messy_lead_frame
from tests.conftest import REPO_ROOT
from tests.flows.conftest import (
    DELIVERED,
    DEMO_CREDENTIALS,
    Vendors,
    held_ids,
    only_run,
    read_results,
    write_targets,
)
from tests.flows.prefect_cluster import prefect_cluster
from tests.flows.test_several_machines import _deploy, _deployment_entries, _wait_final
from tests.flows.test_split_import import per_row

pytestmark = pytest.mark.slow

POOL = "leadflow-process"
TARGETS = ("obi", "ucontact-sms", "ucontact-email", "maxcontact")
LEADS = 90
PARTITIONS = 3
RUNS_TIMEOUT = 420.0
"""Generous: on a loaded 2-core machine each flow run's process takes 30 s to import its flow."""


def test_three_partitions_on_two_workers_give_each_row_the_result_of_one_run(
    vendors: Vendors,
    postgres_server: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    patient = {"timeout": 60, "deadline": 120}
    small = {"chunk_size": 9, "concurrency": 2, **patient}
    targets = write_targets(
        tmp_path / "targets.toml",
        only=TARGETS,
        obi=small,
        ucontact_sms=small,
        ucontact_email=small,
        maxcontact={"concurrency": 2, **patient},
    )
    path = tmp_path / "big.csv"
    messy_lead_frame(LEADS, seed=31, id_prefix="S").write_csv(path)

    one_out = tmp_path / "one"
    ledger = tmp_path / "one-ledger.sqlite"
    code = leadflow_import(
        [str(path), "--targets", str(targets), "--out", str(one_out), "--ledger", str(ledger)]
    )
    assert code == 0
    one = read_results(only_run(one_out))
    vendors.reset()

    split_out = tmp_path / "split"
    worker_env = {
        "LEADFLOW_LEDGER": postgres_url,
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
        template = ProcessWorker.get_default_base_job_template()
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process", base_job_template=template))
        for name in ("worker-1", "worker-2"):
            cluster.start_worker(name, POOL, worker_env, limit=2)
        nightly = entries["nightly-import"]["parameters"]
        parent = _deploy(
            client,
            entries["nightly-import"],
            "import-leads",
            {
                "path": str(path),
                "targets_file": str(targets),
                "out_dir": str(split_out),
                "partitions": PARTITIONS,
                "partition_deployment": nightly["partition_deployment"],
                "partition_timeout": RUNS_TIMEOUT,
                "partition_claim_after": RUNS_TIMEOUT,  # the workers run them, not the parent
            },
        )
        _deploy(client, entries["import-partition"], "import-partition", {})
        cluster.wait_for_workers(POOL, timeout=120)
        phase("pool, deployments, both workers polling")
        started = client.create_flow_run_from_deployment(parent).id
        runs = _wait_final(client, [started], cluster, RUNS_TIMEOUT + 60)
        phase("split import finished")

        assert runs[started].state_name == "Completed", cluster.logs()
        taken = {name: cluster.submitted_by(name) for name in cluster.workers}
        every = set().union(*taken.values())
        assert len(every) == 1 + PARTITIONS, taken
        assert all(taken.values()), f"a worker took no run: {taken}"

    assert nightly["partition_deployment"] == PARTITION_DEPLOYMENT
    run_dir = only_run(split_out)
    split = read_results(run_dir)
    assert per_row(split).equals(per_row(one))
    assert json.loads((run_dir / "run.json").read_text())["rows"] == LEADS
    assert not (split_out / ".staging").exists()

    # the vendors: each lead held once, exactly the leads delivered
    for target, held in held_ids(vendors, split).items():
        delivered = set(
            split.filter((split["target"] == target) & split["status"].is_in(DELIVERED))["external_id"]
        )
        assert delivered, target
        assert max(held.values()) == 1, f"{target}: a lead held twice"
        assert set(held) == delivered, target

    # the ledger: every partition settled what it claimed
    with open_ledger(postgres_url) as book:
        for connector in load_connectors(targets):
            key = target_key(connector)
            assert book.pending_chunks(key, exclude_run="") == [], connector.target.name
            assert book.live_runs(key) == frozenset(), connector.target.name
