"""Chunking: every lead exactly once, in order, within the count and byte limits; stable ids."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Lead
from connectors.chunking import batch_id, chunk_leads


def leads_with_sizes(sizes: list[int]) -> tuple[list[Lead], dict[str, int]]:
    leads = [Lead(source_row=i, external_id=f"id-{i}") for i in range(len(sizes))]
    return leads, {lead.external_id: size for lead, size in zip(leads, sizes, strict=True)}


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=5_000), max_size=300),
    max_items=st.integers(min_value=1, max_value=120),
    max_bytes=st.one_of(st.none(), st.integers(min_value=1, max_value=20_000)),
)
def test_chunks_cover_every_lead_once_in_order_within_both_limits(
    sizes: list[int], max_items: int, max_bytes: int | None
) -> None:
    leads, size_of = leads_with_sizes(sizes)
    plan = chunk_leads(
        leads,
        target="t",
        campaign="c",
        max_items=max_items,
        max_bytes=max_bytes,
        item_size=lambda lead: size_of[lead.external_id],
    )
    placed = [lead for chunk in plan.chunks for lead in chunk.leads]
    too_large = set(plan.too_large)

    assert placed == [lead for lead in leads if lead not in too_large]
    assert all(1 <= len(chunk) <= max_items for chunk in plan.chunks)
    if max_bytes is None:
        assert not too_large
    else:
        assert too_large == {lead for lead in leads if size_of[lead.external_id] > max_bytes}
        assert all(sum(size_of[x.external_id] for x in chunk.leads) <= max_bytes for chunk in plan.chunks)


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True))
def test_batch_id_is_stable_and_depends_on_target_campaign_and_ids(ids: list[str]) -> None:
    assert batch_id("t", "c", ids) == batch_id("t", "c", list(ids))
    assert len(batch_id("t", "c", ids)) == 20
    assert batch_id("t", "c", ids) != batch_id("t", "other", ids)
    assert batch_id("t", "c", ids) != batch_id("u", "c", ids)
    assert batch_id("t", "c", ids) != batch_id("t", "c", [*ids, "extra-id-not-in-list-0123456789"])


def test_chunk_boundaries_do_not_change_with_ids_so_a_rerun_repeats_batch_ids() -> None:
    leads, _ = leads_with_sizes([10] * 25)
    first = chunk_leads(leads, target="t", campaign="c", max_items=10)
    second = chunk_leads(list(leads), target="t", campaign="c", max_items=10)
    assert [c.batch_id for c in first.chunks] == [c.batch_id for c in second.chunks]
    assert [len(c) for c in first.chunks] == [10, 10, 5]


def _incremental_batch_id(target: str, campaign: str, ids: list[str]) -> str:
    """The definition ledgers were written with: one hash update per separator and per id."""
    digest = hashlib.blake2b(digest_size=10)
    for part in (target.encode(), b"\x1f", campaign.encode()):
        digest.update(part)
    for external_id in ids:
        digest.update(b"\x1e")
        digest.update(external_id.encode())
    return digest.hexdigest()


@given(st.text(max_size=8), st.text(max_size=8), st.lists(st.text(max_size=12), max_size=30))
def test_batch_ids_match_those_already_in_ledgers(target: str, campaign: str, ids: list[str]) -> None:
    assert batch_id(target, campaign, ids) == _incremental_batch_id(target, campaign, ids)


def test_a_known_batch_id_never_changes() -> None:
    assert batch_id("obi", "camp", ["a", "b", "ü"]) == "71b7afeb82ae75ae2310"
