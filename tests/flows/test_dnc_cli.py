"""``leadflow dnc`` end to end: what is put in the store is applied by the next validate and
import (rows ``suppressed``, SUPPRESSED_PHONE/SUPPRESSED_EMAIL), recorded in run.json, and
an erasure keeps no raw value yet still suppresses the person."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from flows.commands.dnc import main as dnc_main
from flows.commands.validate import main as validate_main
from tests.flows.conftest import Vendors, read_results, write_targets

LEADS = (
    "phone,email,first_name\n"
    "+12025550187,ann@example.com,Ann\n"
    "(415) 555-0133,BOB@Example.com,Bob\n"
    "+14155550144,,Cy\n"
)


def dnc(*args: str) -> tuple[int, str]:
    buffer = io.StringIO()
    code = dnc_main(list(args), console=Console(file=buffer, width=200))
    return code, buffer.getvalue()


def validate(
    file: Path, *args: str, printed: io.StringIO | None = None
) -> tuple[pl.DataFrame, dict[str, object]]:
    out = file.parent / "out"
    console = Console(file=printed or io.StringIO(), width=200)
    code = validate_main([str(file), "--out", str(out), "--country", "US", *args], console=console)
    assert code == 0
    run_dir = max(p for p in out.iterdir() if p.is_dir())
    return read_results(run_dir).sort("source_row"), json.loads((run_dir / "run.json").read_text())


@pytest.fixture
def leads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LEADFLOW_LEDGER", raising=False)
    path = tmp_path / "leads.csv"
    path.write_text(LEADS, encoding="utf-8")
    return path


def statuses(results: pl.DataFrame) -> list[tuple[str, list[str]]]:
    return list(zip(results["status"], results["reasons"].to_list(), strict=True))


def test_a_number_from_the_registry_file_is_suppressed_by_the_next_validate(leads: Path) -> None:
    registry = leads.parent / "dnc-202.txt"
    registry.write_text("202,5550187\n212,5550100\n", encoding="utf-8")
    ledger = str(leads.parent / "out" / "ledger.sqlite")

    code, printed = dnc("import", str(registry), "--list", "us-national", "--ledger", ledger)
    said = io.StringIO()
    results, run = validate(leads, printed=said)

    assert code == 0, printed
    assert statuses(results) == [
        ("suppressed", ["SUPPRESSED_PHONE"]),
        ("ready", []),
        ("ready", []),
    ]
    assert run["dnc_store"] == ledger
    (listed,) = run["dnc_lists"]  # type: ignore[misc]
    assert (listed["name"], listed["entries"]) == ("us-national", 2)
    assert datetime.fromisoformat(listed["newest_added"]).tzinfo is not None
    assert "Do-not-contact store applied: 2 entries in force on us-national (2)" in said.getvalue()


def test_bad_lines_are_printed_with_their_numbers_and_exit_3_while_the_good_ones_are_stored(
    leads: Path,
) -> None:
    listed = leads.parent / "optouts.txt"
    listed.write_text("415 555 0133\nnot a number\n\n+1 202 555\n", encoding="utf-8")

    code, printed = dnc("import", str(listed), "--country", "US", "--out", str(leads.parent / "out"))
    results, run = validate(leads)

    assert code == 3
    assert "2: 'not a number'  PHONE_UNPARSEABLE" in printed
    assert "4: '+1 202 555'" in printed
    assert statuses(results)[1] == ("suppressed", ["SUPPRESSED_PHONE"])
    assert [(x["name"], x["entries"]) for x in run["dnc_lists"]] == [("optouts", 1)]  # type: ignore[attr-defined]


def test_an_expired_entry_is_not_applied(leads: Path) -> None:
    out = str(leads.parent / "out")
    dnc("add", "+12025550187", "--expires", "2020-01-01", "--out", out)
    dnc("add", "ann@example.com", "--list", "crm", "--reason", "unsubscribed", "--out", out)

    results, run = validate(leads)

    assert statuses(results)[0] == ("suppressed", ["SUPPRESSED_EMAIL"])
    assert [(x["name"], x["entries"]) for x in run["dnc_lists"]] == [("crm", 1)]  # type: ignore[attr-defined]


def test_an_erased_person_keeps_no_raw_value_in_the_store_and_is_still_suppressed(leads: Path) -> None:
    out = leads.parent / "out"
    dnc("add", "bob@example.com", "+14155550133", "--out", str(out))

    code, printed = dnc("erase", "Bob@Example.COM", "--out", str(out))
    results, _ = validate(leads)

    assert code == 0, printed
    assert "0 recorded contacts of the person removed from the ledger" in printed
    stored = sqlite3.connect(out / "ledger.sqlite").execute("SELECT value, kind FROM dnc_entries").fetchall()
    assert ("+14155550133", "phone") in stored
    assert not any("bob" in value.lower() for value, _ in stored)
    _, listing = dnc("list", "--entries", "--out", str(out))
    assert "bob" not in listing.lower() and "erasure-requests" in listing
    assert statuses(results)[1][0] == "suppressed"


def test_list_shows_each_list_with_its_counts(leads: Path) -> None:
    out = str(leads.parent / "out")
    dnc("add", "+12025550187", "ann@example.com", "--list", "crm", "--out", out)

    code, printed = dnc("list", "--out", out)

    assert code == 0
    line = next(line for line in printed.splitlines() if "crm" in line)
    assert line.split("│")[2:5] == [" 2 ".rjust(9), " 2 ".rjust(10), " 1 ".rjust(8)]


def test_remove_takes_a_value_off_and_validate_no_longer_suppresses_it(leads: Path) -> None:
    out = str(leads.parent / "out")
    dnc("add", "+12025550187", "--out", out)

    code, printed = dnc("remove", "+1 202 555 0187", "--out", out)
    results, _ = validate(leads)

    assert (code, "Removed 1 entry" in printed) == (0, True)
    assert statuses(results)[0] == ("ready", [])


def test_a_value_that_is_no_phone_or_email_is_not_erased_and_says_why(leads: Path) -> None:
    code, printed = dnc("erase", "hello", "--out", str(leads.parent / "out"))

    assert code == 1
    assert printed.splitlines()[-1].startswith("Error:") and "nothing erased" in printed


def test_the_store_in_postgresql_is_applied_by_validate(leads: Path, postgres_url: str) -> None:
    code, _ = dnc("add", "ann@example.com", "--list", "crm", "--ledger", postgres_url)

    results, run = validate(leads, "--ledger", postgres_url)

    assert code == 0
    assert statuses(results)[0] == ("suppressed", ["SUPPRESSED_EMAIL"])
    assert [(x["name"], x["entries"]) for x in run["dnc_lists"]] == [("crm", 1)]  # type: ignore[attr-defined]
    assert "options=" not in str(run["dnc_store"])


@pytest.mark.slow
def test_an_import_sends_nothing_of_a_stored_number(leads: Path, vendors: Vendors) -> None:
    from flows.commands.import_file import main as import_main

    out = leads.parent / "out"
    dnc("add", "+12025550187", "--list", "optouts", "--out", str(out))
    targets = write_targets(leads.parent / "targets.toml", only=["obi"])

    code = import_main(
        [str(leads), "--targets", str(targets), "--out", str(out), "--country", "US"],
        console=Console(file=io.StringIO()),
    )

    assert code == 0
    results = read_results(max(p for p in out.iterdir() if p.is_dir())).sort("source_row")
    assert results["status"].to_list() == ["suppressed", "accepted", "accepted"]
    held = json.dumps(vendors.obi_customers())
    assert "5550187" not in held and "5550133" in held


def test_every_command_says_which_store_it_works_on(leads: Path) -> None:
    out = leads.parent / "out"

    first = dnc("add", "+14155550144", "--out", str(out))
    again = dnc("add", "+14155550155", "--out", str(out))

    store = out / "ledger.sqlite"
    assert first == (0, f"Do-not-contact store: {store} (new)\nList 'manual': 1 value read, 1 new entry\n")
    assert again[1].startswith(f"Do-not-contact store: {store}\n")


def test_listing_or_removing_where_no_ledger_is_refused_and_creates_none(leads: Path) -> None:
    nowhere = leads.parent / "elsewhere"

    listed = dnc("list", "--out", str(nowhere))
    removed = dnc("remove", "+14155550144", "--out", str(nowhere))

    for code, printed in (listed, removed):
        assert code == 1
        assert printed.startswith(f"Error: {nowhere / 'ledger.sqlite'}: no ledger here")
        assert "ROOT/runs" in printed and "Traceback" not in printed
    assert not nowhere.exists()


def test_importing_a_file_that_is_not_there_is_one_error_line(leads: Path) -> None:
    missing = leads.parent / "missing.txt"

    code, printed = dnc("import", str(missing), "--out", str(leads.parent / "out"))

    assert code == 1
    assert (
        printed.splitlines()[-1]
        == f"Error: {missing}: the file does not exist. Check the path and the file name"
    )


def test_a_one_column_csv_export_has_its_header_said_not_refused(leads: Path) -> None:
    export = leads.parent / "do_not_contact.csv"
    export.write_text("phone_or_email\n+14155550144\nann@example.com\n", encoding="utf-8")

    code, printed = dnc("import", str(export), "--out", str(leads.parent / "out"))

    assert code == 0
    assert "Line 1 taken as the file's header: 'phone_or_email'" in printed
    assert "List 'do_not_contact': 2 lines read, 2 new entries" in printed


def test_an_expiry_that_is_no_date_is_a_usage_error_that_says_the_form(
    leads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        dnc("add", "+14155550144", "--expires", "2027-13-45", "--out", str(leads.parent / "out"))

    assert exit.value.code == 2
    assert "'2027-13-45' is no date: give YYYY-MM-DD" in capsys.readouterr().err
