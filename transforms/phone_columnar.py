"""Parse the plainly written phone values as whole columns: libphonenumber's rules over polars.

Why this module exists: even the fast per-value backend (rphonenumbers) costs about 9 µs of
Python per value, 10 CPU-seconds for the 1.2 million distinct values of a million-row file. Most
of those values are written plainly, digits with a few separators and perhaps a leading "+", and
for them libphonenumber's parse and number-type rules are a handful of regular expressions from
its metadata: a national prefix to strip, a general pattern, one pattern per number type. Those
run here once per region over the whole column, in polars' Rust regex engine.

The rules are phonenumbers' own (9.0.x ``parse`` and ``number_type``; transforms.phone_rules),
over phonenumbers' own metadata, so there is no second copy of the number plan to drift. Only
inputs whose parse is fully described below are decided here; everything else is handed to the
per-value parser (transforms.phone_backend), which stays the reference:

* the value is "+"? then digits and the separators `` ().-/``, 3 to 64 characters with at least
  three digits, optionally followed by an extension " x12" / " ext. 12" (so no letters,
  RFC 3966, full-width or Arabic digits, "/ x" second numbers);
* with "+" (or a region's international prefix such as "00"/"011" not followed by 0): a known
  calling code follows that is not a non-geographic entity ("001");
* the region whose rules apply (the calling code's main region, else the row's or run's) has a
  plain national-prefix rule: no carrier-code groups, no transform rule (AR, BR, JP, AU, ...
  stay per value), and enough values in this call to be worth a plan (:func:`worth_a_plan`);
* without "+" and without a region: ``NO_REGION``, as parse says. Digits that start with the
  region's own calling code get parse's second look (kept when that fits the plan better).

tests/transforms/test_phone_columnar.py checks every answer against phonenumbers on the
differential corpus (every region, every type, many written forms, near misses).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Final

import polars as pl

from transforms.phone_backend import BackendName, selected_backend
from transforms.phone_rules import (
    CALLING_CODE,
    MAIN_REGION,
    NON_GEO,
    SHARED_CODES,
    UNKNOWN,
    Rules,
    calling_code,
    rules_for,
)

__all__ = [
    "ANSWER_SCHEMA",
    "OUTPUT_SCHEMA",
    "claim_threshold",
    "decide_columns",
    "no_plan_pays",
    "parse_columns",
    "plan_threshold",
    "worth_a_plan",
    "worth_claiming",
    "worth_reading",
]

_STATUS_VALID: Final = 0
_STATUS_INVALID: Final = 1
_STATUS_NO_REGION: Final = 3
_MIN_LENGTH_FOR_NSN: Final = 2
_MAX_LENGTH_FOR_NSN: Final = 17
_PLAIN: Final = r"^\+?[0-9 ().\-/]{3,64}$"
_PLAIN_NON_DIGITS: Final = ["+", " ", "(", ")", ".", "-", "/"]
_WITH_EXTENSION: Final = r"^(?<number>.*?)[ ]*(?i:x|ext\.?)[ ]*(?<ext>[0-9]{1,6})$"
"""" x12", " ext. 12", "EXT12": the forms of libphonenumber's extension pattern kept here."""
_SECOND_NUMBER: Final = r"[\\/] *[xX]"
"""Where libphonenumber cuts off a second number ("030 1234 / x5" is not an extension)."""
ANSWER_SCHEMA: Final[dict[str, pl.DataType]] = {
    "e164": pl.String(),
    "type": pl.String(),
    "ext": pl.String(),
    "status": pl.Int8(),
    "cc": pl.Int32(),
}
"""What parse says of a decided value (:func:`decide_columns`)."""
OUTPUT_SCHEMA: Final[dict[str, pl.DataType]] = {"decided": pl.Boolean(), **ANSWER_SCHEMA}


PLAN_COST: Final = 2_000.0
"""A region's plan costs about this many per-value parses of the fast backend before it reads
a value, plus :data:`PATTERN_COST` per character of the region's patterns: polars compiles
each pattern and runs a plan of a dozen steps. Measured over the 245 regions of the
many-regions file (bench/normalize.py ``--regions all``): 0.04-0.17 CPU-s a region, against
about 19 µs a value for rphonenumbers on the same machine."""
PATTERN_COST: Final = 1.1
COLUMN_COST: Final = 0.1
"""A value read as columns, in per-value parses: the columns pay off only over many values."""
VALUE_COST: Final[dict[BackendName, float]] = {"rphonenumbers": 1.0, "phonenumbers": 8.0}
"""A per-value parse of each backend, in parses of the fast one (bench/phones.py: about 14k
values per CPU-second for phonenumbers, 110k for rphonenumbers)."""


