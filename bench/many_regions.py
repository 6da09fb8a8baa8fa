"""A lead file whose phones come from every region libphonenumber knows (bench/normalize.py
``--regions all``).

Why: the six-country file of the main benchmark has a few large regions, the case the columnar
phone parser (transforms.phone_columnar) is built for. A file from a global list spreads its
values over all 245 regions, a few hundred to a few thousand each, where a region's fixed cost
in the columnar parser matters as much as the per-value cost.

Numbers are each region's own example numbers (mobile and fixed line, from phonenumbers'
metadata) with their tails redrawn, so most are valid and some fall into neighbouring ranges;
they are written the ways people write them: E.164, international with spaces, national with
the trunk prefix (the row's country says which region), "00" + calling code, and with an
extension. The country column is the region's ISO code. Deterministic per seed.
"""

from __future__ import annotations

import numpy as np
import phonenumbers
import polars as pl

__all__ = ["ALL_REGIONS", "many_regions_frame"]

ALL_REGIONS: tuple[str, ...] = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))
_FIRST = ("Ana", "Wei", "Amara", "Lars", "Priya", "Omar")
_LAST = ("Silva", "Chen", "Okafor", "Berg", "Iyer", "Haddad")
_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def _shapes(regions: tuple[str, ...]) -> pl.DataFrame:
    """One row per (region, number type) that has an example number: its calling code, the
    national significant number, and the national prefix people type before it."""
    rows = []
    for region in regions:
        trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
        for kind in _TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                nsn = phonenumbers.national_significant_number(example)
                rows.append((region, str(example.country_code), nsn, trunk))
    return pl.DataFrame(rows, schema=["region", "cc", "nsn", "trunk"], orient="row")


def _phones(rng: np.random.Generator, shapes: pl.DataFrame, region_index: np.ndarray) -> pl.Series:
    """A phone of each row's region, in one of six written forms."""
    n = len(region_index)
    by_region = shapes.group_by("region", maintain_order=True).agg(pl.int_range(pl.len()).alias("_k"))
    counts = by_region.select(pl.col("_k").list.len()).to_series().to_numpy().astype(np.int64)
    starts = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)[:-1]])
    pick = starts[region_index] + rng.integers(0, 1 << 30, size=n) % counts[region_index]
    table = shapes[pick]
    keep = 3
    tail = pl.Series(rng.integers(0, 10**12, size=n, dtype=np.int64)).cast(pl.String).str.zfill(12)
    nsn = pl.col("nsn")
    national = nsn.str.slice(0, keep) + pl.col("_tail").str.slice(0, (nsn.str.len_chars() - keep).clip(0))
    style = pl.Series(rng.integers(0, 6, size=n))
    spaced = pl.concat_str([pl.col("_n").str.slice(0, 3), pl.col("_n").str.slice(3)], separator=" ")
    written = (
        pl.when(pl.col("_style") == 0)
        .then(pl.lit("+") + pl.col("cc") + pl.col("_n"))
        .when(pl.col("_style") == 1)
        .then(pl.lit("+") + pl.col("cc") + pl.lit(" ") + spaced)
        .when(pl.col("_style") == 2)
        .then(pl.col("trunk") + pl.col("_n"))
        .when(pl.col("_style") == 3)
        .then(pl.lit("00") + pl.col("cc") + pl.col("_n"))
        .when(pl.col("_style") == 4)
        .then(pl.col("trunk") + spaced)
        .otherwise(pl.lit("+") + pl.col("cc") + pl.lit("-") + pl.col("_n") + pl.lit(" x12"))
    )
    return (
        table.with_columns(_tail=tail, _style=style)
        .with_columns(_n=national)
        .select(written.alias("phone"))
        .to_series()
    )


def many_regions_frame(
    n: int, seed: int = 17, *, regions: tuple[str, ...] = ALL_REGIONS, phone_share: float = 0.5
) -> pl.DataFrame:
    """n leads spread evenly over ``regions`` (the row's country), about 1 + ``phone_share``
    phones each, a second phone from the same region."""
    rng = np.random.default_rng(seed)
    shapes = _shapes(regions)
    present = tuple(shapes.get_column("region").unique(maintain_order=True).to_list())
    region_index = rng.integers(0, len(present), size=n)
    second = _phones(rng, shapes, region_index)
    has_second = pl.Series(rng.random(n) < phone_share)
    ids = pl.Series(rng.permutation(n) + 1_000_000).cast(pl.String)
    return pl.DataFrame(
        {
            "customer_id": "G" + ids,
            "first_name": pl.Series(_FIRST)[rng.integers(0, len(_FIRST), n)],
            "last_name": pl.Series(_LAST)[rng.integers(0, len(_LAST), n)],
            "phone": _phones(rng, shapes, region_index),
            "mobile": pl.select(pl.when(has_second).then(second)).to_series(),
            "email": ("lead" + ids + "@example.com"),
            "country": pl.Series(present)[region_index],
        }
    )
