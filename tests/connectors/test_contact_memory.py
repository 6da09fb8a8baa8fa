"""The SQLite ledger's contact memory finds exactly the contacts its log rows hold: a key in
several rows, several leads of one row sharing a key, rows outside the window, and more rows
decoded than it keeps decoded at once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import contact_memory
from connectors.contact_memory import ContactMemory, decode_chunk, encode_chunk
from connectors.frequency import Event

Lead = tuple[str, list[int]]
Row = tuple[float, int, list[Lead]]

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([10.0, 20.0, 30.0]),
        st.integers(1, 3),
        st.lists(
            st.tuples(
                st.text("abc", min_size=1, max_size=3), st.lists(st.integers(-4, 6), min_size=1, max_size=3)
            ),
            min_size=1,
            max_size=4,
        ),
    ),
    max_size=12,
)


def _naive(rows: list[Row], keys: set[int], since: float) -> dict[int, set[Event]]:
    found: dict[int, set[Event]] = {}
    for at, target, leads in rows:
        if at > since:
            for eid, lead_keys in leads:
                for key in set(lead_keys) & keys:
                    found.setdefault(key, set()).add((target, eid))
    return found


@settings(max_examples=200, deadline=None)
@given(rows_strategy, st.sets(st.integers(-5, 7)), st.sampled_from([0.0, 15.0, 25.0]), st.booleans())
def test_the_memory_finds_what_a_walk_over_its_rows_finds(
    rows: list[Row], keys: set[int], since: float, from_stored: bool
) -> None:
    memory = ContactMemory()
    memory.since = 0.0
    for seq, (at, target, leads) in enumerate(rows, start=1):
        eids = [eid for eid, _ in leads]
        counts = [len(lead_keys) for _, lead_keys in leads]
        flat = [key for _, lead_keys in leads for key in lead_keys]
        stored = encode_chunk(eids, counts, flat)
        assert decode_chunk(stored) == (eids, counts, flat)
        memory.add(seq, at, target, stored, None if from_stored else flat)
    assert memory.candidates(keys, since) == _naive(rows, keys, since)


def test_more_rows_than_kept_decoded_are_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_memory, "_CACHED_ROWS", 2)
    memory = ContactMemory()
    for seq in range(1, 6):
        memory.add(seq, 100.0, 1, encode_chunk([f"e{seq}"], [2], [seq, 99]))
    assert memory.candidates({1, 2, 3, 4, 5, 99}, 0.0) == {
        **{seq: {(1, f"e{seq}")} for seq in range(1, 6)},
        99: {(1, f"e{seq}") for seq in range(1, 6)},
    }
