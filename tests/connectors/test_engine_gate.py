"""The engine's gate: a limit shared with other runs (the Prefect flow's global limits), entered
around every request attempt; one it cannot enter stops the target with nothing sent."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from connectors.errors import FatalTargetError
from connectors.ledger import Ledger
from schemas.codes import Issue, Status
from tests.connectors.test_engine import customers, make_leads, obi, run


async def test_every_request_goes_through_the_gate_one_at_a_time_when_it_has_one_slot(
    app: Starlette, ledger: Ledger
) -> None:
    inside = 0
    most = 0
    entered = 0

    @contextlib.asynccontextmanager
    async def gate() -> AsyncIterator[None]:
        nonlocal inside, most, entered
        entered += 1
        inside += 1
        most = max(most, inside)
        try:
            yield
        finally:
            inside -= 1

    results = await run(app, obi(concurrency=4, chunk_size=10), make_leads(60), ledger, gate=gate)

    assert {r.status for r in results} == {Status.ACCEPTED}
    assert entered == 6  # one per request
    assert most <= 4


async def test_a_gate_that_cannot_be_entered_stops_the_target_and_nothing_is_sent(
    app: Starlette, ledger: Ledger
) -> None:
    @contextlib.asynccontextmanager
    async def gate() -> AsyncIterator[None]:
        raise FatalTargetError("obi: no slot of the global limit", target="obi", reason="TARGET_STOPPED")
        yield  # pragma: no cover

    results = await run(app, obi(chunk_size=10), make_leads(30), ledger, gate=gate)

    assert customers(app) == []
    assert {r.status for r in results} == {Status.FAILED}
    assert all(Issue.TARGET_STOPPED.value in r.reasons for r in results)
    assert any("no slot of the global limit" in (r.vendor_message or "") for r in results)
