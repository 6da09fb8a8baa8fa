"""A file sent before extensions counted in generated ids, imported again after: the ledger
recognises its extension leads by the id the earlier version gave them (``legacy_external_id``,
transforms.identity) and the engine reports them ``already_sent`` instead of sending them twice.

The leads are made as an import makes them (clean rows, transforms.identity, ``Lead.from_row``)
and sent to the OBI sandbox in process, on a SQLite and a PostgreSQL ledger. The earlier version
is simulated by sending the same leads under the ids it gave (the legacy ones)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.base import Lead
from connectors.chunking import plan_for
from connectors.engine import RowResult, dispatch, target_key
from connectors.ledger_types import LedgerBackend
from schemas.codes import Issue, Status
from tests.connectors.test_engine import customers, obi
from tests.transforms.frames import clean_leads
from transforms.identity import assign_external_ids

OpenLedger = Callable[..., LedgerBackend]

SWITCHBOARD = "+493090182000"


def _leads(rows: list[dict[str, Any]]) -> list[Lead]:
    """Leads of a file without an id column: clean rows, their generated ids, as the importer."""
    frame = assign_external_ids(clean_leads([{"external_id": None, **row} for row in rows]), source="leads")
    return [Lead.from_row(row) for row in frame.iter_rows(named=True)]


def _as_before(leads: list[Lead]) -> list[Lead]:
    """The same leads under the ids the version before extensions counted gave them."""
    return [
        replace(lead, external_id=lead.legacy_external_id or lead.external_id, legacy_external_id=None)
        for lead in leads
    ]


async def _run(
    app: Starlette, leads: list[Lead], ledger: LedgerBackend, run_id: str, **kw: Any
) -> list[RowResult]:
    return await dispatch(
        obi(), leads, ledger=ledger, run_id=run_id, transport=httpx.ASGITransport(app=app), **kw
    )


ANN = {"first_name": "Ann", "last_name": "Lee", "phone1": SWITCHBOARD, "phone1_ext": "12"}
CY = {"first_name": "Cy", "last_name": "Main", "phone1": "+493090182099"}
EVE = {"first_name": "Eve", "last_name": "Ng", "phone1": "+493090182098"}
NAMELESS_12 = {"phone1": SWITCHBOARD, "phone1_ext": "12"}
NAMELESS_34 = {"phone1": SWITCHBOARD, "phone1_ext": "34"}


async def test_an_extension_lead_delivered_under_its_earlier_id_is_already_sent_after_the_upgrade(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    ann, cy = _leads([ANN, CY])
    assert ann.legacy_external_id is not None and ann.legacy_external_id != ann.external_id
    with open_ledger() as ledger:
        before = await _run(app, _as_before([ann, cy]), ledger, "run-old")
        assert [r.status for r in before] == [Status.ACCEPTED] * 2
        held = len(customers(app))

        after = await _run(app, [ann, cy], ledger, "run-new")

    assert [r.status for r in after] == [Status.ALREADY_SENT] * 2
    assert after[0].reasons == (Issue.ALREADY_SENT.value,)
    assert after[0].external_id == ann.external_id
    assert after[0].vendor_id == before[0].vendor_id
    assert after[0].vendor_message == f"accepted in run run-old as {ann.legacy_external_id}"
    assert len(customers(app)) == held  # nothing new at the vendor
    assert ann.external_id not in {c["externalId"] for c in customers(app)}


async def test_a_lead_without_extension_keeps_its_id_and_is_judged_by_it_alone(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    ann, cy, eve = _leads([ANN, CY, EVE])
    assert (cy.legacy_external_id, eve.legacy_external_id) == (None, None)
    with open_ledger() as ledger:
        await _run(app, _as_before([ann, cy]), ledger, "run-old")
        after = await _run(app, [ann, cy, eve], ledger, "run-new")
    assert [r.status for r in after] == [Status.ALREADY_SENT, Status.ALREADY_SENT, Status.ACCEPTED]
    assert after[1].vendor_message == "accepted in run run-old"  # under its own id: it never changed
    assert eve.external_id in {c["externalId"] for c in customers(app)}


async def test_a_fresh_ledger_sends_both_extensions_of_one_switchboard(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    first, second = _leads([NAMELESS_12, NAMELESS_34])
    assert first.legacy_external_id == second.legacy_external_id  # the old version's one id
    with open_ledger() as ledger:
        results = await _run(app, [first, second], ledger, "run-new")
    assert [r.status for r in results] == [Status.ACCEPTED] * 2
    assert {first.external_id, second.external_id} <= {c["externalId"] for c in customers(app)}


async def test_the_switchboard_neighbour_the_old_version_called_a_duplicate_stays_unsent(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    """The known edge (connectors.engine, ``_skip_already_sent``): the old version sent only the
    first of two nameless leads of one switchboard; after the upgrade both are already sent."""
    first, second = _leads([NAMELESS_12, NAMELESS_34])
    with open_ledger() as ledger:
        await _run(app, _as_before([first]), ledger, "run-old")
        after = await _run(app, [first, second], ledger, "run-new")
    assert [r.status for r in after] == [Status.ALREADY_SENT] * 2
    assert len(customers(app)) == 1


async def test_resend_sends_an_extension_lead_delivered_under_its_earlier_id(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    ann, cy = _leads([ANN, CY])
    with open_ledger() as ledger:
        await _run(app, _as_before([ann, cy]), ledger, "run-old")
        resent = await _run(app, [ann], ledger, "run-new", resend=True)
    assert [r.status for r in resent] == [Status.ACCEPTED]
    assert ann.external_id in {c["externalId"] for c in customers(app)}


# --- a crashed run of the earlier version ---------------------------------------------------
def _stored(app: Starlette) -> Counter[str]:
    return Counter(c["externalId"] for c in customers(app))


SEARCH = "/campaigns/*/customers"
"""OBI's customer search (GET), which settles a crashed run's chunk; the list post is another path."""


async def _crash_before_upgrade(
    app: Starlette, ledger: LedgerBackend, leads: list[Lead], *, arrived: bool
) -> None:
    """The earlier version's run claims ``leads`` under the ids it gave them, records their
    chunk in flight and dies; with ``arrived`` its request reached OBI first."""
    connector = obi()
    [chunk] = plan_for(connector, _as_before(leads)).chunks
    ledger.begin_chunk(target_key(connector), chunk.batch_id, [x.external_id for x in chunk.leads], "run-old")
    if arrived:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, auth=connector.auth()) as client:
            response = await client.send(connector.build_request(client, chunk))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("arrived", [True, False], ids=["stored-before-crash", "never-arrived"])
async def test_a_chunk_an_earlier_versions_crashed_run_left_in_flight_is_settled_under_its_ids(
    app: Starlette, open_ledger: OpenLedger, arrived: bool
) -> None:
    """OBI is asked about the lead by the id the crashed run gave it, with its data (else a
    record without a number would be a conflict); one it does not hold is sent under that id too,
    as the ledger knows it there."""
    ann, cy = _leads([ANN, CY])
    with open_ledger() as ledger:
        await _crash_before_upgrade(app, ledger, [ann, cy], arrived=arrived)
        results = await _run(app, [ann, cy], ledger, "run-new")
        again = await _run(app, [ann, cy], ledger, "run-again")

    expected = Status.ALREADY_SENT if arrived else Status.ACCEPTED
    assert [r.status for r in results] == [expected] * 2
    assert _stored(app) == Counter([ann.legacy_external_id, cy.external_id])
    assert [r.status for r in again] == [Status.ALREADY_SENT] * 2


async def test_a_lead_the_vendor_cannot_settle_after_the_upgrade_is_resent_under_its_earlier_id(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    """OBI cannot be asked (its search fails on every try), in this run or while it confirms the
    resend: the lead is sent under the id the crashed run used, so OBI refuses what it holds
    instead of storing the person twice; the next run, with OBI whole again, confirms it."""
    ann, cy = _leads([ANN, CY])
    with open_ledger() as ledger:
        await _crash_before_upgrade(app, ledger, [ann, cy], arrived=True)
        app.state.sandbox.faults.configure({"vendors": {"sinch_obi": {SEARCH: {"rate_503": 1.0}}}})
        unsure = await _run(app, [ann, cy], ledger, "run-new")
        assert [r.status for r in unsure] == [Status.FAILED] * 2
        app.state.sandbox.faults.configure({})
        confirmed = await _run(app, [ann, cy], ledger, "run-again")
        last = await _run(app, [ann, cy], ledger, "run-last")

    assert [r.status for r in confirmed] == [Status.ACCEPTED] * 2
    said = f"sent as {ann.legacy_external_id}, the id an earlier version gave this lead"
    assert said in str(confirmed[0].vendor_message)
    assert "sent as" not in str(confirmed[1].vendor_message)  # Cy's id never changed
    assert _stored(app) == Counter([ann.legacy_external_id, cy.external_id])
    assert [r.status for r in last] == [Status.ALREADY_SENT] * 2
    assert str(last[0].vendor_message).endswith(f"as {ann.legacy_external_id}")


async def test_of_two_leads_sharing_an_unsettled_earlier_id_only_the_first_takes_it(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    """The earlier version sent only the first of two nameless leads of one switchboard."""
    first, second = _leads([NAMELESS_12, NAMELESS_34])
    with open_ledger() as ledger:
        await _crash_before_upgrade(app, ledger, [first], arrived=True)
        app.state.sandbox.faults.configure({"vendors": {"sinch_obi": {SEARCH: {"rate_503": 1.0}}}})
        unsure = await _run(app, [first, second], ledger, "run-new")
        app.state.sandbox.faults.configure({})
        confirmed = await _run(app, [first, second], ledger, "run-again")

    assert [r.status for r in unsure] == [Status.FAILED, Status.ACCEPTED]
    assert [r.status for r in confirmed] == [Status.ACCEPTED, Status.ALREADY_SENT]
    assert _stored(app) == Counter([first.legacy_external_id, second.external_id])


async def test_a_lead_another_run_left_unsettled_after_the_upgrade_is_resent_under_its_earlier_id(
    app: Starlette, open_ledger: OpenLedger
) -> None:
    """The crashed run's chunk was settled by another run (a partition of a split import) that
    did not have Ann: the run that has her still sends her under the id the crashed run used."""
    ann, cy, eve = _leads([ANN, CY, EVE])
    with open_ledger() as ledger:
        await _crash_before_upgrade(app, ledger, [ann, cy], arrived=True)
        app.state.sandbox.faults.configure({"vendors": {"sinch_obi": {SEARCH: {"rate_503": 1.0}}}})
        settling = await _run(app, [eve], ledger, "part-1")
        app.state.sandbox.faults.configure({})
        sending = await _run(app, [ann, cy], ledger, "part-2")

    assert [r.status for r in settling] == [Status.ACCEPTED]
    assert [r.status for r in sending] == [Status.ACCEPTED] * 2
    assert _stored(app) == Counter([ann.legacy_external_id, cy.external_id, eve.external_id])
