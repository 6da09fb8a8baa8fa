"""High concurrency: the engine sends through one httpx client of one connection per worker, and
every lead still arrives exactly once with one result, through retries, over a real socket."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from connectors.base import Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import CONTROL_CONNECTIONS, dispatch
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
from sandbox.server import SandboxServer
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Status


async def test_many_connections_over_one_client_each_store_each_lead_once(
    live: SandboxServer, tmp_path: Path
) -> None:
    live.sandbox.faults.configure(
        {
            "seed": 5,
            "vendors": {"sinch_obi": {"/campaigns/*/customers/list": {"rate_drop": 0.2, "max_faults": 8}}},
        }
    )
    leads = [Lead(i, f"p-{i:04d}", phones=(Phone(f"+4420{i:08d}"),)) for i in range(1, 401)]
    target = TargetConfig(
        name="obi",
        kind="sinch_obi",
        base_url=f"{live.base_url}/obi",
        campaign=DEMO_CAMPAIGN_ID,
        concurrency=CONTROL_CONNECTIONS * 2 + 5,
        chunk_size=5,
        retry=RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05, breaker_failures=3),
    )
    connector = SinchObiConnector(target=target, secrets={"username": "demo", "password": "demo-secret"})
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        results = await dispatch(connector, leads, ledger=ledger, run_id="run-1")
    assert [r.source_row for r in results] == [lead.source_row for lead in leads]
    assert {r.status for r in results} == {Status.ACCEPTED}
    assert sum(1 for r in results if r.attempts > 1) >= 5
    stored = live.sandbox.simulators["sinch_obi"].dump()["campaigns"][DEMO_CAMPAIGN_ID]["customers"]
    counts = Counter(c["externalId"] for c in stored)
    assert set(counts) == {lead.external_id for lead in leads}
    assert max(counts.values()) == 1
