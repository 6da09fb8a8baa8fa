"""libphonenumber's parse and number-type rules for one region, as polars expressions.

Why a module of its own: transforms.phone_columnar decides which values it may parse as
columns and moves them through parse's steps; this module is what each step means, read from
phonenumbers' own metadata (9.0.x ``phonenumberutil``: ``_maybe_strip_national_prefix_carrier_code``,
``_test_number_length``, ``_number_type_helper``, ``_region_code_for_number_from_list``), each
function named after the one it reproduces. Patterns are anchored for polars' Rust regex
engine, whose leftmost-first matching gives the same match as Python's ``re`` for them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata
from polars.expr.whenthen import ChainedThen, Then

__all__ = [
    "CALLING_CODE",
    "MAIN_REGION",
    "NON_GEO",
    "SHARED_CODES",
    "UNKNOWN",
    "Desc",
    "Rules",
    "calling_code",
    "claims",
    "general_match",
    "length_test",
    "number_type",
    "prefix_match",
    "rules_for",
    "strip_prefix",
    "type_verdicts",
]

NON_GEO: Final = "001"
UNKNOWN: Final = "unknown"
_SPECIAL_TYPES: Final = (
    ("premium_rate", "premium_rate"),
    ("toll_free", "toll_free"),
    ("shared_cost", "shared_cost"),
    ("voip", "voip"),
    ("personal_number", "personal_number"),
    ("pager", "pager"),
    ("uan", "uan"),
    ("voicemail", "voicemail"),
)
"""(metadata attribute, type name) in the order ``_number_type_helper`` tests them."""


@dataclass(frozen=True, slots=True)
class Desc:
    """A number description: the full-match pattern and the possible lengths (empty: any)."""

    pattern: str
    lengths: tuple[int, ...]

    def matches(self, nsn: pl.Expr, length: pl.Expr, found: pl.Expr | None = None) -> pl.Expr:
        """``_is_number_matching_desc``; ``found``: the pattern's verdict when already known."""
        if found is None:
            found = nsn.str.contains(self.pattern)
        return length.is_in(self.lengths) & found if self.lengths else found


@dataclass(frozen=True, slots=True)
class Rules:
    """What this module needs of one region's metadata, patterns anchored for polars."""

    region: str
    country_code: int
    international_prefix: str | None
    national_prefix: str | None
    plain_national_prefix: bool
    general: Desc | None
    possible_lengths: tuple[int, ...]
    """The general description's, for ``_test_number_length``."""
    local_lengths: tuple[int, ...]
    special: tuple[tuple[str, Desc], ...]
    any_special: str | None
    """One pattern that every number of a special type matches (lengths not checked): numbers
    it does not match need none of the special types' patterns."""
    fixed_line: Desc | None
    mobile: Desc | None
    same_mobile_and_fixed_line: bool
    leading_digits: str | None


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return Desc(f"^(?:{desc.national_number_pattern})$", tuple(desc.possible_length or ()))


def _any_of(patterns: list[str]) -> str | None:
    """``^(?:a)$``, ``^(?:b)$`` -> ``^(?:(?:a)|(?:b))$``."""
    if not patterns:
        return None
    inner = [pattern[len("^(?:") : -len(")$")] for pattern in patterns]
    return "^(?:" + "|".join(f"(?:{body})" for body in inner) + ")$"


@functools.cache
def rules_for(region: str) -> Rules:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        raise KeyError(f"phonenumbers has no metadata for region {region!r}")
    prefix = metadata.national_prefix_for_parsing or None
    transform = metadata.national_prefix_transform_rule
    plain = not transform and (prefix is None or re.compile(prefix).groups == 0)
    general = metadata.general_desc
    special = tuple(
        (name, desc)
        for attribute, name in _SPECIAL_TYPES
        if (desc := _desc(getattr(metadata, attribute))) is not None
    )
    return Rules(
        region=region,
        country_code=metadata.country_code,
        international_prefix=f"^(?:{metadata.international_prefix})"
        if metadata.international_prefix
        else None,
        national_prefix=f"^(?:{prefix})" if prefix else None,
        plain_national_prefix=plain,
        general=_desc(general),
        possible_lengths=tuple(general.possible_length or ()),
        local_lengths=tuple(general.possible_length_local_only or ()),
        special=special,
        any_special=_any_of([desc.pattern for _, desc in special]),
        fixed_line=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
        leading_digits=f"^(?:{metadata.leading_digits})" if metadata.leading_digits is not None else None,
    )


MAIN_REGION: Final[dict[str, str]] = {
    str(code): regions[0] for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
}
"""Calling code -> the region whose metadata parse uses (``region_code_for_country_code``)."""
CALLING_CODE: Final[dict[str, str]] = {
    region: str(code)
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    for region in regions
    if region != NON_GEO
}


def _code_of_start(start: str) -> str | None:
    return next((start[:size] for size in (1, 2, 3) if start[:size] in MAIN_REGION), None)


_CODE_BY_START: Final[dict[str, str]] = {
    start: code
    for size in (1, 2, 3)
    for number in range(10**size)
    if (code := _code_of_start(start := str(number).zfill(size))) is not None
}
"""Every 1- to 3-digit start -> the calling code it begins with (codes are 1 to 3 digits)."""


def calling_code(digits: pl.Expr) -> pl.Expr:
    """The calling code the digits start with (codes are prefix-free), else null: one lookup
    of the first three digits, rather than three slices tested one after the other."""
    return digits.str.slice(0, 3).replace_strict(_CODE_BY_START, default=None, return_dtype=pl.String)