def _pattern_size(rules: Rules) -> int:
    descs = [rules.general, rules.fixed_line, rules.mobile, *(desc for _, desc in rules.special)]
    patterns = [desc.pattern for desc in descs if desc is not None]
    patterns += [p for p in (rules.any_special, rules.national_prefix, rules.international_prefix) if p]
    return sum(map(len, patterns))


def plan_threshold(region: str, backend: BackendName | None = None) -> int:
    """The fewest distinct values of ``region`` for which reading them as columns costs less
    than parsing them one by one with ``backend`` (default: the selected one): a region with
    fewer is not worth a plan."""
    return _plan_threshold(region, backend or selected_backend())


@functools.cache
def _plan_threshold(region: str, backend: BackendName) -> int:
    """:func:`plan_threshold`, once per region and backend: summing a region's patterns costs
    about 0.25 ms, and a batch of a file over every region asks for some 200 of them."""
    return _break_even(_pattern_size(rules_for(region)), backend)


def _break_even(pattern_size: int, backend: BackendName) -> int:
    """The fewest values for which a plan with patterns of ``pattern_size`` characters costs less
    than parsing them one by one with ``backend``."""
    fixed = PLAN_COST + PATTERN_COST * pattern_size
    return int(fixed / (VALUE_COST[backend] - COLUMN_COST)) + 1


@functools.cache
def _patterns_size(regions: tuple[str, ...]) -> int:
    return sum(_pattern_size(rules_for(region)) for region in regions)


def claim_threshold(regions: tuple[str, ...], backend: BackendName | None = None) -> int:
    """The fewest rows a shared calling code's other ``regions`` must have to claim for reading
    them as columns (transforms.phone_reading.claim_rest, every region's patterns in one pass)
    to cost less than parsing them one by one. Why apart from :func:`plan_threshold`: the rows
    the code's first region does not claim are few where a file's +1 numbers are American (the
    million-row file: a few hundred a batch) and most of them where they come from all 25
    regions of +1 (the many-regions file: 10,000 a batch), and the claim's fixed cost is the
    other regions' patterns, 20,876 characters for +1: 0.22 CPU-s a batch for 10,000 rows."""
    return _break_even(_patterns_size(regions), backend or selected_backend())


def worth_claiming(regions: tuple[str, ...], rows: int, min_group: int | None = None) -> bool:
    """Whether a shared code's unclaimed ``rows`` are read as columns (:func:`claim_threshold`,
    or at least ``min_group`` when given); else they go to the per-value parser."""
    if min_group is not None:
        return rows >= min_group
    return rows >= _fewest(selected_backend()) and rows >= claim_threshold(regions)


def worth_a_plan(region: str, values: int, min_group: int | None = None) -> bool:
    """Whether ``values`` distinct values of ``region`` are read as columns: by cost
    (:func:`plan_threshold` for the selected backend), or at least ``min_group`` when given.
    Fewer values than any plan needs are told without the region's rules (built at their first
    use, 0.2 ms a region: a file over every region asked for 245 of them for nothing)."""
    if min_group is None and values < _fewest(selected_backend()):
        return False
    if not rules_for(region).plain_national_prefix:
        return False
    return values >= (plan_threshold(region) if min_group is None else min_group)


@functools.cache
def _fewest(backend: BackendName) -> int:
    """The fewest values any plan can repay with ``backend``: a plan's cost without patterns."""
    return _break_even(0, backend)


