"""Normalize the three phone columns of the raw leads: E.164, type, extension, region, time zone.

Why it is shaped this way: a million-row file holds about 1.5 million phone values and parsing
one costs microseconds of Python, so every step but the parse is a polars expression, and the
parse runs once per distinct (cleaned value, region) pair: as whole columns for the plainly
written values (transforms.phone_columnar, libphonenumber's rules over polars), one by one for
the rest (transforms.phone_backend, which spreads large batches over processes and picks the
fast backend). The answers go back to the rows by position (transforms.distinct).

Spreadsheet damage repaired before parsing (the rest, e.g. "tel:" URIs, vanity letters,
extensions, full-width digits and "(0)" trunk digits after a country code, is libphonenumber's
own job and is covered by the tests):

* surrounding whitespace (Unicode, incl. no-break and zero-width) and Excel's leading apostrophe;
* numbers that became floats, "4155552671.0", at any length: "7290.0" is the float of 7290
  (a Tokelau number, +6907290), which libphonenumber, dropping the ".", would read as another
  valid number (72900, +69072900); a digit string alone is never changed;
* thousands separators: "4,155,552,671" (a number formatted by a spreadsheet);
* scientific notation: "4.155552671E9" (or "E+009") is expanded when the mantissa carries every digit;
  "4,15555E+9" lost digits, so it is reported ``PHONE_INVALID``, never guessed;
* "00"/"011" international prefixes when no region is known, and "00" for NANPA regions, whose
  own international prefix (011) libphonenumber expects.
* a label in brackets after the number, "+1 415 555 2671 (mobile)", and an extension marker
  with no digits after it, "415-555-2671 ext.": the number alone (both read as vanity letters).

Row outcomes: ``country`` becomes the region used (the row's recognised country, else the run's
default region, else null); ``issues`` gains COUNTRY_UNKNOWN, PHONE_UNPARSEABLE / PHONE_NO_REGION
/ PHONE_INVALID per offending column (with the raw value), PHONE_MISSING and TIMEZONE_INVALID.
A number libphonenumber calls valid but E.164 cannot carry (under 7 or over 15 digits, e.g.
Austrian short numbers or 16-digit German ones) is PHONE_INVALID too: ``phoneN`` only ever holds
what the clean-leads contract accepts (schemas.clean_leads.E164_PATTERN and E164_DIGITS). So
is a value listing a second number after ";" ("0612345678;0698765432"), which libphonenumber
reads as an auto-dial extension.
POSTAL_CODE_UNKNOWN / STATE_UNKNOWN mark a US row's ZIP code or state (unmapped columns read by
transforms.us_zones) that is not one. Time zone rules: see transforms.timezones.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import phonenumbers
import polars as pl

from schemas.clean_leads import E164_DIGITS, PHONE_SLOTS
from schemas.codes import Issue
from transforms.blanks import EDGE_JUNK
from transforms.countries import resolve_country, resolve_country_values
from transforms.distinct import distinct_values
from transforms.issues import append_issue_rows, issue
from transforms.phone_backend import (
    COLUMNAR,
    STATUS_INVALID,
    STATUS_NO_REGION,
    STATUS_UNPARSEABLE,
    parse_values,
)
from transforms.phone_columnar import ANSWER_SCHEMA, decide_columns
from transforms.timezones import phone_zone_ids
from transforms.zone_columns import with_timezones

__all__ = ["clean_phone_values", "normalize_phones", "phone_columns"]

_NANPA_REGIONS: Final[list[str]] = list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_SUPPORTED_REGIONS: Final[dict[str, str]] = {region: region for region in phonenumbers.SUPPORTED_REGIONS}
_STATUS_CODES: Final[dict[int, str]] = {
    STATUS_INVALID: Issue.PHONE_INVALID.value,
    STATUS_UNPARSEABLE: Issue.PHONE_UNPARSEABLE.value,
    STATUS_NO_REGION: Issue.PHONE_NO_REGION.value,
}
_LEADING_JUNK: Final = EDGE_JUNK + "'‘’`"
_TRAILING_JUNK: Final = EDGE_JUNK
_THOUSANDS: Final = r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.0+)?$"
"""A number a spreadsheet formatted with thousands separators ("4,155,552,671"): the digits are
all there, the commas are not libphonenumber's to read (it calls the value no number at all)."""
_SCIENTIFIC: Final = r"^([0-9])(?:[.,]([0-9]*))?[eE]\+?0?([0-9]{1,2})$"
"""ASCII digits only: the regex engine's ``\\d`` is any Unicode digit ("٠"), which no number cast
reads; a spreadsheet writes its damage in ASCII. The exponent may carry one leading zero
("E+011", as C's printf and some Excel exports write it): the same float as "E+11", so the
exact-mantissa rule still decides whether it is expanded."""

