"""The columnar parser must give exactly phonenumbers' answers, or hand the value on.

``parse_columns`` reimplements libphonenumber's parse and number type for plainly written values;
every answer it gives is compared with the reference (phonenumbers, one value at a time) on the
differential corpus, on generated lead files and on arbitrary plain strings (hypothesis).
"""

from __future__ import annotations

import phonenumbers
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transforms.phone_corpus import corpus
from transforms.phone_backend import parse_one
from transforms.phone_columnar import OUTPUT_SCHEMA, parse_columns, plan_threshold
from transforms.phones import clean_phone_values

Pairs = list[tuple[str, str | None]]


def _pairs_frame(pairs: Pairs) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"clean": pl.String, "region": pl.String}, orient="row").unique(
        maintain_order=True
    )


def _split(pairs: pl.DataFrame, min_group: int | None = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decided rows with their pair and answer, undecided pairs) of ``parse_columns(pairs)``."""
    parsed = parse_columns(pairs, min_group=min_group)
    assert parsed.schema == pl.Schema(OUTPUT_SCHEMA)
    assert parsed.height == pairs.height
    both = pl.concat([pairs, parsed], how="horizontal")
    decided = both.filter(pl.col("decided")).drop("decided")
    return decided, both.filter(~pl.col("decided")).select("clean", "region")


def _disagreements(decided: pl.DataFrame) -> list[tuple[object, ...]]:
    """Decided rows whose answer differs from phonenumbers', with both answers."""
    wrong = []
    for clean, region, e164, kind, ext, status, cc in decided.iter_rows():
        expected = parse_one(clean, region, backend="phonenumbers")
        if (e164, kind, ext, status, cc) != expected:
            wrong.append((clean, region, expected, (e164, kind, ext, status, cc)))
    return wrong


def test_parse_columns_answers_in_input_order_and_undecided_rows_carry_no_answer() -> None:
    pairs = _pairs_frame([("1-800-FLOWERS", "US"), ("(415) 555-2671", "US"), ("030 1234567", None)])

    parsed = parse_columns(pairs, min_group=1)

    assert parsed.rows() == [
        (False, None, None, None, None, None),
        (True, "+14155552671", "fixed_line_or_mobile", None, 0, 1),
        (True, None, None, None, 3, None),
    ]


@pytest.fixture(scope="module")
def corpus_pairs() -> pl.DataFrame:
    return _pairs_frame(corpus())


def test_columnar_answers_equal_phonenumbers_on_every_region_type_and_written_form(
    corpus_pairs: pl.DataFrame,
) -> None:
    decided, _ = _split(corpus_pairs)

    assert _disagreements(decided) == []
    # it must decide most of the corpus, in most regions and for every outcome, or it proves little
    assert decided.height > 0.6 * corpus_pairs.height
    assert decided.get_column("region").n_unique() > 180
    assert set(decided.get_column("status").to_list()) == {0, 1, 3}
    assert decided.get_column("ext").drop_nulls().len() > 100
    assert decided.get_column("type").n_unique() >= 10


