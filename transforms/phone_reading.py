"""Read one region's plainly written values as columns: libphonenumber's parse and
number-type rules for that region, as polars expressions (transforms.phone_columnar routes
the values and decides which regions are read this way).

Why a module of its own: a region's expressions are a few hundred (its patterns, its type
rules, the other regions of a shared calling code) and the same for every batch of a file,
so they are built once per process (:func:`_reading`, :func:`_claiming`) and every batch
only plans and runs them (bench/normalize.py: about 20 ms of Python per 100k-row batch
when they were rebuilt each time).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import phonenumbers
import polars as pl

from transforms.phone_rules import (
    UNKNOWN,
    Rules,
    claims,
    general_match,
    length_test,
    number_type,
    prefix_match,
    rules_for,
    strip_prefix,
    type_verdicts,
)

__all__ = ["NOT_FLAGGED", "claim_rest", "flag_region", "read_region"]


@dataclass(frozen=True)
class _Reading:
    """One region's expressions for :func:`read_region` and :func:`_significant`, built once per
    process (:func:`_reading`): they are the same for every batch, and building them (a
    few hundred polars expressions per region, its patterns and type rules) cost about
    20 ms of Python per 100k-row batch, a fixed cost paid again by every batch."""

    flags: dict[str, pl.Expr]
    """``_idd``, ``_after_idd`` and ``_own_code``."""
    own_code_national: pl.Expr
    """``_national`` of the values in national form that start with the own calling code."""
    steps: tuple[dict[str, pl.Expr], ...]
    """``_significant``'s columns, in order, up to ``_nsn`` and ``_general``."""
    special: pl.Expr | None
    """``_special``: the values that need the special types' patterns; None: no region has any."""
    typed: tuple[dict[str, pl.Expr], ...]
    """``_claimed`` and ``_type``: one set, or two (special values, the others) with ``special``."""
    drop: tuple[str, ...]


@functools.cache
def _reading(region: str) -> _Reading:
    """:class:`_Reading` of ``region`` (transforms.phone_rules.rules_for)."""
    rules = rules_for(region)
    digits = pl.col("_digits")
    code = str(rules.country_code)
    national_form = ~pl.col("_plus") & ~pl.col("_idd_route")
    idd: pl.Expr = pl.lit(False)
    after_idd: pl.Expr = pl.lit(None, dtype=pl.String)
    if rules.international_prefix is not None:
        prefix = prefix_match(rules.international_prefix, digits)
        after_idd = digits.str.slice(prefix.str.len_bytes())
        idd = national_form & prefix.is_not_null() & ~after_idd.str.starts_with("0")
    without_code = strip_prefix(rules, digits.str.slice(len(code)))
    _, too_long = length_test(rules, digits)
    better = (~general_match(rules, digits) & general_match(rules, without_code)) | too_long
    steps, special, typed, drop = _significance(rules)
    return _Reading(
        flags={
            "_idd": idd.fill_null(False),
            "_after_idd": after_idd,
            "_own_code": national_form & digits.str.starts_with(code),
        },
        own_code_national=pl.when(better).then(without_code).otherwise(pl.col("_national")),
        steps=steps,
        special=special,
        typed=typed,
        drop=drop,
    )


def flag_region(group: pl.DataFrame, rules: Rules) -> pl.LazyFrame:
    """One region's values flagged (:class:`_Reading` ``flags``): ``_idd`` (an international
    prefix such as "00" or "011", not followed by 0, makes the rest an international number:
    ``_after_idd``) and ``_own_code`` (in national form, starting with the region's own calling
    code). Flagged before :func:`read_region` so that the international ones can be read with
    the plan of their calling code's region in the same pass as the others."""
    return group.lazy().with_columns(**_reading(rules.region).flags)


NOT_FLAGGED: Final[dict[str, pl.Expr]] = {
    "_idd": pl.lit(False),
    "_after_idd": pl.lit(None, dtype=pl.String),
    "_own_code": pl.lit(False),
}
""":func:`flag_region`'s columns for values already read as international (``_idd_route``):
neither flag can hold for them."""