_LABEL: Final = r"^(.*?)[\s,;]*[(\[]\s*\p{L}[^\d()\[\]]*[)\]]$"
"""A label in brackets after the number, letters and no digit: "+1 415 555 2671 (mobile)",
"0612345678 (home)". libphonenumber reads its letters as a vanity number's keypad digits
("(mobile)" as 662453) and calls the whole invalid. Dropped only when what is left holds a
number's digits (:data:`_LABELLED_DIGITS`), so that a vanity word in brackets
("1-800-(FLOWERS)") stays the number it spells. A label before the number ("(cell) 415 555
2671") is libphonenumber's own to skip, as it skips any leading text."""
_LABELLED_DIGITS: Final = 5
"""Digits (vanity letters counting) a value must keep for its bracketed label to be dropped:
more than "1-800-" leaves, the shortest national numbers' but a few 4-digit ones (Niue, Tokelau:
those stay refused with a label)."""
_NO_EXTENSION: Final = r"(?i)^(.*[\d)])[\s,;]+(?:ext(?:ension|n)?|x)\.?[\s:#.]*$"
"""An extension marker with no digits after it, "415-555-2671 ext." or "x.": an export's empty
extension field. libphonenumber reads "ext" as vanity letters (398) and refused the number; it
is the number with no extension. The marker must stand apart from the number, so that letters
written onto digits stay a vanity number's."""

_AUTO_DIAL: Final = r";\s*[0-9+(]|,,"
"""libphonenumber's auto-dial extension marks, a number right after them: "+1 650 253 0000;123"
dials 123 after the call connects (RFC 3966's labelled ";ext=1234567" is an extension). A CRM
export lists a lead's several numbers with ";" ("0612345678;0698765432"), which libphonenumber
reads as the first number with the second as its extension."""
_SECOND_NUMBER_DIGITS: Final = 7
"""An auto-dial "extension" this long is a second number (E.164's shortest has 7 digits): the
value is PHONE_INVALID, as "0612345678 / 0698765432" is, not a switchboard extension that sends
the second number to the agent as an extension and holds the lead at a target that holds them."""


