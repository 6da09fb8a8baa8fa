"""Parse throughput of each phone backend, serial and in a process pool (not a test).

    python bench/phones.py --values 300000            # throughput table
    python bench/phones.py --diff-metadata DIR        # regions whose metadata differs from DIR

``--diff-metadata`` takes an unpacked phonenumbers wheel of the release rphonenumbers was built
from (``pip download --no-deps phonenumbers==<rphonenumbers.__phonenumbers_version__>``) and
prints the regions to put in transforms.phone_backend.FALLBACK_REGIONS.

The phone stage as a whole (transforms.phones.phone_columns over the 1M file's first four
100k-row batches, the code before and after alternating batch by batch in one process, so that
other jobs' load, 3-7 on 2 cores, falls on both alike; 12 rounds): 473 -> 450 CPU-ms a batch
(medians; 0.935 pair by pair, 0.95-0.97 in earlier rounds). The clean-up keeps the values in
order (the quarter it may repair are repaired apart, from their clean form, with a match and
strips rather than regex replacements, and scattered back); the answers are made in one plan
from the columnar parse's parts (left as plans by transforms.phone_columnar
``decide_columns``), the per-value answers and the final selection, and are never sorted:
transforms.distinct ``reordered`` sends them to the rows in the order they come (before: eight
queries, two sorts of 130k answers, 13 CPU-ms each, and five scatters). ``leadflow validate``
of the 1M file, 10 pairs alternating at load 4.5-7.5: 0.945 CPU pair by pair (medians 13.7 ->
13.3 and 16.1 -> 16.0 CPU-s in two rounds of five, the second with every change), wall too
loaded to mean anything (0.76 and 1.05 in the two rounds); results, summary and run.json
identical, also on the 245-region file, where the default stays level with
``LEADFLOW_PHONE_COLUMNAR=0`` (6 alternating runs: 12.9/8.6 against 13.1/8.4 CPU-s, 9.9/5.8
against 12.4/8.8 s wall, medians of two rounds). A batch's ~98 polars queries hold 90% of the
stage's CPU and their fixed cost is small in polars 2.1 (0.2 ms for a one-step query, about 0.4
ms a step): the regions' reading 90 ms, preparation 60, zone ids 40, clean-up 40,
with_timezones 45, gathering answers to rows 31. Tried and dropped: one plan for the three
country steps and one gather for the three phone columns (six queries fewer, no measurable
change); the preparation's three kinds as masked columns of one frame rather than filtered
parts (108 vs 76 ms: a when/then builds every branch). A regex still reads the bytes under a
null; an empty string it rejects at once (8.3 vs 3.3 ms for 130k values, 10% kept), which the
general pattern's second look at prefixed numbers now uses.
"""

from __future__ import annotations

import argparse
import filecmp
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers

from transforms.phone_backend import BackendName, parse_values

REGIONS = ("US", "GB", "DE", "FR", "ES", "BR", "MX", "AU", "IN")
TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def values(n: int, chosen: tuple[str, ...], seed: int = 7) -> tuple[list[str], list[str | None]]:
    """Distinct-ish lead phones: example-number shapes with random tails, several written forms."""
    rng = random.Random(seed)
    shapes = []
    for region in chosen:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                shapes.append((region, example))
    out: list[str] = []
    regions: list[str | None] = []
    for _ in range(n):
        region, example = rng.choice(shapes)
        nsn = phonenumbers.national_significant_number(example)
        nsn = nsn[:3] + "".join(rng.choice("0123456789") for _ in nsn[3:])
        number = phonenumbers.parse(f"+{example.country_code}{nsn}")
        form = rng.choice((phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.E164))
        text = phonenumbers.format_number(number, form)
        if rng.random() < 0.1:
            text = text[:-2]
        out.append(text)
        regions.append(region)
    return out, regions


def measure(vals: list[str], regions: list[str | None], backend: BackendName, workers: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    parse_values(
        vals, regions, backend=backend, workers=workers, pool_threshold=0 if workers > 1 else len(vals)
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    cpu_note = f"  ({len(vals) / cpu:>9,.0f}/s per CPU-second)" if workers == 1 else ""
    print(f"{backend:<14} workers={workers}  {len(vals) / wall:>9,.0f} values/s  {wall:6.2f}s wall{cpu_note}")


def diff_metadata(old: Path) -> None:
    new_data = Path(phonenumbers.__file__).parent / "data"
    old_data = old / "phonenumbers" / "data" if (old / "phonenumbers").is_dir() else old
    changed = sorted(
        path.stem.removeprefix("region_")
        for path in new_data.glob("region_*.py")
        if not (old_data / path.name).is_file() or not filecmp.cmp(path, old_data / path.name, shallow=False)
    )
    print(" ".join(changed))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--regions", default=",".join(REGIONS), help="comma-separated default regions")
    parser.add_argument("--diff-metadata", type=Path)
    args = parser.parse_args()
    if args.diff_metadata:
        diff_metadata(args.diff_metadata)
        return
    chosen = tuple(args.regions.split(","))
    vals, regions = values(args.values, chosen)
    print(f"{len(vals):,} values, {len(set(zip(vals, regions, strict=True))):,} distinct, regions {chosen}")
    for backend in ("rphonenumbers", "phonenumbers"):
        for workers in (1, 2):
            share = len(vals) if backend == "rphonenumbers" else len(vals) // 4
            measure(vals[:share], regions[:share], backend, workers)


if __name__ == "__main__":
    main()
