"""The time-zone columns of the clean leads, for a whole frame at once (rules: transforms.timezones).

A zone depends only on (row zone, ZIP code zone, state, the number's zone list, region), and a
file has few such combinations: each is coded as one integer, :func:`choose_zone` runs once per
combination, and its answer goes back to the rows by position, instead of Python or list
operations on a million rows.
"""

from __future__ import annotations

from typing import Final

import phonenumbers
import polars as pl

from schemas.clean_leads import PHONE_SLOTS
from transforms.region_inference import region_of
from transforms.timezones import ZONE_LISTS, canonical_timezones, choose_zone
from transforms.us_zones import US_REGIONS, address_values, state_codes, state_zones, zip_zones

__all__ = ["with_timezones"]

_SINGLE_REGION_CODES: Final[dict[int, str]] = {
    code: regions[0]
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if len(regions) == 1 and regions[0] != "001"
}
"""Calling codes of one region (49: DE): the region of their numbers, without parsing."""
_AMBIGUOUS_ZONE_IDS: Final[list[int]] = [index for index, zones in enumerate(ZONE_LISTS) if len(zones) > 1]


def _number_regions(e164: pl.Series, codes: pl.Series) -> pl.Series:
    """The region of each number (+1 473: GD, +1 416: CA, +7 7: KZ), for the few whose zones
    need a preference and whose calling code several regions share; null for a number every
    region of its code accepts (+1 800: the row's country decides).

    Decided once per calling code and next three digits (a NANP area code, +7 7 for
    Kazakhstan, +262 639 for Mayotte), from the first number of that prefix: checking every
    region of +1 for each of a hundred thousand distinct numbers took tens of seconds."""
    prefix = e164.str.slice(0, codes.cast(pl.String).str.len_chars() + 4)
    firsts = pl.DataFrame({"prefix": prefix, "e164": e164}).drop_nulls().unique("prefix", keep="first")
    regions = {
        key: region
        for key, value in firsts.iter_rows()
        if (region := region_of(phonenumbers.parse(value, None))) is not None
    }
    return prefix.replace_strict(regions, default=None, return_dtype=pl.String)


def _present_codes(frame: pl.DataFrame, *values: pl.Expr) -> list[dict[str, int]]:
    """Per expression, a code for each distinct value it has in ``frame``: a combination's key is
    only compared within the frame, so it needs no table of every zone, state or region there is
    (and a file without addresses or countries does not load pycountry's, 0.3 s or more)."""
    found = frame.select(
        value.drop_nulls().unique().implode().alias(f"_{i}") for i, value in enumerate(values)
    )
    return [{value: code for code, value in enumerate(present)} for present in found.row(0)]


def _coded(values: pl.Expr, codes: dict[str, int]) -> tuple[pl.Expr, int]:
    """Each value's code, null as ``len(codes)``: one digit of the combination's mixed radix."""
    return values.replace_strict(codes, default=None, return_dtype=pl.Int64).fill_null(len(codes)), len(
        codes
    ) + 1


