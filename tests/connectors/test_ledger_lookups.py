"""What the ledger reads to tell a batch's delivered leads follows the batch, not the ledger (issue
17, "Any file size in bounded memory": the first batch used to read the target's whole history).

The engine asks ``entries(key, ids)`` once per request batch. On SQLite the work is counted in
virtual-machine steps (``set_progress_handler``): the lookup of ten leads costs the same on a
ledger ten times bigger. On PostgreSQL the plan is checked as tests/connectors/test_ledger_pg_plans.py
does: forced generic on a ledger not analyzed yet, it reads the ten leads' index entries and their
journal rows, none more. A ledger written before the index existed gets it when first opened.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from connectors.ledger import Ledger
from connectors.ledger_pg import PostgresLedger
from connectors.ledger_queries_pg import SETTLED_OF
from connectors.ledger_types import LedgerBackend, TargetKey

KEY = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")
CHUNK = 100


def _deliver(ledger: LedgerBackend, chunks: range, *, run_id: str = "run-1") -> None:
    """Chunks of 100 leads claimed and settled accepted, ``lead-<chunk>-<n>`` each."""
    for number in chunks:
        ids = [f"lead-{number:05d}-{n:03d}" for n in range(CHUNK)]
        ledger.begin_chunk(KEY, f"b{number}", ids, run_id)
        ledger.settle_chunk(KEY, f"b{number}", [(eid, "accepted", f"v-{eid}", None) for eid in ids], run_id)


BATCH = [f"lead-{number:05d}-007" for number in range(0, 20, 2)]
"""Ten leads of ten chunks, as a batch of a file sent again would ask about."""


def _steps(path: Path) -> int:
    """SQLite VM steps (in units of 100) a fresh ledger spends telling ``BATCH``'s entries."""
    with Ledger(path) as ledger:
        ledger._target_id(KEY)  # the target row is read once per ledger object, whatever its size
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0

        ledger._db.set_progress_handler(count, 100)
        found = ledger.entries(KEY, BATCH)
        ledger._db.set_progress_handler(None, 100)
    assert sorted(found) == BATCH and {e.status for e in found.values()} == {"accepted"}
    return counted[0]


def test_a_batchs_ledger_lookup_costs_the_same_on_a_ledger_ten_times_bigger(tmp_path: Path) -> None:
    small, big = tmp_path / "small.sqlite", tmp_path / "big.sqlite"
    with Ledger(small) as ledger:
        _deliver(ledger, range(20))
    with Ledger(big) as ledger:
        _deliver(ledger, range(200))

    assert _steps(big) <= _steps(small) * 1.2 + 5


def test_a_batchs_lookup_has_the_entries_of_the_whole_reading(
    open_ledger: Callable[..., LedgerBackend],
) -> None:
    with open_ledger() as ledger:
        _deliver(ledger, range(6))
        again = [f"lead-00002-{n:03d}" for n in range(0, CHUNK, 3)]  # resent: the later answer wins
        ledger.begin_chunk(KEY, "again", again, "run-2", takeover=True)
        ledger.settle_chunk(KEY, "again", [(eid, "submitted", None, "queued") for eid in again], "run-2")
        asked = [*again[:5], "lead-00004-050", "lead-00009-000", "lead-00004-050"]

        whole = ledger.entries(KEY)
        some = ledger.entries(KEY, asked)

    assert some == {eid: whole[eid] for eid in asked if eid in whole}
    assert some[again[0]].status == "submitted" and some[again[0]].vendor_id == f"v-{again[0]}"
    assert "lead-00009-000" not in some


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


def test_a_batchs_lookup_reads_its_leads_by_key_on_an_unanalyzed_postgres_ledger(postgres_url: str) -> None:
    with PostgresLedger(postgres_url) as ledger:
        _deliver(ledger, range(30))
        target_id = ledger._target_id(KEY)
    numbered = iter(range(1, 10))
    prepared = re.sub("%s", lambda _: f"${next(numbered)}", SETTLED_OF)

    with psycopg.connect(postgres_url, autocommit=True) as db:
        analyzed = db.execute("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                              "WHERE relname = 'ledger_settled_ids'").fetchone()  # fmt: skip
        db.execute("SET plan_cache_mode = force_generic_plan")
        db.execute(f"PREPARE settled (text[], integer) AS {prepared}")
        explain = psycopg.ClientCursor(db)
        [(plan,)] = explain.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE settled (%s, %s)", (BATCH, target_id)
        ).fetchall()

    assert analyzed in (None, (None, None)), (
        "the ledger must not be analyzed yet for this test to mean anything"
    )
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    nodes = _plan_nodes(root)
    assert root["Actual Rows"] == len(BATCH)
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], json.dumps(root, indent=1)
    removed = sum(int(n.get("Rows Removed by Filter", 0)) + int(n.get("Rows Removed by Index Recheck", 0))
                  for n in nodes)  # fmt: skip
    assert removed == 0, json.dumps(root, indent=1)


def test_a_sqlite_ledger_written_before_the_index_finds_its_delivered_leads_after_opening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        _deliver(ledger, range(3))
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("DROP TRIGGER journal_settled_ids")
    old.execute("DELETE FROM settled_ids")
    old.execute("PRAGMA user_version = 1")
    old.close()

    with Ledger(path) as ledger:
        found = ledger.entries(KEY, ["lead-00001-004", "lead-00002-099"])

    assert {eid: e.status for eid, e in found.items()} == {
        "lead-00001-004": "accepted",
        "lead-00002-099": "accepted",
    }


def test_a_postgres_ledger_written_before_the_index_finds_its_delivered_leads_after_opening(
    postgres_url: str,
) -> None:
    with PostgresLedger(postgres_url) as ledger:
        _deliver(ledger, range(3))
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("DROP TABLE ledger_settled_ids")

    with PostgresLedger(postgres_url) as ledger:
        found = ledger.entries(KEY, ["lead-00001-004", "lead-00002-099"])

    assert {eid: e.status for eid, e in found.items()} == {
        "lead-00001-004": "accepted",
        "lead-00002-099": "accepted",
    }