def read_region(flagged: pl.DataFrame | pl.LazyFrame, rules: Rules) -> list[pl.LazyFrame]:
    """One region's flagged values (:func:`flag_region`, without the ``_idd`` ones): the
    national part corrected for a leading own calling code, the national significant number
    ``_nsn``, and ``_claimed``/``_type`` for the calling code's first region.

    The values in national form that start with the region's own calling code are read apart:
    they are few, and only they need ``_maybe_extract_country_code``'s second look.
    """
    reading = _reading(rules.region)
    rows = flagged.lazy()
    own_code = rows.filter(pl.col("_own_code")).with_columns(_national=reading.own_code_national)
    # one reading of both parts: read apart, the region's plan had twice the steps to plan
    # (about 1 ms each per batch, whatever its rows); the rows are put in order at the end
    corrected = pl.concat([rows.filter(~pl.col("_own_code")), own_code])
    return [_significant(corrected, reading).drop("_own_code", "_digits", "_meta")]


def _significance(
    rules: Rules,
) -> tuple[tuple[dict[str, pl.Expr], ...], pl.Expr | None, tuple[dict[str, pl.Expr], ...], tuple[str, ...]]:
    """:class:`_Reading`'s ``steps``, ``special``, ``typed`` and ``drop``: ``_nsn`` (parse's
    national prefix step, for ``rules``' region) and ``_claimed``/``_type`` for the first
    region of the calling code. The general pattern's verdict on the national number and on
    it stripped of its prefix is computed once and reused for the type."""
    national = pl.col("_national")
    stripped = pl.col("_stripped")
    steps: list[dict[str, pl.Expr]]
    if rules.national_prefix is None:  # nothing stripped: one verdict serves both
        steps = [
            {
                "_stripped": national,
                "_prefixed": pl.lit(False),
                "_general_national": general_match(rules, national),
            },
            {"_general_stripped": pl.col("_general_national")},
        ]
    else:
        prefix = prefix_match(rules.national_prefix, national)
        steps = [
            {
                "_stripped": national.str.slice(prefix.str.len_bytes()),
                "_prefixed": prefix.is_not_null() & (national.str.len_bytes() > 0),
            },
            {
                "_general_national": general_match(rules, national),
                # only a prefixed number's verdict is read by what follows (``strips`` and
                # ``general`` need ``_prefixed``): the others' stripped form is "", which the
                # regex rejects at once, where a null still has its bytes read (bench/phones.py)
                "_general_stripped": general_match(
                    rules, pl.when(pl.col("_prefixed")).then(stripped).otherwise(pl.lit(""))
                ),
            },
        ]
    strips = pl.col("_prefixed") & ~(pl.col("_general_national") & ~pl.col("_general_stripped"))
    possible, _ = length_test(rules, stripped)
    use_stripped = strips & possible
    first = rules_for(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[rules.country_code][0])
    general = pl.when(use_stripped).then(pl.col("_general_stripped")).otherwise(pl.col("_general_national"))
    steps.append(
        {
            "_nsn": pl.when(use_stripped).then(stripped).otherwise(national),
            "_general": general if first is rules else pl.lit(None, dtype=pl.Boolean),
        }
    )
    nsn, known = pl.col("_nsn"), pl.col("_general") if first is rules else None
    verdicts = type_verdicts(first, nsn)
    if verdicts:
        steps.append(verdicts)
    fixed_line = pl.col("_fixed_line") if "_fixed_line" in verdicts else None
    mobile = pl.col("_mobile") if "_mobile" in verdicts else None
    drop = ("_stripped", "_prefixed", "_general_national", "_general_stripped", "_general", *verdicts)
    if first.any_special is None:
        claimed, kind = claims(first, nsn, known, fixed_line=fixed_line, mobile=mobile)
        return tuple(steps), None, ({"_claimed": claimed.fill_null(False), "_type": kind},), drop
    # the special types (premium rate, toll free, ...) are a few percent of numbers but eight
    # patterns: one pattern of them all decides which rows need them
    typed = []
    for special in (True, False):
        claimed, kind = claims(first, nsn, known, specials=special, fixed_line=fixed_line, mobile=mobile)
        typed.append({"_claimed": claimed.fill_null(False), "_type": kind})
    return tuple(steps), nsn.str.contains(first.any_special).fill_null(False), tuple(typed), drop


