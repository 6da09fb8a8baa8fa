"""The SQLite ledger's contact memory finds exactly the contacts its log rows hold: a key in
several rows, several leads of one row sharing a key, rows outside the window, more rows
decoded than it keeps decoded at once, and rows in either format (binary, and the JSON an
earlier leadflow wrote)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import contact_memory
from connectors.contact_memory import (
    ContactMemory,
    chunk_arrays,
    chunk_names,
    decode_chunk,
    encode_chunk,
    encode_journalled,
)
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


def _json_row(eids: list[str], counts: list[int], keys: list[int]) -> bytes:
    """A row as leadflow wrote them before the binary format: ``[external ids, counts, keys]``."""
    return orjson.dumps([eids, counts, keys])


@settings(max_examples=200, deadline=None)
@given(
    rows_strategy,
    st.sets(st.integers(-5, 7)),
    st.sampled_from([0.0, 15.0, 25.0]),
    st.booleans(),
    st.booleans(),
)
def test_the_memory_finds_what_a_walk_over_its_rows_finds(
    rows: list[Row], keys: set[int], since: float, from_stored: bool, as_json: bool
) -> None:
    memory = ContactMemory()
    memory.since = 0.0
    for seq, (at, target, leads) in enumerate(rows, start=1):
        eids = [eid for eid, _ in leads]
        counts = [len(lead_keys) for _, lead_keys in leads]
        flat = [key for _, lead_keys in leads for key in lead_keys]
        stored = (_json_row if as_json else encode_chunk)(eids, counts, flat)
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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4)), max_size=30
    )
)
def test_a_binary_row_gives_back_every_external_id_and_key_exactly(
    leads: list[tuple[str, list[int]]],
) -> None:
    eids = [eid for eid, _ in leads]
    counts = [len(keys) for _, keys in leads]
    flat = [key for _, keys in leads for key in keys]
    stored = encode_chunk(eids, counts, np.asarray(flat, dtype=np.int64))
    assert decode_chunk(stored) == (eids, counts, flat)
    assert chunk_names(stored) == eids
    read_counts, read_keys = chunk_arrays(stored)
    assert (read_counts.tolist(), read_keys.tolist()) == (counts, flat)


def test_a_claims_row_holds_each_key_in_eight_bytes_and_names_its_leads_by_journal_row() -> None:
    keys = np.array([-(2**63), -1234567890123456789, 4930123456, 2**63 - 1] * 50, dtype=np.int64)
    eids = [f"lead-{n:03d}" for n in range(100)]
    stored = encode_journalled(41, [2] * 100, keys)
    assert len(stored) == 24 + 8 * len(keys) + 4 * len(eids), "no external id in it"
    assert len(stored) < len(_json_row(eids, [2] * 100, keys.tolist())) / 2
    asked: list[int] = []

    def journal(seq: int) -> list[str]:
        asked.append(seq)
        return eids

    assert decode_chunk(stored, journal) == (eids, [2] * 100, keys.tolist())
    assert asked == [41]
    with pytest.raises(ValueError, match="in the journal"):
        chunk_names(stored)


def test_a_rewritten_row_holds_its_external_ids() -> None:
    eids = ["a", "é", 'q"uote']
    stored = encode_chunk(eids, [1, 0, 2], [7, 8, -9])
    assert stored[0] == 1, "the format byte: a JSON row starts with '['"
    assert len(stored) == 24 + 8 * 3 + 4 * 3 + len(orjson.dumps(eids))
    assert decode_chunk(stored) == (eids, [1, 0, 2], [7, 8, -9])


def test_a_row_needs_a_key_count_for_each_lead() -> None:
    with pytest.raises(ValueError, match="one key count per lead"):
        encode_chunk(["a", "b"], [1], [7])
