"""A file sent before extensions counted in generated ids, imported again after: the ledger
recognises its extension leads by the id the earlier version gave them (``legacy_external_id``,
transforms.identity) and the engine reports them ``already_sent`` instead of sending them twice.

The leads are made as an import makes them (clean rows, transforms.identity, ``Lead.from_row``)
and sent to the OBI sandbox in process, on a SQLite and a PostgreSQL ledger. The earlier version
is simulated by sending the same leads under the ids it gave (the legacy ones)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
from starlette.applications import Starlette

from connectors.base import Lead
from connectors.engine import RowResult, dispatch
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
