"""Parse the plainly written phone values as whole columns: libphonenumber's rules over polars.

Why this module exists: even the fast per-value backend (rphonenumbers) costs about 9 µs of
Python per value, 10 CPU-seconds for the 1.2 million distinct values of a million-row file. Most
of those values are written plainly, digits with a few separators and perhaps a leading "+", and
for them libphonenumber's parse and number-type rules are a handful of regular expressions from
its metadata: a national prefix to strip, a general pattern, one pattern per number type. Those
run here once per region over the whole column, in polars' Rust regex engine.

The rules are phonenumbers' own (9.0.x ``parse`` and ``number_type``), over phonenumbers' own
metadata, so there is no second copy of the number plan to drift. Only inputs whose parse is
fully described below are decided here; everything else is returned undecided and goes to the
per-value parser (transforms.phone_backend), which stays the reference:

* the value is ``+``? then digits and the separators `` ().-/`` only, 3 to 64 characters with at
  least three digits (so no letters, extensions, RFC 3966, full-width or Arabic digits);
* with "+": a known country calling code follows, whose main region's national-prefix rule has
  no carrier-code groups or transform rule (AR, BR, JP, AU, ... stay per value), and which is
  not a non-geographic entity ("001");
* without "+": the run or row gives a region (none gives ``NO_REGION``, as parse does), that
  region's national-prefix rule is plain as above, and the digits neither start with the
  region's international prefix (e.g. "00", "011") nor with its own calling code ("49 30 ..."
  given DE): libphonenumber's heuristics for those are left to it.

tests/transforms/test_phone_columnar.py checks every answer against phonenumbers on the
differential corpus (every region, every type, many written forms, near misses).
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

__all__ = ["parse_columns"]

_STATUS_VALID: Final = 0
_STATUS_INVALID: Final = 1
_STATUS_NO_REGION: Final = 3
_MIN_LENGTH_FOR_NSN: Final = 2
_MAX_LENGTH_FOR_NSN: Final = 17
_PLAIN: Final = r"^\+?[0-9 ().\-/]{3,64}$"
_WITH_EXTENSION: Final = r"^(?<number>.*?)[ ]*(?i:x|ext\.?)[ ]*(?<ext>[0-9]{1,6})$"
"""" x12", " ext. 12", "EXT12": the forms of libphonenumber's extension pattern kept here."""
_SECOND_NUMBER: Final = r"[\\/] *[xX]"
"""Where libphonenumber cuts off a second number ("030 1234 / x5" is not an extension)."""
_NON_GEO: Final = "001"
_UNKNOWN: Final = "unknown"
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

OUTPUT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "decided": pl.Boolean(),
    "e164": pl.String(),
    "type": pl.String(),
    "ext": pl.String(),
    "status": pl.Int8(),
    "cc": pl.Int32(),
}


@dataclass(frozen=True, slots=True)
class _Desc:
    """A number description: the full-match pattern and the possible lengths (empty: any)."""

    pattern: str
    lengths: tuple[int, ...]

    def matches(self, nsn: pl.Expr, length: pl.Expr, found: pl.Expr | None = None) -> pl.Expr:
        """``_is_number_matching_desc``; ``found``: the pattern's verdict when already known."""
        if found is None:
            found = nsn.str.contains(self.pattern)
        return length.is_in(self.lengths) & found if self.lengths else found


