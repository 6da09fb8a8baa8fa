"""A `leadflow import` killed mid-run (SIGKILL: no cleanup, no finally) and run again to completion.

The process runs as people run it (``python -m flows.cli import``) against the sandbox on
127.0.0.1, slowed by the fault profile's latency so that it is killed while every target is
part-way. What each vendor then holds is the test:

- Sinch OBI, Engage and ONC: every lead exactly once. A chunk left in flight is settled by asking
  the vendor (customer search, batch state, contact listing) or resent under the same external id
  / batch id / contact Guid, which the vendor recognises.
- uContact (SMS and email) and MaxContact: no lead lost, and duplicates only within the window
  their connector docstrings document: the vendor cannot be asked what became of an upload or an
  ``addlead`` whose answer never reached us, so the leads of chunks the ledger had in flight when
  the process died may arrive twice, and no other lead may.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from connectors.engine import target_key
from connectors.lease import LEASE_ENV
from connectors.ledger import Ledger
from connectors.onc import contact_guid
from flows.commands.import_file import main as import_main
from flows.importer import load_connectors
from tests.flows.conftest import ONC_CAMPAIGN, Vendors, read_results, write_targets

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
EXACTLY_ONCE = ("obi", "engage", "onc")
AT_LEAST_ONCE = ("ucontact-sms", "ucontact-email", "maxcontact")
SLOW_VENDORS = {
    "vendors": {
        "sinch_obi": {"*": {"latency": 0.3}},
        "engage": {"*": {"latency": 0.3}},
        "ucontact": {"*": {"latency": 0.3}},
        "onc": {"*": {"latency": 0.1}},
        "maxcontact": {"*": {"latency": 0.1}},
    }
}
"""About five seconds of sending per target with the small chunks below, so that a kill one
lead into the slowest target's run finds every target part-way."""


def _settled(vendors: Vendors, timeout: float = 10.0) -> dict[str, int]:
    """What the vendors hold once requests already received (the server finishes them after the
    client died) have been processed: two equal readings a second apart."""
    deadline = time.monotonic() + timeout
    last = vendors.held()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = vendors.held()
        if now == last:
            return now
        last = now
    raise AssertionError(f"the sandbox kept changing after the kill: {last}")


def _kill_when_every_target_has_some(process: subprocess.Popen[bytes], vendors: Vendors) -> dict[str, int]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the import ended (exit {process.returncode}) before it could be killed")
        held = vendors.held()
        if all(held.values()):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return held
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"not every target received a lead within 90 s: {vendors.held()}")


def _in_flight(ledger: Path, targets: Path) -> dict[str, set[str]]:
    """Per target, the external ids of the chunks the ledger had in flight (begun, never settled)."""
    with Ledger(ledger) as book:
        return {
            c.target.name: {
                eid
                for chunk in book.pending_chunks(target_key(c), exclude_run="")
                for eid in chunk.external_ids
            }
            for c in load_connectors(targets)
        }


def _phones(row: dict[str, Any]) -> frozenset[str]:
    return frozenset(row[slot] for slot in ("phone1", "phone2", "phone3") if row[slot])


def _held_ids(vendors: Vendors, results: pl.DataFrame) -> dict[str, Counter[str]]:
    """Per target, the external ids of the leads the vendor holds (with repeats)."""
    rows = list(results.filter(pl.col("batch_id").is_not_null()).unique("source_row").iter_rows(named=True))
    by_phone = {phone: r["external_id"] for r in rows for phone in _phones(r)}
    by_guid = {contact_guid(ONC_CAMPAIGN, r["external_id"]): r["external_id"] for r in rows}
    sms, email = vendors.ucontact_rows()
    return {
        "obi": Counter(c["externalId"] for c in vendors.obi_customers()),
        "engage": Counter(c["externalId"] for c in vendors.engage_contacts()),
        "onc": Counter(by_guid[c["Id"]] for c in vendors.onc_contacts()),
        "ucontact-sms": Counter(by_phone[line["number"]] for line in sms),
        "ucontact-email": Counter(line["variables"]["ExternalId"] for line in email),
        "maxcontact": Counter(
            by_phone[lead["LeadPhones"][0]["PhoneNum"]] for lead in vendors.maxcontact_leads()
        ),
    }


def test_a_killed_import_run_again_leaves_every_lead_at_each_vendor_within_its_guarantee(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The killed run's claims outlive it by its lease (connectors.lease): a short one here.
    monkeypatch.setenv(LEASE_ENV, "0.5")
    file = lead_file(60, seed=21)
    small = {"chunk_size": 3, "concurrency": 1}
    targets = write_targets(
        tmp_path / "targets.toml",
        obi=small,
        engage=small,
        ucontact_sms=small,
        ucontact_email=small,
        onc={"concurrency": 1},
        maxcontact={"concurrency": 1},
    )
    out = tmp_path / "out"
    vendors.set_faults(SLOW_VENDORS)
    command = [sys.executable, "-m", "flows.cli", "import", str(file), "--targets", str(targets)]
    with (tmp_path / "stdout").open("wb") as stdout, (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--out", str(out)], cwd=REPO_ROOT, env=dict(os.environ), stdout=stdout, stderr=stderr
        )
        _kill_when_every_target_has_some(process, vendors)

    assert process.returncode == -signal.SIGKILL
    at_kill = _settled(vendors)  # a second or more: the dead run's lease has expired
    assert not [p for p in out.iterdir() if p.is_dir()], "a killed run writes no run folder"
    in_flight = _in_flight(out / "ledger.sqlite", targets)

    vendors.set_faults({})
    buffer = io.StringIO()
    code = import_main([*command[4:], "--out", str(out)], console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = read_results(run_dir)
    assert results.height == 60 * 6
    held = _held_ids(vendors, results)
    for target, ids in held.items():
        owed = results.filter((pl.col("target") == target) & pl.col("batch_id").is_not_null())
        conflicts = owed.filter(pl.col("status") == "vendor_rejected")
        delivered = owed.filter(pl.col("status") != "vendor_rejected")["status"]
        assert set(delivered) <= {"accepted", "submitted", "already_sent"}, (target, delivered)
        # MaxContact (strict sandbox) refuses the resend of a lead the killed run delivered, and
        # documents no lookup to show it is ours: an honest conflict, only for leads in flight.
        assert target == "maxcontact" or conflicts.is_empty(), (target, conflicts)
        assert set(conflicts["external_id"]) <= in_flight[target], target
        assert conflicts["reasons"].list.contains("VENDOR_ID_CONFLICT").all(), target
        expected = Counter(owed["external_id"])
        assert 0 < at_kill[target] < sum(expected.values()), (target, at_kill[target], "killed part-way")
        assert set(ids) == set(expected), target
        twice = {eid for eid, n in ids.items() if n > 1}
        if target in EXACTLY_ONCE:
            assert not twice, (target, twice)
        else:
            assert twice <= in_flight[target], (target, twice - in_flight[target])
            assert max(ids.values()) <= 2, target
