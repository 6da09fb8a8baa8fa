"""The frequency guardrail in the ledger, on SQLite and PostgreSQL: decided as the leads are
claimed, counting what is in flight or delivered anywhere, never what failed, and never more than
the limit when runs of several processes claim the same people at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from connectors import ledgers
from connectors.base import Lead, Phone
from connectors.contact_memory import chunk_keys, decode_chunk, journal_names
from connectors.frequency import FrequencyLimit, leads_legacy, leads_people
from connectors.ledger_types import LedgerBackend, Settlement, TargetKey

OpenLedger = Callable[..., LedgerBackend]
A = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-a")
B = TargetKey("maxcontact", "http://127.0.0.1:8765/maxcontact", "1")
C = TargetKey("onc", "http://127.0.0.1:8765/onc", "camp-c")
ONCE_A_DAY = FrequencyLimit(max_contacts=1, within_hours=24)


def _contact_rows(spec: str) -> int:
    """How many (lead, person key) contacts the ledger recorded."""
    if spec.startswith("postgresql://"):
        with psycopg.connect(spec) as db:
            row = db.execute("SELECT count(*) FROM ledger_contact_keys").fetchone()
    else:
        with sqlite3.connect(spec) as db:
            return sum(len(chunk_keys(stored)) for (stored,) in db.execute("SELECT rows FROM contact_chunks"))
    assert row is not None
    return int(row[0])


def test_a_person_sent_to_one_target_is_refused_by_the_next_within_the_window(
    open_ledger: OpenLedger,
) -> None:
    with open_ledger() as ledger:
        first = ledger.begin_chunk(A, "a1", ["a-1", "a-2"], "run-1", people=[(1,), (2,)], limit=ONCE_A_DAY)
        assert (first.claimed, first.limited) == (("a-1", "a-2"), ())
        ledger.settle_chunk(A, "a1", [Settlement("a-1", "accepted")], "run-1")
        got = ledger.begin_chunk(
            B, "b1", ["b-1", "b-2", "b-3"], "run-2", people=[(1,), (2, 9), (3,)], limit=ONCE_A_DAY,
            batch_of=lambda ids: "part-" + "-".join(ids),
        )  # fmt: skip
        assert got.limited == ("b-1", "b-2"), "delivered (a-1) and still in flight (a-2) both count"
        assert (got.claimed, got.held, got.batch_id) == (("b-3",), {}, "part-b-3")
        [pending] = ledger.pending_chunks(B, exclude_run="other")
        assert pending.external_ids == ("b-3",), "only what was claimed is in flight"


def test_a_lead_the_vendor_did_not_take_is_no_contact(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1", "a-2"], "run-1", people=[(1,), (2,)], limit=ONCE_A_DAY)
        ledger.settle_chunk(
            A, "a1", [("a-1", "failed", None, None), ("a-2", "vendor_rejected", None, "400")], "run-1"
        )
        got = ledger.begin_chunk(B, "b1", ["b-1", "b-2"], "run-2", people=[(1,), (2,)], limit=ONCE_A_DAY)
        assert (got.claimed, got.limited) == (("b-1", "b-2"), ())


def test_in_one_chunk_only_the_contacts_still_claimed_count(open_ledger: OpenLedger) -> None:
    """The SQLite ledger reads no claims for a chunk allowed counting every contact: a chunk
    mixing a released contact, a live one and none must still be decided on the live ones."""
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1", "a-2"], "run-1", people=[(1,), (2,)], limit=ONCE_A_DAY)
        ledger.settle_chunk(A, "a1", [Settlement("a-1", "failed"), Settlement("a-2", "accepted")], "run-1")
        got = ledger.begin_chunk(
            B, "b1", ["b-1", "b-2", "b-3"], "run-2", people=[(1,), (2,), (3,)], limit=ONCE_A_DAY
        )
        assert (got.claimed, got.limited) == (("b-1", "b-3"), ("b-2",))


def test_resending_a_lead_to_its_target_is_no_new_contact(open_ledger: OpenLedger) -> None:
    twice = FrequencyLimit(max_contacts=2, within_hours=24)
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=twice)
        ledger.settle_chunk(A, "a1", [Settlement("a-1", "accepted")], "run-1")
        again = ledger.begin_chunk(A, "a1", ["a-1"], "run-2", people=[(1,)], limit=twice, takeover=True)
        assert (again.claimed, again.limited) == (("a-1",), ()), "a --resend of a delivered lead"
        ledger.settle_chunk(A, "a1", [Settlement("a-1", "accepted")], "run-2")
        other = ledger.begin_chunk(B, "b1", ["b-1"], "run-3", people=[(1,)], limit=twice)
        assert other.claimed == ("b-1",), "the person has one contact, however often it was resent"
        third = ledger.begin_chunk(C, "c1", ["c-1"], "run-3", people=[(1,)], limit=twice)
        assert third.limited == ("c-1",)


def test_contacts_older_than_the_window_do_not_count(open_ledger: OpenLedger) -> None:
    second = FrequencyLimit(max_contacts=1, within_hours=1 / 3600)
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=second)
        assert ledger.begin_chunk(B, "b1", ["b-1"], "run-2", people=[(1,)], limit=second).limited == ("b-1",)
        time.sleep(1.2)
        assert ledger.begin_chunk(B, "b1", ["b-1"], "run-2", people=[(1,)], limit=second).claimed == ("b-1",)


def test_a_longer_window_after_a_shorter_one_sees_the_older_contacts(open_ledger: OpenLedger) -> None:
    second = FrequencyLimit(max_contacts=1, within_hours=1 / 3600)
    with open_ledger() as ledger, open_ledger() as other:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=second)
        time.sleep(1.2)
        ledger.begin_chunk(A, "a2", ["a-2"], "run-1", people=[(2,)], limit=second)
        assert other.begin_chunk(B, "b1", ["b-1"], "run-2", people=[(3,)], limit=second).claimed
        day = FrequencyLimit(max_contacts=1, within_days=1)
        assert other.begin_chunk(C, "c1", ["c-1"], "run-2", people=[(1,)], limit=day).limited == ("c-1",)


def test_a_lead_held_by_another_run_is_reported_held_not_limited(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger, ledger.lease(A, "run-1"):
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=ONCE_A_DAY)
        got = ledger.begin_chunk(A, "a1", ["a-1"], "run-2", people=[(1,)], limit=ONCE_A_DAY)
        assert (got.claimed, got.held, got.limited) == ((), {"a-1": "run-1"}, ())


def test_a_claims_contact_row_names_exactly_the_leads_it_claimed_through_the_journal(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    """The row keeps no copy of the external ids: they are its ``in_flight`` journal row's, in
    the same order, also when the chunk was claimed in part (a lead held, a lead limited)."""
    if ledger_spec.startswith("postgresql://"):
        pytest.skip("the SQLite ledger's contact rows")
    with open_ledger() as ledger, ledger.lease(A, "run-1"):
        ledger.begin_chunk(A, "a1", ["a-3"], "run-1", people=[(30,)], limit=ONCE_A_DAY)
        ledger.begin_chunk(B, "b1", ["b-9"], "run-1", people=[(20,)], limit=ONCE_A_DAY)
        got = ledger.begin_chunk(
            A, "a2", ["a-1", "a-2", "a-3", "a-4"], "run-2", people=[(10, 11), (20,), (30,), (40, 41, 42)],
            limit=ONCE_A_DAY, batch_of=lambda ids: "part-" + "-".join(ids),
        )  # fmt: skip
        assert (got.claimed, got.held, got.limited) == (("a-1", "a-4"), {"a-3": "run-1"}, ("a-2",))
    with sqlite3.connect(ledger_spec) as db:
        rows = [
            decode_chunk(stored, journal_names(db))
            for (stored,) in db.execute("SELECT rows FROM contact_chunks ORDER BY seq")
        ]
    assert rows == [
        (["a-3"], [1], [30]),
        (["b-9"], [1], [20]),
        (["a-1", "a-4"], [2, 3], [10, 11, 40, 41, 42]),
    ]


def test_a_lead_failed_after_its_claim_stops_counting_at_once(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=ONCE_A_DAY)
        assert ledger.begin_chunk(B, "b1", ["b-1"], "run-2", people=[(1,)], limit=ONCE_A_DAY).limited
        ledger.settle_chunk(A, "a1", [Settlement("a-1", "failed")], "run-1")
        assert ledger.begin_chunk(B, "b1", ["b-1"], "run-2", people=[(1,)], limit=ONCE_A_DAY).claimed
        again = ledger.begin_chunk(A, "a2", ["a-1"], "run-1", people=[(1,)], limit=ONCE_A_DAY)
        assert again.limited == ("a-1",), "its resend now meets the contact made elsewhere meanwhile"


def test_without_a_limit_no_contact_is_recorded(open_ledger: OpenLedger, ledger_spec: str) -> None:
    with open_ledger() as ledger:
        got = ledger.begin_chunk(A, "a1", ["a-1"], "run-1")
        assert (got.claimed, got.limited) == (("a-1",), ())
        assert _contact_rows(ledger_spec) == 0
        ledger.begin_chunk(B, "b1", ["b-1"], "run-1", people=[(1,)], limit=ONCE_A_DAY)
        assert _contact_rows(ledger_spec) == 1


PEOPLE = 120
CHUNK = 6
TWICE = FrequencyLimit(max_contacts=2, within_days=1)


def _claim_everyone(spec: str, target: int, start: object, out: object) -> None:
    """One run of its own process: every person's lead for its target, chunk by chunk (in an
    order of its own), each chunk settled accepted; what it claimed goes to ``out``."""
    key = (A, B, C)[target]
    order = list(range(PEOPLE))
    order = order[target * 40 :] + order[: target * 40]
    claimed: list[str] = []
    with ledgers.open_ledger(spec) as ledger, ledger.lease(key, f"run-{target}"):
        start.wait(60)  # type: ignore[attr-defined]
        for first in range(0, PEOPLE, CHUNK):
            part = order[first : first + CHUNK]
            ids = [f"{target}-{n}" for n in part]
            people = [(n % 97, 1000 + n) for n in part]  # persons 0-22 have two leads each
            got = ledger.begin_chunk(
                key, f"{target}-{first}", ids, f"run-{target}", people=people, limit=TWICE
            )
            ledger.settle_chunk(
                key, got.batch_id, [Settlement(x, "accepted") for x in got.claimed], f"run-{target}"
            )
            claimed += got.claimed
    out.put(claimed)  # type: ignore[attr-defined]


def test_three_runs_claiming_the_same_people_at_once_never_exceed_the_limit(ledger_spec: str) -> None:
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    runs = [context.Process(target=_claim_everyone, args=(ledger_spec, n, start, out)) for n in range(3)]
    for run in runs:
        run.start()
    time.sleep(1.0)
    start.set()
    claimed = [eid for _ in runs for eid in out.get(timeout=120)]
    for run in runs:
        run.join(60)
        assert run.exitcode == 0
    per_person = Counter(int(eid.split("-")[1]) % 97 for eid in claimed)
    assert max(per_person.values()) == 2, "someone sent more often than the limit allows"
    assert set(per_person) == set(range(97)), "and nobody left out while under it"
    assert sum(per_person.values()) == 2 * 97
    assert _contact_rows(ledger_spec) == 2 * len(claimed), "two keys per lead"


def test_a_ledger_written_before_the_guardrail_gets_its_tables_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    source = Path(__file__).parent / "data" / "ledger-before-claims.sqlite"
    path.write_bytes(source.read_bytes())
    with ledgers.open_ledger(str(path)) as ledger:
        got = ledger.begin_chunk(A, "new", ["x"], "run-9", people=[(5,)], limit=ONCE_A_DAY)
        assert got.claimed == ("x",)
    assert _contact_rows(str(path)) == 1


def _write_version_1_contact(spec: str, eid: str, keys: tuple[int, ...], at: float) -> None:
    """What a leadflow before transforms.person_keys wrote for a lead claimed for ``A`` under a
    limit: its blake2b keys, in ``contact_log`` (SQLite) or ``ledger_contacts`` (PostgreSQL)."""
    if spec.startswith("postgresql://"):
        with psycopg.connect(spec) as db:
            db.execute(
                "INSERT INTO ledger_contacts (person, target_id, external_id, at) "
                "SELECT k, t.id, %s, %s FROM unnest(%s::bigint[]) AS k, ledger_targets AS t "
                "WHERE t.campaign = %s",
                (eid, at, list(keys), A.campaign),
            )
    else:
        with sqlite3.connect(spec) as db:
            (target,) = db.execute("SELECT id FROM targets WHERE campaign = ?", (A.campaign,)).fetchone()
            db.execute(
                "INSERT INTO contact_log (at, target_id, rows) VALUES (?, ?, ?)",
                (at, target, json.dumps([[eid, *keys]])),
            )


def test_contacts_recorded_under_version_1_keys_count_until_their_window_has_passed(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    ann = Lead(0, "a-1", phones=(Phone("+4930123456"),), email="ann@example.com")
    again = Lead(1, "b-1", email="Ann@Example.com")
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1")  # the older leadflow's claim ...
    _write_version_1_contact(ledger_spec, "a-1", leads_legacy([ann], "person")()[0], time.time())

    def claim(ledger: LedgerBackend, limit: FrequencyLimit, target: TargetKey = B) -> tuple[str, ...]:
        people, legacy = leads_people([again], limit.per), leads_legacy([again], limit.per)
        got = ledger.begin_chunk(target, "b1", ["b-1"], "run-2", people=people, limit=limit, legacy=legacy)
        return got.limited

    with open_ledger() as ledger:  # ... read by this one, with keys of its own
        assert claim(ledger, ONCE_A_DAY) == ("b-1",)


def test_version_1_keys_are_computed_only_while_a_version_1_contact_is_within_the_window(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    ann = Lead(0, "a-1", phones=(Phone("+4930123456"),), email="ann@example.com")
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1")
    _write_version_1_contact(ledger_spec, "a-1", leads_legacy([ann], "person")()[0], time.time() - 7200)
    asked: list[int] = []

    def legacy() -> list[tuple[int, ...]]:
        asked.append(1)
        return leads_legacy([ann], "person")()

    with open_ledger() as ledger:
        people = leads_people([ann], "person")
        got = ledger.begin_chunk(C, "c1", ["c-1"], "run-2", people=people, limit=ONCE_A_DAY, legacy=legacy)
        assert (got.limited, asked) == (("c-1",), [1]), "inside the day's window: it counts"
        hour = FrequencyLimit(max_contacts=1, within_hours=1)
        got = ledger.begin_chunk(B, "b1", ["b-1"], "run-2", people=people, limit=hour, legacy=legacy)
        assert (got.claimed, asked) == (("b-1",), [1]), "two hours old: out of the hour's, not asked"


def test_a_preview_decides_as_the_claim_would_and_records_nothing(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(A, "a1", ["a-1"], "run-1", people=[(1,)], limit=ONCE_A_DAY)
        before = _contact_rows(ledger_spec)
        preview = ledger.preview_limit(B, ["b-1", "b-2", "b-3"], people=[(1,), (2,), (3,)], limit=ONCE_A_DAY)
        assert preview == ("b-1",)
        pending = {2: ["b-2"]}
        assert ledger.preview_limit(B, ["b-9"], people=[(2,)], limit=ONCE_A_DAY, pending=pending) == ("b-9",)
        assert _contact_rows(ledger_spec) == before, "a preview records no contact"
        got = ledger.begin_chunk(B, "b1", ["b-2", "b-3"], "run-2", people=[(2,), (3,)], limit=ONCE_A_DAY)
        assert got.claimed == ("b-2", "b-3"), "nor claims anything"
