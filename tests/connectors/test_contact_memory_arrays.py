"""The contact memory's arrays (connectors.contact_memory: a filter, sorted runs, the fresh
keys) find exactly what a walk over the rows recorded finds, however lookups and records
interleave: a chunk looked up and then recorded whole, in part or not at all (its keys were
put in the filter at the lookup), fresh keys sorted into runs and runs merged, the filter
made anew as it fills."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import contact_memory, key_sorting
from connectors.contact_memory import ContactMemory, KeyFilter, encode_chunk
from connectors.frequency import Event

Step = tuple[float, int, list[list[int]], int]

steps = st.lists(
    st.tuples(
        st.sampled_from([10.0, 20.0, 30.0]),  # when the chunk is recorded
        st.integers(1, 3),  # its target
        st.lists(st.lists(st.integers(-6, 40), min_size=1, max_size=3), min_size=1, max_size=6),
        st.integers(0, 2),  # recorded: whole, its first half, not at all
    ),
    max_size=25,
)


def _naive(
    recorded: list[tuple[float, int, list[tuple[str, list[int]]]]], since: float
) -> dict[int, set[Event]]:
    found: dict[int, set[Event]] = {}
    for at, target, leads in recorded:
        if at > since:
            for eid, keys in leads:
                for key in keys:
                    found.setdefault(key, set()).add((target, eid))
    return found


@pytest.mark.parametrize(
    ("fold_ratio", "first_words", "runs", "most_words", "polars_from"),
    [
        (256, 1 << 16, (8, 16, 4096), 1 << 23, 16384),
        (4, 16, (8, 16, 4096), 1 << 23, 0),  # every sort by polars (connectors.key_sorting)
        (
            4,
            16,
            (2, 2, 3),
            1 << 23,
            0,
        ),  # runs merged when a third comes, a small one at once, before most lookups
        (
            4,
            16,
            (3, 0, 1 << 30),
            1 << 23,
            16384,
        ),  # each new run merged into the one before, never before a lookup
        (1 << 30, 16, (8, 16, 4096), 1 << 23, 0),  # fresh keys never sorted: every lookup by brute force
        (4, 16, (8, 16, 4096), 16, 16384),  # a filter that never grows: full, it lets most keys through
    ],
)
@pytest.mark.parametrize("by_plan", [False, True])  # a chunk's lookup, or a plan's (every key put in ahead)
def test_the_memory_finds_what_was_recorded_however_lookups_and_records_interleave(
    monkeypatch: pytest.MonkeyPatch,
    by_plan: bool,
    fold_ratio: int,
    first_words: int,
    runs: tuple[int, int, int],
    most_words: int,
    polars_from: int,
) -> None:
    monkeypatch.setattr(contact_memory, "_FOLD_RATIO", fold_ratio)
    monkeypatch.setattr(key_sorting, "POLARS_FROM", polars_from)
    monkeypatch.setattr(contact_memory, "_MOST_WORDS", most_words)
    for name, value in zip(("_MAX_RUNS", "_SMALL_RUN", "_MANY_KEYS"), runs, strict=True):
        monkeypatch.setattr(contact_memory, name, value)
    monkeypatch.setattr(contact_memory, "_FIRST_WORDS", first_words)
    monkeypatch.setattr(contact_memory, "_LARGE_WORDS", 4 * first_words)

    @settings(max_examples=150, deadline=None)
    @given(steps=steps, since=st.sampled_from([0.0, 15.0, 25.0]))
    def check(steps: list[Step], since: float) -> None:
        memory = ContactMemory()
        memory.since = 0.0
        recorded: list[tuple[float, int, list[tuple[str, list[int]]]]] = []
        for seq_less, (at, target, leads, how) in enumerate(steps):
            flat = np.array([key for keys in leads for key in keys], dtype=np.int64)
            wanted = {key for keys in leads for key in keys}
            got = memory.plan(flat, since)[0] if by_plan else memory.found(flat, since)
            assert got == {key: events for key, events in _naive(recorded, since).items() if key in wanted}
            if memory.distinct:
                assert len(set(flat.tolist())) == len(flat)
            mine = leads if how == 0 else leads[: len(leads) // 2] if how == 1 else None
            if mine is None:
                continue
            named = [(f"s{seq_less}-{n}", keys) for n, keys in enumerate(mine)]
            keys = flat if how == 0 else np.array([k for keys in mine for k in keys], dtype=np.int64)
            stored = encode_chunk([e for e, _ in named], [len(k) for _, k in named], keys)
            memory.add(memory.seq + 1, at, target, stored, keys)
            recorded.append((at, target, named))
        everything = np.arange(-6, 41, dtype=np.int64)
        assert memory.found(everything, since) == _naive(recorded, since)

    check()


def test_the_filter_lets_through_every_key_added_and_stops_nearly_every_other() -> None:
    rng = np.random.default_rng(18)
    kept = KeyFilter(1 << 16)
    added = np.concatenate([14150000000 + np.arange(20_000), rng.integers(-(2**63), -1, 12_000)])
    for start in range(0, len(added), 200):
        kept.add(kept.probe(added[start : start + 200]))
    assert kept.passes(kept.probe(added)).all()
    assert kept.passes(kept.probe(added), fresh=True).all()
    others = np.concatenate([14150000000 + np.arange(20_000, 60_000), rng.integers(-(2**63), -1, 40_000)])
    assert kept.passes(kept.probe(others)).mean() < 1e-3
    kept.clear_fresh(added)
    assert not kept.passes(kept.probe(added), fresh=True).any()
    assert kept.passes(kept.probe(added)).all()


def test_the_filter_stops_growing_at_its_largest_and_still_lets_every_key_added_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(contact_memory, "_LARGE_WORDS", 1 << 16)
    monkeypatch.setattr(contact_memory, "_MOST_WORDS", 1 << 17)
    memory = ContactMemory()
    keys = np.random.default_rng(6).integers(-(2**62), 2**62, 600_000, dtype=np.int64)
    for start in range(0, len(keys), 200_000):  # three plans, as an import's batches
        memory.plan(keys[start : start + 200_000], 0.0)
    assert len(memory._filter) == 1 << 17, "4.6 keys a word, where it grew at half a key a word"
    assert memory._filter.passes(memory._filter.probe(keys)).all()


def test_a_plans_filter_grows_to_at_most_128_bytes_a_key() -> None:
    """Its pages are touched as keys land (page faults, cache and TLB misses): a window of
    300,000 contacts of a phone and an email takes 64 MB of filters, where eight words a key
    took 128 MB."""
    memory = ContactMemory()
    keys = np.random.default_rng(5).integers(-(2**62), 2**62, 600_000, dtype=np.int64)
    memory.plan(keys, 0.0)
    assert memory._filter.words.nbytes <= 128 * len(keys)
    assert memory._filter.passes(memory._filter.probe(keys)).all()
