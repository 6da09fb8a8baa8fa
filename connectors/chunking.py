"""Cut one target's leads into requests within the vendor's limits, with stable batch ids.

Limits are declared data (``Connector.LIMITS``): at most ``min(target.chunk_size or default_items
or max_items, max_items)`` leads and, when the vendor documents one, at most ``max_bytes`` of summed
``connector.item_size`` per request. Chunks keep input order and cover every lead once; a lead
that alone exceeds the byte limit is set aside (the engine reports it ``failed`` with
``CHUNK_TOO_LARGE``). ``item_size`` must include the item's separator; a vendor whose request has a
sizeable envelope declares ``max_bytes`` net of it.

A chunk's ``batch_id`` is a short stable hash of (target name, campaign, external ids), so the
same leads sent again (a retry, a rerun after a crash) carry the same id: Engage's batch
externalId and uContact's file name rely on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from connectors.base import Chunk, Connector, Lead

__all__ = ["ChunkPlan", "batch_id", "chunk_leads", "plan_for"]


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    chunks: tuple[Chunk, ...]
    too_large: tuple[Lead, ...]


def batch_id(target: str, campaign: str, external_ids: Sequence[str]) -> str:
    """20 hex characters, identical for identical (target, campaign, ids in order).

    BLAKE2b-80 of UTF-8 ``target``, 0x1F, ``campaign``, then 0x1E and the id for each id: ledgers
    written by earlier versions rely on these exact values."""
    ids = "\x1e" + "\x1e".join(external_ids) if external_ids else ""
    return hashlib.blake2b(f"{target}\x1f{campaign}{ids}".encode(), digest_size=10).hexdigest()


def chunk_leads(
    leads: Sequence[Lead],
    *,
    target: str,
    campaign: str,
    max_items: int,
    max_bytes: int | None = None,
    item_size: Callable[[Lead], int] | None = None,
) -> ChunkPlan:
    """Greedy in-order packing: a chunk closes when the next lead would break either limit."""
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    groups: list[list[Lead]] = []
    too_large: list[Lead] = []
    if max_bytes is None or item_size is None:
        groups = [list(leads[i : i + max_items]) for i in range(0, len(leads), max_items)]
    else:
        current: list[Lead] = []
        used = 0
        for lead in leads:
            size = item_size(lead)
            if size > max_bytes:
                too_large.append(lead)
                continue
            if current and (len(current) >= max_items or used + size > max_bytes):
                groups.append(current)
                current, used = [], 0
            current.append(lead)
            used += size
        if current:
            groups.append(current)
    chunks = tuple(
        Chunk(target, batch_id(target, campaign, [lead.external_id for lead in group]), tuple(group))
        for group in groups
    )
    return ChunkPlan(chunks, tuple(too_large))


def plan_for(connector: Connector, leads: Sequence[Lead]) -> ChunkPlan:
    """Chunks for ``connector``'s target, within its declared LIMITS and the target's chunk_size."""
    limits = connector.LIMITS
    target = connector.target
    max_items = min(target.chunk_size or limits.default_items or limits.max_items, limits.max_items)
    return chunk_leads(
        leads,
        target=target.name,
        campaign=target.campaign,
        max_items=max_items,
        max_bytes=limits.max_bytes,
        item_size=connector.item_size,
    )
