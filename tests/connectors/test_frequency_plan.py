"""A target's plan decided ahead by the SQLite ledger (``Ledger.plan_limit``,
connectors.frequency_plan) claims exactly what its chunks claimed one by one: the same leads
claimed, refused and held, the same contact rows, whatever happens between the chunks (another
connection's contact, a lead released, a lead held by another run, a chunk refused in part)."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import key_sorting, ledger_contacts
from connectors.frequency import FrequencyLimit
from connectors.ledger import Ledger
from connectors.ledger_types import Claim, Settlement, TargetKey
from transforms.people import People

B = TargetKey("maxcontact", "http://127.0.0.1:8765/maxcontact", "plan-b")
C = TargetKey("onc", "http://127.0.0.1:8765/onc", "other-c")
D = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "earlier-d")
ONCE_A_DAY = FrequencyLimit(max_contacts=1, within_hours=24)


@dataclass(frozen=True)
class Script:
    """What happens around one plan of target B's leads, the same with and without the plan."""

    people: list[tuple[int, ...]]
    sizes: list[int]
    """The chunks' sizes, in order (the last one takes what is left)."""
    limit: FrequencyLimit
    earlier: list[tuple[int, ...]]
    """People sent to D before the plan."""
    between: dict[int, list[tuple[int, ...]]]
    """People another connection sends to C just before chunk ``i`` is claimed."""
    failed: frozenset[int]
    """Leads the vendor does not take (released once their chunk is settled)."""
    held: frozenset[int]
    """Leads another run of B claimed before the plan."""
    swaps: tuple[int, ...] = ()
    """Chunks claimed out of order: each ``i`` swaps the ``i``-th and the next one in time."""


def _run(path: Path, script: Script, *, planned: bool) -> tuple[list[Claim], list[tuple[int, bytes]]]:
    """Play ``script`` on a new ledger file: the claims of B's chunks, and the contact rows
    written (target id, rows as stored)."""
    ids = [f"b-{n}" for n in range(len(script.people))]
    arrays = People.from_lists(script.people)
    with Ledger(path) as ledger, Ledger(path) as other:
        for n, keys in enumerate(script.earlier):
            other.begin_chunk(D, f"d{n}", [f"d-{n}"], "run-d", people=[keys], limit=script.limit)
        held = [ids[n] for n in sorted(script.held)]
        if held:
            ledger.begin_chunk(B, "held", held, "run-elsewhere")
        if planned:
            ledger.plan_limit(B, ids, people=arrays, limit=script.limit)
        claims: list[Claim] = []
        chunks: list[tuple[int, int]] = []
        for size in [*script.sizes, len(ids)]:
            start = chunks[-1][1] if chunks else 0
            if start < len(ids):
                chunks.append((start, min(len(ids), start + size)))
        for swap in script.swaps:
            if swap + 1 < len(chunks):
                chunks[swap], chunks[swap + 1] = chunks[swap + 1], chunks[swap]
        for number, (start, end) in enumerate(chunks):
            for n, keys in enumerate(script.between.get(number, [])):
                eid = f"c-{number}-{n}"
                other.begin_chunk(C, eid, [eid], "run-c", people=[keys], limit=script.limit)
            claim = ledger.begin_chunk(
                B, f"b{number}", ids[start:end], "run-b", people=arrays.slice(start, end), limit=script.limit
            )
            claims.append(claim)
            settled = [
                Settlement(eid, "failed" if int(eid[2:]) in script.failed else "accepted")
                for eid in claim.claimed
            ]
            ledger.settle_chunk(B, claim.batch_id, settled, "run-b")
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT target_id, rows FROM contact_chunks ORDER BY seq").fetchall()
    return claims, [(target, bytes(stored)) for target, stored in rows]


def _same_with_and_without_plan(script: Script) -> list[Claim]:
    with tempfile.TemporaryDirectory() as folder:
        planned = _run(Path(folder) / "planned.sqlite", script, planned=True)
        alone = _run(Path(folder) / "alone.sqlite", script, planned=False)
    assert planned == alone
    return planned[0]


def _people(size: int) -> st.SearchStrategy[list[tuple[int, ...]]]:
    """Few keys, so that people meet: phones 1-4, emails -1 and -2."""
    keys = st.sampled_from([1, 2, 3, 4, -1, -2])
    return st.lists(st.lists(keys, max_size=2, unique=True).map(tuple), min_size=1, max_size=size)


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    people = draw(_people(10))
    leads = range(len(people))
    met = st.sampled_from(people).filter(bool)  # someone of the plan, met elsewhere
    limit = FrequencyLimit(
        max_contacts=draw(st.integers(1, 2)),
        within_days=1,
        count=draw(st.sampled_from(["contacts", "targets"])),
    )
    return Script(
        people=people,
        sizes=draw(st.lists(st.integers(1, 5), max_size=6)),
        limit=limit,
        earlier=draw(st.lists(met, max_size=2)) if any(people) else [],
        between=draw(st.dictionaries(st.integers(1, 4), st.lists(met, min_size=1, max_size=2), max_size=2))
        if any(people)
        else {},
        failed=frozenset(draw(st.sets(st.sampled_from(leads), max_size=3))),
        held=frozenset(draw(st.sets(st.sampled_from(leads), max_size=2))),
        swaps=tuple(draw(st.lists(st.integers(0, 4), max_size=2))),
    )