def _significant(frame: pl.LazyFrame, reading: _Reading) -> pl.LazyFrame:
    """``_nsn`` and ``_claimed``/``_type`` of the rows of ``frame`` (:func:`_significance`)."""
    for step in reading.steps:
        frame = frame.with_columns(**step)
    if reading.special is None:
        return frame.with_columns(**reading.typed[0]).drop(reading.drop)
    frame = frame.with_columns(_special=reading.special)
    typed = [
        frame.filter(pl.col("_special") == special).with_columns(**columns)
        for special, columns in zip((True, False), reading.typed, strict=True)
    ]
    return pl.concat(typed).drop(*reading.drop, "_special")


def claim_rest(rows: pl.DataFrame, regions: tuple[str, ...]) -> pl.DataFrame:
    """``_type`` of the rows the first region of their shared calling code did not claim.

    parse asks the regions in order and the first that claims a number decides its type (a
    region with leading digits claims the numbers starting with them, one without claims
    the numbers its plan has). Asked one region at a time, the 24 other regions of +1 cost
    0.3 s for 100k numbers; here every region's claim is one column of a single pass, the
    first claim per row picks the region, and each claimed group is typed by its region.
    """
    remaining = rows.drop("_type", "_claimed")
    claiming = _claiming(regions)
    flags = remaining.select(claiming.claims)
    tagged = pl.concat([remaining, flags.select(claiming.first, *claiming.known_types)], how="horizontal")
    parts = [tagged.filter(pl.col("_claimer").is_null()).with_columns(_type=pl.lit(UNKNOWN))]
    for (index,), group in (
        tagged.filter(pl.col("_claimer").is_not_null()).partition_by("_claimer", as_dict=True).items()
    ):
        assert isinstance(index, int)
        parts.append(group.with_columns(_type=claiming.types[index]))
    return pl.concat(parts).drop("_claimer", *claiming.typed_by_claim.values())


@dataclass(frozen=True)
class _Claiming:
    """:func:`claim_rest`'s expressions for one list of regions, built once (:func:`_claiming`)."""

    claims: tuple[pl.Expr, ...]
    """Per region, whether it claims the number (``_claimN``), or its type (``_typeN``)."""
    typed_by_claim: dict[int, str]
    first: pl.Expr
    """``_claimer``: the first region that claims the number, else null."""
    known_types: tuple[pl.Expr, ...]
    types: tuple[pl.Expr, ...]
    """``_type`` of the numbers each region claims."""


@functools.cache
def _claiming(regions: tuple[str, ...]) -> _Claiming:
    nsn = pl.col("_nsn")
    claims: list[pl.Expr] = []
    typed_by_claim: dict[int, str] = {}
    for index, region in enumerate(regions):
        rules = rules_for(region)
        if rules.leading_digits is not None:
            claims.append(nsn.str.contains(rules.leading_digits).fill_null(False).alias(f"_claim{index}"))
        else:
            typed_by_claim[index] = f"_type{index}"
            claims.append(number_type(rules, nsn).alias(f"_type{index}"))
    first: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for index in reversed(range(len(regions))):
        claimed = (
            pl.col(typed_by_claim[index]) != UNKNOWN if index in typed_by_claim else pl.col(f"_claim{index}")
        )
        first = pl.when(claimed).then(pl.lit(index, dtype=pl.Int32)).otherwise(first)
    types = tuple(
        pl.col(typed_by_claim[index]) if index in typed_by_claim else number_type(rules_for(region), nsn)
        for index, region in enumerate(regions)
    )
    return _Claiming(
        claims=tuple(claims),
        typed_by_claim=typed_by_claim,
        first=first.alias("_claimer"),
        known_types=tuple(pl.col(name) for name in typed_by_claim.values()),
        types=types,
    )
