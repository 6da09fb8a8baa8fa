"""The verdict table (flows.verdict) over any mix of statuses and reasons: the exit code says
whether rows failed, never whether rows were refused by our checks or by the vendor."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.verdict import ExitCode, SendVerdict, judge, send_facts, stop_fact
from schemas.codes import Status

COUNTS = st.integers(min_value=0, max_value=10_000)
STATUSES = st.dictionaries(st.sampled_from([s.value for s in Status]), COUNTS)
REASONS = st.dictionaries(
    st.sampled_from(
        [
            "TRANSPORT_FAILED",
            "AUTH_FAILED",
            "TARGET_STOPPED",
            "TARGET_MISCONFIGURED",
            "PHONE_INVALID",
            "VENDOR_REJECTED",
        ]
    ),
    COUNTS,
)
TARGETS = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.fixed_dictionaries({"statuses": STATUSES, "reasons": REASONS}),
    max_size=6,
)


def _delivered(statuses: dict[str, int]) -> int:
    return sum(statuses.get(s, 0) for s in ("accepted", "submitted", "already_sent"))


@given(TARGETS)
def test_the_exit_code_is_the_worst_targets_and_only_failed_rows_make_it_non_zero(
    targets: dict[str, dict[str, Any]],
) -> None:
    verdict = judge({"targets": targets})

    failed = {name for name, t in targets.items() if t["statuses"].get("failed", 0)}
    stopped = {
        name
        for name in failed
        if targets[name]["reasons"].get("TARGET_STOPPED", 0)
        or targets[name]["reasons"].get("TARGET_MISCONFIGURED", 0)
        or targets[name]["reasons"].get("AUTH_FAILED", 0)
        or not _delivered(targets[name]["statuses"])
    }
    expected = ExitCode.TARGET_FAILED if stopped else ExitCode.ROWS_FAILED if failed else ExitCode.OK
    assert verdict.code is expected
    assert {t.target for t in verdict.targets if not t.ok} == failed
    assert all(
        ("failed" in t.line()) == (t.target in failed) for t in verdict.targets if "failed" not in t.target
    )


def test_rows_kept_back_or_refused_by_the_vendor_keep_exit_0_but_are_named() -> None:
    summary = {
        "targets": {
            "obi": {"statuses": {"accepted": 5, "vendor_rejected": 2, "rejected": 3}, "reasons": {}},
            "sms": {"statuses": {"ineligible": 10}, "reasons": {"NEEDS_MOBILE": 10}},
        }
    }

    verdict = judge(summary)

    assert verdict.code is ExitCode.OK
    obi, sms = verdict.targets
    assert obi.verdict is SendVerdict.SENT and "2 refused for good (by the vendor" in obi.line()
    assert obi.line().startswith("obi: sent, 5 of 7 delivered") and "3 kept back" in obi.line()
    assert sms.verdict is SendVerdict.NOTHING_TO_SEND


def test_a_run_with_no_rows_is_a_success() -> None:
    assert judge({"targets": {}}).code is ExitCode.OK


def results(*rows: tuple[str, str, list[str], int]) -> pl.DataFrame:
    """Result rows (target, status, reasons, attempts): the columns the verdict reads."""
    return pl.DataFrame(
        rows,
        schema={
            "target": pl.String,
            "status": pl.String,
            "reasons": pl.List(pl.String),
            "attempts": pl.Int64,
        },
        orient="row",
    )


def test_failed_rows_never_attempted_mean_the_target_was_stopped_whatever_their_reason() -> None:
    frame = results(
        ("onc", "accepted", [], 1),
        ("onc", "failed", ["VENDOR_REJECTED"], 1),
        ("onc", "failed", ["VENDOR_REJECTED"], 0),
    )

    verdict = judge({"send": send_facts(frame)})

    assert verdict.code is ExitCode.TARGET_FAILED
    [onc] = verdict.targets
    assert onc.verdict is SendVerdict.STOPPED and onc.failure_reasons == (("VENDOR_REJECTED", 2),)


def test_some_rows_failed_in_transport_is_exit_3_naming_the_failed_rows_own_reasons() -> None:
    frame = results(
        ("obi", "accepted", [], 1),
        ("obi", "failed", ["POSSIBLY_DUPLICATED", "PHONE_INVALID"], 3),
        ("obi", "failed", ["TRANSPORT_FAILED"], 5),
        ("obi", "rejected", ["PHONE_INVALID"], 0),
    )

    [obi] = judge({"send": send_facts(frame)}).targets

    assert obi.code is ExitCode.ROWS_FAILED and obi.failed == 2
    assert dict(obi.failure_reasons) == {"POSSIBLY_DUPLICATED": 1, "TRANSPORT_FAILED": 1}


def test_a_row_too_large_for_the_vendor_is_a_permanent_refusal_not_a_failed_send() -> None:
    frame = results(("engage", "accepted", [], 1), ("engage", "failed", ["CHUNK_TOO_LARGE"], 0))

    [engage] = judge({"send": send_facts(frame)}).targets

    assert engage.code is ExitCode.OK and engage.vendor_rejected == 1
    assert "1 refused for good" in engage.line()


# --- exit 0 lines say what happened: nothing sent by a rerun or a dry run, rows refused for good ---


def test_a_rerun_of_a_delivered_file_says_nothing_was_left_to_send_not_that_it_sent() -> None:
    summary = {"send": {"obi": {"statuses": {"already_sent": 667}}}}

    rerun, dry = judge(summary), judge(summary, dry_run=True)

    assert rerun.code is dry.code is ExitCode.OK
    [obi] = rerun.targets
    assert obi.line() == "obi: nothing to send, 667 of 667 already delivered by an earlier run"
    assert rerun.conclusion() == "nothing left to send: an earlier run delivered it"
    [predicted] = dry.targets
    assert (
        predicted.line()
        == "obi: would send nothing (dry run), 667 of 667 already delivered by an earlier run"
    )
    assert dry.conclusion().startswith("a dry run: nothing was sent")


def test_a_run_that_sent_part_of_the_file_counts_what_an_earlier_run_delivered() -> None:
    [obi] = judge({"send": {"obi": {"statuses": {"accepted": 7, "already_sent": 60}}}}).targets

    assert obi.line() == "obi: sent, 67 of 67 delivered (60 of them by an earlier run)"


def test_leads_all_refused_for_good_keep_exit_0_and_the_closing_line_says_to_fix_them() -> None:
    verdict = judge({"send": {"maxcontact": {"statuses": {"vendor_rejected": 323}}}})

    assert verdict.code is ExitCode.OK
    [maxcontact] = verdict.targets
    assert maxcontact.line().startswith("maxcontact: all refused by the vendor, 0 of 323 delivered")
    assert verdict.conclusion() == (
        "nothing left to send; 323 rows refused for good (by the vendor, or too large for it): "
        "fix those rows (see the report)"
    )
    assert "was sent" not in verdict.conclusion()


def test_a_target_stopped_for_its_settings_is_exit_4_and_named_even_from_a_summary_alone() -> None:
    """summary.json has only reason counts: TARGET_MISCONFIGURED still says the target stopped
    (not exit 3, rows failed) and that a person must fix it."""
    summary = {
        "targets": {"obi": {"statuses": {"accepted": 3, "failed": 5}, "reasons": {"TARGET_MISCONFIGURED": 5}}}
    }

    verdict = judge(summary)

    assert verdict.code is ExitCode.TARGET_FAILED
    [obi] = verdict.targets
    assert obi.verdict is SendVerdict.STOPPED and obi.failure_reasons == (("TARGET_MISCONFIGURED", 5),)
    assert obi.misconfigured and obi.needs_a_person and not obi.login_refused


MISSING_COLUMN = "sms: {Account No} in template names no column of this file. Fix options.template"


@pytest.mark.parametrize(
    "statuses",
    [
        {"rejected": 2, "duplicate": 1, "suppressed": 1},
        {"ineligible": 4},
        {"already_sent": 4},
        {},
    ],
)
def test_a_target_stopped_before_sending_is_exit_4_and_says_why_even_with_no_row_to_send(
    statuses: dict[str, int],
) -> None:
    stop = stop_fact("TARGET_MISCONFIGURED", MISSING_COLUMN)
    facts = {"statuses": statuses, "failed_reasons": {}, "not_attempted": 0, "too_large": 0, "stopped": stop}
    summary = {"targets": {"sms": {"statuses": statuses, "reasons": {}, "stopped": stop}}}

    for verdict in (judge({"send": {"sms": facts}}), judge(summary)):  # the flow's facts, summary.json
        assert verdict.code is ExitCode.TARGET_FAILED
        [sms] = verdict.targets
        assert sms.verdict is SendVerdict.STOPPED and sms.misconfigured and sms.needs_a_person
        cause = "TARGET_MISCONFIGURED: {Account No} in template names no column of this file"
        assert sms.line().startswith("sms: STOPPED before sending, no row to send") and cause in sms.line()
        said = f"sms stopped before sending, no row to send; {cause}. Fix options.template"
        assert verdict.problem() == f"not everything was sent: {said}"


def test_the_terminals_last_line_names_a_stop_before_sending_without_repeating_its_message() -> None:
    # the target's own line above it holds the message: the exit code's line names the reason
    stop = stop_fact("TARGET_MISCONFIGURED", MISSING_COLUMN)
    facts = {
        "statuses": {"rejected": 2},
        "failed_reasons": {},
        "not_attempted": 0,
        "too_large": 0,
        "stopped": stop,
    }

    verdict = judge({"send": {"sms": facts}})

    assert verdict.conclusion() == (
        "not everything was sent: sms stopped before sending, no row to send "
        "(TARGET_MISCONFIGURED, see its line above)"
    )
    assert "Fix options.template" in verdict.problem()  # Prefect's state and the folder's notes keep it


# --- which stops waiting cannot fix (the watched folder does not retry those by itself) ---------


@pytest.mark.parametrize(
    ("rows", "needs_a_person"),
    [
        # the vendor refused our credentials: every attempt meets the same answer
        ([("obi", "failed", ["AUTH_FAILED"], 1), ("obi", "failed", ["AUTH_FAILED"], 0)], True),
        # an unknown campaign (OBI's 404) or Engage refusing a batch as a whole stops the target
        (
            [("obi", "failed", ["TARGET_MISCONFIGURED"], 1), ("obi", "failed", ["TARGET_MISCONFIGURED"], 0)],
            True,
        ),
        # a setup refused after the vendor had been flaky still needs the person
        (
            [("obi", "failed", ["TRANSPORT_FAILED"], 3), ("obi", "failed", ["TARGET_MISCONFIGURED"], 0)],
            True,
        ),
        # the vendor down: transport failures, then the breaker stops the target
        ([("obi", "failed", ["TRANSPORT_FAILED"], 3), ("obi", "failed", ["TARGET_STOPPED"], 0)], False),
        # stopped with nothing before it (the vendor out of reach while the target was prepared,
        # Prefect's limits unreachable): TARGET_STOPPED passes with time, unlike a refused setup
        ([("obi", "failed", ["TARGET_STOPPED"], 0), ("obi", "failed", ["TARGET_STOPPED"], 0)], False),
        ([("obi", "accepted", [], 1), ("obi", "failed", ["TRANSPORT_FAILED"], 3)], False),
        ([("obi", "failed", ["LEDGER_UNAVAILABLE"], 0)], False),
        ([("obi", "failed", ["VENDOR_ANSWER_INVALID"], 1), ("obi", "failed", ["TARGET_STOPPED"], 0)], False),
        ([("obi", "accepted", [], 1)], False),
    ],
)
def test_a_refused_login_or_a_target_stopped_at_once_needs_a_person_a_vendor_down_does_not(
    rows: list[tuple[str, str, list[str], int]], needs_a_person: bool
) -> None:
    verdict = judge({"send": send_facts(results(*rows))})

    assert bool(verdict.needing_a_person()) is needs_a_person


def test_rows_a_vendor_already_holds_after_our_lost_answer_are_counted_apart_not_as_rows_to_fix() -> None:
    # strict MaxContact refuses the resend of a lead whose first answer was lost: most likely
    # stored by that first request, so "fix those rows" would send people after nothing
    conflict = ["VENDOR_ID_CONFLICT", "POSSIBLY_DUPLICATED"]
    frame = results(
        ("maxcontact", "accepted", [], 1),
        ("maxcontact", "vendor_rejected", conflict, 2),
        ("maxcontact", "vendor_rejected", conflict, 2),
        ("maxcontact", "vendor_rejected", ["VENDOR_REJECTED"], 1),
        ("obi", "vendor_rejected", ["VENDOR_ID_CONFLICT"], 1),  # no lost answer: refused
    )

    verdict = judge({"send": send_facts(frame)})

    assert verdict.code is ExitCode.OK
    maxcontact, obi = verdict.targets
    assert maxcontact.vendor_rejected == 3 and maxcontact.held_after_lost == 2
    assert "; 1 refused for good" in maxcontact.line()
    assert (
        "; 2 the vendor already holds, most likely from our request whose answer was lost"
        in maxcontact.line()
    )
    assert obi.held_after_lost == 0 and "1 refused for good" in obi.line()
    assert verdict.conclusion() == (
        "everything that could be delivered was delivered; 2 rows refused for good (by the vendor, "
        "or too large for it): fix those rows (see the report); 2 the vendor already holds, most "
        "likely from our request whose answer was lost: check them at the vendor (see the report)"
    )