def test_columnar_answers_equal_phonenumbers_on_a_generated_messy_lead_file() -> None:
    from sample_data.generate import messy_lead_frame

    leads = messy_lead_frame(6_000, seed=5, countries=("US", "GB", "DE", "FR", "ES", "MX", "CA", "IT"))
    raw = pl.concat(
        [
            leads.select(raw=pl.col(column), region=pl.lit(region))
            for column in ("phone", "mobile")
            for region in ("US", "DE", None)
        ]
    ).drop_nulls("raw")
    cleaned = clean_phone_values(raw).filter(pl.col("clean").is_not_null()).select("clean", "region").unique()

    decided, _ = _split(cleaned)

    assert _disagreements(decided) == []
    assert decided.height > 0.9 * cleaned.height


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("(415) 555-2671", "US", ("+14155552671", "fixed_line_or_mobile", None, 0, 1)),
        ("+1 415 555 2671 ext. 12", None, ("+14155552671", "fixed_line_or_mobile", "12", 0, 1)),
        ("0044 20 7946 0958", "DE", ("+442079460958", "fixed_line", None, 0, 44)),
        ("+44 (0) 7400 123456", "FR", ("+447400123456", "mobile", None, 0, 44)),
        ("49 30 1234567", "DE", ("+49301234567", "fixed_line", None, 0, 49)),
        ("030 1234567", None, (None, None, None, 3, None)),
        ("+1 268 464 1234", None, ("+12684641234", "mobile", None, 0, 1)),  # AG, by leading digits
        ("0151 1234", "DE", (None, None, None, 1, 49)),
    ],
)
def test_columnar_reads_international_prefixes_own_calling_codes_and_shared_codes_as_phonenumbers(
    value: str, region: str | None, expected: tuple[object, ...]
) -> None:
    decided, undecided = _split(_pairs_frame([(value, region)]))

    assert undecided.height == 0
    assert decided.select("e164", "type", "ext", "status", "cc").row(0) == expected
    assert parse_one(value, region, backend="phonenumbers") == expected


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("1-800-FLOWERS", "US"),  # letters
        ("tel:+1-415-555-2671", None),  # RFC 3966
        ("０２０ ７９４６ ０９５８", "GB"),  # full-width digits
        ("011 54 9 11 1234 5678", "AR"),  # AR: national prefix with a transform rule
        ("+61 2 1234 5678", None),  # AU: carrier-code groups in its prefix rule
        ("+800 1234 5678", None),  # non-geographic entity
        ("+0 123", None),  # no calling code after "+": parse retries without it
        ("12", "US"),  # too few digits to be read plainly
    ],
)
def test_values_outside_the_plain_forms_are_handed_to_the_per_value_parser(
    value: str, region: str | None
) -> None:
    decided, undecided = _split(_pairs_frame([(value, region)]))

    assert decided.height == 0
    assert undecided.rows() == [(value, region)]


def test_regions_with_few_values_are_left_to_the_per_value_parser() -> None:
    pairs = _pairs_frame([(f"030 123456{i}", "DE") for i in range(10)] + [("0612345678", "FR")])

    decided, undecided = _split(pairs, min_group=5)

    assert sorted(decided.get_column("region").unique().to_list()) == ["DE"]
    assert undecided.rows() == [("0612345678", "FR")]


def test_a_shared_codes_few_numbers_of_its_other_regions_are_left_to_the_per_value_parser() -> None:
    """+1 numbers of Canada and Jamaica are not the US plan's to claim; read as columns they need
    every other region of +1's patterns (transforms.phone_columnar.claim_threshold), which a few
    of them do not repay; many are read as columns (the tests' min_group)."""
    american = [(f"+1 212 555 {i:04d}", None) for i in range(plan_threshold("US"))]
    others = [("+1 416 555 0199", None), ("+1 876 555 0123", None)]
    pairs = _pairs_frame(american + others)

    decided, undecided = _split(pairs, min_group=None)
    claimed, _ = _split(pairs, min_group=2)

    assert undecided.rows() == others
    assert decided.height == len(american)
    assert claimed.filter(pl.col("clean").is_in([value for value, _ in others])).height == 2
    assert _disagreements(claimed) == []


_SEPARATORS = st.sampled_from([" ", "-", ".", "(", ")", "/", ""])
_REGIONS = st.sampled_from([None, "US", "CA", "GB", "DE", "FR", "ES", "MX", "IT", "IN", "RU", "NL", "JM"])


@st.composite
def _plain_values(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=1, max_size=18))
    value = "".join(digit + draw(_SEPARATORS) for digit in digits)
    prefix = draw(st.sampled_from(["", "+", "00", "011", "0", "1", "+1", "+44", "+49 ", "0049"]))
    extension = draw(st.sampled_from(["", " x12", " ext. 7", "EXT123456"]))
    return prefix + value + extension


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_plain_values(), _REGIONS), min_size=1, max_size=80))
def test_any_plain_value_is_decided_as_phonenumbers_decides_it_or_handed_on(pairs: Pairs) -> None:
    frame = _pairs_frame(pairs)

    decided, _ = _split(frame)

    assert _disagreements(decided) == []


def test_the_columnar_parser_uses_the_installed_phonenumbers_metadata() -> None:
    # the rules are read from phonenumbers itself: nothing to regenerate on an upgrade
    assert phonenumbers.__version__.startswith("9.")
