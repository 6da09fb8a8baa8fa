"""Dispatch throughput: the engine against a bare httpx loop, same bodies, same server, same run.

    .venv/bin/python bench/dispatch.py --rows 20000 --target sinch_obi --concurrency 1,4,16,64

Starts the sandbox (``python -m sandbox``) as a subprocess on 127.0.0.1, so the server's CPU is
not counted as the client's, and for each concurrency level measures contacts/s and client CPU
seconds per contact for

- ``engine``: ``connectors.engine.dispatch`` with a fresh SQLite ledger (chunking, request
  building, rate limit off, retries armed, ledger writes, response parsing), and
- ``bare``: an ``asyncio.Semaphore`` + ``httpx.AsyncClient.post`` loop sending the same request
  bodies, prepared before the clock starts, and checking only the HTTP status.

The sandbox is reset before every measurement. On a small machine the server (one uvicorn
process, pure-Python JSON and validation) is usually the bottleneck for both; the CPU columns
then say more about the client than contacts/s does.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.rows * 1e6


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


async def bare_run(connector: Connector, leads: list[Lead], concurrency: int) -> Measure:
    pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=connector.target.base_url, auth=connector.auth(), timeout=60, limits=pool
    ) as client:
        requests = [connector.build_request(client, chunk) for chunk in plan_for(connector, leads).chunks]
        prepared = [(r.method, r.url, r.content, dict(r.headers)) for r in requests]
        gate = asyncio.Semaphore(concurrency)

        async def post(method: str, url: httpx.URL, body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                response = await client.request(method, url, content=body, headers=headers)
            if response.status_code >= 300:
                raise SystemExit(f"bare loop got HTTP {response.status_code}: {response.text[:200]}")

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(post(*p) for p in prepared))
        return Measure(time.perf_counter() - started, time.process_time() - cpu, len(leads))


def reset(server: str) -> None:
    httpx.post(f"{server}/_sandbox/reset").raise_for_status()


async def bench(kind: str, rows: int, levels: list[int]) -> None:
    process, server = start_sandbox()
    try:
        vendors = httpx.get(f"{server}/_sandbox/vendors").json()
        credentials = next(
            v["credentials"] for v in vendors if v["kind"] in (kind, kind.split("_", maxsplit=1)[0])
        )
        leads = make_leads(rows)
        print(f"target {kind}, {rows} contacts, sandbox {server} (subprocess pid {process.pid})")
        print(
            f"{'conc':>5} {'engine c/s':>11} {'bare c/s':>10} {'ratio':>6} {'engine CPU us/c':>16} "
            f"{'bare CPU us/c':>14}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for level in levels:
                connector = make_connector(kind, server, level, credentials)
                reset(server)
                bare = await bare_run(connector, leads, level)
                reset(server)
                engine = await engine_run(connector, leads, Path(tmp))
                print(
                    f"{level:>5} {engine.rate:>11,.0f} {bare.rate:>10,.0f} {engine.rate / bare.rate:>6.2f} "
                    f"{engine.cpu_us:>16.1f} {bare.cpu_us:>14.1f}",
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
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    asyncio.run(bench(args.target, args.rows, levels))


if __name__ == "__main__":
    main()
