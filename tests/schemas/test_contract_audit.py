"""The contracts' checks that a user's value can reach are guaranteed by the transforms.

A contract check that fails raises for the whole file, so every check on a column carrying
(something derived from) a user's value must be made true by the stage that fills it, the
offending value turned into that row's issue. The audit, check by check:

* raw leads: ``source_row`` >= 1 and unique, non-null ``attributes``/``issues``: made by ingest
  and column mapping; every canonical column a string: ingest renders every column as text
  (tests/transforms/test_ingest_parquet_properties.py covers Parquet's types).
* clean leads: ``phoneN`` E.164 (tests/transforms/test_phone_lengths.py); ``phoneN_type`` in
  PHONE_TYPES (below); ``timezone_source``, ``disposition``, ``external_id_origin``: constants
  of the transforms; ``external_id`` non-null: a blank file id is replaced by the hash (below).
* results: ``status`` in Status, ``attempts`` >= 0, unique (source_row, target): made by
  transforms.results from the above.
"""

from __future__ import annotations

import polars as pl

from schemas.clean_leads import CLEAN_LEADS_SCHEMA, PHONE_TYPES
from schemas.raw_leads import RAW_LEADS, RAW_LEADS_SCHEMA
from schemas.results import RESULTS_SCHEMA
from transforms.normalize import clean_leads
from transforms.phone_backend import _TYPE_NAMES
from transforms.phone_rules import _SPECIAL_TYPES, UNKNOWN
from transforms.results import VALIDATE_TARGET, build_results


def test_every_number_type_either_parser_names_is_one_the_contract_allows() -> None:
    plain = {"fixed_line", "mobile", "fixed_line_or_mobile", UNKNOWN}
    columnar = {name for _, name in _SPECIAL_TYPES} | plain
    assert set(_TYPE_NAMES.values()) <= set(PHONE_TYPES)
    assert columnar <= set(PHONE_TYPES)


HOSTILE = {
    "external_id": [" ", "\u00a0\t", "x" * 10_000, "\x00", None, "id-1", "id-1"],
    "first_name": ["\x00", "  ", "=cmd|' /C calc'!A0", "😀" * 50, None, "Ann", "Ann"],
    "last_name": ["\u202e", None, "a\nb", "", "O'Brien", "B", "B"],
    "phone1": ["01110", "+49 30 123456 (mobile)", "+" + "9" * 40, "\x00+1", "tel:;", "030 1234567", "030123"],
    "phone2": ["0" * 17, "+1 415 555 2671 ext " + "9" * 30, "٠١٢٣", "++", None, "1-800-FLOWERS", None],
    "phone3": ["+800 1234 5678", "+979 123456789", "+882 1234", "+001", " ", None, None],
    "email": ["a@b", "@", "x@" + "y" * 300 + ".com", "\x00@x.de", "A@EXAMPLE.COM", "ann@example.com", None],
    "country": ["AT", "DE", "ZZ", "Ünited", "\x00", "de", "DE"],
    "timezone": ["UTC ", "utc", "Mars/Olympus", "America/New_York\x00", "US/Pacific", None, "etc/gmt+5"],
}


def test_hostile_values_in_every_canonical_column_meet_all_three_contracts() -> None:
    rows = len(HOSTILE["email"])
    raw = pl.DataFrame(
        {
            "source_row": range(1, rows + 1),
            **HOSTILE,
            "attributes": [[]] * rows,
            "issues": [[]] * rows,
        },
        schema=RAW_LEADS,
    )
    RAW_LEADS_SCHEMA.validate(raw)
    clean = clean_leads(raw, default_region=None, source="audit")
    CLEAN_LEADS_SCHEMA.validate(clean)
    assert clean["external_id"].is_not_null().all()
    results = build_results(clean, run_id="r", source_file="f.csv", target=VALIDATE_TARGET)
    RESULTS_SCHEMA.validate(results)
    assert results.height == rows
