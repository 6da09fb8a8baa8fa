"""``leadflow import`` batch by batch, reading the next batch while one is sent, or not.

    .venv/bin/python bench/import_overlap.py --rows 20000 --batch 2000 --latency 0.05 --repeat 3

Starts the sandbox as a subprocess (bench.dispatch), writes a messy lead file of ``--rows`` rows
(sample_data.generate) and sends it to the sandbox's OBI in batches of ``--batch`` rows through
flows.import_batches.send_in_batches, with ``SendSettings.read_ahead`` on and off, alternating,
each run in a fresh process with a fresh ledger and the sandbox reset. ``--latency`` seconds are
added to every OBI upload by the sandbox (a vendor's round trip; the loopback has none). Prints
per mode the median wall seconds, CPU seconds of the run's process (all its threads) and its
peak RSS; the results of both modes are compared row for row (status, reasons, vendor fields but
the run's ids and times).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.dispatch import REPO_ROOT, reset, start_sandbox

_CHILD = """
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
import polars as pl
from flows.import_batches import SendSettings, send_in_batches
from flows.importer import load_connectors
from flows.prepare import PrepareOptions
from flows.prepare_batches import prepare_batches
file, targets, batch, out = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[5])
ahead = sys.argv[4] == "1"
wall, cpu = time.perf_counter(), time.process_time()
batched = prepare_batches(Path(file), PrepareOptions(), rows=batch)
settings = SendSettings("20261204T000000Z-00000000" + sys.argv[4], out / "ledger.sqlite",
                        datetime(2026, 12, 4, 12, tzinfo=UTC), read_ahead=ahead)
run_dir, facts = send_in_batches(batched, load_connectors(targets), settings, out_dir=out, report=False)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
results = pl.read_parquet(run_dir / "results" / "*" / "*.parquet")
keep = [c for c in results.columns if c not in ("run_id", "vendor_id", "batch_id", "sent_at")]
results.select(keep).sort("target", "source_row").write_parquet(out / "compare.parquet")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
found = {"wall": wall, "cpu": cpu, "peak_mb": peak, "statuses": facts["obi"]["statuses"]}
print(json.dumps(found), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox adds to each upload")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sample_data.generate import messy_lead_frame

    process, server = start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            file = folder / "leads.csv"
            messy_lead_frame(args.rows, 11).write_csv(file)
            targets = folder / "targets.toml"
            section = (REPO_ROOT / "sample_data" / "sandbox.targets.toml").read_text().split("[targets.")[1]
            targets.write_text("[targets." + section)
            env = os.environ | {
                "LEADFLOW_SANDBOX_URL": server,
                "SANDBOX_USER": "demo",
                "SANDBOX_PASSWORD": "demo-secret",
                "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO_ROOT)),
            }
            runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
            for n in range(args.repeat):
                for ahead in (False, True):
                    reset(server)
                    faults = {"vendors": {"sinch_obi": {"*/customers/list": {"latency": args.latency}}}}
                    httpx.post(f"{server}/_sandbox/faults", json=faults).raise_for_status()
                    out = folder / f"out-{n}-{int(ahead)}"
                    out.mkdir()
                    argv = [str(file), str(targets), str(args.batch), str(int(ahead)), str(out)]
                    done = subprocess.run(
                        [sys.executable, "-c", _CHILD, *argv],
                        env=env,
                        cwd=tmp,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    runs[ahead].append(json.loads(done.stdout.strip().splitlines()[-1]))
            import polars as pl

            same = all(
                pl.read_parquet(folder / f"out-{n}-1" / "compare.parquet").equals(
                    pl.read_parquet(folder / f"out-{n}-0" / "compare.parquet")
                )
                for n in range(args.repeat)
            )
    finally:
        process.kill()
        process.wait()
    print(
        f"{args.rows} rows in batches of {args.batch}, OBI upload latency {args.latency:g} s, "
        f"{args.repeat} runs each"
    )
    for ahead, measured in runs.items():
        print(
            f"read_ahead={ahead!s:5}: wall {statistics.median(r['wall'] for r in measured):6.2f} s, "
            f"CPU {statistics.median(r['cpu'] for r in measured):6.2f} s, "
            f"peak RSS {statistics.median(r['peak_mb'] for r in measured):5.0f} MB, "
            f"statuses {measured[0]['statuses']}"
        )
    print(f"results identical in every pair: {same}")


if __name__ == "__main__":
    main()
