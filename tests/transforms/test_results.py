from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaError

from schemas.raw_leads import ISSUE as ISSUE_TYPE
from schemas.results import RESULTS, RESULTS_SCHEMA
from tests.transforms.frames import clean_leads
from transforms.dedupe import decide_disposition
from transforms.outputs import RunInfo, new_run_id, write_run
from transforms.results import SENT_SCHEMA, _reasons, build_results, check_row_invariant

ISSUE = {"code": "PHONE_INVALID", "column": "phone2", "value": "123"}


def _leads() -> pl.DataFrame:
    return decide_disposition(
        clean_leads(
            [
                {"phone1": "+14155550001", "issues": [ISSUE]},
                {"phone1": "+14155550001"},
                {"phone1_raw": "x"},
                {"email": "a@x.com"},
                {"phone1": "+14155550003"},
            ]
        )
    )


def test_validate_target_gives_ready_and_dispositions_with_their_codes_first() -> None:
    out = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    assert out.schema == pl.Schema(RESULTS)
    assert out["status"].to_list() == ["ready", "duplicate", "rejected", "ready", "ready"]
    assert out["reasons"].to_list() == [["PHONE_INVALID"], ["DUPLICATE_PHONE"], ["NO_CHANNEL"], [], []]
    assert out["duplicate_of"].to_list() == [None, 1, None, None, None]
    check_row_invariant(out, rows_in_file=5, targets=1)


def test_target_results_combine_eligibility_and_vendor_answers() -> None:
    eligibility = pl.DataFrame(
        {
            "source_row": [1, 2, 3, 4, 5],
            "eligible": [True, False, False, False, True],
            "ineligible_reason": [None, None, None, "NEEDS_PHONE", None],
        }
    )
    now = datetime(2026, 11, 24, tzinfo=UTC)
    sent = pl.DataFrame(
        [
            {
                "source_row": 1,
                "status": "accepted",
                "reasons": [],
                "vendor_id": "c-1",
                "vendor_status": "201",
                "vendor_message": None,
                "batch_id": "b1",
                "attempts": 1,
                "sent_at": now,
            },
            {
                "source_row": 5,
                "status": "vendor_rejected",
                "reasons": ["VENDOR_REJECTED"],
                "vendor_id": None,
                "vendor_status": "400",
                "vendor_message": "Invalid numbers",
                "batch_id": "b1",
                "attempts": 2,
                "sent_at": now,
            },
        ],
        schema=SENT_SCHEMA,
    )
    out = build_results(
        _leads(), run_id="r1", source_file="f.csv", target="obi", eligibility=eligibility, sent=sent
    )
    assert out["status"].to_list() == ["accepted", "duplicate", "rejected", "ineligible", "vendor_rejected"]
    assert out["reasons"].to_list()[0] == ["PHONE_INVALID"]
    assert out["reasons"].to_list()[3] == ["NEEDS_PHONE"]
    assert out["vendor_message"].to_list()[4] == "Invalid numbers"
    assert out["attempts"].to_list() == [1, 0, 0, 0, 2]


def test_an_eligible_row_without_a_send_result_fails_loudly() -> None:
    eligibility = pl.DataFrame(
        {"source_row": [1, 2, 3, 4, 5], "eligible": [True] * 5, "ineligible_reason": [None] * 5}
    )
    empty = pl.DataFrame(schema=SENT_SCHEMA)
    with pytest.raises(RuntimeError, match="no send result"):
        build_results(
            _leads(), run_id="r", source_file="f", target="obi", eligibility=eligibility, sent=empty
        )


def test_row_invariant_catches_lost_and_doubled_rows() -> None:
    out = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    with pytest.raises(RuntimeError, match="result rows"):
        check_row_invariant(out.head(4), rows_in_file=5, targets=1)
    doubled = pl.concat([out.head(4), out.head(1)])
    with pytest.raises(RuntimeError, match="more than one"):
        check_row_invariant(doubled, rows_in_file=5, targets=1)


