"""Which leads' zones a change of the zone rules moves, on a mixed international file.

    PYTHONPATH=<tree A> python bench/zone_changes.py --rows 50000 --write a.parquet
    PYTHONPATH=<tree B> python bench/zone_changes.py --rows 50000 --write b.parquet
    python bench/zone_changes.py --compare a.parquet b.parquet

The file holds valid numbers of every region phonenumbers supports (its example mobile,
fixed-line and toll-free numbers with the last three digits redrawn), written with "+", half
of the rows with their country's ISO code and half without one. It is normalized with
whichever code is on PYTHONPATH (transforms.normalize.clean_leads, no default region), and
``source_row``, ``country``, ``timezone`` and ``timezone_source`` are written for comparing.
Plain script, no imports from this repository's ``bench`` package, so it runs on any tree.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import phonenumbers
import polars as pl

_KINDS = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)


def mixed_numbers(rows: int, seed: int = 18) -> pl.DataFrame:
    """``rows`` leads with valid numbers of every supported region (see the module docstring)."""
    rng = random.Random(seed)
    examples = [
        (region, example)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in _KINDS
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    phones, countries = [], []
    while len(phones) < rows:
        region, example = examples[rng.randrange(len(examples))]
        national = str(example.national_number)
        candidate = national[:-3] + f"{rng.randrange(1000):03d}" if len(national) > 4 else national
        number = phonenumbers.parse(f"+{example.country_code}{candidate}", None)
        if not phonenumbers.is_valid_number(number):
            number = example
        phones.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
        countries.append(region if rng.random() < 0.5 else None)
    return pl.DataFrame({"phone1": phones, "country": countries})


def normalized_zones(leads: pl.DataFrame) -> pl.DataFrame:
    from schemas.raw_leads import RAW_LEADS
    from transforms.normalize import clean_leads

    n = leads.height
    raw = pl.DataFrame(
        {
            "source_row": range(1, n + 1),
            "external_id": [f"z{i}" for i in range(n)],
            "first_name": [None] * n,
            "last_name": [None] * n,
            "phone1": leads["phone1"],
            "phone2": [None] * n,
            "phone3": [None] * n,
            "email": [None] * n,
            "country": leads["country"],
            "timezone": [None] * n,
            "attributes": [[] for _ in range(n)],
            "issues": [[] for _ in range(n)],
        },
        schema=RAW_LEADS,
    )
    clean = clean_leads(raw, default_region=None, source="zones")
    return clean.select("source_row", "phone1", "country", "timezone", "timezone_source")


def compare(before: pl.DataFrame, after: pl.DataFrame) -> None:
    joined = before.join(after, on="source_row", suffix="_after")
    moved = joined.filter(pl.col("timezone").ne_missing(pl.col("timezone_after")))
    print(f"rows: {joined.height:,}; zone changed: {moved.height:,} ({moved.height / joined.height:.1%})")
    print("by source (before -> after):")
    with pl.Config(tbl_rows=40, fmt_str_lengths=40, tbl_width_chars=160):
        print(
            joined.group_by("timezone_source", "timezone_source_after")
            .agg(rows=pl.len(), changed=pl.col("timezone").ne_missing(pl.col("timezone_after")).sum())
            .sort("rows", descending=True)
        )
        print("most frequent changes:")
        print(
            moved.group_by("timezone", "timezone_after")
            .agg(rows=pl.len(), example=pl.col("phone1").first())
            .sort("rows", descending=True)
            .head(25)
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--compare", type=Path, nargs=2)
    args = parser.parse_args()
    if args.compare:
        compare(pl.read_parquet(args.compare[0]), pl.read_parquet(args.compare[1]))
    if args.write:
        normalized_zones(mixed_numbers(args.rows)).write_parquet(args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
