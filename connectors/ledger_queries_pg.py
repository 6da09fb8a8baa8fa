"""The PostgreSQL ledger's statements whose plan or atomicity matters (connectors.ledger_pg;
tests/connectors/test_ledger_pg_plans.py and test_ledger_lookups.py check them).

The claim is ``INSERT .. ON CONFLICT DO UPDATE .. WHERE`` (a lead held by another run is left as
it is), ``RETURNING`` what this run got, in the same statement as its in-flight record. Ids are
claimed in sorted order, so two runs claiming overlapping chunks lock rows in the same order and
never deadlock. The lookups join an ``unnest``ed array to a primary key, so that their plan is one
key lookup per lead whatever the table statistics say.
"""

from __future__ import annotations

__all__ = ["CLAIM", "HELD", "PENDING", "SETTLED_OF"]

CLAIM = """
WITH claimed AS (
    INSERT INTO ledger_claims (target_id, external_id, run_id)
    SELECT %(target)s, x, %(run)s FROM unnest(%(ids)s::text[]) AS x
    ON CONFLICT (target_id, external_id) DO UPDATE SET run_id = excluded.run_id
    WHERE ledger_claims.run_id = excluded.run_id OR (%(takeover)s AND NOT EXISTS (
        SELECT 1 FROM ledger_leases AS l
        WHERE l.target_id = ledger_claims.target_id AND l.run_id = ledger_claims.run_id
        AND l.until > %(now)s))
    RETURNING external_id
), flight AS (
    INSERT INTO ledger_journal (target_id, batch_id, state, run_id, rows)
    SELECT %(target)s, CASE WHEN count(*) = %(n)s THEN %(batch)s ELSE %(placeholder)s END,
           'in_flight', %(run)s, jsonb_agg(external_id)
    FROM claimed HAVING count(*) > 0
    RETURNING 1
)
SELECT external_id FROM claimed
"""
"""One statement (so one round trip, atomic in autocommit): claim, and record what was claimed
in flight: under the chunk's batch id when all of it was claimed, else under a placeholder of
this run's, which :meth:`PostgresLedger.begin_chunk` then replaces by the part's own batch id
(a crash in between leaves the placeholder an orphan: its leads are reconciled or resent)."""


HELD = """
SELECT c.external_id, c.run_id FROM unnest(%s::text[]) AS x (id)
JOIN ledger_claims AS c ON c.target_id = %s AND c.external_id = x.id
WHERE c.run_id != %s
"""
"""The claims of other runs among a chunk's leads: one primary-key lookup per lead, whatever the
statistics say. Written as ``external_id = ANY(%s)``, psycopg's prepared (generic) plan on a ledger
not yet analyzed (a new one, filled by its first big import) read every claim of the target and
tested each against the array: 20-80 ms a chunk at 10-20k claims, which made two runs of the same
leads 3-4x slower than one. The DELETEs of connectors.ledger_pg are written the same way for the
same reason."""


SETTLED_OF = """
SELECT j.batch_id, j.run_id, j.rows FROM ledger_journal AS j
WHERE j.seq IN (
    SELECT i.seq FROM unnest(%s::text[]) AS x (id)
    JOIN ledger_settled_ids AS i ON i.target_id = %s AND i.external_id = x.id
)
ORDER BY j.seq
"""
"""The settled journal rows holding some leads, in commit order: a key range of
``ledger_settled_ids`` per lead, then one primary-key lookup per journal row, whatever the
statistics say (tests/connectors/test_ledger_pg_plans.py)."""


PENDING = """
SELECT batch_id, run_id, rows FROM (
    SELECT DISTINCT ON (batch_id) batch_id, state, run_id, seq, rows FROM ledger_journal
    WHERE target_id = %s ORDER BY batch_id, seq DESC
) AS latest
WHERE state = %s AND run_id != %s
ORDER BY seq
"""
"""The chunks whose latest journal row is in flight under another run, oldest first."""