def test_row_invariant_holds_in_any_order_and_catches_a_doubled_row_in_file_order(tmp_path: Path) -> None:
    out = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    check_row_invariant(out.reverse(), rows_in_file=5, targets=1)
    # sorted, right count, right range, but row 2 twice and row 3 missing
    doubled = out.with_columns(source_row=pl.Series([1, 2, 2, 4, 5], dtype=pl.Int64))
    doubled.write_parquet(tmp_path / "part.parquet")
    with pytest.raises(RuntimeError, match="more than one"):
        check_row_invariant(pl.scan_parquet(tmp_path / "part.parquet"), rows_in_file=5, targets=1)


def test_row_invariant_catches_a_target_missing_while_the_total_adds_up() -> None:
    out = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    # ten rows for two targets, but all of them for one target (five of them unknown rows)
    lopsided = pl.concat([out, out.with_columns(source_row=pl.col("source_row") + 5)])
    with pytest.raises(RuntimeError, match="per target"):
        check_row_invariant(lopsided, rows_in_file=5, targets=2)


def test_built_results_meet_the_results_contract() -> None:
    RESULTS_SCHEMA.validate(build_results(_leads(), run_id="r1", source_file="f.csv", target="validate"))


def test_results_breaking_the_contract_are_never_written(tmp_path: Path) -> None:
    results = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    info = RunInfo(
        run_id="r1",
        source_file="f.csv",
        fingerprint="x",
        started_at="2026-11-24T00:00:00+00:00",
        default_country="US",
        mapping={},
        unmapped=[],
        targets=[],
        rows=results.height,
    )
    with pytest.raises(SchemaError, match="status"):
        write_run(tmp_path, info, results.with_columns(status=pl.lit("maybe")))
    assert not (tmp_path / "r1").exists()


_CODES = st.sampled_from(["NO_CHANNEL", "PHONE_INVALID", "EMAIL_INVALID", "DUPLICATE_PHONE", "RAGGED_ROW"])


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(_CODES, max_size=2),
            # up to 12 issues a row: past _first_in_row's few-codes path into its fallback
            st.lists(st.tuples(st.one_of(st.none(), _CODES), st.text(max_size=2)), max_size=12),
        ),
        max_size=25,
    )
)
def test_reasons_are_the_leading_codes_then_the_issue_codes_each_once(
    rows: list[tuple[list[str], list[tuple[str | None, str]]]],
) -> None:
    leading = pl.Series([codes for codes, _ in rows], dtype=pl.List(pl.String))
    issues = pl.Series(
        [[{"code": code, "column": column, "value": None} for code, column in found] for _, found in rows],
        dtype=pl.List(ISSUE_TYPE),
    )
    expected = [list(dict.fromkeys([*codes, *(code for code, _ in found if code)])) for codes, found in rows]
    assert _reasons(leading, issues).to_list() == expected


def test_extensions_and_the_zone_with_its_source_and_candidates_reach_the_results() -> None:
    leads = clean_leads(
        [
            {
                "phone1": "+14155550001",
                "phone1_ext": "12",
                "phone3": "+14155550002",
                "phone3_ext": "7",
                "timezone": "Europe/Madrid",
                "timezone_source": "guess",
                "timezone_candidates": ["Atlantic/Canary", "Europe/Madrid"],
            }
        ]
    )
    out = build_results(leads, run_id="r1", source_file="f.csv", target="validate").row(0, named=True)
    assert (out["phone1_ext"], out["phone2_ext"], out["phone3_ext"]) == ("12", None, "7")
    assert (out["timezone"], out["timezone_source"], out["timezone_candidates"]) == (
        "Europe/Madrid",
        "guess",
        ["Atlantic/Canary", "Europe/Madrid"],
    )


