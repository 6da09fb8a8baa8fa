"""The PostgreSQL ledger's lookups stay lookups on a ledger the server has not analyzed yet.

A new ledger filled by its first big import has no statistics, and psycopg runs a statement
repeated five times as a prepared statement whose generic plan is made once. Written as
``external_id = ANY(%s)``, that plan read every claim of the target to find a chunk's holders
(20-80 ms a chunk at 10-20k claims: two runs of the same leads were 3-4x slower than one).
Here the plan is forced generic on an unanalyzed ledger, and the lookup of 100 leads among
3,000 claims must read those 100 claims, none more.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg

from connectors.frequency import FrequencyLimit
from connectors.ledger_contacts_pg import PG_RECENT
from connectors.ledger_pg import PostgresLedger
from connectors.ledger_queries_pg import HELD
from connectors.ledger_types import TargetKey

KEY = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "camp-1")
CLAIMS = 3000
CHUNK = 100


def _removed(node: dict[str, Any]) -> int:
    """Rows a plan read and threw away, over all its nodes."""
    own = int(node.get("Rows Removed by Filter", 0)) + int(node.get("Rows Removed by Index Recheck", 0))
    return own + sum(_removed(child) for child in node.get("Plans", []))


def test_the_holders_of_a_chunk_are_found_by_key_before_the_ledger_is_analyzed(postgres_url: str) -> None:
    ids = [f"lead-{n:05d}" for n in range(CLAIMS)]
    with PostgresLedger(postgres_url) as ledger:
        for start in range(0, CLAIMS, CHUNK):
            ledger.begin_chunk(KEY, f"b{start}", ids[start : start + CHUNK], "run-1")
        target_id = ledger._target_id(KEY)
    numbered = iter(range(1, 10))
    prepared = re.sub("%s", lambda _: f"${next(numbered)}", HELD)
    chunk = ids[1500 : 1500 + CHUNK]

    with psycopg.connect(postgres_url, autocommit=True) as db:
        analyzed = db.execute("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                              "WHERE relname = 'ledger_claims'").fetchone()  # fmt: skip
        db.execute("SET plan_cache_mode = force_generic_plan")
        db.execute(f"PREPARE held (text[], integer, text) AS {prepared}")
        explain = psycopg.ClientCursor(db)  # the values inlined: EXECUTE takes no bound parameters
        [(plan,)] = explain.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE held (%s, %s, %s)", (chunk, target_id, "run-2")
        ).fetchall()

    assert analyzed in (None, (None, None)), (
        "the ledger must not be analyzed yet for this test to mean anything"
    )
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    assert root["Actual Rows"] == CHUNK
    assert _removed(root) == 0, json.dumps(root, indent=1)


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]


def test_the_contacts_of_a_chunks_people_are_found_by_key_before_the_ledger_is_analyzed(
    postgres_url: str,
) -> None:
    limit = FrequencyLimit(max_contacts=5, within_days=1)
    with PostgresLedger(postgres_url) as ledger:
        for start in range(0, CLAIMS, CHUNK):
            people = [(n,) for n in range(start, start + CHUNK)]
            ids = [f"lead-{n:05d}" for n in range(start, start + CHUNK)]
            ledger.begin_chunk(KEY, f"b{start}", ids, "run-1", people=people, limit=limit)
    numbered = iter(range(1, 10))
    prepared = re.sub("%s", lambda _: f"${next(numbered)}", PG_RECENT)
    keys = list(range(1500, 1500 + CHUNK))

    with psycopg.connect(postgres_url, autocommit=True) as db:
        analyzed = db.execute("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                              "WHERE relname = 'ledger_contact_keys'").fetchone()  # fmt: skip
        db.execute("SET plan_cache_mode = force_generic_plan")
        db.execute(f"PREPARE recent (bigint[], double precision) AS {prepared}")
        explain = psycopg.ClientCursor(db)
        [(plan,)] = explain.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE recent (%s, %s)", (keys, 0.0)
        ).fetchall()

    assert analyzed in (None, (None, None)), "the ledger must not be analyzed yet"
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    assert root["Actual Rows"] == CHUNK
    read = [n for n in _nodes(root) if n.get("Relation Name") == "ledger_contact_keys"]
    assert read and all(n["Node Type"] != "Seq Scan" for n in read), json.dumps(root, indent=1)
    assert sum(n["Actual Rows"] * n.get("Actual Loops", 1) for n in read) == CHUNK
