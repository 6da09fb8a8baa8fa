"""The leads OBI and MaxContact refuse, each refusal naming its lead, are counted in the summary
as one vendor error per kind of refusal (with an example as written), not one per lead.
Checked on what the sandbox vendors answer to a resend whose ledger is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from flows.importer import load_connectors, send_target
from flows.prepare import prepare_leads
from tests.flows.conftest import Vendors, write_targets
from transforms.summary import summarize

pytestmark = pytest.mark.slow

LEADS = 12


def _file(path: Path, second_phone: bool) -> Path:
    lines = ["id,first_name,last_name,phone,phone2,email"]
    for n in range(1, LEADS + 1):
        other = f"+4930{n:08d}" if second_phone else ""
        lines.append(f"CRM-{10_000 + n},Ann,Lee{n},+4915{n:09d},{other},ann{n}@example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _send(path: Path, targets: Path, ledger: Path) -> pl.DataFrame:
    prepared = prepare_leads(path)
    frames = [
        asyncio.run(send_target(prepared, connector, run_id=ledger.stem, ledger=ledger))
        for connector in load_connectors(targets)
    ]
    return pl.concat(frames)


def test_refusals_that_name_their_lead_are_one_vendor_error_each_kind_with_an_example(
    vendors: Vendors, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path / "targets.toml", only=["obi", "maxcontact"])
    first = _send(_file(tmp_path / "first.csv", second_phone=False), targets, tmp_path / "first.sqlite")
    assert set(first["status"]) == {"accepted"}

    # the same leads with a second phone, from a ledger that never saw the first send: OBI holds
    # their externalIds with other numbers, MaxContact their first phones
    again = _send(_file(tmp_path / "again.csv", second_phone=True), targets, tmp_path / "again.sqlite")

    assert set(again["status"]) == {"vendor_rejected"}
    messages = again.group_by("target").agg(pl.col("vendor_message").n_unique())
    assert dict(messages.iter_rows()) == {"obi": LEADS, "maxcontact": LEADS}  # each names its lead
    summary = summarize(again, ["obi", "maxcontact"])
    for target in ("obi", "maxcontact"):
        (error,) = summary["targets"][target]["vendor_errors"]
        assert error["count"] == LEADS
        assert error["example"] in set(again.filter(pl.col("target") == target)["vendor_message"])
    obi = summary["targets"]["obi"]["vendor_errors"][0]
    assert obi["vendor_status"] == "400"
    assert obi["vendor_message"] == (
        "Invalid externalId: CRM-<id> : Value is not unique: the vendor's customer <id> holds other "
        "data (numbers '+<id>', ours '+<id>;+<id>')"
    )
    maxcontact = summary["targets"]["maxcontact"]["vendor_errors"][0]
    assert maxcontact["vendor_status"] == "Error"
    assert "(Lead already exists in list 1: PhoneNum +<id> (LeadId <id>))" in maxcontact["vendor_message"]