def worth_reading(region: str, given: pl.Series, min_group: int | None = None, scale: float = 1.0) -> bool:
    """Whether the values a region's plan would read (``given``: each one's region as the
    row gave it) are worth the plan. For most regions that is :func:`worth_a_plan` of their
    count. A shared calling code's first region (US for +1, GB for +44) reads every value of
    the code, but only its own are decided there: the others cost a column each and then
    go on to :func:`worth_claiming` or to the per-value parser. On a file of all 245 regions
    a batch's 10,000 +1 values are 470 American ones: reading them all cost more than the
    plan saved (the default was 5-7% slower than ``LEADFLOW_PHONE_COLUMNAR=0`` there). So the
    plan runs when the values the rows give the region itself (or another region outside the
    code's) are worth it, or when the rest are worth claiming. The rows' own region is an
    estimate (a Canadian number in a row marked US is still claimed by Canada's patterns),
    which only moves values between two paths that give the same answers. ``scale``: ``given``
    is a sample of that many times fewer values (:func:`no_plan_pays`)."""
    if min_group is not None or region not in _SHARED_FIRST:
        return worth_a_plan(region, round(given.len() * scale), min_group)
    others = _SHARED_FIRST[region]
    theirs = int(given.is_in(others).sum())
    own = given.len() - theirs
    return worth_a_plan(region, round(own * scale)) or worth_claiming(others, round(theirs * scale))


_SHARED_FIRST: Final[dict[str, tuple[str, ...]]] = {
    regions[0]: regions[1:] for regions in SHARED_CODES.values()
}
"""A shared calling code's first region (whose plan reads all of the code's values) -> the
code's other regions."""


def _too_few_for_a_plan(values: int) -> bool:
    """No region is worth a plan below the backend's fewest values (a region's patterns only
    add to the cost): then nothing is prepared either, which spares a small file the
    preparation's regexes. Below the fewest of any backend, the backend is not even chosen."""
    return values < min(map(_fewest, VALUE_COST)) or values < _fewest(selected_backend())


_SAMPLE_ROWS: Final = 4_096
"""Values of a batch whose routing estimates, for :func:`no_plan_pays`, how the batch would be
read: a region at 3% of a batch (a plan's threshold in a 150k-value batch) has about 120 of them,
known to within a tenth, and a region that close to its threshold costs the same either way."""


