"""Benchmark: the peak RSS of each of the report's aggregations over a run's results, each in a
fresh process.

    python -m bench.report_memory RUN_DIR [--only reasons,lead_view] [--code /work/main]

Why: ``leadflow validate`` of a large file peaks in its report phase, after the batches (issue
17), and in one process the aggregations' peaks hide one another (the allocator keeps what the
first freed for the next). Each aggregation here runs alone in a child process (imports and the
lazy scan of the run's parts first: ``base_rss_mb``), reading the result parts the way
``leadflow validate`` does after its batches:

* ``invariant``: transforms.results.check_row_invariant;
* ``summary``: transforms.summary.summarize (summary.json);
* ``outcomes``: every lead's outcome (flows.report.leads ``_outcomes``);
* ``lead_view``: flows.report.leads.lead_view (outcomes, counts, the leads shown, statuses);
* ``reasons``: flows.report.leads.reasons_by_lead;
* ``figures``: flows.report.figures.run_figures with summary.json read back (what the report
  of ``leadflow validate`` computes: lead_view and reasons_by_lead in one process).

Make the run folder once with ``leadflow validate FILE --out DIR``. ``--code DIR`` runs another
checkout's aggregations (the code before a change). Prints one JSON line per aggregation: its
wall and CPU seconds and its base and peak RSS in MiB (ru_maxrss / 1024, as bench.normalize).

Measured on a 10M-row run folder of bench.normalize's file (one target, ``validate``), base
188 MiB each: before the reasons' distinct leads were counted a range of leads at a time,
``reasons`` peaked at 1,067, ``lead_view`` at 719 (of which the join of every result to the
leads not delivered everywhere, for their statuses, about 280) and ``figures`` at 1,050; after,
279, 407 and 407. ``outcomes`` 371, ``summary`` 336 and ``invariant`` 285 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
AGGREGATIONS = ("invariant", "summary", "outcomes", "lead_view", "reasons", "figures")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _aggregation(name: str, run_dir: Path) -> Callable[[], object]:
    """The aggregation ``name`` over ``run_dir``'s results, its scan already made."""
    from flows.report import leads
    from flows.report.figures import run_figures, written_summary
    from flows.report.lead_sections import LEAD_LIMIT
    from flows.report.runs import load_run
    from transforms.results import check_row_invariant
    from transforms.summary import summarize

    run = load_run(run_dir)
    rows = json.loads((run_dir / "run.json").read_text())["rows"]
    targets = run.target_names
    table: dict[str, Callable[[], object]] = {
        "invariant": lambda: check_row_invariant(run.results, rows, len(targets)),
        "summary": lambda: summarize(run.results, targets),
        "outcomes": lambda: leads._outcomes(run.results),
        "lead_view": lambda: leads.lead_view(run.results, targets, LEAD_LIMIT),
        "reasons": lambda: leads.reasons_by_lead(run.results),
        "figures": lambda: run_figures(run, written_summary(run_dir)),
    }
    return table[name]


def child(name: str, run_dir: Path) -> None:
    import flows  # noqa: F401  (the allocator's settings, before polars loads)

    work = _aggregation(name, run_dir)
    base = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        json.dumps(
            {
                "wall": round(wall, 2),
                "cpu": round(cpu, 2),
                "base_rss_mb": round(base),
                "peak_rss_mb": round(_rss_mb()),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--only", help="comma-separated aggregations (default: all)")
    parser.add_argument("--code", type=Path, help="checkout whose code runs (default: this one)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.run_dir)
        return
    code = args.code or HERE.parent.parent
    env = {**os.environ, "PYTHONPATH": str(code)}
    for name in args.only.split(",") if args.only else AGGREGATIONS:
        done = subprocess.run(
            [sys.executable, str(HERE), str(args.run_dir), "--child", name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"aggregation": name, "code": str(code), **figures}), flush=True)


if __name__ == "__main__":
    main()
