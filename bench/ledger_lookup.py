"""What telling one batch's delivered leads costs on a big ledger: time and memory of the first
``entries(key, ids)`` of a run, and what writing the ledger costs per lead.

    .venv/bin/python bench/ledger_lookup.py --rows 1000000 --batch 10 --repeat 3
    .venv/bin/python bench/ledger_lookup.py --rows 1000000 --postgres postgresql://postgres@127.0.0.1/postgres

Builds a ledger of ``--rows`` delivered leads through the ledger's own API (chunks of 100: claim,
then settle accepted), timing the build (CPU seconds of this process per lead: the write cost of
whatever the ledger keeps per lead). Then, ``--repeat`` times, a fresh process opens the ledger and
asks for the entries of ``--batch`` leads spread over the ledger, as the engine does once per
request batch of a run: wall seconds of that call and the process's peak RSS before and after it
(``ru_maxrss``). Run it with PYTHONPATH on another checkout to compare two versions (the script
uses only the ledger's public API). With ``--postgres`` the ledger is a new database on that
server (dropped at the end); its build time includes the server's work.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CHUNK = 100
KEY = ("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")

_LOOKUP = """
import json, resource, sys, time
from connectors.ledgers import open_ledger
from connectors.ledger_types import TargetKey
spec, rows, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
key = TargetKey(*json.loads(sys.argv[4]))
step = max(rows // batch, 1)
ids = [f"lead-{n:09d}" for n in range(0, rows, step)][:batch]
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open_ledger(spec) as ledger:
    ledger.live_runs(key)  # the target row and the connection, read before the clock starts
    before = rss_mb()
    started = time.perf_counter()
    found = ledger.entries(key, ids)
    seconds = time.perf_counter() - started
    peak = rss_mb()
assert len(found) == len(ids), (len(found), len(ids))
print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": peak}), flush=True)
"""


def build(spec: str, rows: int) -> float:
    """Fill the ledger; CPU seconds per lead of this process."""
    from connectors.ledger_types import TargetKey
    from connectors.ledgers import open_ledger

    key = TargetKey(*KEY)
    cpu = time.process_time()
    with open_ledger(spec) as ledger:
        for start in range(0, rows, CHUNK):
            ids = [f"lead-{n:09d}" for n in range(start, min(start + CHUNK, rows))]
            ledger.begin_chunk(key, f"b{start}", ids, "run-1")
            ledger.settle_chunk(
                key, f"b{start}", [(eid, "accepted", f"v{eid}", None) for eid in ids], "run-1"
            )
    return (time.process_time() - cpu) / rows


def lookup(spec: str, rows: int, batch: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _LOOKUP, spec, str(rows), str(batch), json.dumps(KEY)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
        cwd=tempfile.gettempdir(),  # not this checkout: ``-c`` puts the working folder first on sys.path
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _database(admin: str) -> tuple[str, str]:
    name = f"leadflow_bench_{secrets.token_hex(4)}"
    parts = urlsplit(admin)
    return name, urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="delivered leads in the ledger")
    parser.add_argument("--batch", type=int, default=10, help="leads asked about")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="admin URL of a server: bench a PostgreSQL ledger")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            import psycopg

            name, spec = _database(args.postgres)
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
        else:
            spec = str(Path(tmp) / "ledger.sqlite")
        try:
            started = time.perf_counter()
            per_lead = build(spec, args.rows)
            built = time.perf_counter() - started
            runs = [lookup(spec, args.rows, args.batch) for _ in range(args.repeat)]
        finally:
            if args.postgres:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(
        f"{'postgresql' if args.postgres else 'sqlite'}: {args.rows} delivered leads, "
        f"built in {built:.1f} s wall, {per_lead * 1e6:.1f} us CPU per lead (this process)"
    )
    print(
        f"entries of {args.batch} leads, first call of a fresh process, median of {args.repeat}: "
        f"{statistics.median(r['seconds'] for r in runs) * 1000:.1f} ms, "
        f"peak RSS {statistics.median(r['before_mb'] for r in runs):.0f} MB before -> "
        f"{statistics.median(r['peak_mb'] for r in runs):.0f} MB after"
    )


if __name__ == "__main__":
    main()
