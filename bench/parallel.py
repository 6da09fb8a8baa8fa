"""Concurrent runs sharing one ledger: throughput and duplicates at the vendor.

    .venv/bin/python bench/parallel.py --rows 20000 --runs 1,2,4 --ledger sqlite,postgresql \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres --target maxcontact

Starts the sandbox as a subprocess on 127.0.0.1 (bench/dispatch.py's) and, for each ledger and
each K in ``--runs``, starts K processes that each ``dispatch`` to one target with their own
run id through one shared ledger (a fresh SQLite file, or a fresh schema of the PostgreSQL
database), released together once all are ready:

- ``split``: the ``--rows`` leads cut into K parts, one per run (K files imported at once);
- ``same``: every run gets all ``--rows`` leads (one file imported K times at once).

Reported: contacts/s (distinct leads delivered / wall time from release to the last run's end),
leads the vendor holds more than once (from the sandbox's own state; must be 0), and the rows
reported ``IN_PROGRESS_ELSEWHERE`` / ``already_sent`` in ``same``. MaxContact keeps repeats, so
its count is the real test; OBI refuses a known id (its count is 0 whatever the ledger does).
On a 2-core machine the sandbox shares the cores with the runs: more runs cannot add much.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.dispatch import make_leads, reset, start_sandbox  # noqa: E402
from connectors.config import TargetConfig  # noqa: E402
from connectors.engine import dispatch  # noqa: E402
from connectors.ledgers import open_ledger  # noqa: E402
from connectors.registry import build_connector  # noqa: E402

SETUPS: dict[str, dict[str, Any]] = {
    "sinch_obi": {"prefix": "/obi", "campaign": "00000000000000000000000000000001", "concurrency": 4},
    "maxcontact": {"prefix": "/maxcontact", "campaign": "1", "concurrency": 8},
}


def _run(kind: str, server: str, credentials: dict[str, str], spec: str, rows: tuple[int, int],
         run_id: str, ready: Any, go: Event, out: Any) -> None:  # fmt: skip
    setup = SETUPS[kind]
    target = TargetConfig(
        name=f"bench-{kind}", kind=kind, base_url=f"{server}{setup['prefix']}", campaign=setup["campaign"],
        concurrency=setup["concurrency"], timeout=60,
    )  # fmt: skip
    connector = build_connector(target, credentials)
    leads = make_leads(rows[1])[rows[0] :]
    with open_ledger(spec) as ledger:
        ready.put(run_id)
        go.wait()
        results = asyncio.run(dispatch(connector, leads, ledger=ledger, run_id=run_id))
    out.put((run_id, time.perf_counter(), [(r.external_id, r.status.value, r.reasons) for r in results]))


def _held_twice(kind: str, server: str) -> int:
    state = httpx.get(f"{server}/_sandbox/{kind}/state").json()
    if kind == "sinch_obi":
        ids = Counter(c["externalId"] for c in state["campaigns"][SETUPS[kind]["campaign"]]["customers"])
    else:
        leads = (lead for x in state["lists"].values() for lead in x["leads"])
        ids = Counter(lead["LeadPhones"][0]["PhoneNum"] for lead in leads)
    return sum(1 for n in ids.values() if n > 1)


MADE: list[str] = []
"""Schemas this benchmark made, dropped at the end."""


def _fresh_spec(kind: str, postgres: str | None, folder: Path) -> str:
    if kind == "sqlite":
        return str(folder / f"ledger-{secrets.token_hex(4)}.sqlite")
    assert postgres is not None, "--postgres URL needed for the postgresql ledger"
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(postgres, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    MADE.append(schema)
    joiner = "&" if "?" in postgres else "?"
    return f"{postgres}{joiner}options={quote(f'-csearch_path={schema}')}"


def measure(kind: str, server: str, credentials: dict[str, str], spec: str, rows: int, runs: int,
            mode: str) -> tuple[float, int, Counter[str]]:  # fmt: skip
    context = multiprocessing.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    parts = (
        [(rows * k // runs, rows * (k + 1) // runs) for k in range(runs)]
        if mode == "split"
        else [(0, rows)] * runs
    )
    workers = [
        context.Process(target=_run, args=(kind, server, credentials, spec, part, f"run-{k}", ready, go, out))
        for k, part in enumerate(parts)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    finished = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(60)
    seconds = max(end for _, end, _ in finished) - started
    statuses: Counter[str] = Counter()
    delivered: set[str] = set()
    for _, _, results in finished:
        for external_id, status, reasons in results:
            statuses["IN_PROGRESS_ELSEWHERE" if "IN_PROGRESS_ELSEWHERE" in reasons else status] += 1
            if status in ("accepted", "submitted"):
                delivered.add(external_id)
    return len(delivered) / seconds, _held_twice(kind, server), statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", default="1,2,4")
    parser.add_argument("--ledger", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--target", default="maxcontact", choices=sorted(SETUPS))
    parser.add_argument("--modes", default="split,same")
    args = parser.parse_args()
    process, server = start_sandbox()
    try:
        vendors = httpx.get(f"{server}/_sandbox/vendors").json()
        prefix = SETUPS[args.target]["prefix"]
        credentials = next(v["credentials"] for v in vendors if v["prefix"] == prefix)
        print(f"target {args.target}, {args.rows} leads, sandbox {server}")
        print(f"{'ledger':>10} {'mode':>6} {'runs':>5} {'contacts/s':>11} {'held twice':>11}  statuses")
        with tempfile.TemporaryDirectory() as folder:
            for ledger in args.ledger.split(","):
                for mode in args.modes.split(","):
                    for runs in map(int, args.runs.split(",")):
                        reset(server)
                        spec = _fresh_spec(ledger, args.postgres, Path(folder))
                        rate, twice, statuses = measure(
                            args.target, server, credentials, spec, args.rows, runs, mode
                        )
                        print(
                            f"{ledger:>10} {mode:>6} {runs:>5} {rate:>11,.0f} {twice:>11}  {dict(statuses)}"
                        )
    finally:
        process.terminate()
        process.wait(10)
        if MADE:
            with psycopg.connect(args.postgres, autocommit=True) as db:
                for schema in MADE:
                    db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
