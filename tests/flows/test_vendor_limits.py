"""A target's limits hold across runs: Prefect global concurrency and rate limits per vendor endpoint.

Two ``import_leads`` flow runs on one target, at the same time, each with its own token bucket,
would each send at the target's full rate and concurrency. The sandbox below records when every
send request arrives and how many are in progress, so the test reads the limits where the vendor
sees them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.config import TargetConfig
from connectors.registry import build_connector
from flows.import_leads import import_leads, summary_of
from flows.vendor_limits import endpoint_slug, limits_for
from sample_data.generate import messy_lead_frame
from sandbox.server import SandboxServer
from tests.flows.conftest import DEMO_CREDENTIALS, write_targets

RATE = 4.0
SEND_DELAY = 0.05


class Arrivals:
    """When each OBI send request arrived, and the most in progress at once."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.in_progress = 0
        self.most = 0


class _Recorder:
    def __init__(self, app: ASGIApp, arrivals: Arrivals) -> None:
        self.app = app
        self.arrivals = arrivals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/customers/list"):
            await self.app(scope, receive, send)
            return
        seen = self.arrivals
        seen.times.append(time.monotonic())
        seen.in_progress += 1
        seen.most = max(seen.most, seen.in_progress)
        try:
            await asyncio.sleep(SEND_DELAY)  # so that overlapping requests do overlap
            await self.app(scope, receive, send)
        finally:
            seen.in_progress -= 1


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, Arrivals]]:
    arrivals = Arrivals()
    server = SandboxServer()
    server.app.add_middleware(_Recorder, arrivals=arrivals)
    with server:
        for name, value in DEMO_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("LEADFLOW_SANDBOX_URL", server.base_url)
        monkeypatch.delenv("LEADFLOW_LEDGER", raising=False)
        yield server, arrivals


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("http://127.0.0.1:8765/obi", "loopback-8765-obi"),
        ("http://LOCALHOST:8765/obi/", "loopback-8765-obi"),
        ("http://[::1]:8765/./obi//", "loopback-8765-obi"),
        ("https://Dialer.Example.com:443/api/v2/", "https-dialer.example.com-api-v2"),
        ("http://dialer.example.com:80/a/b/../c", "dialer.example.com-a-c"),
        ("https://dialer.example.com:8443", "https-dialer.example.com-8443"),
    ],
)
def test_one_vendor_endpoint_written_two_ways_gets_one_limit_name(url: str, slug: str) -> None:
    assert endpoint_slug(url) == slug


