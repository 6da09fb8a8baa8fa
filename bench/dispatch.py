"""Dispatch throughput: the engine against a bare httpx loop, same bodies, same server, same run.

    .venv/bin/python bench/dispatch.py --rows 20000 --target sinch_obi --concurrency 1,4,16,64 --repeat 3

Starts the sandbox (``python -m sandbox``: uvloop and httptools when installed, no access log) as a
subprocess on 127.0.0.1, so the server's CPU is not counted as the client's, and for each
concurrency level measures contacts/s and client CPU microseconds per contact for

- ``engine``: ``connectors.engine.dispatch`` with a fresh SQLite ledger: chunking, building each
  body, rate limit (off), retries armed, ledger writes (in flight before, settled after), parsing
  every item into an outcome and one result row per lead; and
- ``bare``: an ``asyncio.Semaphore`` + ``httpx.AsyncClient.request`` loop posting the vendor's real
  request bodies and reading and JSON-decoding (orjson, as the engine) every answer, checking the
  HTTP status and that every item was created; a request whose connection broke (a keep-alive
  connection the server closed) is sent once more. It skips what the engine adds: building bodies (they
  are built before the clock starts), the ledger, outcome and result objects, retries and breaker.

Each level runs ``--repeat`` times, bare and engine alternating, the sandbox reset before each
measurement; the table shows medians and the median of the per-pair ratios (engine c/s / bare
c/s), plus the sandbox's own CPU per contact. The machine's other load moves absolute figures a
lot on a small box: compare ratios, and rerun before drawing conclusions.

``--bare-clients per-worker`` gives the bare loop one client of one connection per worker, as the
engine sends; the default (one client whose pool holds every connection) is what a plain httpx loop
does, and costs more per request the more connections the pool holds (at 64 it dominates).

Where the client's time goes (py-spy, 2 shared cores, 20k leads, concurrency 4): httpx/httpcore
sending and reading is about 17 us per contact, the bare loop's whole cost; the engine adds per
lead building the customer dicts and JSON (~3 us), the ledger (~1-2 us: two appends and commits per
request of 100, mostly syscalls), parsing the answer into outcomes (~1 us), the result rows
(~0.5 us) and the collector (~1.5 us of young-generation collections over the rows a run keeps).
At concurrency 1 the engine's extra time is on the critical path only where it must be: the ledger
row before the send and the parse after it; building the next body and settling the last answer
happen while the vendor works (see connectors.engine). Moving ledger writes to a thread did not
raise throughput here (no spare core while the sandbox runs) and cost CPU, so they stay on the
event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from connectors.base import Connector, Lead, Phone  # noqa: E402
from connectors.chunking import plan_for  # noqa: E402
from connectors.config import TargetConfig  # noqa: E402
from connectors.engine import dispatch  # noqa: E402
from connectors.ledger import Ledger  # noqa: E402
from connectors.registry import build_connector  # noqa: E402

SETUPS: dict[str, dict[str, Any]] = {
    "sinch_obi": {"prefix": "/obi", "campaign": "00000000000000000000000000000001", "options": {}},
}
"""Per target kind: the sandbox mount and a seeded campaign (see sandbox/<vendor>.py)."""


@dataclass
class Measure:
    seconds: float
    cpu: float
    rows: int
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.rows * 1e6

    @property
    def server_us(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.rows * 1e6


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise SystemExit("the sandbox did not start")
    url = line.split()[1]
    return process, url[: url.index("/", len("http://"))]


def make_leads(rows: int) -> list[Lead]:
    return [
        Lead(
            i,
            f"bench-{i:08d}",
            f"First{i}",
            "Bench",
            (Phone(f"+4930{i:08d}", "fixed_line"),),
            timezone="Europe/Berlin",
            attributes=(("Source", "bench"),),
        )
        for i in range(1, rows + 1)
    ]


def make_connector(kind: str, server: str, concurrency: int, credentials: dict[str, str]) -> Connector:
    setup = SETUPS[kind]
    target = TargetConfig(
        name=f"bench-{kind}",
        kind=kind,
        base_url=f"{server}{setup['prefix']}",
        campaign=setup["campaign"],
        concurrency=concurrency,
        timeout=60,
        options=setup["options"],
    )
    return build_connector(target, credentials)


async def engine_run(connector: Connector, leads: list[Lead], ledger_dir: Path) -> Measure:
    with Ledger(ledger_dir / f"ledger-{time.monotonic_ns()}.sqlite") as ledger:
        cpu, started = time.process_time(), time.perf_counter()
        results = await dispatch(connector, leads, ledger=ledger, run_id="bench")
        measure = Measure(time.perf_counter() - started, time.process_time() - cpu, len(leads))
    statuses = Counter(r.status.value for r in results)
    if not statuses or set(statuses) - {"accepted", "submitted"}:
        raise SystemExit(f"engine run did not deliver everything: {dict(statuses)}")
    return measure


async def bare_run(
    connector: Connector, leads: list[Lead], concurrency: int, *, per_worker: bool = False
) -> Measure:
    """The bare loop; ``per_worker`` gives each of ``concurrency`` workers its own one-connection
    client (as the engine does) instead of one client whose pool holds them all."""
    clients = concurrency if per_worker else 1
    connections = 1 if per_worker else concurrency
    pool = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with contextlib.AsyncExitStack() as stack:
        opened = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=connector.target.base_url, auth=connector.auth(), timeout=60, limits=pool
                )
            )
            for _ in range(clients)
        ]
        client = opened[0]
        requests = [connector.build_request(client, chunk) for chunk in plan_for(connector, leads).chunks]
        prepared = [(r.method, r.url, r.content, dict(r.headers)) for r in requests]
        gate = asyncio.Semaphore(concurrency)

        async def send(
            client: httpx.AsyncClient, method: str, url: httpx.URL, body: bytes, headers: dict[str, str]
        ) -> None:
            try:
                response = await client.request(method, url, content=body, headers=headers)
            except httpx.TransportError:
                response = await client.request(method, url, content=body, headers=headers)
            if response.status_code >= 300:
                raise SystemExit(f"bare loop got HTTP {response.status_code}: {response.text[:200]}")
            items = orjson.loads(response.content)
            if not all(type(item) is dict and item.get("statusCode") == 201 for item in items):
                raise SystemExit(f"bare loop: not every item was created: {response.text[:200]}")

        async def post(method: str, url: httpx.URL, body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                await send(client, method, url, body, headers)

        todo = iter(prepared)

        async def worker(client: httpx.AsyncClient) -> None:
            for method, url, body, headers in todo:
                await send(client, method, url, body, headers)

        cpu, started = time.process_time(), time.perf_counter()
        if per_worker:
            await asyncio.gather(*(worker(c) for c in opened))
        else:
            await asyncio.gather(*(post(*p) for p in prepared))
        return Measure(time.perf_counter() - started, time.process_time() - cpu, len(leads))


def reset(server: str) -> None:
    httpx.post(f"{server}/_sandbox/reset").raise_for_status()


async def measure(pid: int, run: Awaitable[Measure]) -> Measure:
    before = process_cpu(pid)
    result = await run
    after = process_cpu(pid)
    if before is not None and after is not None:
        result.server_cpu = after - before
    return result


async def bench(kind: str, rows: int, levels: list[int], repeat: int, *, per_worker: bool = False) -> None:
    process, server = start_sandbox()
    try:
        vendors = httpx.get(f"{server}/_sandbox/vendors").json()
        credentials = next(
            v["credentials"] for v in vendors if v["kind"] in (kind, kind.split("_", maxsplit=1)[0])
        )
        leads = make_leads(rows)
        print(
            f"target {kind}, {rows} contacts, {repeat} runs per level, sandbox {server} pid {process.pid}, "
            f"bare loop: {'one client per worker' if per_worker else 'one shared client'}"
        )
        print(
            f"{'conc':>5} {'engine c/s':>11} {'bare c/s':>10} {'ratio':>6} {'engine CPU us/c':>16} "
            f"{'bare CPU us/c':>14} {'server CPU us/c':>16}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            warm = make_connector(kind, server, 4, credentials)
            reset(server)
            await bare_run(warm, leads[:2000], 4)
            reset(server)
            await engine_run(warm, leads[:2000], Path(tmp))
            for level in levels:
                connector = make_connector(kind, server, level, credentials)
                engines: list[Measure] = []
                bares: list[Measure] = []
                for _ in range(repeat):
                    reset(server)
                    bare = bare_run(connector, leads, level, per_worker=per_worker)
                    bares.append(await measure(process.pid, bare))
                    reset(server)
                    engines.append(await measure(process.pid, engine_run(connector, leads, Path(tmp))))
                ratio = statistics.median(e.rate / b.rate for e, b in zip(engines, bares, strict=True))
                server_us = [m.server_us for m in engines if m.server_us is not None]
                server_text = f"{statistics.median(server_us):>16.1f}" if server_us else f"{'n/a':>16}"
                print(
                    f"{level:>5} {statistics.median(m.rate for m in engines):>11,.0f} "
                    f"{statistics.median(m.rate for m in bares):>10,.0f} {ratio:>6.2f} "
                    f"{statistics.median(m.cpu_us for m in engines):>16.1f} "
                    f"{statistics.median(m.cpu_us for m in bares):>14.1f} {server_text}",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--target", default="sinch_obi", choices=sorted(SETUPS))
    parser.add_argument("--concurrency", default="1,4,16,64", help="comma-separated levels")
    parser.add_argument("--repeat", type=int, default=3, help="runs per level (medians are shown)")
    parser.add_argument(
        "--bare-clients",
        choices=("shared", "per-worker"),
        default="shared",
        help="the bare loop's httpx clients: one for all workers (default), or one of one connection "
        "per worker, as the engine sends",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    per_worker = args.bare_clients == "per-worker"
    asyncio.run(bench(args.target, args.rows, levels, max(1, args.repeat), per_worker=per_worker))


if __name__ == "__main__":
    main()
