"""Benchmark: what each command costs as a whole process, start-up included.

    python -m bench.startup [--rows 1] [--runs 5] [--python PATH] [--root DIR] [--vs DIR]

Every command runs ``--runs`` times after one warm-up, each in a fresh interpreter
(``PYTHON -m flows.cli ...`` with ``PYTHONPATH=ROOT``), and prints the median (min-max) of its
wall time and of its CPU time (user + sys of the child, which a shared machine disturbs less).
Commands: ``--help``, ``validate --help``, ``import --help``, ``report --help``, ``watch
--help``, ``serve --help`` and a ``validate`` of two generated files of ``--rows`` rows (one:
the start-up of a real run): ``validate FILE`` (international phones, emails, names) and
``validate COUNTRY`` (national phones with an ISO country code, names: issue 17's file).
``--vs DIR`` runs the same commands from another checkout in turn (A B A B ...) and adds the
median of the CPU ratios pair by pair (this checkout over the other: below 1 is faster).

Not timed: writing the lead file. Each validate writes its own run folder in a temporary
folder. A production install (``pip install -c constraints.txt '.[fast]'``, no dev extras) has
no pandas or hypothesis for pandera to load: pass its interpreter as ``--python`` and
``--root`` an empty folder to time the installed package.

Measured (issue 17, ``--runs 3 --vs`` the code before, machine at load 17, so walls run high;
CPU medians): ``watch --help`` 0.08 s against 2.20 and ``serve --help`` 0.09 s against 2.05
(they imported Prefect, the intake registry's psycopg, watchfiles and httpx before reading
their arguments); the other ``--help`` 0.04-0.07 s either way; a one-row ``validate`` 1.80 s
against 1.97 with the development extras (pandera then loads pandas and hypothesis, 0.55 s).

Measured again (issue 17, one-row ``validate``: ``--runs 5 --vs`` the code before, the
development venv, in which a validate now loads neither pandera, pandas nor hypothesis, nor
pydantic or pyarrow.compute; machine shared at load 13-15, so walls run high; CPU medians):
``validate FILE`` 0.63 s against 0.80 (ratio 0.79), ``validate COUNTRY`` 0.65 against 0.89
(0.73), as this machine runs them, where PYTHONDONTWRITEBYTECODE is set and the editable
install has no ``__pycache__``: every start compiles the project's ~75 modules (~0.1 s). With
a bytecode cache (``PYTHONPYCACHEPREFIX``, as an installed package has its .pyc files): 0.56
against 0.71 and 0.58 against 0.79. The ``--help`` commands as before (0.03-0.08 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands(lead_file: Path, country_file: Path, out: Path) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "validate --help": ["validate", "--help"],
        "import --help": ["import", "--help"],
        "report --help": ["report", "--help"],
        "watch --help": ["watch", "--help"],
        "serve --help": ["serve", "--help"],
        "validate FILE": ["validate", str(lead_file), "--out", str(out)],
        "validate COUNTRY": ["validate", str(country_file), "--out", str(out)],
    }


def _lead_file(path: Path, rows: int) -> None:
    lines = ["phone,email,first_name"]
    lines += [f"+1415555{index % 10_000:04d},lead{index}@example.com,Lead {index}" for index in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _country_file(path: Path, rows: int) -> None:
    lines = ["first_name,phone,country"]
    lines += [f"Lead {index},202555{index % 10_000:04d},US" for index in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _once(python: str, root: Path, argv: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of ``leadflow argv`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "flows.cli", *argv], env=env, cwd=root, capture_output=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"leadflow {' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1, help="rows of the validated file (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each command (default 5)")
    parser.add_argument("--python", default=sys.executable, help="interpreter (default: this one)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout on PYTHONPATH (default: this one)")
    parser.add_argument("--vs", type=Path, help="another checkout, run in turn with this one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="leadflow-startup-") as folder:
        lead_file = Path(folder) / "leads.csv"
        _lead_file(lead_file, args.rows)
        country_file = Path(folder) / "country.csv"
        _country_file(country_file, args.rows)
        roots = [args.root] if args.vs is None else [args.root, args.vs]
        print(f"{args.python}; {args.runs} runs after a warm-up; seconds, median (min-max)")
        header = f"{'command':<18} {'checkout':<28} {'wall':>18} {'cpu':>18}"
        print(header + ("  cpu ratio" if args.vs else ""))
        for name, argv in _commands(lead_file, country_file, Path(folder) / "out").items():
            walls: dict[Path, list[float]] = {root: [] for root in roots}
            cpus: dict[Path, list[float]] = {root: [] for root in roots}
            for root in roots:
                _once(args.python, root, argv)  # warm-up: the file cache, compiled bytecode
            for _ in range(args.runs):
                for root in roots:
                    wall, cpu = _once(args.python, root, argv)
                    walls[root].append(wall)
                    cpus[root].append(cpu)
            for root in roots:
                line = (
                    f"{name:<18} {str(root)[-28:]:<28} {_spread(walls[root]):>18} {_spread(cpus[root]):>18}"
                )
                if args.vs and root == args.root:
                    ratios = [a / b for a, b in zip(cpus[args.root], cpus[args.vs], strict=True) if b]
                    line += f"  {statistics.median(ratios):.2f}"
                print(line)


if __name__ == "__main__":
    main()