def with_timezones(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (phones' working frame: ``timezone``, ``_region``, ``attributes``,
    ``_phoneN_zone_id``/``_cc``) plus ``_row_tz``, ``_zip``/``_zip_tz``, ``_state``/``_state_code``
    (a US row's address values and what they resolve to), ``_timezone``, ``timezone_source``
    and ``timezone_candidates``."""
    slots = [
        (pl.col(f"_{slot}_zone_id"), pl.col(f"_{slot}_cc"), pl.col(f"_{slot}_e164")) for slot in PHONE_SLOTS
    ]
    us_rows = frame.select(pl.col("_region").is_in(list(US_REGIONS)).fill_null(False)).to_series()
    address = address_values(frame.get_column("attributes"), us_rows)
    frame = pl.concat([frame, address.rename({"zip": "_zip", "state": "_state"})], how="horizontal")
    # the ZIP and state tables, and the IANA names (a walk of the zone files, ~15 ms), are loaded
    # only for a file that has such values
    has_zip, has_state, has_zone = (
        frame.get_column(name).is_not_null().any() for name in ("_zip", "_state", "timezone")
    )
    frame = frame.with_columns(
        _row_tz=canonical_timezones(pl.col("timezone")) if has_zone else pl.lit(None, dtype=pl.String),
        _zip_tz=zip_zones(pl.col("_zip")) if has_zip else pl.lit(None, dtype=pl.String),
        _state_code=state_codes(pl.col("_state")) if has_state else pl.lit(None, dtype=pl.String),
        _zone_id=pl.coalesce([zone_id for zone_id, _, _ in slots]),
        _zone_cc=pl.coalesce([pl.when(zone_id.is_not_null()).then(cc) for zone_id, cc, _ in slots]),
        _zone_e164=pl.coalesce([pl.when(zone_id.is_not_null()).then(e164) for zone_id, _, e164 in slots]),
    )
    shared_code = ~pl.col("_zone_cc").is_in(list(_SINGLE_REGION_CODES)) & pl.col("_zone_id").is_in(
        _AMBIGUOUS_ZONE_IDS
    )
    shared = frame.select(pl.when(shared_code).then("_zone_e164"), pl.when(shared_code).then("_zone_cc"))
    by_number = _number_regions(shared.get_column("_zone_e164"), shared.get_column("_zone_cc"))
    frame = frame.with_columns(
        _number_region=pl.coalesce(
            pl.col("_zone_cc").replace_strict(_SINGLE_REGION_CODES, default=None, return_dtype=pl.String),
            by_number,
        )
    )
    row_zones, postal_zones, states, regions = _present_codes(
        frame,
        pl.col("_row_tz"),
        pl.col("_zip_tz"),
        pl.col("_state_code"),
        pl.coalesce("_number_region", "_region"),
    )
    digits = [
        _coded(pl.col("_row_tz"), row_zones),
        _coded(pl.col("_zip_tz"), postal_zones),
        _coded(pl.col("_state_code"), states),
        _coded(pl.coalesce("_number_region", "_region"), regions),
        (pl.col("_zone_id").cast(pl.Int64).fill_null(len(ZONE_LISTS)), len(ZONE_LISTS) + 1),
    ]
    key: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for digit, radix in digits:
        key = key * radix + digit
    keyed = frame.select(
        "_row_tz",
        "_zip_tz",
        "_state_code",
        "_zone_id",
        _pref=pl.coalesce("_number_region", "_region"),
        _key=key,
    )
    firsts = keyed.filter(pl.col("_key").is_first_distinct())
    choices = _choices(firsts)
    index = keyed.select(
        pl.col("_key").replace_strict(
            firsts.get_column("_key"), pl.int_range(firsts.height, eager=True), return_dtype=pl.Int64
        )
    ).to_series()
    return pl.concat([frame, choices.select(pl.all().gather(index))], how="horizontal")


def _choices(combinations: pl.DataFrame) -> pl.DataFrame:
    """:func:`choose_zone` of each distinct combination (a file has a few hundred)."""
    by_state = state_zones() if combinations.get_column("_state_code").is_not_null().any() else {}
    chosen = [
        choose_zone(
            row,
            postal,
            by_state.get(state, ()) if state is not None else (),
            ZONE_LISTS[zone_id] if zone_id is not None else (),
            region,
        )
        for row, postal, state, zone_id, region in combinations.select(
            "_row_tz", "_zip_tz", "_state_code", "_zone_id", "_pref"
        ).iter_rows()
    ]
    return pl.DataFrame(
        {
            "_timezone": [choice.zone for choice in chosen],
            "timezone_source": [choice.source for choice in chosen],
            "timezone_candidates": [list(choice.candidates) for choice in chosen],
        },
        schema={
            "_timezone": pl.String,
            "timezone_source": pl.String,
            "timezone_candidates": pl.List(pl.String),
        },
    )