def test_limit_names_carry_kind_endpoint_and_campaign_and_only_a_rated_target_has_a_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIMITS_USER", "user")
    monkeypatch.setenv("LIMITS_PASSWORD", "password")
    base: dict[str, Any] = {
        "kind": "sinch_obi",
        "base_url": "http://localhost:8765/obi",
        "campaign": "C 1",
        "credentials": {"username": "env:LIMITS_USER", "password": "env:LIMITS_PASSWORD"},
    }
    rated = limits_for(build_connector(TargetConfig(name="a", rate_limit=2.5, concurrency=3, **base)))
    assert rated.concurrency_name == "leadflow-sinch-obi-loopback-8765-obi-c-1-concurrency"
    assert (rated.rate_name, rated.rate, rated.concurrency) == (
        "leadflow-sinch-obi-loopback-8765-obi-c-1-rate",
        2.5,
        3,
    )
    plain = limits_for(build_connector(TargetConfig(name="b", **base)))
    assert plain.rate_name is None
    assert plain.concurrency == build_connector(TargetConfig(name="b", **base)).LIMITS.default_concurrency


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_two_flow_runs_on_one_target_together_keep_its_rate_and_concurrency(
    recorded: tuple[SandboxServer, Arrivals], tmp_path: Path
) -> None:
    _, arrivals = recorded
    targets = write_targets(
        tmp_path / "targets.toml",
        only=("obi",),
        obi={"rate_limit": RATE, "concurrency": 2, "chunk_size": 4},
    )
    files = []
    for number in (1, 2):
        path = tmp_path / f"leads-{number}.csv"
        messy_lead_frame(40, seed=number, id_prefix=f"R{number}-").write_csv(path)
        files.append(path)
    summaries: dict[int, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            state = import_leads(
                str(files[number - 1]),
                str(targets),
                out_dir=str(tmp_path / f"out-{number}"),
                return_state=True,  # type: ignore[call-overload]
            )
            summaries[number] = summary_of(state)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert set(summaries) == {1, 2}

    times = sorted(arrivals.times)
    assert len(times) >= 16  # both runs sent several requests each
    assert arrivals.most <= 2, "the target's concurrency of 2 held across the two runs"
    # RATE slots, each held one second from its grant: no second sees more than RATE requests start
    # (one more allowed for the way from grant to arrival). Two runs at RATE each would put 2*RATE there.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= RATE + 1, f"{busiest} requests within one second; the target allows {RATE}/s"

    connector = build_connector(next(iter(_targets(targets))))
    limits = limits_for(connector)
    with get_client(sync_client=True) as client:
        slots = client.read_global_concurrency_limit_by_name(limits.concurrency_name)
        assert (slots.limit, slots.slot_decay_per_second) == (2, 0.0)
        assert slots.active_slots == 0, "both runs gave their slots back"
        assert limits.rate_name is not None
        rate = client.read_global_concurrency_limit_by_name(limits.rate_name)
        assert (rate.limit, rate.slot_decay_per_second) == (RATE, 0.0)


def _targets(path: Path) -> list[TargetConfig]:
    from connectors.config import load_targets

    return load_targets(path)


@pytest.mark.usefixtures("prefect_harness")
async def test_a_global_limit_deleted_mid_run_stops_the_target_instead_of_sending_unlimited() -> None:
    from connectors.errors import FatalTargetError
    from flows.vendor_limits import GlobalLimits, PrefectGate

    limits = GlobalLimits("leadflow-test-missing-concurrency", 1, None, None)
    async with PrefectGate(limits, "obi", deadline=10) as gate:
        with pytest.raises(FatalTargetError, match="does not exist") as raised:
            async with gate():
                pass
    assert raised.value.reason == "TARGET_STOPPED"


def test_a_ledger_key_names_one_limit_for_a_vendor_reached_by_two_host_names() -> None:
    """The limits are shared exactly where the ledger shares sends (connectors.endpoint)."""
    assert endpoint_slug("dialer-eu") == endpoint_slug(" dialer-eu ") == "dialer-eu"


@pytest.mark.usefixtures("prefect_harness")
async def test_a_batched_run_keeps_its_workers_slots_for_the_next_batch_and_returns_them_at_its_end() -> None:
    """Each batch's dispatch has workers of its own. Asking the server again for every batch's
    workers put a burst of slot requests per batch on Prefect's SQLite server, whose lock errors
    (503) the client retries with seconds of backoff; the next batch's workers take over the ended
    workers' slots instead, and the gate returns them when the run ends."""
    from flows.vendor_limits import GlobalLimits, PrefectGate, ensure_limits

    limits = GlobalLimits("leadflow-test-batched-concurrency", 3, None, None)
    ensure_limits(limits)

    def active_slots() -> int:
        with get_client(sync_client=True) as client:
            return client.read_global_concurrency_limit_by_name(limits.concurrency_name).active_slots

    async with PrefectGate(limits, "obi", deadline=10, keep_for=60) as gate:

        async def worker() -> None:
            async with gate():
                await asyncio.sleep(0.01)

        async def batch() -> None:
            await asyncio.gather(*(asyncio.create_task(worker()) for _ in range(3)))

        await batch()
        await asyncio.sleep(0.5)  # time for a returned slot to reach the server
        assert active_slots() == 3  # kept between batches, not returned and asked for again
        # a second batch on a full limit of 3: only the kept slots let its workers through
        await asyncio.wait_for(batch(), timeout=30)
        assert active_slots() == 3
    assert active_slots() == 0


@pytest.mark.usefixtures("prefect_harness")
async def test_two_runs_that_each_keep_a_slot_still_finish_when_each_needs_a_second_one() -> None:
    """Each run keeps one of the limit's two slots between batches, then starts a batch of two
    workers: the second worker of each run must get the slot its run's first worker leaves, not
    wait for the other run's kept slot (which it keeps for the same reason) to time out."""
    from flows.vendor_limits import GlobalLimits, PrefectGate, ensure_limits

    limits = GlobalLimits("leadflow-test-two-runs-concurrency", 2, None, None)
    ensure_limits(limits)
    async with (
        PrefectGate(limits, "obi", deadline=10, keep_for=60) as one,
        PrefectGate(limits, "obi", deadline=10, keep_for=60) as two,
    ):

        async def worker(gate: Any) -> None:
            async with gate():
                await asyncio.sleep(0.01)

        await asyncio.gather(worker(one), worker(two))  # the limit's two slots, one kept by each run
        await asyncio.wait_for(asyncio.gather(worker(one), worker(one), worker(two), worker(two)), timeout=30)


@pytest.mark.usefixtures("prefect_harness")
async def test_a_slot_no_worker_of_the_run_comes_for_goes_back_to_the_server() -> None:
    """A run waiting between batches (for another target, another run's claims) must not keep a
    target's slots from other runs for longer than ``keep_for``."""
    from flows.vendor_limits import GlobalLimits, PrefectGate, ensure_limits

    limits = GlobalLimits("leadflow-test-unused-concurrency", 2, None, None)
    ensure_limits(limits)
    async with PrefectGate(limits, "obi", deadline=10, keep_for=0.2) as gate:

        async def worker() -> None:
            async with gate():
                pass

        await asyncio.gather(worker(), worker())
        with get_client(sync_client=True) as client:
            name = limits.concurrency_name
            for _ in range(100):  # the slots go back within keep_for and a call to the server
                await asyncio.sleep(0.1)
                if client.read_global_concurrency_limit_by_name(name).active_slots == 0:
                    break
            assert client.read_global_concurrency_limit_by_name(name).active_slots == 0


@pytest.mark.usefixtures("prefect_harness")
async def test_a_run_kept_waiting_for_a_slot_says_once_which_limit_and_how_to_free_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run killed mid-send leaves its slots taken under Prefect's ephemeral server (no lease
    repossessor there): later runs waited for ever, silently. The waiting run now names the limit
    and the command that frees it, once, and still takes the slot when it comes free."""
    import logging

    from flows.vendor_limits import GlobalLimits, PrefectGate, ensure_limits

    limits = GlobalLimits("leadflow-test-kept-concurrency", 1, None, None)
    ensure_limits(limits)
    async with get_client() as client:  # the slot a killed run left
        response = await client.increment_concurrency_slots_with_lease(
            names=[limits.concurrency_name], slots=1, mode="concurrency", lease_duration=60
        )
        left = response.json()["lease_id"]
    async with PrefectGate(limits, "obi", deadline=10, warn_after=0.5) as gate:

        async def worker() -> None:
            async with gate():
                pass

        waiting = asyncio.create_task(worker())
        with caplog.at_level(logging.WARNING, logger="leadflow.flows"):
            await asyncio.sleep(1.5)
            async with get_client() as client:
                await client.release_concurrency_slots_with_lease(left)
            await asyncio.wait_for(waiting, timeout=30)

    [said] = [record.getMessage() for record in caplog.records if "no slot of" in record.getMessage()]
    assert said.startswith(f"obi: no slot of the Prefect global limit {limits.concurrency_name} for ")
    assert said.endswith(f"prefect gcl update {limits.concurrency_name} --active-slots 0")
