"""transforms.summary: the numbers every report shows, checked on small literal result frames."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import Issue, Status
from tests.report.runs import TARGETS, build_results, result_row, results_frame
from transforms.summary import (
    ATTENTION_STATUSES,
    NO_COUNTRY,
    RunningSummary,
    attention_rows,
    reason_examples,
    summarize,
    summary_json,
)


def _two_targets() -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    contact: dict[int, dict[str, Any]] = {
        1: {"phone1": "+4915100000001", "phone1_type": "mobile", "country": "DE"},
        2: {"phone1": "+4930100000002", "phone1_type": "fixed_line", "country": None},
        3: {"phone1": "+4915100000001", "phone1_type": "mobile", "country": "DE", "duplicate_of": 1},
    }
    outcome: dict[tuple[int, str], dict[str, Any]] = {
        (1, "obi"): {"status": Status.ACCEPTED},
        (1, "sms"): {"status": Status.SUBMITTED},
        (2, "obi"): {
            "status": Status.VENDOR_REJECTED,
            "reasons": [Issue.VENDOR_REJECTED],
            "vendor_status": "400",
            "vendor_message": "bad number",
        },
        (2, "sms"): {"status": Status.INELIGIBLE, "reasons": [Issue.NEEDS_MOBILE]},
        (3, "obi"): {"status": Status.DUPLICATE, "reasons": [Issue.DUPLICATE_PHONE]},
        (3, "sms"): {"status": Status.DUPLICATE, "reasons": [Issue.DUPLICATE_PHONE]},
    }
    for (row, target), fields in outcome.items():
        values = {key: value.value if isinstance(value, Status) else value for key, value in fields.items()}
        values["reasons"] = [str(code) for code in values.get("reasons", [])]
        rows.append(
            result_row(source_row=row, target=target, external_id=f"e{row}", **contact[row], **values)
        )
    return results_frame(rows)


def test_counts_statuses_and_reasons_per_target() -> None:
    summary = summarize(_two_targets())

    assert summary["rows"] == 3
    assert summary["results"] == 6
    assert summary["targets"]["obi"]["statuses"] == {"accepted": 1, "duplicate": 1, "vendor_rejected": 1}
    assert summary["targets"]["sms"]["statuses"] == {"submitted": 1, "ineligible": 1, "duplicate": 1}
    assert summary["targets"]["sms"]["reasons"] == {"DUPLICATE_PHONE": 1, "NEEDS_MOBILE": 1}
    assert summary["reasons"] == {"DUPLICATE_PHONE": 2, "NEEDS_MOBILE": 1, "VENDOR_REJECTED": 1}


def test_vendor_errors_are_counted_per_target_by_code_and_message() -> None:
    summary = summarize(_two_targets())

    assert summary["targets"]["obi"]["vendor_errors"] == [
        {"vendor_status": "400", "vendor_message": "bad number", "count": 1, "example": "bad number"}
    ]
    assert summary["targets"]["sms"]["vendor_errors"] == []


def _refused(row: int, status: str, message: str) -> dict[str, Any]:
    return result_row(
        source_row=row,
        external_id=f"CRM-{10_000 + row}",
        status=Status.VENDOR_REJECTED.value,
        reasons=[Issue.VENDOR_ID_CONFLICT.value],
        vendor_status=status,
        vendor_message=message,
    )


def _refusals() -> pl.DataFrame:
    """30 leads MaxContact refused, each refusal naming its lead, and one refused otherwise."""
    rows = [
        _refused(row, "Error", f"Lead already exists in list 3: PhoneNum +44770090{row:04d} (LeadId {row})")
        for row in range(1, 30)
    ]
    rows.append(_refused(30, "Invalid Parameters", "Invalid PhoneNum: +44770090 0030"))
    rows.append(_refused(31, "Error", "Lead already exists in list 3: PhoneNum +447700900031 (LeadId 31)"))
    return results_frame(rows)


def test_vendor_errors_that_differ_only_in_the_leads_ids_and_phones_are_one_line_with_an_example() -> None:
    summary = summarize(_refusals(), ["obi_main"])

    assert summary["targets"]["obi_main"]["vendor_errors"] == [
        {
            "vendor_status": "Error",
            "vendor_message": "Lead already exists in list 3: PhoneNum +<id> (LeadId <id>)",
            "count": 30,
            "example": "Lead already exists in list 3: PhoneNum +447700900001 (LeadId 1)",
        },
        {
            "vendor_status": "Invalid Parameters",
            "vendor_message": "Invalid PhoneNum: +<id> <id>",
            "count": 1,
            "example": "Invalid PhoneNum: +44770090 0030",
        },
    ]


def test_grouped_vendor_errors_taken_batch_by_batch_are_those_of_all_results() -> None:
    frame = _refusals()
    running = RunningSummary(["obi_main"])
    for start in range(1, 32, 7):
        running.add([frame.filter(pl.col("source_row").is_between(start, start + 6))])

    summary = running.summary() or {}
    assert summary_json(summary) == summary_json(summarize(frame, ["obi_main"]))
    assert [error["count"] for error in summary["targets"]["obi_main"]["vendor_errors"]] == [30, 1]


def test_lead_level_figures_count_each_input_row_once_across_targets() -> None:
    summary = summarize(_two_targets())

    assert summary["duplicates"] == 1
    assert summary["suppressed"] == 0
    assert summary["phone_types"] == {"mobile": 2, "fixed_line": 1}
    assert summary["countries"] == {"DE": 2, NO_COUNTRY: 1}


def test_summary_of_lazy_and_eager_results_is_the_same_json() -> None:
    frame = build_results(rows=30)

    text = summary_json(summarize(frame))

    assert text == summary_json(summarize(frame.lazy()))
    assert json.loads(text) == summarize(frame)


def test_a_delivered_row_that_may_be_at_the_vendor_twice_needs_attention() -> None:
    maybe_twice = [str(Issue.POSSIBLY_DUPLICATED)]
    frame = results_frame(
        [
            result_row(source_row=1, external_id="e1", status=Status.SUBMITTED.value, reasons=maybe_twice),
            result_row(source_row=2, external_id="e2", status=Status.ACCEPTED.value),
            result_row(source_row=3, external_id="e3", status=Status.FAILED.value, reasons=maybe_twice),
        ]
    )

    attention = attention_rows(frame)

    assert attention["source_row"].to_list() == [1, 3]
    assert summarize(frame)["attention"] == 2


def test_attention_rows_are_failed_vendor_rejected_and_rejected_in_row_order() -> None:
    frame = build_results(rows=30)

    attention = attention_rows(frame.lazy())

    assert set(attention["status"]) <= {s.value for s in ATTENTION_STATUSES}
    assert set(attention["status"]) == {s.value for s in ATTENTION_STATUSES}
    assert attention.height == summarize(frame)["attention"]
    assert attention.select("source_row", "target").rows() == sorted(
        attention.select("source_row", "target").rows()
    )


def test_reason_example_is_the_first_row_carrying_the_reason() -> None:
    examples = reason_examples(_two_targets())

    duplicate = examples.filter(pl.col("reason") == "DUPLICATE_PHONE").row(0, named=True)
    assert duplicate["count"] == 2
    assert duplicate["targets"] == ["obi", "sms"]
    assert (duplicate["source_row"], duplicate["target"]) == (3, "obi")
    assert examples["reason"].to_list()[0] == "DUPLICATE_PHONE"


_STATUSES = st.sampled_from([s.value for s in Status])
_REASONS = st.lists(st.sampled_from([i.value for i in Issue]), max_size=3)


@settings(max_examples=40, deadline=None)
@given(
    grid=st.lists(
        st.lists(st.tuples(_STATUSES, _REASONS), min_size=1, max_size=3),
        min_size=1,
        max_size=12,
    )
)
def test_counts_add_up_for_any_results(grid: list[list[tuple[str, list[str]]]]) -> None:
    rows = [
        result_row(source_row=row, target=f"t{column}", status=status, reasons=reasons)
        for row, cells in enumerate(grid, start=1)
        for column, (status, reasons) in enumerate(cells)
    ]
    frame = results_frame(rows)

    summary = summarize(frame)

    assert summary["rows"] == len(grid)
    assert summary["results"] == len(rows)
    assert sum(t["total"] for t in summary["targets"].values()) == len(rows)
    for target in summary["targets"].values():
        assert sum(target["statuses"].values()) == target["total"]
    assert sum(summary["statuses"].values()) == len(rows)
    assert sum(summary["reasons"].values()) == sum(len(r["reasons"]) for r in rows)
    assert summary["attention"] == attention_rows(frame).height
    assert json.loads(summary_json(summary)) == summary


def test_the_one_target_of_a_run_has_the_runs_figures_and_its_own_vendor_errors() -> None:
    # one target: its figures are taken from the run's (one collection of each)
    obi = _two_targets().filter(pl.col("target") == "obi")
    summary = summarize(obi, ["obi"])

    assert summary["targets"] == {
        "obi": {
            "total": 3,
            "statuses": {"accepted": 1, "duplicate": 1, "vendor_rejected": 1},
            "reasons": {"DUPLICATE_PHONE": 1, "VENDOR_REJECTED": 1},
            "vendor_errors": [
                {"vendor_status": "400", "vendor_message": "bad number", "count": 1, "example": "bad number"}
            ],
        }
    }
    assert (summary["results"], summary["statuses"], summary["reasons"]) == (
        3,
        summary["targets"]["obi"]["statuses"],
        summary["targets"]["obi"]["reasons"],
    )
    empty = summarize(obi.clear(), ["validate"])
    assert empty["targets"] == {"validate": {"total": 0, "statuses": {}, "reasons": {}, "vendor_errors": []}}


_LEADS = 40


def _batches_of(frame: pl.DataFrame, rows: int) -> list[list[pl.DataFrame]]:
    """``frame`` (:data:`_LEADS` leads) in batches of ``rows`` source rows, each batch one frame
    per target (as flows.run.finish hands a batch's results to RunningSummary)."""
    batches = []
    for start in range(1, _LEADS + 1, rows):
        batch = frame.filter(pl.col("source_row").is_between(start, start + rows - 1))
        batches.append(batch.partition_by("target", maintain_order=True))
    return batches


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(min_value=1, max_value=45), one_target=st.booleans())
def test_a_summary_taken_batch_by_batch_is_the_summary_of_all_results(rows: int, one_target: bool) -> None:
    frame = build_results(rows=_LEADS)
    targets = [name for name, _ in TARGETS]
    if one_target:
        frame, targets = frame.filter(pl.col("target") == targets[0]), targets[:1]
    running = RunningSummary(targets)

    for batch in _batches_of(frame, rows):
        running.add(batch)

    assert summary_json(running.summary() or {}) == summary_json(summarize(frame, targets))


def test_a_batch_summary_leaves_a_result_of_an_unnamed_target_to_the_written_results() -> None:
    running = RunningSummary(["obi"])
    assert running.summary() is None  # no batch: nothing to say

    running.add([_two_targets().filter(pl.col("target") == "obi")])
    assert running.summary() == summarize(_two_targets().filter(pl.col("target") == "obi"), ["obi"])
    running.add([_two_targets().filter(pl.col("target") == "sms")])

    assert running.summary() is None
