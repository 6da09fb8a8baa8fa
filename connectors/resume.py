"""Settle what a crashed run left in flight, before a new run sends anything.

Only chunks of runs that hold no live lease on the target are orphans (``Ledger.pending_chunks``):
a run sending at the same time renews its lease, and its chunks are its own. Settling an orphan
releases the dead run's claims on the leads not delivered, so this run can claim and send them.

For each chunk another run recorded ``in_flight`` and never settled, ask the vendor
(``Connector.reconcile``: OBI customer search by externalId, ONC contact listing, Engage batch
state). Outcomes it returns are written to the ledger, so leads the vendor has become
``already_sent``. When the vendor cannot tell (None, or the question itself fails after
retries) the chunk is closed with its leads ``unsettled`` in the ledger (a status of its own,
connectors.ledger_types ``UNSETTLED``, so that any run or partition that sends them later knows,
not only this one): they are sent again with the same external ids and the vendor's "already
exists" counts as accepted. A chunk a crashed run of an earlier version sent under a lead's
earlier id (``legacy_external_id``, transforms.identity) is settled under that id, and a lead it
leaves unsettled is sent again under it too (connectors.engine), so the vendor recognises what
it may hold.

Leads of an orphaned chunk that are not in this run's input are asked about too (by external id
alone); if the vendor cannot tell, they stay unsettled until a run that has them. A lead a crashed
run of an earlier version named by the id that version gave it (``legacy_external_id``,
transforms.identity) is in the input: it is asked about under that id, with its data.

Vendors that keep repeats (``Connector.refuses_known_ids`` False: uContact, MaxContact) cannot be
asked either: neither document offers a way to list what the vendor holds (MaxContact's Get
List returns the list's settings, not its leads; uContact has no query of a dialer base,
campaign or upload). Their superseded chunks' leads are resent and may be stored twice: the engine
marks those rows ``POSSIBLY_DUPLICATED``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import httpx

from connectors.base import Chunk, Connector, Lead
from connectors.errors import redact
from connectors.ledger_types import SENT_STATUSES, UNSETTLED, LedgerBackend, Settlement, TargetKey
from connectors.retry import call_with_retries

__all__ = ["settle_orphans"]

log = logging.getLogger("leadflow.connectors")


async def settle_orphans(
    connector: Connector,
    client: httpx.AsyncClient,
    *,
    ledger: LedgerBackend,
    key: TargetKey,
    leads: Sequence[Lead],
    run_id: str,
) -> frozenset[str]:
    """Settle every orphaned chunk of ``key``; returns the external ids the vendor could not
    settle: their leads are sent again under these ids, and may be stored twice where the vendor
    keeps repeats (``Connector.refuses_known_ids`` False)."""
    pending = ledger.pending_chunks(key, exclude_run=run_id)
    unknown: set[str] = set()
    if not pending:
        return frozenset()
    by_id = {lead.external_id: lead for lead in leads}
    for lead in leads:  # an earlier version's run named a lead by the id that version gave it
        earlier = lead.legacy_external_id
        if earlier is not None and earlier not in by_id:
            by_id[earlier] = replace(lead, external_id=earlier)
    name = connector.target.name
    secrets = tuple(connector.secrets.values())
    for orphan in pending:
        members = tuple(
            by_id.get(eid) or Lead(source_row=-(i + 1), external_id=eid)
            for i, eid in enumerate(orphan.external_ids)
        )
        chunk = Chunk(name, orphan.batch_id, members)
        try:
            outcomes = await call_with_retries(
                lambda chunk=chunk: connector.reconcile(client, chunk),  # type: ignore[misc]
                connector.target.retry,
                what=f"{name}: reconcile batch {orphan.batch_id}",
                secrets=secrets,
            )
        except Exception as exc:
            log.warning(
                "%s: could not ask the vendor about batch %s left in flight by run %s (%s); "
                "its leads are sent again with the same external ids",
                name,
                orphan.batch_id,
                orphan.run_id,
                redact(str(exc), secrets),
            )
            outcomes = None
        if outcomes is None:
            unsettled = [Settlement(eid, UNSETTLED, None, None) for eid in orphan.external_ids]
            ledger.settle_chunk(key, orphan.batch_id, unsettled, run_id)
            ledger.release(key, orphan.external_ids, orphan.run_id)
            unknown.update(orphan.external_ids)
            continue
        rows = {o.source_row: o for o in outcomes}
        settled = [
            Settlement(lead.external_id, o.status.value, o.vendor_id, o.vendor_status)
            for lead in members
            if (o := rows.get(lead.source_row)) is not None
        ]
        ledger.settle_chunk(key, orphan.batch_id, settled, run_id)
        delivered = {s.external_id for s in settled if s.status in SENT_STATUSES}
        ledger.release(key, (eid for eid in orphan.external_ids if eid not in delivered), orphan.run_id)
        log.info(
            "%s: batch %s left in flight by run %s settled by asking the vendor (%d of %d rows)",
            name,
            orphan.batch_id,
            orphan.run_id,
            len(settled),
            len(members),
        )
    return frozenset(unknown)
