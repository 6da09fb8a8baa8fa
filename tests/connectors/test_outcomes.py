"""The result table: one result per lead whatever the vendor answers, secrets never kept."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Chunk, Lead, RowOutcome
from connectors.outcomes import ResultTable
from schemas.codes import Issue, Status

SENT_AT = datetime(2024, 1, 1, tzinfo=UTC)


def _leads(n: int) -> tuple[Lead, ...]:
    return tuple(Lead(source_row=i + 1, external_id=f"ext-{i + 1}") for i in range(n))


def test_a_lead_the_vendor_answer_left_out_fails_and_is_settled_failed() -> None:
    leads = _leads(3)
    table = ResultTable(leads, target="t")
    answered = [
        RowOutcome(1, Status.ACCEPTED, (), "V1", "201"),
        RowOutcome(3, Status.ACCEPTED, (), "V3", "201"),
    ]
    rows = table.settle(Chunk("t", "b", leads), answered, 1, SENT_AT)
    results = table.finish(None, None)
    assert [r.status for r in results] == [Status.ACCEPTED, Status.FAILED, Status.ACCEPTED]
    assert results[1].reasons == (Issue.TRANSPORT_FAILED.value,)
    assert rows == [
        ("ext-1", "accepted", "V1", "201"),
        ("ext-2", "failed", None, None),
        ("ext-3", "accepted", "V3", "201"),
    ]


def test_vendor_messages_lose_the_targets_secrets() -> None:
    leads = _leads(1)
    table = ResultTable(leads, target="t", secrets=("hunter22",))
    outcome = RowOutcome(1, Status.VENDOR_REJECTED, (), None, "400", "bad login hunter22 for demo")
    table.settle(Chunk("t", "b", leads), [outcome], 1, SENT_AT)
    [result] = table.finish(None, None)
    assert result.vendor_message == "bad login *** for demo"


@given(st.lists(st.integers(min_value=0, max_value=9), max_size=30))
def test_each_lead_counts_once_however_often_it_is_recorded(touches: list[int]) -> None:
    leads = _leads(10)
    table = ResultTable(leads, target="t")
    for i in touches:
        table.fail(Chunk("t", "b", (leads[i],)), Issue.TRANSPORT_FAILED.value, "down", 1)
    assert table.settled == len(set(touches))
    results = table.finish("TARGET_STOPPED", "stopped")
    assert [r.source_row for r in results] == [lead.source_row for lead in leads]
    assert all(r.status == Status.FAILED for r in results)
    assert {r.vendor_message for i, r in enumerate(results) if i not in touches} <= {"stopped"}
