"""The guardrail's decision over a chunk's people as arrays (connectors.frequency.decide_people)
is the per-lead definition (``decide``): on random chunks and histories, with keys shared
within a chunk, a lead's own earlier contact at its target, both ways of counting, and the
contact memory's hint that the keys are all different."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.contact_memory import ContactMemory, encode_chunk
from connectors.frequency import Event, FrequencyLimit, decide, decide_people
from connectors.key_sorting import KeyOrder
from transforms.people import People

chunks = st.lists(
    st.tuples(
        st.integers(0, 9),  # lead number: its external id, so a resend of an earlier lead
        st.lists(st.integers(-4, 8), max_size=3, unique=True),  # person keys, shared now and then
    ),
    max_size=12,
    unique_by=lambda lead: lead[0],
)
histories = st.dictionaries(
    st.integers(-4, 8),
    st.sets(
        st.tuples(st.integers(1, 3), st.integers(0, 9).map(lambda n: f"lead-{n}")), min_size=1, max_size=4
    ),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(
    chunk=chunks,
    recent=histories,
    target=st.integers(1, 3),
    maximum=st.integers(1, 3),
    by_targets=st.booleans(),
    hinted=st.booleans(),
)
def test_the_vectorized_decision_is_the_per_lead_decision(
    chunk: list[tuple[int, list[int]]],
    recent: dict[int, set[Event]],
    target: int,
    maximum: int,
    by_targets: bool,
    hinted: bool,
) -> None:
    limit = FrequencyLimit(
        max_contacts=maximum, within_hours=24, count="targets" if by_targets else "contacts"
    )
    eids = [f"lead-{n}" for n, _ in chunk]
    lists = [tuple(keys) for _, keys in chunk]
    flat = [key for keys in lists for key in keys]
    distinct = len(set(flat)) == len(flat) if hinted else None
    expected = decide(target, eids, lists, recent, limit)
    people = People.from_lists(lists)
    got = decide_people(target, eids, people, recent, limit, distinct=distinct)
    assert (got if got is not None else [True] * len(chunk)) == expected
    ordered = KeyOrder.of(people.flat)  # as a plan decides: which keys are shared, given
    planned = decide_people(target, eids, people, recent, limit, ordered=ordered, shared=ordered.repeated())
    assert (planned if planned is not None else [True] * len(chunk)) == expected


def test_a_chunk_of_people_never_contacted_and_all_different_is_allowed_without_a_list() -> None:
    limit = FrequencyLimit(max_contacts=1, within_hours=24)
    people = People.from_lists([(1, -1), (2,), (3, -3)])
    assert decide_people(1, ["a", "b", "c"], people, {}, limit) is None
    assert decide_people(1, ["a", "b", "c"], people, {9: {(2, "x")}}, limit) is None


def test_only_the_leads_with_a_contact_or_a_shared_key_are_refused_and_the_rest_allowed() -> None:
    limit = FrequencyLimit(max_contacts=1, within_hours=24)
    people = People.from_lists([(1,), (2, 5), (3,), (5,), (4,)])
    recent = {3: {(2, "elsewhere")}}
    # c has a contact; d shares 5 with b, which is allowed first
    assert decide_people(1, ["a", "b", "c", "d", "e"], people, recent, limit) == [
        True,
        True,
        False,
        False,
        True,
    ]


few_people = st.lists(  # fewer leads and keys than ``chunks``: histories hit them often
    st.tuples(st.integers(0, 5), st.lists(st.integers(-2, 4), max_size=3, unique=True)),
    max_size=8,
    unique_by=lambda lead: lead[0],
)
log_rows = st.lists(
    st.tuples(
        st.integers(1, 3),  # the row's target
        st.booleans(),  # before the window
        st.lists(  # its leads: an external id (often a lead of the chunk) and keys (often the chunk's)
            st.tuples(st.integers(0, 5), st.lists(st.integers(-2, 4), min_size=1, max_size=3, unique=True)),
            min_size=1,
            max_size=5,
            unique_by=lambda lead: lead[0],
        ),
    ),
    max_size=8,
)


@settings(max_examples=1000, deadline=None)
@given(
    chunk=few_people,
    rows=log_rows,
    target=st.integers(1, 3),
    maximum=st.integers(1, 3),
    by_targets=st.booleans(),
    folded=st.integers(0, 8),
)
def test_the_decision_over_the_contact_memorys_arrays_is_the_per_lead_decision(
    chunk: list[tuple[int, list[int]]],
    rows: list[tuple[int, bool, list[tuple[int, list[int]]]]],
    target: int,
    maximum: int,
    by_targets: bool,
    folded: int,
) -> None:
    """Earlier contacts of the chunk's people at several targets, resends of its own leads (at
    its target and elsewhere, claimed in several rows), rows before the window, rows sorted into
    a run or still fresh: the memory's contacts as arrays decide as ``decide`` over sets."""
    limit = FrequencyLimit(
        max_contacts=maximum, within_hours=24, count="targets" if by_targets else "contacts"
    )
    since = 1000.0
    memory = ContactMemory()
    recent: dict[int, set[Event]] = {}
    for seq, (row_target, old, leads) in enumerate(rows, start=1):
        eids = [f"lead-{n}" for n, _ in leads]
        counts = [len(keys) for _, keys in leads]
        memory.add(
            seq,
            since - 1 if old else since + 1,
            row_target,
            encode_chunk(eids, counts, [key for _, keys in leads for key in keys]),
        )
        if seq == folded:
            memory._fold()
        if not old:
            for eid, (_, keys) in zip(eids, leads, strict=True):
                for key in keys:
                    recent.setdefault(key, set()).add((row_target, eid))
    eids = [f"lead-{n}" for n, _ in chunk]
    lists = [tuple(keys) for _, keys in chunk]
    people = People.from_lists(lists)
    found = memory.found(people.flat, since)
    mine = {key: recent[key] for key in people.flat.tolist() if key in recent}
    assert dict(found.items()) == mine
    expected = decide(target, eids, lists, recent, limit)
    got = decide_people(target, eids, people, found, limit, distinct=memory.distinct)
    assert (got if got is not None else [True] * len(chunk)) == expected
    # as a plan decides: its keys' order and which are shared given (sorted once for all)
    ordered = KeyOrder.of(people.flat)
    shared = ordered.repeated()
    planned = decide_people(
        target, eids, people, found, limit, distinct=not shared.any(), ordered=ordered, shared=shared
    )
    assert (planned if planned is not None else [True] * len(chunk)) == expected


def test_a_contact_claimed_in_two_rows_with_another_targets_row_between_counts_once() -> None:
    """The same lead claimed twice at target 1 (a resend claimed anew), a contact at target 2
    logged between the two: two contacts, not three, as ``decide`` counts them."""
    memory = ContactMemory()
    memory.add(1, 2000.0, 1, encode_chunk(["x"], [1], [7]))
    memory.add(2, 2001.0, 2, encode_chunk(["y"], [1], [7]))
    memory.add(3, 2002.0, 1, encode_chunk(["x"], [1], [7]))
    people = People.from_lists([(7,)])
    found = memory.found(people.flat, 1000.0)
    limit = FrequencyLimit(max_contacts=3, within_hours=24)
    assert decide(3, ["z"], [(7,)], {7: {(1, "x"), (2, "y")}}, limit) == [True]
    assert decide_people(3, ["z"], people, found, limit, distinct=memory.distinct) in (None, [True])
