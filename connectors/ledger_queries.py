"""The SQLite ledger's read statements whose cost must follow the leads asked about, never the
ledger's size (connectors.ledger; tests/connectors/test_ledger_lookups.py checks their plans)."""

from __future__ import annotations

__all__ = ["PENDING", "SENDS_OF", "SETTLED_OF"]

SENDS_OF = (
    "SELECT s.external_id, s.status, s.vendor_id, s.vendor_status, s.batch_id, s.run_id "
    "FROM sends AS s WHERE s.target_id = ?1 AND s.external_id IN (SELECT value FROM json_each(?2))"
)
"""The oldest layer's rows of some leads: one primary-key lookup per lead."""

SETTLED_OF = (
    "SELECT j.batch_id, j.run_id, j.rows FROM journal AS j WHERE j.seq IN ("
    "SELECT i.seq FROM settled_ids AS i "
    "WHERE i.target_id = ?1 AND i.external_id IN (SELECT value FROM json_each(?2))) ORDER BY j.seq"
)
"""The settled journal rows holding some leads, in commit order: a range of ``settled_ids`` per
lead, then one rowid lookup per journal row (tests/connectors/test_ledger_lookups.py checks the plan)."""

PENDING = (
    "SELECT j.batch_id, j.run_id, j.rows FROM journal AS j JOIN ("
    "SELECT max(seq) AS last FROM journal WHERE target_id = ?1 GROUP BY batch_id) AS m ON j.seq = m.last "
    "WHERE j.state = ?2 AND j.run_id != ?3 ORDER BY j.seq"
)
"""The chunks whose latest journal row is in flight under another run, oldest first."""