def general_match(rules: Rules, number: pl.Expr) -> pl.Expr:
    """``_match_national_number(number, general_desc)``: the pattern only, no length check."""
    return number.str.contains(rules.general.pattern) if rules.general else pl.lit(False)


def length_test(rules: Rules, number: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(possible, too long) of ``_test_number_length(number, metadata)`` for the general desc:
    "possible" is IS_POSSIBLE or TOO_LONG, the two outcomes that let parse strip a prefix."""
    possible = rules.possible_lengths
    if not possible or possible[0] == -1:
        return pl.lit(False), pl.lit(False)
    length = number.str.len_bytes()
    not_local = ~length.is_in(rules.local_lengths)
    too_long = not_local & (length > max(possible))
    return (not_local & length.is_in(possible)) | too_long, too_long


def prefix_match(pattern: str, number: pl.Expr) -> pl.Expr:
    """What ``re.match(pattern, number)`` matches at the start, else null. Alternations of
    plain digit strings ("0", "0|180020") are tested with ``starts_with`` in their order, as
    the regex would; anything else goes to the regex engine."""
    body = pattern[len("^(?:") : -1]
    alternatives = body.split("|")
    if not all(alternative.isdigit() for alternative in alternatives):
        return number.str.extract(pattern, 0)
    expr: Then | ChainedThen = pl.when(number.str.starts_with(alternatives[0])).then(pl.lit(alternatives[0]))
    for alternative in alternatives[1:]:
        expr = expr.when(number.str.starts_with(alternative)).then(pl.lit(alternative))
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def strip_prefix(rules: Rules, national: pl.Expr) -> pl.Expr:
    """``_maybe_strip_national_prefix_carrier_code`` (plain prefixes only): strip the prefix
    when it matches at the start, unless the original number fits the general pattern and the
    stripped one does not."""
    if rules.national_prefix is None:
        return national
    prefix = prefix_match(rules.national_prefix, national)
    stripped = national.str.slice(prefix.str.len_bytes())
    keep = prefix.is_null() | (general_match(rules, national) & ~general_match(rules, stripped))
    return pl.when(keep | (national.str.len_bytes() == 0)).then(national).otherwise(stripped)


def number_type(
    rules: Rules,
    nsn: pl.Expr,
    general: pl.Expr | None = None,
    *,
    specials: bool = True,
    fixed_line: pl.Expr | None = None,
    mobile: pl.Expr | None = None,
) -> pl.Expr:
    """``_number_type_helper``: the type name of the national significant number, or "unknown".
    ``general``, ``fixed_line``, ``mobile``: those patterns' verdicts on ``nsn`` when already
    known (each is tested twice below: polars would run the regex twice). ``specials=False``
    for numbers known not to match ``rules.any_special``: the special types are skipped."""
    if rules.general is None:
        return pl.lit(UNKNOWN)
    length = nsn.str.len_bytes()
    fits = rules.general.matches(nsn, length, general)
    expr: Then | ChainedThen = pl.when(~fits).then(pl.lit(UNKNOWN))
    for name, desc in rules.special if specials else ():
        expr = expr.when(desc.matches(nsn, length)).then(pl.lit(name))
    fixed = rules.fixed_line.matches(nsn, length, fixed_line) if rules.fixed_line else pl.lit(False)
    if rules.same_mobile_and_fixed_line:
        return expr.when(fixed).then(pl.lit("fixed_line_or_mobile")).otherwise(pl.lit(UNKNOWN))
    is_mobile = rules.mobile.matches(nsn, length, mobile) if rules.mobile else pl.lit(False)
    return (
        expr.when(fixed & is_mobile)
        .then(pl.lit("fixed_line_or_mobile"))
        .when(fixed)
        .then(pl.lit("fixed_line"))
        .when(is_mobile)
        .then(pl.lit("mobile"))
        .otherwise(pl.lit(UNKNOWN))
    )


def type_verdicts(rules: Rules, nsn: pl.Expr) -> dict[str, pl.Expr]:
    """The fixed-line and mobile patterns' verdicts on ``nsn`` (``_fixed_line``, ``_mobile``),
    as columns for :func:`number_type`'s ``fixed_line`` and ``mobile``: the type rules test
    each twice (fixed and mobile, then each alone), and polars 2.1 runs a repeated regex again
    at every use (its longest patterns are over 1,000 characters)."""
    verdicts: dict[str, pl.Expr] = {}
    if rules.general is None:
        return verdicts
    if rules.fixed_line is not None:
        verdicts["_fixed_line"] = nsn.str.contains(rules.fixed_line.pattern)
    if rules.mobile is not None and not rules.same_mobile_and_fixed_line:
        verdicts["_mobile"] = nsn.str.contains(rules.mobile.pattern)
    return verdicts


def claims(
    rules: Rules,
    nsn: pl.Expr,
    general: pl.Expr | None = None,
    *,
    specials: bool = True,
    fixed_line: pl.Expr | None = None,
    mobile: pl.Expr | None = None,
) -> tuple[pl.Expr, pl.Expr]:
    """(claimed, type) of one region of a shared calling code, as ``_region_code_for_number_from_list``
    decides: a region with leading digits claims the numbers starting with them, whatever
    their type; one without claims the numbers its plan has."""
    kind = number_type(rules, nsn, general, specials=specials, fixed_line=fixed_line, mobile=mobile)
    if rules.leading_digits is not None:
        return nsn.str.contains(rules.leading_digits), kind
    return kind != UNKNOWN, kind


SHARED_CODES: Final[dict[int, tuple[str, ...]]] = {
    code: tuple(regions)
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if len(regions) > 1
}
