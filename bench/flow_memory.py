"""Benchmark: the ``import_leads`` Prefect flow's peak RSS on an N-row lead file, in a fresh process.

    python -m bench.flow_memory --rows 1000000 [--mode dry-run|validate] [--code /work/main]
    python -m bench.flow_memory --rows 200000 --partitions 3 [--code OLD_CHECKOUT]
    LEADFLOW_BATCH_ROWS=100000 python -m bench.flow_memory --rows 5000000 --keep /tmp/leads-5m.csv

Why: the flow is what the scheduled deployments and the watched folder run; issue 17 asks that
its memory not grow with the file, as ``leadflow import``'s does not. This runs the whole flow
(a real flow run under a temporary Prefect API, prefect_test_harness: its server is a process of
its own, not counted) on bench.normalize's generated file (six countries, ~10% broken values,
5% duplicate rows), in a child process whose own peak RSS (ru_maxrss) is the figure:

* ``--mode dry-run`` (default): the six targets of sample_data/sandbox.targets.toml with
  ``dry_run``: every payload and chunk built and every row given its result, nothing sent (no
  vendor in the process to hold what it received);
* ``--mode validate``: no targets file, the flow's validate-only path.

``--partitions K`` (dry run only): a split import, its K partitions run one after the other as
subflows in the same process (no ``partition_deployment``), so the figure is the larger of the
parent's peak (preparing, staging, writing the run folder from the parts) and a partition's.

``--code DIR`` runs the flow of another checkout (``--code /work/main``: the code before the
change) with this script: the child is this file run by its path with ``PYTHONPATH=DIR``.
Prints one JSON line: rows, mode, the child's wall and CPU seconds (user + sys, its threads
included), its RSS once Prefect's harness is up (``base_rss_mb``) and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
SANDBOX_ENVIRONMENT = {
    "SANDBOX_USER": "demo",
    "SANDBOX_PASSWORD": "demo-secret",
    "SANDBOX_ONC_ACCOUNT": "demo-account",
    "LEADFLOW_SANDBOX_URL": "http://127.0.0.1:9",  # never called: a dry run sends nothing
}


def _rss_mb() -> float:
    """Peak RSS of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, path: Path, out: Path, partitions: int = 1) -> dict[str, object]:
    """The flow on ``path`` in this process, under a temporary Prefect API."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE.parent]  # run by its path
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (the allocator's settings, before polars loads)

    with prefect_test_harness(server_startup_timeout=300):
        from flows.import_leads import import_leads

        base = _rss_mb()
        targets = str(REPO / "sample_data" / "sandbox.targets.toml") if mode == "dry-run" else None
        started, cpu = time.perf_counter(), time.process_time()
        split = {"partitions": partitions} if partitions > 1 else {}
        state = import_leads(
            str(path),
            targets,
            out_dir=str(out),
            country="US",
            dry_run=mode == "dry-run",
            return_state=True,
            **split,
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "mode": mode,
        "partitions": partitions,
        "state": state.name,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "base_rss_mb": round(base),
        "peak_rss_mb": round(_rss_mb()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mode", choices=("dry-run", "validate"), default="dry-run")
    parser.add_argument(
        "--partitions", type=int, default=1, help="a split import of K partitions (dry run), in this process"
    )
    parser.add_argument(
        "--code", type=Path, default=REPO, help="the checkout whose flow runs (default: this one)"
    )
    parser.add_argument("--keep", type=Path, help="the lead file: reused when it exists, else written there")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.partitions > 1 and args.mode != "dry-run":
        parser.error("--partitions splits an import: it needs --mode dry-run")
    if args.child:
        print(json.dumps(run_child(args.mode, args.file, args.out, args.partitions)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "leads.csv"
        if not path.exists():  # bench.normalize's file, written by a process of its own
            write = [
                sys.executable,
                "-m",
                "bench.normalize",
                "--write-file",
                str(path),
                "--rows",
                str(args.rows),
            ]
            subprocess.run(write, check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        command = [sys.executable, str(HERE), "--child", "--mode", args.mode, "--file", str(path)]
        command += ["--partitions", str(args.partitions)]
        command += ["--out", str(Path(folder) / "runs")]
        environment = {**os.environ, **SANDBOX_ENVIRONMENT, "PYTHONPATH": str(args.code.resolve())}
        environment.pop("LEADFLOW_LEDGER", None)
        done = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({"rows": args.rows, "code": str(args.code), **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