def _numeric_repairs(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``_v`` with spreadsheet number damage undone: "4155552671.0" -> "4155552671", and
    "4.155552671E9" expanded when the mantissa carries every digit (``_exact``); ``_is_sci``
    marks scientific notation, exact or not."""
    return (
        frame.with_columns(
            _v=pl.when(pl.col("_v").str.contains(_THOUSANDS))
            .then(pl.col("_v").str.replace_all(",", "", literal=True))
            .otherwise(pl.col("_v"))
        )
        .with_columns(
            # the "." and its zeros stripped: a regex replace with a capture group cost twice
            # the match and the strips (9.3 vs 4.8 CPU-ms on a 100k-row batch's 32k values)
            _v=pl.when(pl.col("_v").str.contains(r"^[0-9]+\.0+$"))
            .then(pl.col("_v").str.strip_chars_end("0").str.strip_chars_end("."))
            .otherwise(pl.col("_v"))
        )
        .with_columns(_sci=pl.col("_v").str.extract_groups(_SCIENTIFIC))
        .with_columns(
            _mantissa=pl.col("_sci").struct.field("1"),
            _fraction=pl.col("_sci").struct.field("2").fill_null(""),
            _exponent=pl.col("_sci").struct.field("3").cast(pl.Int32),
        )
        .with_columns(
            _is_sci=pl.col("_mantissa").is_not_null(),
            _exact=pl.col("_mantissa").is_not_null()
            & (pl.col("_fraction").str.len_chars() == pl.col("_exponent")),
        )
        .with_columns(
            _v=pl.when(pl.col("_exact"))
            .then(pl.col("_mantissa") + pl.col("_fraction"))
            .otherwise(pl.col("_v"))
        )
        .select("region", "_v", "_is_sci", "_exact")
    )


def _annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``_v`` without a trailing label in brackets (:data:`_LABEL`) and then without an empty
    extension marker (:data:`_NO_EXTENSION`)."""
    value = pl.col("_v")
    unlabelled = value.str.replace(_LABEL, "${1}")
    kept = unlabelled.str.count_matches(r"[\d\p{L}]") >= _LABELLED_DIGITS
    return frame.with_columns(
        _v=pl.when(value.str.contains(_LABEL) & kept).then(unlabelled).otherwise(value)
    ).with_columns(_v=pl.col("_v").str.replace(_NO_EXTENSION, "${1}"))


def clean_phone_values(pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` (raw, region) plus ``clean`` (the repaired value, null when blank) and
    ``damaged`` (digits were lost to scientific notation), row for row.

    The number and prefix repairs run only on the values that may need them (a ".", "," or "e",
    a leading "00" or "011"; a quarter of the generated files' values): repaired apart, from
    their clean form, and put back in place (a scatter of two columns). Split into two parts
    and concatenated, the rows came back in another order and the parse's answers needed a
    sort of their own to go back (bench/phones.py). Each step is a column of its own: polars
    2.1 evaluates a shared sub-expression again at every use.
    """
    region, value = pl.col("region"), pl.col("_v")
    trimmed = pairs.lazy().select(
        "raw",
        "region",
        _v=pl.col("raw").str.strip_chars_start(_LEADING_JUNK).str.strip_chars_end(_TRAILING_JUNK),
    )
    may_need_repair = (
        value.str.contains("[.,eE]")
        | value.str.starts_with("00")
        | value.str.starts_with("011")
        | value.str.ends_with(")")
        | value.str.ends_with("]")
    ).fill_null(False)
    # "00" or "011" replaced by "+" as slices ("00" first, as the alternation tries it): as
    # regex replacements, 12 rather than 10 CPU-ms for the 32k values of a 100k-row batch
    idd_length = pl.when(value.str.starts_with("00")).then(2).otherwise(3)
    international = (
        pl.when(region.is_null() & value.str.contains(r"^(?:00|011)[1-9]"))
        .then(pl.lit("+") + value.str.slice(idd_length))
        .when(region.is_in(_NANPA_REGIONS) & value.str.contains(r"^00[1-9]"))
        .then(pl.lit("+") + value.str.slice(2))
        .otherwise(value)
    )
    clean = pl.when(value == "").then(pl.lit(None, dtype=pl.String)).otherwise(value)
    # row-wise string work: the streaming engine runs it on every core, in morsels
    cleaned = trimmed.select(
        "raw", "region", clean=clean, damaged=pl.lit(False), _repair=may_need_repair
    ).collect(engine="streaming")
    at = cleaned.get_column("_repair").arg_true()
    if at.len() == 0:
        return cleaned.drop("_repair")
    # a value that may need repair is never blank: its clean form is its trimmed form
    repaired = (
        _numeric_repairs(
            cleaned.lazy().filter(pl.col("_repair")).select("region", _v=pl.col("clean")).pipe(_annotations)
        )
        .with_columns(_v=international)
        .select(clean=clean, damaged=pl.col("_is_sci") & ~pl.col("_exact"))
        .collect()
    )
    return cleaned.select(
        "raw",
        "region",
        cleaned.get_column("clean").scatter(at, repaired.get_column("clean")),
        cleaned.get_column("damaged").scatter(at, repaired.get_column("damaged")),
    )


def _parse_distinct(
    pairs: pl.DataFrame,
    workers: int | None,
    pool_threshold: int,
    *,
    columnar: bool,
    min_group: int | None = None,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Per (raw, region) pair: given, status, e164, type, ext, zone_id; one parse each. The
    answers come in the order their parts were decided in, with each answer's row in
    ``pairs`` (a permutation): left out of order, they are gathered to the rows once, not
    sorted first (transforms.distinct ``reordered``; a sort cost 13 CPU-ms a 100k-row batch).

    ``given``: something is left once the value is cleaned (blank and junk-only values are not).

    Plainly written values are parsed as columns (transforms.phone_columnar); the rest, one by
    one (transforms.phone_backend).
    """
    cleaned = clean_phone_values(pairs)
    usable = pl.col("clean").is_not_null() & ~pl.col("damaged")
    rows = cleaned.lazy().with_row_index("_row")
    decided: list[pl.LazyFrame] = []
    if columnar:
        decided, undecided = decide_columns(cleaned.select("clean", "region"), min_group=min_group)
        if decided:  # else every row is undecided, in order: nothing to pick
            rows = rows.select(pl.all().gather(undecided))
    handed_on = rows.select("_row", "clean", "region", _usable=usable).collect()
    todo = handed_on.filter(pl.col("_usable"))
    one_by_one = parse_values(
        todo.get_column("clean").to_list(),
        todo.get_column("region").to_list(),
        workers=workers,
        pool_threshold=pool_threshold,
    )
    parsed_one_by_one = pl.DataFrame(
        {
            "_row": todo.get_column("_row"),
            "e164": pl.Series(one_by_one.e164, dtype=pl.String),
            "type": pl.Series(one_by_one.number_type, dtype=pl.String),
            "ext": pl.Series(_ascii_digits(one_by_one.extension), dtype=pl.String),
            "status": pl.Series(one_by_one.status, dtype=pl.Int8),
            "cc": pl.Series(one_by_one.country_code, dtype=pl.Int32),
        }
    )
    unparsed = handed_on.lazy().filter(~pl.col("_usable")).select("_row")
    # every answer in one plan: the columnar parse's parts (left as plans by decide_columns),
    # the per-value parser's and the unusable values' rows, with the clean-up's verdicts
    # gathered to them; as steps of their own, the ordering, the scatter of the per-value
    # answers and the selection below were eight queries and two sorts
    shape = pl.LazyFrame(schema={"_row": pl.get_index_type(), **ANSWER_SCHEMA})
    given, damaged = cleaned.get_column("clean").is_not_null(), cleaned.get_column("damaged")
    auto_dial = cleaned.get_column("clean").str.contains(_AUTO_DIAL).fill_null(False)
    parsed = (
        pl.concat([shape, *decided, parsed_one_by_one.lazy(), unparsed], how="diagonal")
        .cast(ANSWER_SCHEMA)  # type: ignore[arg-type]
        .with_columns(
            _given=pl.lit(given).gather(pl.col("_row")),
            _damaged=pl.lit(damaged).gather(pl.col("_row")),
            _auto_dial=pl.lit(auto_dial).gather(pl.col("_row")),
        )
    )
    # libphonenumber calls some numbers valid that E.164 cannot carry (6 or 16+ digits): for
    # both paths' answers, such a number is invalid here rather than refused by the contract.
    # Both write "+", a calling code (never 0) and digits, so of the contract's pattern only
    # the length is left to check (a regex over a million numbers costs 0.1 s, this 2 ms)
    fewest, most = E164_DIGITS
    usable = pl.col("_given") & ~pl.col("_damaged")
    carried = pl.col("e164").str.len_bytes().is_between(fewest + 1, most + 1)
    out_of_range = usable & pl.col("e164").is_not_null() & ~carried
    second_number = usable & pl.col("_auto_dial") & (pl.col("ext").str.len_bytes() >= _SECOND_NUMBER_DIGITS)
    out_of_range = out_of_range | second_number.fill_null(False)
    kept = usable & ~out_of_range
    answers = parsed.select(
        "_row",
        given=pl.col("_given"),
        status=pl.when(pl.col("_damaged") | out_of_range)
        .then(pl.lit(STATUS_INVALID, dtype=pl.Int8))
        .when(usable)
        .then(pl.col("status")),
        e164=pl.when(kept).then(pl.col("e164")),
        type=pl.when(kept).then(pl.col("type")),
        ext=pl.when(kept).then(pl.col("ext")),
        cc=pl.when(usable).then(pl.col("cc")),
    ).collect()
    order = answers.get_column("_row").to_numpy()
    answers = answers.drop("_row")
    return answers.with_columns(zone_id=phone_zone_ids(answers)), order


def _ascii_digits(extensions: list[str | None]) -> list[str | None]:
    """The extensions in ASCII digits. libphonenumber keeps an extension's digits as written
    ("x１２", "ext. ١٢"), while it reads the number's own in any script: left so, one person's
    extension 12 written three ways was three dedupe keys (three leads sent) and reached the
    dialer as "١٢". Only the per-value parse sees such digits (the columnar one reads ASCII)."""
    if all(ext is None or ext.isascii() for ext in extensions):
        return extensions
    return [
        ext if ext is None or ext.isascii() else phonenumbers.normalize_digits_only(ext) for ext in extensions
    ]


def _is_given(values: pl.Expr) -> pl.Expr:
    return values.str.strip_chars().str.len_chars().fill_null(0) > 0


def _region_of_default(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = resolve_country(default_region)
    if region is None:
        raise ValueError(
            f"default region {default_region!r} is not a country this pipeline knows: "
            "give an ISO 3166 code such as 'US' or 'DE'"
        )
    return region


def normalize_phones(
    raw: pl.DataFrame,
    default_region: str | None,
    *,
    workers: int | None = None,
    pool_threshold: int = 20_000,
    columnar: bool = COLUMNAR,
    min_group: int | None = None,
) -> pl.DataFrame:
    """Normalize phones, country and time zone of raw leads (schemas.raw_leads.RAW_LEADS columns).

    Returns the same rows in the same order. Each ``phoneN`` is replaced by ``phoneN_raw`` (the
    input value), ``phoneN`` (E.164 of a valid number, else null), ``phoneN_type`` and
    ``phoneN_ext``; ``country`` becomes the ISO-2 region used; ``timezone`` is followed by
    ``timezone_source`` and ``timezone_candidates``; ``issues`` is extended. Other columns are
    untouched. ``default_region`` may be any form of a country (ISO-2/3, name); an unknown one
    is a ValueError. ``workers``/``pool_threshold`` control the process pool of the parse;
    ``columnar`` whether plain values are parsed as columns first (``LEADFLOW_PHONE_COLUMNAR``),
    in the regions worth it (``min_group``: transforms.phone_columnar.parse_columns).
    """
    frame, found = phone_columns(
        raw,
        default_region,
        workers=workers,
        pool_threshold=pool_threshold,
        columnar=columnar,
        min_group=min_group,
    )
    return append_issue_rows(frame, [found])


def phone_columns(
    raw: pl.DataFrame,
    default_region: str | None,
    *,
    workers: int | None = None,
    pool_threshold: int = 20_000,
    columnar: bool = COLUMNAR,
    min_group: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`normalize_phones` with the issues handed back rather than appended: the frame
    with ``issues`` as given, and this stage's findings (``_row``, ``_issue``) in the order
    they go into ``issues`` (transforms.normalize appends every stage's at once)."""
    default = _region_of_default(default_region)
    countries = raw.get_column("country").unique()
    frame = (
        raw.with_columns(
            _resolved=pl.col("country").replace_strict(
                countries, resolve_country_values(countries), default=None
            ),
        )
        .with_columns(
            _region=pl.coalesce(pl.col("_resolved"), pl.lit(default, dtype=pl.String)),
        )
        .with_columns(
            _parse_region=pl.col("_region").replace_strict(
                _SUPPORTED_REGIONS, default=None, return_dtype=pl.String
            ),
        )
    )

    distinct = distinct_values(frame, PHONE_SLOTS, along=["_parse_region"])
    parsed, order = _parse_distinct(
        distinct.values.rename({"value": "raw", "_parse_region": "region"}),
        workers,
        pool_threshold,
        columnar=columnar,
        min_group=min_group,
    )
    distinct = distinct.reordered(order)
    frame = pl.concat(
        [
            frame,
            *(
                distinct.gather(parsed, k).rename({name: f"_{slot}_{name}" for name in parsed.columns})
                for k, slot in enumerate(PHONE_SLOTS)
            ),
        ],
        how="horizontal",
    )
    del parsed, distinct  # a million-row file's distinct phones: not kept through the rest
    frame = with_timezones(frame)

    found = _findings(frame)

    columns: list[pl.Expr | pl.Series] = []
    for name in raw.columns:
        if name in PHONE_SLOTS:
            columns += [
                pl.col(name).alias(f"{name}_raw"),
                pl.col(f"_{name}_e164").alias(name),
                pl.col(f"_{name}_type").alias(f"{name}_type"),
                pl.col(f"_{name}_ext").alias(f"{name}_ext"),
            ]
        elif name == "country":
            columns.append(pl.col("_region").alias("country"))
        elif name == "timezone":
            columns += [
                pl.col("_timezone").alias("timezone"),
                pl.col("timezone_source"),
                pl.col("timezone_candidates"),
            ]
        else:
            columns.append(pl.col(name))
    return frame.select(columns), found


def _findings(frame: pl.DataFrame) -> pl.DataFrame:
    """This stage's issues (``_row``, ``_issue``), by row and in their order within a row.

    Built on the (rare) rows with an issue: polars' list-of-struct expressions (concat_list,
    list.concat of when/then structs) take seconds per million rows, this takes tens of
    milliseconds.
    """
    # lazy, so that each finding reads only its own columns: an eager filter of this frame
    # would copy all forty of them for every row with an issue
    rows = frame.lazy().with_row_index("_row")
    found: list[tuple[pl.Expr, pl.Expr, str, pl.Expr]] = [
        (
            _is_given(pl.col("country")) & pl.col("_resolved").is_null(),
            pl.lit(Issue.COUNTRY_UNKNOWN.value),
            "country",
            pl.col("country"),
        )
    ]
    found += [
        (
            pl.col(f"_{slot}_status").is_in(list(_STATUS_CODES)),
            pl.col(f"_{slot}_status").replace_strict(_STATUS_CODES, default=None, return_dtype=pl.String),
            slot,
            pl.col(slot),
        )
        for slot in PHONE_SLOTS
    ]
    found += [
        (
            pl.all_horizontal(~pl.col(f"_{slot}_given").fill_null(False) for slot in PHONE_SLOTS),
            pl.lit(Issue.PHONE_MISSING.value),
            "phone1",
            pl.lit(None, dtype=pl.String),
        ),
        (
            _is_given(pl.col("timezone")) & pl.col("_row_tz").is_null(),
            pl.lit(Issue.TIMEZONE_INVALID.value),
            "timezone",
            pl.col("timezone"),
        ),
        (
            _is_given(pl.col("_zip")) & pl.col("_zip_tz").is_null(),
            pl.lit(Issue.POSTAL_CODE_UNKNOWN.value),
            "attributes",
            pl.col("_zip"),
        ),
        (
            _is_given(pl.col("_state")) & pl.col("_state_code").is_null(),
            pl.lit(Issue.STATE_UNKNOWN.value),
            "attributes",
            pl.col("_state"),
        ),
    ]
    parts = [
        rows.filter(condition).select(
            "_row",
            pl.lit(order, dtype=pl.Int16).alias("_order"),
            code.cast(pl.String).alias("code"),
            pl.lit(column, dtype=pl.String).alias("column"),
            value.cast(pl.String).alias("value"),
        )
        for order, (condition, code, column, value) in enumerate(found)
    ]
    return (
        pl.concat(pl.collect_all(parts))
        .sort("_row", "_order", maintain_order=True)
        .select("_row", _issue=issue(pl.col("code"), pl.col("column"), pl.col("value")))
    )
