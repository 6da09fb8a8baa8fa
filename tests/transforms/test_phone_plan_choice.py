"""Which regions the columnar parser reads and which it leaves to the per-value parser: by cost.

A region's plan has a fixed cost (patterns to compile, a dozen steps) that only many values
repay, and a file spread over all 245 regions has a few hundred values in most: those go to the
per-value parser, the large regions stay on columns, and no answer changes either way.
"""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import polars as pl

from bench.many_regions import many_regions_frame
from transforms.columns import resolve_columns, to_raw_leads
from transforms.ingest import read_lead_file
from transforms.phone_columnar import (
    claim_threshold,
    decide_columns,
    no_plan_pays,
    parse_columns,
    plan_threshold,
    worth_a_plan,
    worth_reading,
)
from transforms.phones import normalize_phones


def _national(region: str, count: int) -> list[str]:
    """``count`` distinct numbers of ``region`` written nationally: its example fixed-line
    number with the last five digits counted up."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
    assert example is not None
    nsn = phonenumbers.national_significant_number(example)
    return [f"{nsn[:-5]}{index:05d}" for index in range(count)]


def test_a_region_with_fewer_values_than_its_plan_costs_goes_to_the_per_value_parser() -> None:
    many, few = plan_threshold("DE"), plan_threshold("FR") - 1
    pairs = pl.DataFrame(
        {
            "clean": _national("DE", many) + _national("FR", few),
            "region": ["DE"] * many + ["FR"] * few,
        }
    )

    decided = parse_columns(pairs).get_column("decided")

    assert worth_a_plan("DE", many)
    assert not worth_a_plan("FR", few)
    assert decided.head(many).mean() > 0.9  # type: ignore[operator]
    assert not decided.tail(few).any()


def test_international_prefix_values_are_read_with_their_calling_codes_plan_however_few() -> None:
    gb, de = plan_threshold("GB"), plan_threshold("DE")
    national_gb, national_de = _national("GB", gb), _national("DE", de)
    # a few of each region's numbers written from the other country: "00" + calling code
    from_de = [f"0044{nsn}" for nsn in _national("GB", 50)]
    from_gb = [f"0049{nsn}" for nsn in _national("DE", 50)]
    pairs = pl.DataFrame(
        {
            "clean": national_gb + from_gb + national_de + from_de,
            "region": ["GB"] * (gb + 50) + ["DE"] * (de + 50),
        }
    )

    parsed = parse_columns(pairs)

    international = pl.Series([False] * gb + [True] * 50 + [False] * de + [True] * 50)
    expected = [phonenumbers.parse(value, "GB") for value in from_gb]
    assert not worth_a_plan("DE", 50)
    assert parsed.filter(international).get_column("decided").all()
    assert parsed.filter(international).get_column("e164").head(50).to_list() == [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) for number in expected
    ]


def test_a_region_needs_fewer_values_to_be_worth_a_plan_when_the_per_value_parser_is_slower() -> None:
    fast, slow = plan_threshold("US", "rphonenumbers"), plan_threshold("US", "phonenumbers")

    assert slow < fast
    assert 1_000 < fast < 20_000  # a six-country file's regions have 10^5 values, a global file's 10^3


def test_a_shared_codes_first_region_is_not_read_for_values_the_rows_give_its_other_regions() -> None:
    # a global file's +1 values: most Canadian (the row says CA), a few American; all of them
    # would be read by the US plan, which decides only the American ones
    canadian, american = 2 * plan_threshold("US"), 100
    pairs = pl.DataFrame(
        {
            "clean": _national("CA", canadian) + _national("US", american),
            "region": ["CA"] * canadian + ["US"] * american,
        }
    )

    decided = parse_columns(pairs).get_column("decided")

    assert canadian < claim_threshold(_OTHERS_OF_1)
    assert not worth_reading("US", pairs.get_column("region"))
    assert not decided.any()


def test_a_shared_codes_first_region_is_read_when_its_own_values_repay_the_plan() -> None:
    american, canadian = plan_threshold("US"), 3 * plan_threshold("US")
    pairs = pl.DataFrame(
        {
            "clean": _national("US", american) + _national("CA", canadian),
            "region": ["US"] * american + ["CA"] * canadian,
        }
    )

    decided = parse_columns(pairs).get_column("decided")

    assert worth_reading("US", pairs.get_column("region"))
    assert decided.head(american).mean() > 0.9  # type: ignore[operator]


_OTHERS_OF_1 = tuple(region for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1] if region != "US")


def test_every_region_file_with_one_large_region_normalizes_the_same_either_way(tmp_path: Path) -> None:
    us = _national("US", plan_threshold("US"))
    large = pl.DataFrame({"mobile": us, "country": ["US"] * len(us)})  # "mobile" maps to phone1
    leads = pl.concat([many_regions_frame(2_500, seed=5), large], how="diagonal")
    path = tmp_path / "global.csv"
    leads.write_csv(path)
    ingested = read_lead_file(path)
    raw = to_raw_leads(ingested, resolve_columns(ingested.headers, None))

    by_cost = normalize_phones(raw, None, columnar=True)
    one_by_one = normalize_phones(raw, None, columnar=False)

    assert by_cost.equals(one_by_one)
    assert by_cost.get_column("phone1").tail(len(us)).is_not_null().mean() > 0.9  # type: ignore[operator]


def _global_pairs(rows: int, seed: int) -> pl.DataFrame:
    """(clean, region) pairs of a file over every region: each row's first phone and country."""
    leads = many_regions_frame(rows, seed=seed)
    phone = next(name for name in leads.columns if "phone" in name or "mobile" in name)
    return leads.select(clean=pl.col(phone).cast(pl.String), region=pl.col("country").cast(pl.String))


def test_a_batch_where_no_region_repays_a_plan_goes_to_the_per_value_parser_unprepared() -> None:
    pairs = _global_pairs(20_000, seed=11)

    decided, undecided = decide_columns(pairs)

    assert no_plan_pays(pairs)  # told from a sample: the batch's values are not prepared
    assert decided == []
    assert undecided.to_list() == list(range(pairs.height))


def test_a_batch_with_one_region_worth_a_plan_is_still_read_as_columns() -> None:
    us = _national("US", 2 * plan_threshold("US"))
    pairs = pl.concat(
        [_global_pairs(20_000, seed=11), pl.DataFrame({"clean": us, "region": ["US"] * len(us)})]
    )

    decided, undecided = decide_columns(pairs)

    assert not no_plan_pays(pairs)
    assert decided
    assert len(undecided) < pairs.height - len(us) // 2
