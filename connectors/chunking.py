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

The engine sends from a :class:`LazyPlan`: the cuts are decided up front (so the too-large leads
and the number of chunks are known before anything is sent), the chunks are made as it takes them.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import Chunk, Connector, Lead

if TYPE_CHECKING:
    from transforms.people import People

__all__ = ["ChunkPlan", "LazyPlan", "batch_id", "chunk_leads", "lazy_plan", "lazy_plan_for", "plan_for"]


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    chunks: tuple[Chunk, ...]
    too_large: tuple[Lead, ...]


@dataclass(frozen=True, slots=True)
class LazyPlan:
    """Where each chunk ends, decided up front; its :class:`Chunk` and batch id are made only as
    it is iterated. The engine takes chunks one by one as its workers are ready, so a target with
    one chunk per lead (ONC) no longer holds a Chunk, a tuple and a batch id per lead for the whole
    run before the first request (issue 17). Iterating yields exactly :func:`chunk_leads`' chunks,
    in the same order, with the same batch ids."""

    target: str
    campaign: str
    placed: Sequence[Lead]
    """The leads that fit, in input order (the too-large ones left out)."""
    ends: Sequence[int]
    """Each chunk's end (exclusive) in ``placed``; the last one is ``len(placed)``."""
    too_large: tuple[Lead, ...]
    people: People | None = None
    """The person keys of ``placed``, aligned with it (the engine's, under a frequency limit):
    each chunk gets its slice."""

    def __len__(self) -> int:
        return len(self.ends)

    def __iter__(self) -> Iterator[Chunk]:
        target, campaign, placed, people = self.target, self.campaign, self.placed, self.people
        start = 0
        for end in self.ends:
            group = tuple(placed[start:end])
            ids = [lead.external_id for lead in group]
            mine = None if people is None else people.slice(start, end)
            yield Chunk(target, batch_id(target, campaign, ids), group, mine)
            start = end


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
    plan = lazy_plan(
        leads, target=target, campaign=campaign, max_items=max_items, max_bytes=max_bytes, item_size=item_size
    )
    return ChunkPlan(tuple(plan), plan.too_large)


def lazy_plan(
    leads: Sequence[Lead],
    *,
    target: str,
    campaign: str,
    max_items: int,
    max_bytes: int | None = None,
    item_size: Callable[[Lead], int] | None = None,
) -> LazyPlan:
    """:func:`chunk_leads`' packing, with the chunks left to be made as they are taken."""
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    if max_bytes is None or item_size is None:
        count = len(leads)
        ends: Sequence[int] = array("q", (min(i + max_items, count) for i in range(0, count, max_items)))
        return LazyPlan(target, campaign, leads, ends, ())
    placed: list[Lead] = []
    too_large: list[Lead] = []
    cuts = array("q")
    current = used = 0
    for lead in leads:
        size = item_size(lead)
        if size > max_bytes:
            too_large.append(lead)
            continue
        if current and (current >= max_items or used + size > max_bytes):
            cuts.append(len(placed))
            current, used = 0, 0
        placed.append(lead)
        current += 1
        used += size
    if current:
        cuts.append(len(placed))
    return LazyPlan(target, campaign, placed, cuts, tuple(too_large))


def plan_for(connector: Connector, leads: Sequence[Lead]) -> ChunkPlan:
    """Chunks for ``connector``'s target, within its declared LIMITS and the target's chunk_size."""
    plan = lazy_plan_for(connector, leads)
    return ChunkPlan(tuple(plan), plan.too_large)


def lazy_plan_for(connector: Connector, leads: Sequence[Lead]) -> LazyPlan:
    """:func:`plan_for`'s chunks, made as they are iterated (what the engine sends from)."""
    limits = connector.LIMITS
    target = connector.target
    max_items = min(target.chunk_size or limits.default_items or limits.max_items, limits.max_items)
    return lazy_plan(
        leads,
        target=target.name,
        campaign=target.campaign,
        max_items=max_items,
        max_bytes=limits.max_bytes,
        item_size=connector.item_size,
    )