@pytest.mark.parametrize("polars_from", [16384, 0])  # plans' sorts by numpy, as small; by polars
def test_a_plan_decided_ahead_claims_what_its_chunks_claim_one_by_one(
    monkeypatch: pytest.MonkeyPatch, polars_from: int
) -> None:
    monkeypatch.setattr(key_sorting, "POLARS_FROM", polars_from)

    @settings(max_examples=60, deadline=None)
    @given(scripts())
    def check(script: Script) -> None:
        _same_with_and_without_plan(script)

    check()


def _claimed(claims: Sequence[Claim]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    return [(claim.claimed, claim.limited) for claim in claims]


def test_a_contact_another_connection_makes_between_two_chunks_counts_for_the_later_one() -> None:
    """The plan allowed b-2 (nobody had contacted person 2): another connection on the same file
    sends person 2 to C between chunk 0 and chunk 1, so chunk 1 refuses b-2, as it would have
    without a plan; person 3, sent to C too, is in no chunk of the plan and changes nothing."""
    script = Script(
        people=[(1,), (-1,), (2,), (4,), (5,), (6, -6)],
        sizes=[2, 2, 2],
        limit=ONCE_A_DAY,
        earlier=[],
        between={1: [(2,), (3,)]},
        failed=frozenset(),
        held=frozenset(),
    )
    claims = _same_with_and_without_plan(script)
    assert _claimed(claims) == [
        (("b-0", "b-1"), ()),
        (("b-3",), ("b-2",)),
        (("b-4", "b-5"), ()),
    ]


def test_a_lead_released_mid_plan_stops_counting_for_the_later_chunks() -> None:
    """b-0 (person 1) fails and is released: b-2 (phone 1, email -7), refused by the plan (b-0
    was to count), is claimed by its chunk, and then counts for b-3 (email -7), which the plan
    had allowed."""
    script = Script(
        people=[(1,), (2,), (1, -7), (-7,)],
        sizes=[2, 1],
        limit=ONCE_A_DAY,
        earlier=[],
        between={},
        failed=frozenset({0}),
        held=frozenset(),
    )
    claims = _same_with_and_without_plan(script)
    assert _claimed(claims) == [(("b-0", "b-1"), ()), (("b-2",), ()), ((), ("b-3",))]


def test_a_chunk_claimed_before_an_earlier_one_counts_for_it() -> None:
    """Two a day. Chunk 1 (b-1, phone 5) is claimed first: then chunk 0's b-0 (phones 5 and
    7, 7 sent to D before) has two contacts and is refused, as it is without a plan, though the
    plan, where b-0 came first, allowed both."""
    script = Script(
        people=[(5, 7), (5,)],
        sizes=[1],
        limit=FrequencyLimit(max_contacts=2, within_hours=24),
        earlier=[(7,)],
        between={},
        failed=frozenset(),
        held=frozenset(),
        swaps=(0,),
    )
    claims = _same_with_and_without_plan(script)
    assert _claimed(claims) == [(("b-1",), ()), ((), ("b-0",))]


def test_a_chunk_takes_the_plans_verdict_unless_a_later_row_touches_its_people(tmp_path: Path) -> None:
    """What makes the plan worth having: its chunks are not decided again. Chunks of people
    nobody contacted since the plan confirm it; the chunk whose person another connection
    contacted after the plan does not (it is decided as before), nor does a chunk the plan
    refused in part."""
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.begin_chunk(B, "none", [], "run")  # the targets' rows
        ledger.begin_chunk(C, "none", [], "run")
    people = People.from_lists([(1,), (2,), (3,), (4,), (5,), (5,)])
    memory = ledger_contacts.Contacts()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db, Ledger(path) as other:
        target = db.execute("SELECT id FROM targets WHERE campaign = ?", (B.campaign,)).fetchone()[0]
        ids = [f"b-{n}" for n in range(6)]
        plan = ledger_contacts.sqlite_plan(db, memory, target, ids, people, limit=ONCE_A_DAY)
        assert plan is not None
        other.begin_chunk(C, "c1", ["c-1"], "run-c", people=[(3,)], limit=ONCE_A_DAY)
        memory.catch_up(db, 0.0)
        assert plan.confirm(memory, people.slice(0, 2))
        assert not plan.confirm(memory, people.slice(2, 4)), "person 3 was contacted since the plan"
        assert not plan.confirm(memory, people.slice(4, 6)), "the plan refused b-5 (person 5 twice)"


def test_a_contact_that_left_the_window_after_the_plan_no_longer_counts(tmp_path: Path) -> None:
    """The plan refused b-0 (person 1 was sent to D a moment before, one a second); by the time
    its chunk is claimed D's contact has left the window, so b-0 is claimed, as it would be
    without a plan."""
    limit = FrequencyLimit(max_contacts=1, within_hours=1 / 3600)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.begin_chunk(D, "d0", ["d-0"], "run-d", people=[(1,)], limit=limit)
        people = People.from_lists([(1,), (2,)])
        ledger.plan_limit(B, ["b-0", "b-1"], people=people, limit=limit)
        time.sleep(1.1)
        claim = ledger.begin_chunk(B, "b0", ["b-0"], "run-b", people=people.slice(0, 1), limit=limit)
    assert (claim.claimed, claim.limited) == (("b-0",), ())
