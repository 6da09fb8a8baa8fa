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
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", help="also store into this PostgreSQL database (tables dnc_*)")
    args = parser.parse_args()

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
