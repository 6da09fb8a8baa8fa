"""The verdict table (flows.verdict) over any mix of statuses and reasons: the exit code says
whether rows failed, never whether rows were refused by our checks or by the vendor."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flows.verdict import ExitCode, SendVerdict, judge
from schemas.codes import Status

COUNTS = st.integers(min_value=0, max_value=10_000)
STATUSES = st.dictionaries(st.sampled_from([s.value for s in Status]), COUNTS)
REASONS = st.dictionaries(
    st.sampled_from(
        ["TRANSPORT_FAILED", "AUTH_FAILED", "TARGET_STOPPED", "PHONE_INVALID", "VENDOR_REJECTED"]
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
    assert obi.verdict is SendVerdict.SENT and "2 refused by the vendor (permanent" in obi.line()
    assert obi.line().startswith("obi: sent, 5 of 7 delivered") and "3 kept back" in obi.line()
    assert sms.verdict is SendVerdict.NOTHING_TO_SEND


def test_a_run_with_no_rows_is_a_success() -> None:
    assert judge({"targets": {}}).code is ExitCode.OK
