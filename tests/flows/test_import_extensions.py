"""`leadflow import` of numbers with extensions into every sandbox target: the extension read from
the file (``phone1_ext`` in the results) reaches each vendor where it takes one, and the rows of a
target that holds such leads say why (README, "Phone extensions at each vendor")."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from connectors.onc import contact_guid
from tests.flows.conftest import ONC_CAMPAIGN, Vendors
from tests.flows.test_import_cli import import_text, obi_attributes

pytestmark = pytest.mark.slow

LEADS = """external_id,first_name,last_name,phone,phone2,email,country
E1,Ana,Ruiz,+49 30 901820 ext. 12,+49 151 23456789,ana@example.org,DE
E2,Ben,Roth,030 9018 2000 x 7,,ben@example.org,DE
E3,Cem,Ak,+49 151 23456780,,cem@example.org,DE
"""


def test_extensions_read_from_the_file_reach_each_vendor_as_its_documented_choice_says(
    vendors: Vendors, tmp_path: Path
) -> None:
    results = import_text(LEADS, tmp_path)
    rows = {r["external_id"]: r for r in results.filter(pl.col("target") == "obi").iter_rows(named=True)}
    assert (rows["E1"]["phone1_ext"], rows["E2"]["phone1_ext"], rows["E3"]["phone1_ext"]) == ("12", "7", None)

    obi = obi_attributes(vendors)
    assert obi["E1"]["Phone1 Extension"] == "12" and obi["E2"]["Phone1 Extension"] == "7"
    assert not any("Extension" in name for name in obi["E3"])

    engage = {c["externalId"]: c for c in vendors.engage_contacts()}
    assert json.loads(engage["E1"]["customPayload"])["phone1_ext"] == "12"
    assert rows["E1"]["phone1"] in {d["externalId"] for d in engage["E1"]["devices"]}

    onc = results.filter(pl.col("target") == "onc")
    held = onc.filter(pl.col("external_id") == "E2").row(0, named=True)
    assert (held["status"], held["reasons"]) == ("ineligible", ["EXTENSION_UNSUPPORTED"])
    assert held["batch_id"] is None  # held before chunking: in no request, not even a harmless one
    destinations = {c["Id"]: c["VoiceCommInfo"]["Destination"] for c in vendors.onc_contacts()}
    assert destinations[contact_guid(ONC_CAMPAIGN, "E1")] == rows["E1"]["phone2"]
    assert contact_guid(ONC_CAMPAIGN, "E2") not in destinations

    maxcontact = {x["email"]: [p["PhoneNum"] for p in x["LeadPhones"]] for x in vendors.maxcontact_leads()}
    assert maxcontact["ben@example.org"] == [rows["E2"]["phone1"]]
