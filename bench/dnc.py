"""Benchmark: the managed do-not-contact store at registry scale.

    python -m bench.dnc --entries 1000000 --rows 200000 [--postgres URL]

Not timed: a US National DNC Registry file of ``--entries`` lines (``areacode,number``; 10k of
them numbers of the lead file, so rows are really suppressed) and a messy lead file of
``--rows`` rows (sample_data.generate). Timed, each on its own:

* read: the registry file -> E.164 values (transforms.dnc_formats, vectorized);
* store: those entries into a fresh SQLite ledger (and ``--postgres``: a PostgreSQL database);
* load: what a run reads from the store (connectors.dnc.read_managed: the entries in force);
* apply: ``prepare_leads`` of the lead file with the store, minus the same without it (the
  cost a run pays for the store: loading it and the anti-join of every phone slot and email);
* erasure: the same with 1,000 erasure requests in the store (one HMAC per distinct value).

    python -m bench.dnc --entries 10000000 --memory [--code /path/to/other/checkout] [--repeat 3]

``--memory``: what holding a list of ``--entries`` entries costs a run, each measured in a
child process of its own (``--code``: that checkout's code, to compare against another
version; both must have flows.prepare's ``_suppression`` and ``with_managed``):

* store: ``with_managed`` reading a SQLite ledger of the registry's entries;
* file: ``_suppression`` reading a ``--suppress`` file of as many E.164 numbers (phone
  parsing included, in worker processes: their CPU time is counted, their memory is not).

Printed per child: wall and CPU seconds, the size of the result (the polars Series it
holds, and per entry), the resident memory after minus before (the result still referenced,
glibc's freed memory trimmed; polars' allocator keeps some), and the peak (the child's high-water mark
minus its resident before: VmHWM).
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl


def _timed(label: str, work, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work(*args, **kwargs)
    print(f"{label:<46} {time.perf_counter() - started:8.2f} s")
    return result


def _registry_file(path: Path, entries: int, listed: list[str]) -> None:
    rng = np.random.default_rng(18)
    areas = rng.integers(201, 990, entries)
    numbers = rng.integers(2_000_000, 9_999_999, entries)
    frame = pl.DataFrame({"area": areas, "number": numbers})
    own = pl.Series(listed).str.slice(2)  # +1AAANNNNNNN -> AAANNNNNNN
    frame = pl.concat(
        [
            frame.head(entries - own.len()),
            pl.DataFrame(
                {"area": own.str.slice(0, 3).cast(pl.Int64), "number": own.str.slice(3).cast(pl.Int64)}
            ),
        ]
    )
    frame.write_csv(path, include_header=False)


_AREAS = (201, 202, 212, 213, 214, 305, 310, 312, 404, 415, 512, 617, 646, 702, 713, 718, 805, 917)
"""Area codes in service: a random 7-digit number after them is a valid US number."""


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _high_water() -> int:
    """This process's peak resident memory (VmHWM: of its own image; ``ru_maxrss`` would report
    the parent's memory at the fork when that is larger)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _child(kind: str, path: str, warm: str) -> None:
    """One measurement (see the module docstring), printed as one JSON line. The same work on
    a list of 1,000 entries first, so that imports and first-use allocations are not counted."""
    from flows.prepare import _suppression, with_managed

    def work(at: str) -> object:
        return with_managed(None, at) if kind == "store" else _suppression((Path(at),), "US")

    work(warm)
    before = _resident()
    wall, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    held = work(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    peak = _high_water()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what glibc keeps of freed memory is not held
    resident = _resident() - before
    found = {"wall": wall, "cpu": cpu, "held": resident, "peak": peak - before, "size": _size(held)}
    print(json.dumps(found))
    del held


def _size(found: object) -> int:
    """Bytes of the polars Series reachable from ``found`` (tuples, dataclasses)."""
    if isinstance(found, pl.Series):
        return int(found.estimated_size())
    if isinstance(found, tuple | list):
        return sum(_size(item) for item in found)
    if dataclasses.is_dataclass(found):
        return sum(_size(getattr(found, f.name)) for f in dataclasses.fields(found))
    return 0


def _measure(kind: str, path: Path, code: str, entries: int) -> None:
    env = {**os.environ, "PYTHONPATH": code}
    warm = path.with_name(f"warm-{path.name}")
    done = subprocess.run(
        [sys.executable, "-m", "bench.dnc", "--child", kind, "--path", str(path), "--warm", str(warm)],
        env=env, cwd=code, capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{kind:<6} {entries:>11,} {got['wall']:7.2f} s wall {got['cpu']:7.2f} s cpu "
        f"{got['size'] / 1e6:8.1f} MB result ({got['size'] / entries:5.1f} B/entry) "
        f"{got['held'] / 1e6:8.1f} MB resident {got['peak'] / 1e6:8.1f} MB peak  ({code})"
    )


def _memory(entries: int, code: str, repeat: int, kinds: tuple[str, ...]) -> None:
    from connectors.dnc import open_dnc_store
    from connectors.dnc_types import ENTRY_SCHEMA
    from transforms.dnc_formats import read_dnc_file

    with tempfile.TemporaryDirectory(prefix="bench-dnc-") as folder:
        root = Path(folder)
        now = datetime.now(UTC)
        for prefix, size in (("warm-", 1_000), ("", entries)):
            rng = np.random.default_rng(17)
            numbers = pl.DataFrame(
                {"area": rng.choice(_AREAS, size), "number": rng.integers(2_000_000, 9_999_999, size)}
            )
            registry = root / f"{prefix}registry.txt"
            numbers.write_csv(registry, include_header=False)
            listed = root / f"{prefix}do_not_contact.csv"
            numbers.select(pl.format("+1{}{}", "area", "number")).write_csv(listed, include_header=False)
            del numbers
            read = read_dnc_file(registry)
            with open_dnc_store(root / f"{prefix}ledger.sqlite") as store:
                store.add(
                    read.values.select(
                        "value", "kind", source=pl.lit("us-national"), reason=pl.lit(None, pl.String),
                        added_at=pl.lit(now), expires_at=pl.lit(None, pl.Datetime("us", "UTC")),
                    ).unique("value").cast(ENTRY_SCHEMA)  # type: ignore[arg-type]
                )  # fmt: skip
            del read
        paths = {"store": root / "ledger.sqlite", "file": root / "do_not_contact.csv"}
        for _ in range(repeat):
            for kind in kinds:
                _measure(kind, paths[kind], code, entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", help="also store into this PostgreSQL database (tables dnc_*)")
    parser.add_argument("--memory", action="store_true", help="measure what holding the list costs")
    parser.add_argument("--code", default=os.getcwd(), help="--memory: the checkout whose code is measured")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=("store", "file"), help="--memory: measure this one only")
    parser.add_argument("--child", choices=("store", "file"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--warm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.path, args.warm)
        return
    if args.memory:
        _memory(args.entries, args.code, args.repeat, (args.only,) if args.only else ("store", "file"))
        return

    from connectors.dnc import open_dnc_store, read_managed
    from connectors.dnc_erasure import checked_key, erasure_hash
    from connectors.dnc_types import ENTRY_SCHEMA
    from flows.prepare import PrepareOptions, prepare_leads
    from sample_data.generate import messy_lead_frame
    from transforms.dnc_formats import read_dnc_file

    with tempfile.TemporaryDirectory(prefix="bench-dnc-") as folder:
        root = Path(folder)
        leads = root / "leads.csv"
        messy_lead_frame(args.rows, 3, countries=("US",)).write_csv(leads)
        plain = prepare_leads(leads, PrepareOptions(country="US"))
        us = plain.clean.select(pl.col("phone1").drop_nulls().unique().sort()).filter(
            pl.col("phone1").str.starts_with("+1")
        )["phone1"]
        listed = us.head(10_000).to_list()
        registry = root / "registry.txt"
        _registry_file(registry, args.entries, listed)
        print(
            f"{args.entries:,} registry lines, {args.rows:,} lead rows "
            f"({len(listed):,} of their numbers listed)"
        )

        read = _timed("read registry file (ftc format)", read_dnc_file, registry)
        now = datetime.now(UTC)
        entries = read.values.select(
            "value", "kind", source=pl.lit("us-national"), reason=pl.lit(None, pl.String),
            added_at=pl.lit(now), expires_at=pl.lit(None, pl.Datetime("us", "UTC")),
        ).unique("value").cast(ENTRY_SCHEMA)  # type: ignore[arg-type]  # fmt: skip
        ledger = root / "ledger.sqlite"
        store = open_dnc_store(ledger)
        _timed(f"store {entries.height:,} entries (SQLite)", store.add, entries)
        if args.postgres:
            pg = open_dnc_store(args.postgres)
            _timed(f"store {entries.height:,} entries (PostgreSQL)", pg.add, entries)
            _timed("load entries in force (PostgreSQL)", read_managed, args.postgres, now)
            pg.close()
        _timed("load entries in force (SQLite)", read_managed, str(ledger), now)

        options = PrepareOptions(country="US")
        started = time.perf_counter()
        prepare_leads(leads, options)
        without = time.perf_counter() - started
        started = time.perf_counter()
        applied = prepare_leads(leads, PrepareOptions(country="US", ledger=str(ledger)))
        with_store = time.perf_counter() - started
        suppressed = applied.clean.filter(pl.col("disposition") == "suppressed").height
        print(f"{'prepare without the store':<46} {without:8.2f} s")
        print(f"{'prepare with the store':<46} {with_store:8.2f} s  ({suppressed:,} rows suppressed)")
        print(f"{'  cost of applying the store':<46} {with_store - without:8.2f} s")

        key = checked_key(store, record=True)
        for value in listed[:1000]:
            store.erase(value, erasure_hash(key, value), "bench", now)
        store.close()
        started = time.perf_counter()
        erased = prepare_leads(leads, PrepareOptions(country="US", ledger=str(ledger)))
        took = time.perf_counter() - started
        suppressed = erased.clean.filter(pl.col("disposition") == "suppressed").height
        print(
            f"{'prepare with 1,000 erasures in the store':<46} {took:8.2f} s  "
            f"({suppressed:,} rows suppressed)"
        )


if __name__ == "__main__":
    main()
