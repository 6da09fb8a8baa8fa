"""Under a compliance profile, a lead that may not be called at the run's start never reaches a
vendor that dials when it likes; one that schedules by the lead's zone gets it and waits; every
result row carries the lead's window. Checked on what the sandbox vendors hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.importer import load_connectors, send_target
from flows.prepare import prepare_leads
from schemas.results import RESULTS_SCHEMA
from tests.flows.conftest import Vendors, read_results, write_targets
from transforms.shared_windows import SharedWindows

pytestmark = pytest.mark.slow

# Friday 4 December 2026, 20:30 in New York: past Florida's 20:00, before the federal 21:00;
# 02:30 in Madrid and 01:30 in the Canaries
STARTED = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
LEADS = """id,first_name,last_name,phone,email,country,state
fl,Flo,Rida,+1 305 555 0100,flo@example.com,US,FL
ny,New,York,+1 212 555 0123,ny@example.com,US,NY
es,Ana,Lopez,+34 612 345 678,ana@example.es,ES,
"""


def _send(tmp_path: Path, shared: bool = False, **overrides: dict[str, Any]) -> pl.DataFrame:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS, encoding="utf-8")
    targets = write_targets(
        tmp_path / "targets.toml", only=[name.replace("_", "-") for name in overrides], **overrides
    )
    prepared = prepare_leads(path)
    windows = SharedWindows(prepared.clean) if shared else None
    frames = [
        asyncio.run(
            send_target(
                prepared,
                connector,
                run_id="windows",
                ledger=tmp_path / "ledger.sqlite",
                started=STARTED,
                shared=windows,
            )
        )
        for connector in load_connectors(targets)
    ]
    if windows is not None:
        assert windows.computed == len(
            {str(o.get("compliance")) for o in overrides.values() if o.get("compliance")}
        )
    results = pl.concat(frames)
    RESULTS_SCHEMA.validate(results)
    return results


def _by_row(results: pl.DataFrame, target: str) -> dict[str, dict[str, Any]]:
    rows = results.filter(pl.col("target") == target).to_dicts()
    return {str(row["external_id"]): row for row in rows}


def test_a_vendor_that_does_not_schedule_by_zone_gets_only_the_leads_callable_now(
    vendors: Vendors, tmp_path: Path
) -> None:
    results = _by_row(_send(tmp_path, engage={"compliance": "us-tcpa"}), "engage")
    assert results["ny"]["status"] == "accepted"
    for held in ("fl", "es"):
        assert results[held]["status"] == "ineligible"
        assert results[held]["reasons"][0] == "OUTSIDE_CALLING_WINDOW"
    assert results["fl"]["call_window_start"] == datetime(2026, 12, 5, 13, tzinfo=UTC)  # Saturday 08:00 EST
    assert results["fl"]["call_window_end"] == datetime(2026, 12, 6, 1, tzinfo=UTC)  # 20:00 EST
    assert results["ny"]["call_window_start"] == STARTED
    sent = {contact["externalId"] for contact in vendors.engage_contacts()}
    assert sent == {"ny"}


def test_obi_gets_a_lead_of_one_zone_with_its_zone_and_waits_but_not_one_of_several(
    vendors: Vendors, tmp_path: Path
) -> None:
    results = _by_row(_send(tmp_path, obi={"compliance": "us-tcpa"}), "obi")
    assert results["fl"]["status"] == results["ny"]["status"] == "accepted"
    assert results["es"]["status"] == "ineligible" and results["es"]["reasons"][0] == "OUTSIDE_CALLING_WINDOW"
    held = {customer["externalId"]: customer.get("timeZone") for customer in vendors.obi_customers()}
    assert held == {"fl": "America/New_York", "ny": "America/New_York"}


def test_obi_told_it_does_not_schedule_by_zone_holds_like_the_others(
    vendors: Vendors, tmp_path: Path
) -> None:
    target = {"compliance": "us-tcpa", "options": {"schedules_by_zone": False}}
    results = _by_row(_send(tmp_path, obi=target), "obi")
    assert [results[key]["status"] for key in ("fl", "ny", "es")] == ["ineligible", "accepted", "ineligible"]
    assert {customer["externalId"] for customer in vendors.obi_customers()} == {"ny"}


def test_without_a_profile_or_on_email_there_is_no_window_and_nothing_is_held(
    vendors: Vendors, tmp_path: Path
) -> None:
    results = _send(tmp_path, engage={}, ucontact_email={"compliance": "de"})
    assert set(results.get_column("status")) <= {"accepted", "submitted"}
    assert results.get_column("call_window_start").null_count() == results.height


def test_targets_of_one_profile_sharing_the_windows_get_the_same_results_as_alone(
    vendors: Vendors, tmp_path: Path
) -> None:
    targets: dict[str, Any] = {"engage": {"compliance": "us-tcpa"}, "obi": {"compliance": "us-tcpa"}}
    (tmp_path / "alone").mkdir()
    (tmp_path / "shared").mkdir()
    alone = _send(tmp_path / "alone", **targets)
    shared = _send(tmp_path / "shared", shared=True, **targets)  # computed once: checked in _send
    # the second send of the same leads is a vendor duplicate: statuses, holds and windows compared
    columns = [
        "target",
        "external_id",
        "status",
        pl.col("reasons").list.contains("OUTSIDE_CALLING_WINDOW").alias("held"),
        "call_window_start",
        "call_window_end",
    ]
    assert shared.select(columns).equals(alone.select(columns))


def test_the_flows_targets_of_one_profile_carry_the_same_windows(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads, summary_of

    path = tmp_path / "leads.csv"
    path.write_text(LEADS, encoding="utf-8")
    targets = write_targets(
        tmp_path / "targets.toml",
        only=["engage", "obi"],
        engage={"compliance": "us-tcpa"},
        obi={"compliance": "us-tcpa"},
    )
    state = import_leads(str(path), str(targets), out_dir=str(tmp_path / "out"), return_state=True)
    results = read_results(Path(summary_of(state)["run_dir"]))
    windows = {
        target: results.filter(pl.col("target") == target)
        .sort("external_id")
        .select("external_id", "call_window_start", "call_window_end")
        for target in ("engage", "obi")
    }
    assert windows["engage"].height == 3
    assert windows["engage"].get_column("call_window_end").null_count() == 0
    assert windows["engage"].equals(windows["obi"])