def no_plan_pays(pairs: pl.DataFrame) -> bool:
    """Whether no region of ``pairs`` would be read as columns, judged from a sample, so that
    the preparation of every value (its clean-up, calling code and route: 50-80 ms for a
    batch of 150k values) is spared where it would only find that. Where a region the rows
    give has enough values for its plan on its own (a file of a few countries) the whole
    batch is prepared at once, without a sample. Why: on a file of all 245 regions no region
    is worth a plan, and that preparation made the default 4-5% slower than the per-value
    path (``LEADFLOW_PHONE_COLUMNAR=0``). A wrong guess changes no answer, only the path."""
    if pairs.height <= 2 * _SAMPLE_ROWS:
        return False
    given = pairs.get_column("region").value_counts()
    for region, count in given.iter_rows():
        if region is not None and worth_a_plan(region, count):
            return False
    sample = pairs.gather_every(pairs.height // _SAMPLE_ROWS)
    _, _, read = _route(_prepared(sample), None, scale=pairs.height / sample.height)
    return not read


def _plain_digits(value: pl.Expr) -> pl.Expr:
    """The digits of a value that is plain (``_PLAIN``: digits, separators, a leading "+"): its
    other characters removed in one multi-pattern pass, 0.07 s for 600k values where the regex
    ``[^0-9]`` took 0.16 s. Other values keep their other characters; they are never read here
    (they are not ``_plain``), only handed to the per-value parser."""
    return value.str.replace_many(_PLAIN_NON_DIGITS, [""] * len(_PLAIN_NON_DIGITS))


def _groups(
    frame: pl.DataFrame, key: str, *, include_key: bool = True
) -> list[tuple[str | None, pl.DataFrame]]:
    """``frame`` split by ``key``, groups in order of first appearance (one copy of the rows,
    as a sort would make, at half a sort's cost); without the ``key`` column when not
    ``include_key``."""
    if frame.height == 0:
        return []
    groups = frame.partition_by(key, as_dict=True, include_key=include_key)
    return [(value, group) for (value,), group in groups.items()]


def _prepared(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs with the extension split off (``ext``), the digits, whether the value starts
    with "+", whether it is plain enough for this module, and where parse would look first:
    the calling code (``_cc``), the region whose rules apply (``_meta``) and the national part.

    Three kinds of values are read apart, because most need much less than the general
    case: all digits (after an optional "+"), which are their own digits; values with an "x"
    (the only ones that may carry an extension or a second number); and the rest, separators
    but no extension. The rows come back grouped by kind and by "+"; ``_row`` says where each was.
    """
    number, digits = pl.col("_number"), pl.col("_digits")
    # each value's kind is decided once, eagerly: as filter predicates in the branches' plans
    # the two regexes ran once per branch
    values = (
        pairs.select("clean", "region")
        .with_row_index("_row")
        .with_columns(
            _all_digits=pl.col("clean").str.contains(r"^\+?[0-9]+$").fill_null(False),
            _with_x=pl.col("clean").str.contains("[xX]").fill_null(False),
        )
        .lazy()
    )
    all_digits, with_x = pl.col("_all_digits"), pl.col("_with_x")
    split = pl.col("clean").str.extract_groups(_WITH_EXTENSION)
    kinds = [
        values.filter(all_digits).select(
            "_row",
            "region",
            ext=pl.lit(None, dtype=pl.String),
            _digits=pl.col("clean").str.strip_chars_start("+"),
            _plus=pl.col("clean").str.starts_with("+"),
            _plain=pl.col("clean").str.len_bytes().is_between(3, 64),
        ),
        values.filter(~all_digits & ~with_x).select(
            "_row",
            "region",
            ext=pl.lit(None, dtype=pl.String),
            _digits=_plain_digits(pl.col("clean")),
            _plus=pl.col("clean").str.starts_with("+"),
            _plain=pl.col("clean").str.contains(_PLAIN).fill_null(False),
        ),
        values.filter(~all_digits & with_x)
        .with_columns(_split=split)
        .with_columns(
            _number=pl.coalesce(pl.col("_split").struct.field("number"), pl.col("clean")),
            ext=pl.col("_split").struct.field("ext"),
        )
        .select(
            "_row",
            "region",
            "ext",
            _digits=_plain_digits(number),
            _plus=number.str.starts_with("+"),
            _plain=(number.str.contains(_PLAIN) & ~pl.col("clean").str.contains(_SECOND_NUMBER)).fill_null(
                False
            ),
        ),
    ]
    rows = pl.concat(kinds).with_columns(
        _idd_route=pl.lit(False), _plain=pl.col("_plain") & (digits.str.len_bytes() >= 3)
    )
    # the values with "+" and the others located apart: as one when/then, every lookup (the
    # calling code of the digits, its region, the region's code) ran on every value
    plus = pl.col("_plus").fill_null(False)
    located = pl.concat(
        [
            _located(rows.filter(plus)),
            rows.filter(~plus).with_columns(**_in_region()),
        ]
    )
    return located.collect(engine="streaming")  # row-wise: on every core, in morsels


def _located(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` (international values) with the columns that say where parse looks first:
    the calling code the digits start with (``_cc``), the region whose metadata parse uses
    (``_meta``) and the digits after the code (``_national``)."""
    located = _international()
    return frame.with_columns(**located[0]).with_columns(**located[1])


@functools.cache
def _international() -> tuple[dict[str, pl.Expr], dict[str, pl.Expr]]:
    """:func:`_located`'s columns, in two steps. Built once: their lookup tables (every
    calling code, every region) are converted to polars' once too."""
    return (
        {"_cc": calling_code(pl.col("_digits"))},
        {
            "_meta": pl.col("_cc").replace_strict(MAIN_REGION, default=None, return_dtype=pl.String),
            "_national": pl.col("_digits").str.slice(pl.col("_cc").str.len_bytes()),
        },
    )


@functools.cache
def _in_region() -> dict[str, pl.Expr]:
    """:func:`_located`'s columns for values in national form: the row's region's."""
    return {
        "_cc": pl.col("region").replace_strict(CALLING_CODE, default=None, return_dtype=pl.String),
        "_meta": pl.col("region"),
        "_national": pl.col("_digits"),
    }


def _failed(frame: pl.LazyFrame, status: int) -> pl.LazyFrame:
    """Rows parse refuses (no region, too short, too long, unknown calling code after an IDD)."""
    return frame.select(
        "_row",
        e164=pl.lit(None, pl.String),
        type=pl.lit(None, pl.String),
        ext=pl.lit(None, pl.String),
        status=pl.lit(status, pl.Int8),
        cc=pl.lit(None, pl.Int32),
    )


def _outcomes(typed: pl.LazyFrame) -> pl.LazyFrame:
    valid = pl.col("_type") != UNKNOWN
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


_NO_REGION: Final = "\x00no region"
_REFUSED: Final = "\x00refused"
_UNDECIDABLE: Final = "\x00undecidable"
"""Routes of the prepared rows that are not a region's (a NUL never starts a region code)."""


def _route(
    frame: pl.DataFrame, min_group: int | None, planned: Collection[str] = (), *, scale: float = 1.0
) -> tuple[list[pl.LazyFrame], list[pl.DataFrame], dict[str, pl.DataFrame]]:
    """The prepared rows in one partition: (plans of parse's refusals, undecided groups,
    the groups of the regions to read). A region in ``planned`` is read whatever its count
    (its plan runs anyway). ``scale``: ``frame`` is a sample of that many times fewer rows."""
    plain, plus, idd_route = pl.col("_plain"), pl.col("_plus"), pl.col("_idd_route")
    no_region = plain & ~plus & ~idd_route & pl.col("region").is_null()
    idd_refused = idd_route & (
        (pl.col("_digits").str.len_bytes() <= _MIN_LENGTH_FOR_NSN) | pl.col("_cc").is_null()
    )
    decidable = (
        plain & pl.col("_meta").is_not_null() & (pl.col("_meta") != NON_GEO) & pl.col("_cc").is_not_null()
    )
    route = (
        pl.when(no_region)
        .then(pl.lit(_NO_REGION))
        .when(idd_refused)
        .then(pl.lit(_REFUSED))
        .when(~decidable)
        .then(pl.lit(_UNDECIDABLE))
        .otherwise(pl.col("_meta"))
    )
    decided: list[pl.LazyFrame] = []
    undecided: list[pl.DataFrame] = []
    read: dict[str, pl.DataFrame] = {}
    for meta, group in _groups(frame.with_columns(_route=route), "_route", include_key=False):
        if meta == _NO_REGION:
            decided.append(_failed(group.lazy(), _STATUS_NO_REGION))
        elif meta == _REFUSED:
            decided.append(_failed(group.lazy(), _STATUS_INVALID))
        elif meta == _UNDECIDABLE or (
            meta not in planned and not worth_reading(str(meta), group.get_column("region"), min_group, scale)
        ):
            undecided.append(group)
        else:
            read[str(meta)] = group
    return decided, undecided, read


def _decide(frame: pl.DataFrame, min_group: int | None) -> tuple[list[pl.LazyFrame], list[pl.DataFrame]]:
    """(plans of the decided parts, undecided parts) of prepared rows; regions not worth a plan
    (:func:`worth_a_plan`) are left undecided. The decided parts are left as plans for the
    caller's one plan that puts every answer in order (transforms.phones).

    The rows are routed with one partition (parse's refusals, the undecidable ones, one part
    per region) and what follows the regions' reading runs as lazy plans: filtering the read
    rows eagerly copied their fifteen columns three times over.

    The values written with an international prefix ("0044 20 ...", "011 49 ...": a few
    percent of a file, after their prefix a few hundred to a few thousand per region) are
    found first (:func:`~transforms.phone_reading.flag_region`) and read with the plan of their
    calling code's region, in the same pass as that region's own values: read in a second
    round they were under every region's plan threshold and went to the per-value parser,
    about 35 CPU-ms per 100k-row batch of the million-row file (bench/normalize.py)."""
    decided, undecided, groups = _route(frame, min_group)
    # the groups are copies: let the prepared rows go now (the caller hands them over), and
    # the regions' groups once their plans have run, rather than at the end (300 MB less at
    # the phone stage's peak for a million values)
    del frame
    if not groups:
        return decided, undecided
    # the regions' reading (~270 lines): a file with no region worth a plan needs none of it
    from transforms.phone_reading import NOT_FLAGGED, claim_rest, flag_region, read_region

    flagged = dict(
        zip(
            groups,
            pl.collect_all(flag_region(group, rules_for(region)) for region, group in groups.items()),
            strict=True,
        )
    )
    del groups
    international = pl.concat([rows.filter(pl.col("_idd")) for rows in flagged.values()])
    # lazily: the regions' own rows are filtered inside their plans, not copied first
    to_read = {region: rows.lazy().filter(~pl.col("_idd")) for region, rows in flagged.items()}
    del flagged
    if international.height:
        rerouted = _located(
            international.lazy().select(
                "_row",
                "region",
                "ext",
                "_plus",
                "_plain",
                _digits=pl.col("_after_idd"),
                _idd_route=pl.lit(True),
            )
        ).collect()
        more_decided, more_undecided, more_groups = _route(rerouted, min_group, planned=to_read)
        decided += more_decided
        undecided += more_undecided
        for region, group in more_groups.items():
            arrived = group.lazy().with_columns(**NOT_FLAGGED)
            own = to_read.get(region)
            to_read[region] = arrived if own is None else pl.concat([own, arrived], how="diagonal")
    del international
    read = [plan for region, lazy in to_read.items() for plan in read_region(lazy, rules_for(region))]
    del to_read
    measured = pl.concat(pl.collect_all(read))  # the regions' plans run side by side
    del read
    too_short = pl.col("_national").str.len_bytes() < _MIN_LENGTH_FOR_NSN
    too_long = pl.col("_nsn").str.len_bytes() > _MAX_LENGTH_FOR_NSN
    shared = pl.col("_cc").is_in([str(code) for code, regions in SHARED_CODES.items()])
    read_rows = measured.lazy()
    fits = read_rows.filter(~too_short & ~too_long)
    decided.append(_failed(read_rows.filter(too_short | too_long), _STATUS_INVALID))
    decided.append(_outcomes(fits.filter(pl.col("_claimed") | ~shared)))
    unclaimed = fits.filter(~pl.col("_claimed") & shared).collect()
    for code, rows in _groups(unclaimed, "_cc"):
        others = SHARED_CODES[int(str(code))][1:]
        if worth_claiming(others, rows.height, min_group):
            decided.append(_outcomes(claim_rest(rows, others).lazy()))
        else:  # too few to repay the other regions' patterns: parsed one by one, as parse does
            undecided.append(rows.select("_row"))
    return decided, undecided


def decide_columns(
    pairs: pl.DataFrame, *, min_group: int | None = None
) -> tuple[list[pl.LazyFrame], pl.Series]:
    """:func:`parse_columns`' answers before they are put in order: plans of the decided
    pairs (``_row``, their row in ``pairs``, and :data:`ANSWER_SCHEMA`), and the rows left
    undecided, ascending. Left as plans so that the caller puts them in order together with
    the per-value parser's answers, in one plan (transforms.phones)."""
    if min_group is None and (_too_few_for_a_plan(pairs.height) or no_plan_pays(pairs)):
        return [], pl.int_range(pairs.height, dtype=pl.get_index_type(), eager=True)
    decided, undecided = _decide(_prepared(pairs), min_group)
    rows = [part.get_column("_row") for part in undecided]
    if not rows:
        return decided, pl.Series("_row", [], dtype=pl.get_index_type())
    return decided, pl.concat(rows).sort()


def parse_columns(pairs: pl.DataFrame, *, min_group: int | None = None) -> pl.DataFrame:
    """Parse the (``clean``, ``region``) pairs this module can decide.

    Returns one row per pair, in order (:data:`OUTPUT_SCHEMA`): ``decided`` and, when true,
    what parse would say (e164, type and extension of a valid number, status, calling code).
    Undecided pairs are for the per-value parser. Values are read per region (the region given,
    or the calling code's). A region is read only when its distinct values are worth the
    plan's fixed cost (:func:`worth_a_plan`): a file spread over 245 regions has a few hundred
    values in most, which the per-value parser takes for less. ``min_group`` replaces the
    estimate by a fixed count (the tests read small regions as columns with it).
    """
    decided, undecided = decide_columns(pairs, min_group=min_group)
    marked = [part.with_columns(decided=pl.lit(True)) for part in decided]
    handed_on = pl.LazyFrame({"_row": undecided})
    return (
        pl.concat([_shape(), *marked, handed_on], how="diagonal")
        .sort("_row")
        .with_columns(decided=pl.col("decided").fill_null(False))
        .select(list(OUTPUT_SCHEMA))
        .cast(OUTPUT_SCHEMA)  # type: ignore[arg-type]
        .collect()
    )


def _shape() -> pl.LazyFrame:
    """No rows, every column: the concatenation's shape for when a list of parts is empty."""
    return pl.LazyFrame(schema={"_row": pl.get_index_type(), **OUTPUT_SCHEMA})
