"""`leadflow import` into the sandbox targets: a placeholder name ("N/A", "--", "unknown") reaches
no vendor as the person's name, and the lead is still sent."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.flows.conftest import Vendors
from tests.flows.test_import_cli import import_text, obi_attributes

pytestmark = pytest.mark.slow

LEADS = """external_id,first_name,last_name,phone,email,country
E1,N/A,Smith,+49 151 23456781,e1@example.org,DE
E2,Carl,Test,+49 151 23456782,e2@example.org,DE
E3,--,unknown,+49 151 23456783,e3@example.org,DE
"""


def test_placeholder_names_reach_no_vendor_and_their_leads_are_still_sent(
    vendors: Vendors, tmp_path: Path
) -> None:
    results = import_text(LEADS, tmp_path)
    assert set(results["status"]) <= {"accepted", "submitted"}
    by_id = {r["external_id"]: r for r in results.filter(pl.col("target") == "obi").iter_rows(named=True)}
    assert [by_id[e]["reasons"] for e in ("E1", "E2", "E3")] == [
        ["NAME_PLACEHOLDER"],
        [],
        ["NAME_PLACEHOLDER"],
    ]

    obi = obi_attributes(vendors)
    assert "First Name" not in obi["E1"] and obi["E1"]["Last Name"] == "Smith"
    assert (obi["E2"]["First Name"], obi["E2"]["Last Name"]) == ("Carl", "Test")
    assert "First Name" not in obi["E3"] and "Last Name" not in obi["E3"]
    engage = {c["externalId"]: (c.get("firstName"), c.get("lastName")) for c in vendors.engage_contacts()}
    assert engage == {"E1": (None, "Smith"), "E2": ("Carl", "Test"), "E3": (None, None)}
    maxcontact = {lead["email"]: lead["Name"] for lead in vendors.maxcontact_leads()}
    assert maxcontact["e1@example.org"] == "Smith"
    sms, emails = vendors.ucontact_rows()
    sent = json.dumps(
        [vendors.obi_customers(), vendors.engage_contacts(), vendors.maxcontact_leads(), sms, emails]
    )
    assert "N/A" not in sent and "unknown" not in sent and '"--"' not in sent
    assert "Hi , your callback" in sent  # the SMS template's first name, empty rather than "N/A"
