"""Leads whose email addresses are internationalized (a Unicode domain, a Unicode local part)
reach the email targets, the domain in its IDNA ASCII form: a real import over HTTP into the
sandbox vendors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.flows.conftest import DELIVERED, SANDBOX_TARGETS, Vendors, only_run, read_results

LEADS = (
    "first_name,last_name,phone,email\n"
    "José,Müller,+49 30 1234567,josé@bücher.de\n"
    "Ken,Sato,+81 3 1234 5678,user@例え.jp\n"
    "Ivan,Petrov,+7 495 123 45 67,ivan@пример.рф\n"
)
ADDRESSES = ["josé@xn--bcher-kva.de", "user@xn--r8jz45g.jp", "ivan@xn--e1afmkfd.xn--p1ai"]


def test_internationalized_addresses_reach_the_email_targets_in_idna_form(
    vendors: Vendors, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS, encoding="utf-8")
    out = tmp_path / "out"
    buffer = io.StringIO()

    argv = [str(path), "--targets", str(SANDBOX_TARGETS), "--out", str(out), "--target", "ucontact-email"]
    code = import_main([*argv, "--target", "engage"], console=Console(file=buffer, width=200))

    assert code == 0, buffer.getvalue()
    results = read_results(only_run(out))
    assert results.filter(pl.col("target") == "ucontact-email")["email"].to_list() == ADDRESSES
    assert results.filter(~pl.col("status").is_in(DELIVERED)).is_empty(), results.select("target", "status")
    _, email_rows = vendors.ucontact_rows()
    assert sorted(row["email"] for row in email_rows) == sorted(ADDRESSES)
    held = json.dumps(vendors.engage_contacts(), ensure_ascii=False)
    assert all(address in held for address in ADDRESSES)
