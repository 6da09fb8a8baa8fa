"""normalize_phones: messy real-world values per country, regions, time zones, issues, row order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.prepare import PrepareOptions, prepare_leads
from flows.prepare_batches import prepare_batches
from schemas.raw_leads import RAW_LEADS, RAW_LEADS_SCHEMA
from transforms.phones import normalize_phones


def raw_leads(*rows: dict[str, Any]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {name: [] for name in RAW_LEADS}
    for number, row in enumerate(rows, start=1):
        for name in RAW_LEADS:
            default: Any = [] if name in ("attributes", "issues") else None
            data[name].append(row.get(name, number if name == "source_row" else default))
    frame = pl.DataFrame(data, schema=RAW_LEADS)
    RAW_LEADS_SCHEMA.validate(frame)
    return frame


def codes(issues: list[dict[str, Any]]) -> list[str]:
    return [issue["code"] for issue in issues]


MESSY = [
    # (raw, country, e164, type, ext, issue)
    ("(415) 555-2671", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("1-800-FLOWERS", "USA", "+18003569377", "toll_free", None, None),
    ("'+1 415 555 2671", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("4155552671.0", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("4.155552671E9", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("4,15555E+9", "US", None, None, None, "PHONE_INVALID"),
    # a spreadsheet's number format with thousands separators keeps every digit
    ("4,155,552,671", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("14,155,552,671.00", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("0612345678,0698765432", "FR", None, None, None, "PHONE_UNPARSEABLE"),
    ("415-555-2671 ext. 123", "US", "+14155552671", "fixed_line_or_mobile", "123", None),
    ("415.555.2671 x12", "United States of America", "+14155552671", "fixed_line_or_mobile", "12", None),
    ("415-555-2671 #99", "US", "+14155552671", "fixed_line_or_mobile", "99", None),
    # an extension's digits in another script are its ASCII digits, as the number's are: as
    # written ("１２", "١٢") they were other dedupe keys than "12" and reached the dialer so
    ("415-555-2671 x１２", "US", "+14155552671", "fixed_line_or_mobile", "12", None),
    ("415-555-2671 ext. ١٢", "US", "+14155552671", "fixed_line_or_mobile", "12", None),
    # libphonenumber reads ";" (and ",,") as an auto-dial extension: a short one stays one,
    # a second number listed after the first (as CRM exports list several) is no extension
    ("415-555-2671;123", "US", "+14155552671", "fixed_line_or_mobile", "123", None),
    ("tel:+1-415-555-2671;ext=1234567", "US", "+14155552671", "fixed_line_or_mobile", "1234567", None),
    ("0612345678;0698765432", "FR", None, None, None, "PHONE_INVALID"),
    ("+1 415 555 2671; 4155552672", "US", None, None, None, "PHONE_INVALID"),
    ("4155552671,,4155552672", "US", None, None, None, "PHONE_INVALID"),
    ("0044 20 7946 0958", "US", "+442079460958", "fixed_line", None, None),
    ("011 44 20 7946 0958", "US", "+442079460958", "fixed_line", None, None),
    ("tel:+1-415-555-2671", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("４１５\u00a0５５５\u00a0２６７１", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    (" \u200b+1 (415) 555-2671\t", "US", "+14155552671", "fixed_line_or_mobile", None, None),
    ("555-0100", "US", None, None, None, "PHONE_INVALID"),
    ("n/a", "US", None, None, None, "PHONE_UNPARSEABLE"),
    ("020 7946 0958", "UK", "+442079460958", "fixed_line", None, None),
    ("+44 (0)20 7946 0958", "GB", "+442079460958", "fixed_line", None, None),
    ("07400 123456", "Great Britain", "+447400123456", "mobile", None, None),
    ("030 1234567", "Deutschland", "+49301234567", "fixed_line", None, None),
    ("0151 12345678", "DE", "+4915112345678", "mobile", None, None),
    ("+49 (0)30 1234567", "Germany", "+49301234567", "fixed_line", None, None),
    ("612 34 56 78", "España", "+34612345678", "mobile", None, None),
    ("91 123 45 67", "Espana", "+34911234567", "fixed_line", None, None),
    ("06 12 34 56 78", "France", "+33612345678", "mobile", None, None),
    ("01 23 45 67 89", "FR", "+33123456789", "fixed_line", None, None),
    ("55 1234 5678", "México", "+525512345678", "fixed_line_or_mobile", None, None),
    ("(11) 96123-4567", "Brasil", "+5511961234567", "mobile", None, None),
    ("(11) 2345-6789", "BRA", "+551123456789", "fixed_line", None, None),
    ("0412 345 678", "Australia", "+61412345678", "mobile", None, None),
    ("(02) 9876 5432", "AU", "+61298765432", "fixed_line", None, None),
    ("98765 43210", "India", "+919876543210", "mobile", None, None),
    ("+91 80 2345 6789", "IN", "+918023456789", "fixed_line", None, None),
]


@pytest.mark.parametrize(("raw", "country", "e164", "number_type", "ext", "issue"), MESSY)
def test_messy_values_become_e164_type_and_extension_or_one_issue(
    raw: str, country: str, e164: str | None, number_type: str | None, ext: str | None, issue: str | None
) -> None:
    out = normalize_phones(raw_leads({"phone1": raw, "country": country}), None).row(0, named=True)

    assert (out["phone1"], out["phone1_type"], out["phone1_ext"]) == (e164, number_type, ext)
    assert out["phone1_raw"] == raw
    expected = [{"code": issue, "column": "phone1", "value": raw}] if issue else []
    assert out["issues"] == expected


@pytest.mark.parametrize(
    ("raw", "e164", "issue"),
    [
        ("4.42079460958E+011", "+442079460958", None),
        ("4.42079460958E+11", "+442079460958", None),
        ("4.42079E+011", None, "PHONE_INVALID"),
        ("4.42079E+11", None, "PHONE_INVALID"),
    ],
)
def test_a_float_phone_with_a_zero_padded_exponent_is_read_like_one_without(
    raw: str, e164: str | None, issue: str | None
) -> None:
    # Excel writes "E+011" in some locales and CSV exports: the same float as "E+11", expanded
    # when the mantissa carries every digit, else digits were lost (never guessed)
    out = normalize_phones(raw_leads({"phone1": raw, "country": "GB"}), None).row(0, named=True)

    assert out["phone1"] == e164
    assert codes(out["issues"]) == ([issue] if issue else [])


def test_region_comes_from_the_row_else_the_default_else_none() -> None:
    frame = raw_leads(
        {"phone1": "030 1234567", "country": "Deutschland"},
        {"phone1": "030 1234567"},
        {"phone1": "030 1234567", "country": "Atlantis"},
    )
    with_default = normalize_phones(frame, "DE")
    without_default = normalize_phones(frame, None)

    assert with_default.get_column("country").to_list() == ["DE", "DE", "DE"]
    assert with_default.get_column("phone1").to_list() == ["+49301234567"] * 3
    assert codes(with_default.get_column("issues")[2]) == ["COUNTRY_UNKNOWN"]
    assert without_default.get_column("country").to_list() == ["DE", None, None]
    assert without_default.get_column("phone1").to_list() == ["+49301234567", None, None]
    assert [codes(issues) for issues in without_default.get_column("issues").to_list()] == [
        [],
        ["PHONE_NO_REGION"],
        ["COUNTRY_UNKNOWN", "PHONE_NO_REGION"],
    ]


def test_international_prefix_00_works_without_any_region() -> None:
    out = normalize_phones(raw_leads({"phone1": "0044 20 7946 0958"}), None).row(0, named=True)
    assert out["phone1"] == "+442079460958"


def test_default_region_accepts_names_and_rejects_unknown_ones() -> None:
    frame = raw_leads({"phone1": "06 12 34 56 78"})
    assert normalize_phones(frame, "Frankreich").get_column("phone1").to_list() == ["+33612345678"]
    with pytest.raises(ValueError, match="Narnia"):
        normalize_phones(frame, "Narnia")


def test_every_bad_phone_column_gets_its_own_issue_with_the_raw_value() -> None:
    out = normalize_phones(
        raw_leads({"phone1": "12", "phone2": "0151 12345678", "phone3": "call me", "country": "DE"}), None
    ).row(0, named=True)
    assert out["issues"] == [
        {"code": "PHONE_INVALID", "column": "phone1", "value": "12"},
        {"code": "PHONE_UNPARSEABLE", "column": "phone3", "value": "call me"},
    ]
    assert out["phone2"] == "+4915112345678"


def test_a_row_without_any_phone_value_is_phone_missing() -> None:
    out = normalize_phones(raw_leads({"phone1": "  ", "phone2": "'", "country": "US"}), None)
    assert out.get_column("issues").to_list() == [
        [{"code": "PHONE_MISSING", "column": "phone1", "value": None}]
    ]


def test_earlier_issues_are_kept_before_the_new_ones() -> None:
    ragged = {"code": "RAGGED_ROW", "column": None, "value": "3 fields, expected 4"}
    out = normalize_phones(raw_leads({"phone1": "12", "country": "US", "issues": [ragged]}), None)
    assert codes(out.get_column("issues")[0].to_list()) == ["RAGGED_ROW", "PHONE_INVALID"]


def test_row_order_count_and_other_columns_are_preserved() -> None:
    rows = [
        {"source_row": 10 - i, "phone1": f"+1 415 555 {2600 + i}", "email": f"a{i}@x.org", "country": "US"}
        for i in range(7)
    ]
    frame = raw_leads(*rows)
    out = normalize_phones(frame, None)
    assert out.height == frame.height
    assert out.get_column("source_row").to_list() == frame.get_column("source_row").to_list()
    assert out.get_column("email").to_list() == frame.get_column("email").to_list()
    assert out.get_column("phone1").to_list() == [f"+1415555{2600 + i}" for i in range(7)]


def test_output_columns_match_the_clean_leads_contract_types() -> None:
    from schemas.clean_leads import CLEAN_LEADS

    out = normalize_phones(raw_leads({"phone1": "+14155552671"}), None)
    for name, dtype in out.schema.items():
        if name in CLEAN_LEADS:
            assert dtype == CLEAN_LEADS[name], name


TIMEZONES = [
    # (phone1, country, timezone, expected timezone, source, candidates)
    ("+1 415 555 2671", None, None, "America/Los_Angeles", "number", ["America/Los_Angeles"]),
    ("+49 30 1234567", None, None, "Europe/Berlin", "number", ["Europe/Berlin"]),
    ("+1 415 555 2671", None, "europe/paris", "Europe/Paris", "row", ["Europe/Paris"]),
    ("+1 415 555 2671", None, "Mars/Olympus", "America/Los_Angeles", "number", ["America/Los_Angeles"]),
    (None, "Deutschland", None, "Europe/Berlin", "country", ["Europe/Berlin"]),
    (None, "Spain", None, "Europe/Madrid", "guess", ["Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary"]),
    (None, None, None, None, "none", []),
]


@pytest.mark.parametrize(("phone", "country", "given", "timezone", "source", "candidates"), TIMEZONES)
def test_timezone_comes_from_the_row_then_the_phone_then_the_country(
    phone: str | None,
    country: str | None,
    given: str | None,
    timezone: str | None,
    source: str,
    candidates: list[str],
) -> None:
    out = normalize_phones(raw_leads({"phone1": phone, "country": country, "timezone": given}), None)
    row = out.row(0, named=True)
    assert (row["timezone"], row["timezone_source"], row["timezone_candidates"]) == (
        timezone,
        source,
        candidates,
    )


def test_invalid_row_timezone_is_reported_and_replaced() -> None:
    out = normalize_phones(raw_leads({"phone1": "+49 30 1234567", "timezone": "CET+1"}), None).row(
        0, named=True
    )
    assert out["timezone"] == "Europe/Berlin"
    assert {"code": "TIMEZONE_INVALID", "column": "timezone", "value": "CET+1"} in out["issues"]


def test_a_row_timezone_with_invisible_characters_at_its_edges_is_the_rows_zone() -> None:
    # copied from a web page or another system: TIMEZONE_INVALID would ask for a fix no one sees
    rows = normalize_phones(
        raw_leads(
            {"phone1": "+49 30 1234567", "timezone": "America/New_York\u200b"},
            {"phone1": "+49 30 1234568", "timezone": "\ufeff\u00a0america/new_york"},
        ),
        None,
    ).rows(named=True)
    assert [(row["timezone"], row["timezone_source"]) for row in rows] == [("America/New_York", "row")] * 2
    assert [row["issues"] for row in rows] == [[], []]


def test_a_fixed_offset_zone_such_as_est_or_utc_is_not_taken_for_the_leads_clock() -> None:
    # IANA's EST is UTC-5 all year: a New York lead in July would be called until 22:00 local
    rows = normalize_phones(
        raw_leads(
            {"phone1": "+1 212 555 0123", "timezone": "EST"},
            {"phone1": "+1 303 555 0123", "timezone": "mst"},
            {"phone1": "+1 212 555 0124", "timezone": "UTC"},
            {"phone1": "+1 212 555 0125", "timezone": "Etc/GMT+5"},
            {"phone1": "+1 212 555 0126", "timezone": "EST5EDT"},
        ),
        None,
    ).rows(named=True)
    assert [row["timezone"] for row in rows] == [
        "America/New_York",
        "America/Denver",
        "America/New_York",
        "America/New_York",
        "EST5EDT",
    ]
    assert [row["timezone_source"] for row in rows] == ["number"] * 4 + ["row"]
    for row, value in zip(rows[:4], ["EST", "mst", "UTC", "Etc/GMT+5"], strict=True):
        assert {"code": "TIMEZONE_INVALID", "column": "timezone", "value": value} in row["issues"]


def test_a_number_with_several_zones_keeps_them_all_and_prefers_the_countrys_own() -> None:
    toll_free, gb_mobile = normalize_phones(
        raw_leads({"phone1": "1-800-FLOWERS", "country": "US"}, {"phone1": "07400 123456", "country": "GB"}),
        None,
    ).rows(named=True)

    assert toll_free["timezone_source"] == "guess"
    assert len(toll_free["timezone_candidates"]) > 10
    assert toll_free["timezone"] == "America/New_York"
    # four zones of one clock: the number says where, no guess
    assert gb_mobile["timezone_source"] == "number"
    assert "Europe/Jersey" in gb_mobile["timezone_candidates"]
    assert gb_mobile["timezone"] == "Europe/London"


def test_multi_zone_us_area_code_is_a_guess_but_single_zone_one_is_not() -> None:
    split, single = normalize_phones(
        raw_leads({"phone1": "+1 907 555 0123"}, {"phone1": "+1 212 555 0123"}), None
    ).rows(named=True)
    assert split["timezone_source"] == "guess"
    assert set(split["timezone_candidates"]) == {"America/Adak", "America/Anchorage"}
    assert split["timezone"] == "America/Anchorage"
    assert (single["timezone"], single["timezone_source"]) == ("America/New_York", "number")


def test_the_process_pool_gives_the_same_result_as_serial_parsing() -> None:
    rows = [{"phone1": raw, "country": country} for raw, country, *_ in MESSY] * 3
    rows += [
        {"phone1": f"+1 212 555 {1000 + i}", "phone2": f"0151 1234{i:04d}", "country": "DE"}
        for i in range(40)
    ]
    frame = raw_leads(*[{**row, "source_row": i + 1} for i, row in enumerate(rows)])

    serial = normalize_phones(frame, "US", workers=1)
    pooled = normalize_phones(frame, "US", workers=2, pool_threshold=10)

    assert pooled.equals(serial)


def test_the_phone_parsers_worker_processes_are_started_once_and_serve_later_batches() -> None:
    import multiprocessing

    from transforms.phone_backend import parse_values

    values = [f"+1 212 555 {1000 + i}" for i in range(40)]
    regions: list[str | None] = ["US"] * len(values)

    first = parse_values(values, regions, workers=2, pool_threshold=10, chunk_size=10)
    workers = {child.pid for child in multiprocessing.active_children()}
    again = parse_values(values, regions, workers=2, pool_threshold=10, chunk_size=10)

    assert first == again
    assert len(workers) >= 1  # kept after the call: the next batch pays no start-up
    assert workers <= {child.pid for child in multiprocessing.active_children()}


def test_vectorized_zone_lookup_equals_phonenumbers_time_zones_for_number() -> None:
    import phonenumbers
    from phonenumbers.timezone import time_zones_for_number

    from tests.transforms.phone_corpus import corpus
    from transforms.phone_backend import parse_one
    from transforms.timezones import ZONE_LISTS, phone_zone_ids

    parsed = {
        result[0]: result
        for value, region in corpus(random_per_region=0, shapes_per_type=1)
        if (result := parse_one(value, region, backend="phonenumbers"))[0] is not None
    }
    frame = pl.DataFrame(
        [(e164, kind, code) for e164, kind, _, _, code in parsed.values()],
        schema={"e164": pl.String, "type": pl.String, "cc": pl.Int32},
        orient="row",
    )
    ids = phone_zone_ids(frame).to_list()
    assert len(ids) > 1500
    for e164, zone_id in zip(frame.get_column("e164").to_list(), ids, strict=True):
        expected = time_zones_for_number(phonenumbers.parse(e164))
        got = ZONE_LISTS[zone_id] if zone_id is not None else ("Etc/Unknown",)
        assert got == expected, e164


def test_stripped_whitespace_is_exactly_what_the_regex_engine_calls_whitespace() -> None:
    from transforms.blanks import WHITESPACE

    every = pl.Series([chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF])

    assert set(every.filter(every.str.contains(r"^\s$")).to_list()) == set(WHITESPACE)


def test_columnar_and_one_by_one_parsing_normalize_a_messy_file_identically(tmp_path: Path) -> None:
    from sample_data.generate import messy_lead_frame
    from transforms.columns import resolve_columns, to_raw_leads
    from transforms.countries import resolve_countries
    from transforms.ingest import read_lead_file
    from transforms.phone_columnar import parse_columns

    path = tmp_path / "leads.csv"
    messy_lead_frame(4_000, seed=3, countries=("US", "GB", "DE", "FR", "ES", "MX", "CA", "IT")).write_csv(
        path
    )
    ingested = read_lead_file(path)
    raw = to_raw_leads(ingested, resolve_columns(ingested.headers, None))

    columnar = normalize_phones(raw, "US", columnar=True, min_group=200)
    one_by_one = normalize_phones(raw, "US", columnar=False)

    assert columnar.equals(one_by_one)
    # and the columnar side really did the work: most values were decided as columns
    values = raw.select(
        clean=pl.col("phone1").str.strip_chars(),
        region=pl.coalesce(resolve_countries(pl.col("country")), pl.lit("US")),
    )
    assert parse_columns(values.drop_nulls().unique(), min_group=200)["decided"].mean() > 0.7  # type: ignore[operator]


@pytest.mark.parametrize("raw", ["0e٠", "٤.١٥٥٥٥٢٦٧١E٩", "4.1E٩", "٤١٥٥٥٥٢٦٧١.0"])
def test_spreadsheet_notation_in_non_ascii_digits_is_a_row_finding_not_a_failed_file(raw: str) -> None:
    """The repair of spreadsheet damage reads ASCII digits only; any other digit is left to
    phonenumbers, and whatever it decides stays on this row."""
    out = normalize_phones(raw_leads({"phone1": raw, "country": "AT"}), None).row(0, named=True)

    assert out["phone1_raw"] == raw
    assert (out["phone1"] is None) == bool(out["issues"])


def test_one_extension_written_in_other_digits_is_one_lead_whole_and_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,phone\nAnn,+1 212 555 0100 x12\nAnn,+1 212 555 0100 x１２\nAnn,+1 212 555 0100 ext. ١٢\n",
        encoding="utf-8",
    )
    whole = prepare_leads(path, PrepareOptions()).clean
    assert whole["disposition"].to_list() == ["ready", "duplicate", "duplicate"]
    assert whole["phone1_ext"].to_list() == ["12", "12", "12"]
    batched = pl.concat(list(prepare_batches(path, PrepareOptions(), 1).batches()))
    assert batched.equals(whole)