def test_results_keep_the_raw_value_of_each_refused_field_and_none_of_accepted_ones() -> None:
    refused = [
        {"code": "COUNTRY_UNKNOWN", "column": "country", "value": "Narnia"},
        {"code": "PHONE_UNPARSEABLE", "column": "phone1", "value": "call me"},
        {"code": "PHONE_INVALID", "column": "phone3", "value": "+1 000"},
        {"code": "TIMEZONE_INVALID", "column": "timezone", "value": "Mars/Base"},
        {"code": "EMAIL_INVALID", "column": "email", "value": "bob@@x"},
    ]
    leads = decide_disposition(
        clean_leads(
            [
                {"phone2": "+14155550001", "issues": refused},
                {"phone1": "+14155550001"},  # a duplicate: its issue's value is normalized, not raw
                {"phone1": "+14155550002", "phone1_raw": "(415) 555-0002", "email": "a@x.com"},
            ]
        )
    )
    out = build_results(leads, run_id="r1", source_file="f.csv", target="validate")
    raw = out.select("phone1_raw", "phone2_raw", "phone3_raw", "email_raw", "country_raw", "timezone_raw")
    assert raw.rows() == [
        ("call me", None, "+1 000", "bob@@x", "Narnia", "Mars/Base"),
        (None, None, None, None, None, None),
        (None, None, None, None, None, None),
    ]
    assert out["duplicate_on"].to_list() == [None, "phone1", None]
    RESULTS_SCHEMA.validate(out)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.lists(st.integers(0, 999), min_size=2, max_size=20, unique=True),
)
def test_run_ids_sort_in_start_order_even_within_one_second(second: datetime, millis: list[int]) -> None:
    """The report's latest run and the trend order runs by id: runs started in the same second
    must still sort by their start (a random suffix alone put them in any order)."""
    base = second.replace(microsecond=0, tzinfo=UTC)
    ids = [new_run_id(base.replace(microsecond=ms * 1000)) for ms in sorted(millis)]
    assert sorted(ids) == ids


def test_results_writer_splits_a_large_batch_into_row_groups_of_the_same_rows_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is converted to Arrow a row group at a time (the conversion copies its strings):
    the part must still hold every row once, in order, and an empty run an empty part."""
    import pyarrow.parquet as pq

    import transforms.outputs as outputs

    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 2)
    results = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    writer = outputs.ResultsWriter(tmp_path / "run", "validate")
    writer.write(results)
    writer.write(results.head(1).with_columns(source_row=pl.lit(6, dtype=pl.Int64)))
    part = writer.close()

    assert pq.ParquetFile(part).num_row_groups == 4  # 2 + 2 + 1, then the second batch's 1
    written = pl.read_parquet(part)
    assert written.head(5).equals(results)
    assert written.get_column("source_row").to_list() == [1, 2, 3, 4, 5, 6]

    empty = outputs.ResultsWriter(tmp_path / "empty", "validate").close()
    assert pl.read_parquet(empty).schema == pl.Schema(RESULTS)
    assert pl.read_parquet(empty).height == 0


def test_results_part_reads_back_as_plain_arrow_types_with_row_statistics(tmp_path: Path) -> None:
    """The writer hands Parquet polars' string views (no copy): the part must still read as the
    plain types every reader takes (not string_view), and keep the statistics a scan's filter
    on source_row or status skips row groups by."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from transforms.outputs import ResultsWriter

    results = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    writer = ResultsWriter(tmp_path / "run", "validate")
    writer.write(results)
    part = writer.close()

    schema = pq.read_schema(part)
    assert schema.field("email").type == pa.string()
    assert schema.field("reasons").type == pa.list_(pa.string())
    assert schema.field("sent_at").type == pa.timestamp("us", tz="UTC")
    assert pl.read_parquet(part).equals(results)
    group = pq.ParquetFile(part).metadata.row_group(0)
    statistics = {
        group.column(i).path_in_schema: group.column(i).statistics for i in range(group.num_columns)
    }
    assert statistics["source_row"] is not None and statistics["source_row"].min == 1
    assert statistics["status"] is not None and statistics["status"].has_min_max


def test_results_part_gives_dictionaries_only_to_columns_whose_values_repeat(tmp_path: Path) -> None:
    """A dictionary of a value-per-row column (ids, contacts) is built and dropped by Arrow's
    writer, a third of the write's CPU: those columns are written plain, the others (status,
    types, country...) keep theirs, and every value reads back the same."""
    import pyarrow.parquet as pq

    from transforms.outputs import PLAIN_COLUMNS, ResultsWriter

    assert set(PLAIN_COLUMNS) <= set(RESULTS)
    results = build_results(_leads(), run_id="r1", source_file="f.csv", target="validate")
    writer = ResultsWriter(tmp_path / "run", "validate")
    writer.write(results)
    part = writer.close()

    group = pq.ParquetFile(part).metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    dictionary = {name for name, used in encodings.items() if "RLE_DICTIONARY" in used}
    assert not dictionary & set(PLAIN_COLUMNS)
    assert {"status", "target", "country", "phone1_type"} <= dictionary
    assert pl.read_parquet(part).equals(results)
