"""The ledger, SQLite and PostgreSQL (``open_ledger``): in-flight and settled chunks, latest status per
lead, shared by processes. Tests of the SQLite file's own layout (WAL, older tables) use it alone."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors import ledgers
from connectors.ledger import Ledger
from connectors.ledger_types import IN_FLIGHT, LedgerBackend, Settlement, TargetKey

OpenLedger = Callable[..., LedgerBackend]

KEY = TargetKey("sinch_obi", "http://vendor/obi", "camp-1")
OTHER = TargetKey("sinch_obi", "http://vendor/obi", "camp-2")


def test_a_chunk_is_in_flight_until_settled_and_survives_the_process(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
    with open_ledger() as reopened:
        assert reopened.entries(KEY) == {}
        assert reopened.chunk_state(KEY, "b1") == IN_FLIGHT
        [pending] = reopened.pending_chunks(KEY, exclude_run="run-2")
        assert (pending.batch_id, pending.external_ids, pending.run_id) == ("b1", ("a", "b"), "run-1")
        assert reopened.pending_chunks(KEY, exclude_run="run-1") == []
        assert reopened.pending_chunks(OTHER, exclude_run="run-2") == []

        reopened.settle_chunk(
            KEY,
            "b1",
            [Settlement("a", "accepted", "V1", "201"), Settlement("b", "vendor_rejected", None, "400")],
            "run-1",
        )
        assert reopened.pending_chunks(KEY, exclude_run="run-2") == []
        assert reopened.chunk_state(KEY, "b1") == "settled"
        entries = reopened.entries(KEY)
        assert (entries["a"].status, entries["a"].vendor_id, entries["a"].batch_id) == (
            "accepted",
            "V1",
            "b1",
        )
        assert entries["b"].status == "vendor_rejected"


def test_a_resend_keeps_the_vendor_id_when_the_new_answer_has_none(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        ledger.settle_chunk(KEY, "b1", [Settlement("a", "accepted", "V1", "201")], "run-1")
        ledger.begin_chunk(KEY, "b2", ["a"], "run-2")
        ledger.settle_chunk(KEY, "b2", [Settlement("a", "accepted", None, "400")], "run-2")
        entry = ledger.entries(KEY, ["a", "missing"])
        assert list(entry) == ["a"]
        assert (entry["a"].vendor_id, entry["a"].run_id, entry["a"].batch_id) == ("V1", "run-2", "b2")


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _write_many(spec: str, run_id: str) -> None:
    with ledgers.open_ledger(spec) as ledger:
        for n in range(150):
            batch = f"{run_id}-{n}"
            ledger.begin_chunk(KEY, batch, [f"{run_id}-{n}-{i}" for i in range(10)], run_id)
            ledger.settle_chunk(
                KEY, batch, [Settlement(f"{run_id}-{n}-{i}", "accepted") for i in range(10)], run_id
            )


def test_two_processes_can_write_the_same_ledger_at_once(open_ledger: OpenLedger, ledger_spec: str) -> None:
    open_ledger().close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(ledger_spec, f"run-{w}")) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    with open_ledger() as ledger:
        entries = ledger.entries(KEY)
    assert len(entries) == 2 * 150 * 10
    assert {e.status for e in entries.values()} == {"accepted"}


def test_a_chunk_of_hundreds_of_rows_is_settled_whole(open_ledger: OpenLedger) -> None:
    ids = [f"lead-{i}" for i in range(450)]
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "big", ids, "run-1")
        ledger.settle_chunk(KEY, "big", [(eid, "accepted", f"V-{eid}", "201") for eid in ids], "run-1")
        entries = ledger.entries(KEY)
    assert sorted(entries) == sorted(ids)
    assert all(entries[eid].vendor_id == f"V-{eid}" and entries[eid].batch_id == "big" for eid in ids)


def test_a_lead_twice_in_one_settlement_keeps_the_last_answer_and_the_known_vendor_id(
    open_ledger: OpenLedger,
) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        ledger.settle_chunk(
            KEY, "b1", [Settlement("a", "vendor_rejected", "V1", "400"), Settlement("a", "accepted")], "run-1"
        )
        entry = ledger.entries(KEY)["a"]
    assert (entry.status, entry.vendor_id, entry.vendor_status) == ("accepted", "V1", None)


def test_a_malformed_settled_row_is_refused_and_nothing_is_written(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        bad: list[Any] = [("a", "accepted", "V1", "201"), ("b", "accepted", "V2")]
        with pytest.raises(ValueError, match="settled row"):
            ledger.settle_chunk(KEY, "b1", bad, "run-1")
        assert ledger.entries(KEY) == {}
        assert ledger.chunk_state(KEY, "b1") == IN_FLIGHT


def test_a_ledger_written_before_settlements_is_read_and_then_overridden(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.entries(KEY)  # registers the target as id 1
    with sqlite3.connect(path) as raw:
        raw.executemany(
            "INSERT INTO sends VALUES (1, ?, ?, ?, ?, 'old-batch', 'run-0', '2024-01-01T00:00:00+00:00')",
            [("a", "accepted", "V1", "201"), ("b", "failed", None, None)],
        )
    with Ledger(path) as ledger:
        assert ledger.entries(KEY)["a"].vendor_id == "V1"
        ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        ledger.settle_chunk(
            KEY, "b1", [("a", "accepted", None, "409"), ("b", "accepted", "V2", "201")], "run-1"
        )
        entries = ledger.entries(KEY)
    assert (entries["a"].status, entries["a"].vendor_id, entries["a"].batch_id) == ("accepted", "V1", "b1")
    assert (entries["b"].status, entries["b"].vendor_id, entries["b"].run_id) == ("accepted", "V2", "run-1")


def test_settled_rows_can_be_queried_one_lead_a_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.begin_chunk(KEY, "b1", ["a", "b"], "run-1")
        ledger.settle_chunk(
            KEY, "b1", [Settlement("a", "accepted", "V1", "201"), ("b", "failed", None, None)], "run-1"
        )
    with sqlite3.connect(path) as raw:
        rows = raw.execute(
            "SELECT external_id, status, vendor_id, vendor_status, batch_id FROM settled_rows "
            "ORDER BY external_id"
        ).fetchall()
    assert rows == [("a", "accepted", "V1", "201", "b1"), ("b", "failed", None, None, "b1")]


def test_a_chunk_an_older_ledger_left_in_flight_is_pending_until_settled(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.begin_chunk(KEY, "new", ["c"], "run-1")
    with sqlite3.connect(path) as raw:
        raw.executemany(
            "INSERT INTO chunks VALUES (1, ?, ?, ?, 'run-0', ?)",
            [
                ("old", IN_FLIGHT, '["a", "b"]', "2024-01-01T00:00:00+00:00"),
                ("done", "settled", '["x"]', "2024-01-01T00:00:01+00:00"),
            ],
        )
    with Ledger(path) as ledger:
        pending = ledger.pending_chunks(KEY, exclude_run="run-2")
        assert [(p.batch_id, p.external_ids, p.run_id) for p in pending] == [
            ("old", ("a", "b"), "run-0"),
            ("new", ("c",), "run-1"),
        ]
        assert ledger.chunk_state(KEY, "done") == "settled"
        ledger.settle_chunk(KEY, "old", [Settlement("a", "accepted", "V1", "201")], "run-2")
        ledger.settle_chunk(KEY, "new", [], "run-2", state="superseded")
        assert ledger.pending_chunks(KEY, exclude_run="run-2") == []
        assert (ledger.chunk_state(KEY, "old"), ledger.chunk_state(KEY, "new")) == ("settled", "superseded")
        assert ledger.entries(KEY)["a"].batch_id == "old"


def test_a_chunk_sent_again_is_in_flight_again_until_settled_again(open_ledger: OpenLedger) -> None:
    with open_ledger() as ledger:
        ledger.begin_chunk(KEY, "b1", ["a"], "run-1")
        ledger.settle_chunk(KEY, "b1", [Settlement("a", "failed")], "run-1")
        ledger.begin_chunk(KEY, "b1", ["a"], "run-2")
        assert [p.run_id for p in ledger.pending_chunks(KEY, exclude_run="run-3")] == ["run-2"]
        assert ledger.entries(KEY)["a"].status == "failed"
        ledger.settle_chunk(KEY, "b1", [Settlement("a", "accepted", "V1")], "run-2")
        assert ledger.pending_chunks(KEY, exclude_run="run-3") == []
        assert ledger.entries(KEY)["a"].status == "accepted"
