"""A file's default region, inferred from its own international numbers when they clearly agree.

A file with no country column and no ``--country`` leaves every national number unread
(PHONE_NO_REGION), even when all of its international numbers are +1 US ones: the CRM wrote
some numbers with "+1" and the rest without. The file itself then says which country it is
about, but only when it says so clearly, and the run says what it inferred:

* only rows without a recognised country count, and only their numbers written with "+" or
  "00" that phonenumbers calls valid; each distinct number counts once (a number repeated
  down a file is one piece of evidence, not hundreds), at most ``SAMPLE`` of them, drawn
  evenly from the file;
* a number counts for a region only when exactly one region of its calling code accepts it:
  +1 415 555 2671 is the US, +1 416 555 0123 Canada, a +1 800 toll-free number nobody (it is
  valid in every NANP region), a +44 7781 number nobody (GB and Jersey share it);
* a region is inferred when at least ``MIN_NUMBERS`` international numbers were read and at
  least ``MIN_SHARE`` of them are that region's. Why these: a US file of leads collected
  worldwide often holds a few foreign numbers, and one in ten is allowed for; fewer than 20
  numbers is too little to decide for thousands of national ones (with 18 of 20 agreeing, the
  lower 95% Wilson bound on the share is still 0.70, a clear majority; with 9 of 10 it is
  0.60). Never from a minority, never silently: :attr:`RegionInference.note` is written to
  run.json and shown by the CLI and the report, whether a region was inferred or not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

import phonenumbers
import polars as pl

from schemas.clean_leads import PHONE_SLOTS
from transforms.countries import resolve_country_values

__all__ = [
    "MIN_NUMBERS",
    "MIN_SHARE",
    "SAMPLE",
    "RegionInference",
    "infer_from_values",
    "infer_region",
    "international_values",
    "region_of",
]

MIN_NUMBERS: Final = 20
MIN_SHARE: Final = 0.9
SAMPLE: Final = 2_000
"""At most this many distinct international numbers are parsed (about 30 ms)."""

_INTERNATIONAL: Final = r"^\s*'?\s*(?:\+|00)[1-9]"


@dataclass(frozen=True)
class RegionInference:
    """What the file's international numbers say about its region."""

    region: str | None
    """The inferred region, or None when the numbers do not clearly agree."""
    agreeing: int
    """International numbers of the most common region."""
    international: int
    """International numbers read (valid, distinct, at most ``SAMPLE``)."""
    leading: str | None = None
    """The most common region, inferred or not."""

    @property
    def note(self) -> str:
        """The line for run.json, the CLI and the report."""
        if self.region is not None:
            counts = f"{self.agreeing} of {self.international}"
            return f"region inferred: {self.region} from {counts} international numbers"
        if self.international == 0 or self.leading is None:
            return "region not inferred: the rows without a country have no valid international numbers"
        return (
            f"region not inferred: {self.agreeing} of {self.international} international numbers are "
            f"{self.leading} (needs {MIN_SHARE:.0%} of at least {MIN_NUMBERS}); give --country"
        )


def _parsed(value: str) -> phonenumbers.PhoneNumber | None:
    """``value`` as an international number, when phonenumbers calls it valid."""
    text = value.strip().lstrip("'").strip()
    text = "+" + text[2:] if text.startswith("00") else text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def region_of(number: phonenumbers.PhoneNumber) -> str | None:
    """The one region that accepts ``number``, else None (a NANP toll-free number: every one)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0, ())
    accepting = [region for region in regions if phonenumbers.is_valid_number_for_region(number, region)]
    return accepting[0] if len(accepting) == 1 else None


def infer_region(raw: pl.DataFrame) -> RegionInference | None:
    """The region the international numbers of ``raw``'s rows without a recognised country
    agree on (schemas.raw_leads columns); None when every row has a recognised country."""
    found = international_values(raw)
    return None if found is None else infer_from_values(pl.concat(found).unique(maintain_order=True))


def international_values(raw: pl.DataFrame) -> list[pl.Series] | None:
    """Per phone slot, the distinct international-looking values of ``raw``'s rows without a
    recognised country, in file order; None when every row has a recognised country. Split
    from :func:`infer_region` so that a file read in batches gathers them batch by batch
    (each slot's values concatenated over the batches, then the slots: the file's order)."""
    countries = raw.get_column("country").unique()
    unresolved = countries.filter(resolve_country_values(countries).is_null())
    if unresolved.len() == 0:
        return None
    country = pl.col("country")
    without = raw.lazy().filter(country.is_null() | country.is_in(unresolved.drop_nulls().implode()))
    plans = [
        without.select(pl.col(slot).alias("value"))
        .filter(pl.col("value").str.contains(_INTERNATIONAL))
        .unique(maintain_order=True)
        for slot in PHONE_SLOTS
    ]
    return [frame.get_column("value") for frame in pl.collect_all(plans)]


def infer_from_values(values: pl.Series) -> RegionInference:
    """The inference from the distinct international values, in file order, that
    :func:`international_values` found."""
    if values.len() > SAMPLE:
        values = values.gather_every(values.len() // SAMPLE + 1)
    read = [number for value in values.to_list() if (number := _parsed(value)) is not None]
    regions = Counter(region_of(number) for number in read)
    counted = Counter({region: n for region, n in regions.items() if region is not None})
    if not counted:
        return RegionInference(None, 0, len(read))
    leading, agreeing = counted.most_common(1)[0]
    clear = len(read) >= MIN_NUMBERS and agreeing >= MIN_SHARE * len(read)
    return RegionInference(leading if clear else None, agreeing, len(read), leading)
