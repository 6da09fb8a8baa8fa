"""Claims and leases: a lead is claimed before its request leaves, a live run's claims are its
own, a dead run's are taken over through the orphan path, and an old ledger keeps its history."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from connectors import ledgers
from connectors.ledger import Ledger
from connectors.ledger_types import LedgerBackend, Settlement, TargetKey

KEY = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")
OLD_LEDGER = Path(__file__).parent / "data" / "ledger-before-claims.sqlite"
"""Written by the ledger as it was before claims (commit 019cf17): ``http://localhost:8765/obi``
and ``HTTP://127.0.0.1:8765/obi/`` as two targets; lead-1 accepted, lead-2 refused, lead-3
accepted, lead-4 left in flight by old-run-2."""

OpenLedger = Callable[..., LedgerBackend]


def _claim_and_die(spec: str, lease: float) -> None:
    """A run that takes its lease, claims a lead and is killed: no renewal, no end of lease."""
    ledger = ledgers.open_ledger(spec, lease=lease)
    held = ledger.lease(KEY, "dead")
    held.__enter__()
    ledger.begin_chunk(KEY, "b1", ["a"], "dead")
    os._exit(0 if held else 1)


def test_a_lead_claimed_by_a_live_run_is_not_claimed_by_another(open_ledger: OpenLedger) -> None:
    with open_ledger() as first, open_ledger() as second, first.lease(KEY, "run-1"):
        got = first.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        assert (got.claimed, got.held) == (("a", "b"), {})
        other = second.begin_chunk(KEY, "b1", ["b", "c"], "run-2", batch_of=lambda ids: "b-" + "-".join(ids))
        assert other.claimed == ("c",)
        assert other.held == {"b": "run-1"}
        assert other.batch_id == "b-c", "a part of a chunk goes out under its own batch id"
        [pending] = first.pending_chunks(KEY, exclude_run="run-1")
        assert pending.external_ids == ("c",)


def test_a_live_runs_in_flight_chunk_is_no_orphan(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger, ledger.lease(KEY, "run-1"):
        ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        assert ledger.pending_chunks(KEY, exclude_run="run-2") == []


def test_a_run_that_stops_renewing_leaves_its_chunks_to_the_next_run(open_ledger: OpenLedger) -> None:
    with open_ledger(lease=0.3) as ledger:
        with ledger.lease(KEY, "run-1"):
            ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
            time.sleep(0.5)  # renewed every 0.1 s: still alive
            assert ledger.pending_chunks(KEY, exclude_run="run-2") == []
        [orphan] = ledger.pending_chunks(KEY, exclude_run="run-2")
        assert orphan.run_id == "run-1"


def test_a_crashed_runs_claim_outlives_it_only_for_its_lease(
    open_ledger: OpenLedger, ledger_spec: str
) -> None:
    crash = multiprocessing.get_context("spawn").Process(target=_claim_and_die, args=(ledger_spec, 1.0))
    crash.start()
    crash.join(60)
    assert crash.exitcode == 0
    with open_ledger() as ledger:
        assert ledger.live_runs(KEY) == {"dead"}
        assert ledger.begin_chunk(KEY, "b2", ["a"], "next").held == {"a": "dead"}
    time.sleep(1.0)
    with open_ledger() as ledger:
        assert "dead" not in ledger.live_runs(KEY)
        [orphan] = ledger.pending_chunks(KEY, exclude_run="next")
        ledger.settle_chunk(KEY, orphan.batch_id, [], "next", state="superseded")
        ledger.release(KEY, orphan.external_ids, orphan.run_id)
        assert ledger.begin_chunk(KEY, "b2", ["a"], "next").claimed == ("a",)


def test_an_undelivered_lead_is_released_a_delivered_one_stays_claimed(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        ledger.settle_chunk(KEY, "b1", [Settlement("a", "accepted"), Settlement("b", "failed")], "run-1")
        again = ledger.begin_chunk(KEY, "b2", ["a", "b"], "run-2")
        assert again.claimed == ("b",)
        assert again.held == {"a": "run-1"}


def test_a_resend_takes_over_a_finished_runs_claims_not_a_live_runs(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        with ledger.lease(KEY, "run-1"):
            ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
            ledger.settle_chunk(KEY, "b1", [Settlement("a", "accepted")], "run-1")
            assert ledger.begin_chunk(KEY, "b2", ["a"], "run-2", takeover=True).claimed == ()
        assert ledger.begin_chunk(KEY, "b2", ["a"], "run-2", takeover=True).claimed == ("a",)


def test_localhost_and_127_0_0_1_with_a_slash_share_one_ledger_key(open_ledger: OpenLedger) -> None:
    localhost = TargetKey("sinch_obi", "http://localhost:8765", "camp-1")
    loopback = TargetKey("sinch_obi", "http://127.0.0.1:8765/", "camp-1")
    with open_ledger() as ledger:
        ledger.begin_chunk(localhost, "b1", ["a"], "run-1")
        ledger.settle_chunk(localhost, "b1", [Settlement("a", "accepted", "V1")], "run-1")
        assert ledger.entries(loopback)["a"].vendor_id == "V1"
        assert ledger.begin_chunk(loopback, "b2", ["a"], "run-2").held == {"a": "run-1"}


def test_a_ledger_written_before_claims_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(OLD_LEDGER, path)
    key = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")
    with Ledger(path) as ledger:
        entries = ledger.entries(key)
        assert {eid: e.status for eid, e in entries.items()} == {
            "lead-1": "accepted",
            "lead-2": "vendor_rejected",
            "lead-3": "accepted",
        }
        assert [p.external_ids for p in ledger.pending_chunks(key, exclude_run="new")] == [("lead-4",)]
        [(endpoint,)] = ledger._db.execute("SELECT base_url FROM targets").fetchall()
        assert endpoint == "http://localhost:8765/obi"
        ledger.begin_chunk(key, "b9", ["lead-5"], "new")
    with Ledger(path) as reopened:
        assert reopened.pending_chunks(key, exclude_run="other")[-1].external_ids == ("lead-5",)