@dataclass(frozen=True, slots=True)
class _Rules:
    """What this module needs of one region's metadata, patterns anchored for polars."""

    region: str
    country_code: int
    international_prefix: str | None
    national_prefix: str | None
    plain_national_prefix: bool
    general: _Desc | None
    possible_lengths: tuple[int, ...]
    """The general description's, for ``_test_number_length``."""
    local_lengths: tuple[int, ...]
    special: tuple[tuple[str, _Desc], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool
    leading_digits: str | None


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(f"^(?:{desc.national_number_pattern})$", tuple(desc.possible_length or ()))


@functools.cache
def _rules(region: str) -> _Rules:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        raise KeyError(f"phonenumbers has no metadata for region {region!r}")
    prefix = metadata.national_prefix_for_parsing or None
    transform = metadata.national_prefix_transform_rule
    plain = not transform and (prefix is None or re.compile(prefix).groups == 0)
    general = metadata.general_desc
    return _Rules(
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
        special=tuple(
            (name, desc)
            for attribute, name in _SPECIAL_TYPES
            if (desc := _desc(getattr(metadata, attribute))) is not None
        ),
        fixed_line=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
        leading_digits=f"^(?:{metadata.leading_digits})" if metadata.leading_digits is not None else None,
    )


_MAIN_REGION: Final[dict[str, str]] = {
    str(code): regions[0] for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
}
"""Calling code -> the region whose metadata parse uses (``region_code_for_country_code``)."""
_CALLING_CODE: Final[dict[str, str]] = {
    region: str(code)
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    for region in regions
    if region != _NON_GEO
}


def _calling_code(digits: pl.Expr) -> pl.Expr:
    """The calling code the digits start with (codes are prefix-free), else null."""
    codes = list(_MAIN_REGION)
    expr: Then | ChainedThen = pl.when(digits.str.slice(0, 1).is_in(codes)).then(digits.str.slice(0, 1))
    for size in (2, 3):
        expr = expr.when(digits.str.slice(0, size).is_in(codes)).then(digits.str.slice(0, size))
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def _general_match(rules: _Rules, number: pl.Expr) -> pl.Expr:
    """``_match_national_number(number, general_desc)``: the pattern only, no length check."""
    return number.str.contains(rules.general.pattern) if rules.general else pl.lit(False)


def _length_test(rules: _Rules, number: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(possible, too long) of ``_test_number_length(number, metadata)`` for the general desc:
    "possible" is IS_POSSIBLE or TOO_LONG, the two outcomes that let parse strip a prefix."""
    possible = rules.possible_lengths
    if not possible or possible[0] == -1:
        return pl.lit(False), pl.lit(False)
    length = number.str.len_bytes()
    not_local = ~length.is_in(rules.local_lengths)
    too_long = not_local & (length > max(possible))
    return (not_local & length.is_in(possible)) | too_long, too_long


def _prefix_match(pattern: str, number: pl.Expr) -> pl.Expr:
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


def _strip_prefix(rules: _Rules, national: pl.Expr) -> pl.Expr:
    """``_maybe_strip_national_prefix_carrier_code`` (plain prefixes only): strip the prefix
    when it matches at the start, unless the original number fits the general pattern and the
    stripped one does not."""
    if rules.national_prefix is None:
        return national
    prefix = _prefix_match(rules.national_prefix, national)
    stripped = national.str.slice(prefix.str.len_bytes())
    keep = prefix.is_null() | (_general_match(rules, national) & ~_general_match(rules, stripped))
    return pl.when(keep | (national.str.len_bytes() == 0)).then(national).otherwise(stripped)


def _national_significant(rules: _Rules, national: pl.Expr) -> pl.Expr:
    """parse's last step: the prefix is stripped only when what remains has a possible length
    (not too short, not local-only, not an invalid length) for the region."""
    stripped = _strip_prefix(rules, national)
    possible, _ = _length_test(rules, stripped)
    return pl.when(possible).then(stripped).otherwise(national)


def _number_type(rules: _Rules, nsn: pl.Expr, general: pl.Expr | None = None) -> pl.Expr:
    """``_number_type_helper``: the type name of the national significant number, or "unknown".
    ``general``: the general pattern's verdict on ``nsn`` when already known."""
    if rules.general is None:
        return pl.lit(_UNKNOWN)
    length = nsn.str.len_bytes()
    fits = rules.general.matches(nsn, length, general)
    expr: Then | ChainedThen = pl.when(~fits).then(pl.lit(_UNKNOWN))
    for name, desc in rules.special:
        expr = expr.when(desc.matches(nsn, length)).then(pl.lit(name))
    fixed = rules.fixed_line.matches(nsn, length) if rules.fixed_line else pl.lit(False)
    if rules.same_mobile_and_fixed_line:
        return expr.when(fixed).then(pl.lit("fixed_line_or_mobile")).otherwise(pl.lit(_UNKNOWN))
    mobile = rules.mobile.matches(nsn, length) if rules.mobile else pl.lit(False)
    return (
        expr.when(fixed & mobile)
        .then(pl.lit("fixed_line_or_mobile"))
        .when(fixed)
        .then(pl.lit("fixed_line"))
        .when(mobile)
        .then(pl.lit("mobile"))
        .otherwise(pl.lit(_UNKNOWN))
    )


def _claims(rules: _Rules, nsn: pl.Expr, general: pl.Expr | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(claimed, type) of one region of a shared calling code, as ``_region_code_for_number_from_list``
    decides: a region with leading digits claims the numbers starting with them, whatever
    their type; one without claims the numbers its plan has."""
    number_type = _number_type(rules, nsn, general)
    if rules.leading_digits is not None:
        return nsn.str.contains(rules.leading_digits), number_type
    return number_type != _UNKNOWN, number_type


def _groups(frame: pl.DataFrame, key: str) -> list[tuple[str | None, pl.DataFrame]]:
    """``frame`` split by ``key`` into zero-copy slices of one sort (partition_by copies)."""
    if frame.height == 0:
        return []
    ordered = frame.sort(key, maintain_order=True)
    runs = ordered.select(pl.col(key).rle()).unnest(key)
    groups: list[tuple[str | None, pl.DataFrame]] = []
    offset = 0
    for length, value in runs.iter_rows():
        groups.append((value, ordered.slice(offset, length)))
        offset += length
    return groups


def _prepared(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs with the extension split off (``ext``), the digits, whether the value starts
    with "+", whether it is plain enough for this module, and where parse would look first:
    the calling code (``_cc``), the region whose rules apply (``_meta``) and the national part."""
    split = pl.col("clean").str.extract_groups(_WITH_EXTENSION)
    digits = pl.col("_digits")
    return (
        pairs.lazy()
        .select("clean", "region")
        .with_row_index("_row")
        .with_columns(_split=split)
        .with_columns(
            _number=pl.coalesce(pl.col("_split").struct.field("number"), pl.col("clean")),
            ext=pl.col("_split").struct.field("ext"),
        )
        .select(
            "_row",
            "region",
            "ext",
            _digits=pl.col("_number").str.replace_all("[^0-9]", ""),
            _plus=pl.col("_number").str.starts_with("+"),
            _plain=(
                pl.col("_number").str.contains(_PLAIN) & ~pl.col("clean").str.contains(_SECOND_NUMBER)
            ).fill_null(False),
            _idd_route=pl.lit(False),
        )
        .with_columns(_plain=pl.col("_plain") & (digits.str.len_bytes() >= 3))
        .with_columns(
            _cc=pl.when(pl.col("_plus"))
            .then(_calling_code(digits))
            .otherwise(pl.col("region").replace_strict(_CALLING_CODE, default=None, return_dtype=pl.String))
        )
        .with_columns(**_international(pl.col("_plus")))
        .collect()
    )


def _international(international: pl.Expr) -> dict[str, pl.Expr]:
    """``_meta`` and ``_national`` for values whose digits start with ``_cc`` when
    ``international``, or are all national."""
    return {
        "_meta": pl.when(international)
        .then(pl.col("_cc").replace_strict(_MAIN_REGION, default=None, return_dtype=pl.String))
        .otherwise(pl.col("region")),
        "_national": pl.when(international)
        .then(pl.col("_digits").str.slice(pl.col("_cc").str.len_bytes()))
        .otherwise(pl.col("_digits")),
    }


def _read(group: pl.DataFrame, rules: _Rules) -> list[pl.LazyFrame]:
    """One region's values: ``_idd`` (an international prefix such as "00" or "011", not
    followed by 0, makes the rest an international number: ``_after_idd``), the national part
    corrected for a leading own calling code, the national significant number ``_nsn``, and
    ``_claimed``/``_type`` for the calling code's first region.

    The values in national form that start with the region's own calling code are read apart:
    they are few, and only they need ``_maybe_extract_country_code``'s second look.
    """
    digits = pl.col("_digits")
    code = str(rules.country_code)
    national_form = ~pl.col("_plus") & ~pl.col("_idd_route")
    idd: pl.Expr = pl.lit(False)
    after_idd: pl.Expr = pl.lit(None, dtype=pl.String)
    if rules.international_prefix is not None:
        prefix = _prefix_match(rules.international_prefix, digits)
        after_idd = digits.str.slice(prefix.str.len_bytes())
        idd = national_form & prefix.is_not_null() & ~after_idd.str.starts_with("0")
    flagged = group.lazy().with_columns(
        _idd=idd.fill_null(False),
        _after_idd=after_idd,
        _own_code=national_form & digits.str.starts_with(code),
    )
    without_code = _strip_prefix(rules, digits.str.slice(len(code)))
    _, too_long = _length_test(rules, digits)
    better = (~_general_match(rules, digits) & _general_match(rules, without_code)) | too_long
    own_code = flagged.filter(pl.col("_own_code")).with_columns(
        _national=pl.when(better).then(without_code).otherwise(pl.col("_national"))
    )
    return [
        _significant(part, rules).drop("_own_code", "_digits", "_meta")
        for part in (flagged.filter(~pl.col("_own_code")), own_code)
    ]


def _significant(frame: pl.LazyFrame, rules: _Rules) -> pl.LazyFrame:
    """``_nsn`` (parse's national prefix step, for ``rules``' region) and ``_claimed``/``_type``
    for the first region of the calling code. The general pattern's verdict on the national
    number and on it stripped of its prefix is computed once and reused for the type."""
    national = pl.col("_national")
    stripped = pl.col("_stripped")
    if rules.national_prefix is None:
        frame = frame.with_columns(_stripped=national, _prefixed=pl.lit(False))
    else:
        prefix = _prefix_match(rules.national_prefix, national)
        frame = frame.with_columns(
            _stripped=national.str.slice(prefix.str.len_bytes()),
            _prefixed=prefix.is_not_null() & (national.str.len_bytes() > 0),
        )
    frame = frame.with_columns(
        _general_national=_general_match(rules, national), _general_stripped=_general_match(rules, stripped)
    )
    strips = pl.col("_prefixed") & ~(pl.col("_general_national") & ~pl.col("_general_stripped"))
    possible, _ = _length_test(rules, stripped)
    use_stripped = strips & possible
    first = _rules(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[rules.country_code][0])
    general = pl.when(use_stripped).then(pl.col("_general_stripped")).otherwise(pl.col("_general_national"))
    frame = frame.with_columns(
        _nsn=pl.when(use_stripped).then(stripped).otherwise(national),
        _general=general if first is rules else pl.lit(None, dtype=pl.Boolean),
    )
    claimed, number_type = _claims(first, pl.col("_nsn"), pl.col("_general") if first is rules else None)
    return frame.with_columns(_claimed=claimed.fill_null(False), _type=number_type).drop(
        "_stripped", "_prefixed", "_general_national", "_general_stripped", "_general"
    )


def _claim_rest(rows: pl.DataFrame, regions: tuple[str, ...]) -> pl.DataFrame:
    """``_type`` of the rows the first region of their shared calling code did not claim."""
    parts: list[pl.DataFrame] = []
    remaining = rows.drop("_type", "_claimed")
    nsn = pl.col("_nsn")
    for region in regions:
        if remaining.height == 0:
            break
        rules = _rules(region)
        if rules.leading_digits is not None:
            hit = remaining.select(nsn.str.contains(rules.leading_digits)).to_series()
            parts.append(remaining.filter(hit).with_columns(_type=_number_type(rules, nsn)))
            remaining = remaining.filter(~hit)
            continue
        tried = remaining.with_columns(_type=_number_type(rules, nsn))
        parts.append(tried.filter(pl.col("_type") != _UNKNOWN))
        remaining = tried.filter(pl.col("_type") == _UNKNOWN).drop("_type")
    parts.append(remaining.with_columns(_type=pl.lit(_UNKNOWN)))
    return pl.concat(parts)


def _failed(frame: pl.DataFrame, status: int) -> pl.DataFrame:
    """Rows parse refuses (no region, too short, too long, unknown calling code after an IDD)."""
    return frame.select(
        "_row",
        e164=pl.lit(None, pl.String),
        type=pl.lit(None, pl.String),
        ext=pl.lit(None, pl.String),
        status=pl.lit(status, pl.Int8),
        cc=pl.lit(None, pl.Int32),
    )


def _outcomes(typed: pl.DataFrame) -> pl.DataFrame:
    valid = pl.col("_type") != _UNKNOWN
    return typed.select(
        "_row",
        e164=pl.when(valid).then(pl.lit("+") + pl.col("_cc") + pl.col("_nsn")),
        type=pl.when(valid).then(pl.col("_type")),
        ext=pl.when(valid).then(pl.col("ext")),
        status=pl.when(valid)
        .then(pl.lit(_STATUS_VALID, pl.Int8))
        .otherwise(pl.lit(_STATUS_INVALID, pl.Int8)),
        cc=pl.col("_cc").cast(pl.Int32),
    )


def _decide(frame: pl.DataFrame, min_group: int) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """(decided parts, undecided parts) of prepared rows; regions with fewer than ``min_group``
    rows are left undecided (their fixed cost here is above the per-value parser's)."""
    plain, plus, idd_route = pl.col("_plain"), pl.col("_plus"), pl.col("_idd_route")
    no_region = plain & ~plus & ~idd_route & pl.col("region").is_null()
    idd_refused = idd_route & (
        (pl.col("_digits").str.len_bytes() <= _MIN_LENGTH_FOR_NSN) | pl.col("_cc").is_null()
    )
    decidable = (
        plain & pl.col("_meta").is_not_null() & (pl.col("_meta") != _NON_GEO) & pl.col("_cc").is_not_null()
    )
    decided = [
        _failed(frame.filter(no_region), _STATUS_NO_REGION),
        _failed(frame.filter(idd_refused), _STATUS_INVALID),
    ]
    undecided = [frame.filter(~no_region & ~idd_refused & ~decidable)]
    candidates = frame.filter(~no_region & ~idd_refused & decidable)
    read: list[pl.LazyFrame] = []
    for meta, group in _groups(candidates, "_meta"):
        if group.height < min_group or not _rules(str(meta)).plain_national_prefix:
            undecided.append(group)
        else:
            read += _read(group, _rules(str(meta)))
    if not read:
        return decided, undecided
    measured = pl.concat(pl.collect_all(read))  # the regions' plans run side by side
    rerouted = (
        measured.filter(pl.col("_idd"))
        .select(
            "_row", "region", "ext", "_plus", "_plain", _digits=pl.col("_after_idd"), _idd_route=pl.lit(True)
        )
        .with_columns(_cc=_calling_code(pl.col("_digits")))
        .with_columns(**_international(pl.lit(True)))
    )
    if rerouted.height:
        more_decided, more_undecided = _decide(rerouted, min_group)
        decided += more_decided
        undecided += more_undecided
    measured = measured.filter(~pl.col("_idd"))
    too_short = pl.col("_national").str.len_bytes() < _MIN_LENGTH_FOR_NSN
    too_long = pl.col("_nsn").str.len_bytes() > _MAX_LENGTH_FOR_NSN
    decided.append(_failed(measured.filter(too_short | too_long), _STATUS_INVALID))
    measured = measured.filter(~too_short & ~too_long)
    shared = pl.col("_cc").is_in([str(code) for code, regions in _SHARED_CODES.items()])
    decided.append(_outcomes(measured.filter(pl.col("_claimed") | ~shared)))
    for code, rows in _groups(measured.filter(~pl.col("_claimed") & shared), "_cc"):
        decided.append(_outcomes(_claim_rest(rows, _SHARED_CODES[int(str(code))][1:])))
    return decided, undecided


_SHARED_CODES: Final[dict[int, tuple[str, ...]]] = {
    code: tuple(regions)
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if len(regions) > 1
}


def parse_columns(pairs: pl.DataFrame, *, min_group: int = 200) -> pl.DataFrame:
    """Parse the (``clean``, ``region``) pairs this module can decide.

    Returns one row per pair, in order (:data:`OUTPUT_SCHEMA`): ``decided`` and, when true,
    what parse would say (e164, type and extension of a valid number, status, calling code).
    Undecided pairs are for the per-value parser. Values are read per region (the region given,
    or the calling code's); a region with fewer than ``min_group`` values is left undecided,
    as a few values cost the per-value parser less than this module's fixed cost per region.
    """
    decided, undecided = _decide(_prepared(pairs), min_group)
    handed_on = pl.concat([part.select("_row") for part in undecided])
    return (
        pl.concat([*(part.with_columns(decided=pl.lit(True)) for part in decided), handed_on], how="diagonal")
        .sort("_row")
        .with_columns(decided=pl.col("decided").fill_null(False))
        .select(list(OUTPUT_SCHEMA))
        .cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
    )
