"""The engine given the batch's person keys as arrays (``dispatch(..., people=...)``, as
flows.importer does) records for each lead its own keys and decides as without them, also when
the leads it sends are not all the leads it was given (some already sent)."""

from __future__ import annotations

import sqlite3

import httpx
from starlette.applications import Starlette

from connectors.base import Lead
from connectors.contact_memory import decode_chunk, journal_names
from connectors.engine import RowResult, dispatch
from connectors.frequency import leads_people
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
from schemas.codes import Status
from tests.connectors.test_engine_frequency import obi, people
from transforms.people import People


async def _send(
    app: Starlette, connector: SinchObiConnector, leads: list[Lead], ledger: Ledger
) -> list[RowResult]:
    arrays = People.from_lists(leads_people(leads, "person"))
    return await dispatch(
        connector,
        leads,
        ledger=ledger,
        run_id=connector.target.name,
        transport=httpx.ASGITransport(app=app),
        people=arrays,
    )


def _recorded(ledger: Ledger) -> dict[str, tuple[int, ...]]:
    """Each external id's keys as the contact log holds them."""
    found: dict[str, tuple[int, ...]] = {}
    with sqlite3.connect(ledger.path) as db:
        for (stored,) in db.execute("SELECT rows FROM contact_chunks ORDER BY seq"):
            eids, counts, keys = decode_chunk(stored, journal_names(db))
            flat = iter(keys)
            for eid, count in zip(eids, counts, strict=True):
                found[eid] = tuple(next(flat) for _ in range(count))
    return found


async def test_each_lead_is_recorded_with_its_own_keys_when_some_were_sent_before(
    app: Starlette, ledger: Ledger
) -> None:
    first = await _send(app, obi("a"), people("a", range(1, 11)), ledger)
    assert {r.status for r in first} == {Status.ACCEPTED}
    everyone = people("a", range(1, 31))
    again = await _send(app, obi("a"), everyone, ledger)
    assert {r.status for r in again if r.source_row <= 10} == {Status.ALREADY_SENT}
    assert {r.status for r in again if r.source_row > 10} == {Status.ACCEPTED}
    expected = dict(
        zip((lead.external_id for lead in everyone), leads_people(everyone, "person"), strict=True)
    )
    assert _recorded(ledger) == expected

    other = await _send(app, obi("b"), people("b", range(1, 41)), ledger)
    assert [r.source_row for r in other if r.status is Status.SUPPRESSED] == list(range(1, 31))
    assert {r.status for r in other if r.source_row > 30} == {Status.ACCEPTED}
