"""`leadflow import` end to end against the sandbox vendors on 127.0.0.1.

What is checked is what the vendors hold (the sandbox's state dumps), not only what our results
say: every eligible row arrives once with its fields, nothing else arrives, a vendor's per-row
answer lands on its own row, a dry run sends nothing, and a rerun sends only what is still owed.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from rich.console import Console

from connectors.ledger import Ledger
from connectors.onc import contact_guid
from flows.commands.import_file import main as import_main
from flows.prepare import PrepareOptions, prepare_leads
from schemas.results import RESULTS_SCHEMA
from tests.flows.conftest import (
    DEMO_CREDENTIALS,
    OBI_CAMPAIGN,
    ONC_CAMPAIGN,
    SANDBOX_TARGETS,
    Vendors,
    maxcontact_with_changeable_password,
    only_run,
    read_results,
    write_targets,
)

pytestmark = pytest.mark.slow

ROWS = 60
TARGETS = ("obi", "engage", "ucontact-sms", "ucontact-email", "onc", "maxcontact")
DELIVERED = ("accepted", "submitted")


def run_import(file: Path, out: Path, *args: str, targets: Path = SANDBOX_TARGETS) -> tuple[int, str]:
    buffer = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(out), *args]
    code = import_main(argv, console=Console(file=buffer, width=200))
    return code, buffer.getvalue()


def import_text(leads: str, tmp_path: Path) -> pl.DataFrame:
    """``leads`` (a CSV's text) imported to the sandbox targets, which must exit 0: the results."""
    file = tmp_path / "leads.csv"
    file.write_text(leads, encoding="utf-8")
    code, printed = run_import(file, tmp_path / "out")
    assert code == 0, printed
    return read_results(only_run(tmp_path / "out"))


def obi_attributes(vendors: Vendors) -> dict[str, dict[str, str]]:
    """Each customer OBI holds, by externalId: its attributes, name -> value."""
    return {
        c["externalId"]: {a["name"]: a["value"] for a in c["attributes"]} for c in vendors.obi_customers()
    }


def latest_run(out: Path) -> Path:
    return max((p for p in out.iterdir() if p.is_dir()), key=lambda p: p.name)


def delivered(results: pl.DataFrame, target: str) -> pl.DataFrame:
    return results.filter((pl.col("target") == target) & pl.col("status").is_in(DELIVERED))


def phones_of(row: dict[str, Any]) -> set[str]:
    return {row[slot] for slot in ("phone1", "phone2", "phone3") if row[slot]}


def statuses(results: pl.DataFrame, target: str) -> Counter[str]:
    return Counter(results.filter(pl.col("target") == target)["status"].to_list())


# --- one full import, inspected vendor by vendor ---------------------------------------------


class Imported:
    def __init__(self, results: pl.DataFrame, run_dir: Path, printed: str, held: dict[str, Any]) -> None:
        self.results = results
        self.run_dir = run_dir
        self.printed = printed
        self.held = held

    def rows(self, target: str) -> dict[str, dict[str, Any]]:
        """Delivered rows of ``target`` by external id."""
        return {r["external_id"]: r for r in delivered(self.results, target).iter_rows(named=True)}


@pytest.fixture(scope="module")
def imported(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """One import of a 60-row messy file into all six sandbox targets, and what each vendor holds."""
    from sample_data.generate import messy_lead_frame

    folder = tmp_path_factory.mktemp("import")
    file = folder / "leads.csv"
    messy_lead_frame(ROWS, 11).write_csv(file)
    view = Vendors(sandbox_server)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEMO_CREDENTIALS, "LEADFLOW_SANDBOX_URL": sandbox_server.base_url}.items():
            patch.setenv(name, value)
        patch.delenv("LEADFLOW_LEDGER", raising=False)
        view.reset()
        code, printed = run_import(file, folder / "out")
        assert code == 0, printed
        sms, email = view.ucontact_rows()
        held = {
            "obi": view.obi_customers(),
            "engage": view.engage_contacts(),
            "ucontact-sms": sms,
            "ucontact-email": email,
            "onc": view.onc_contacts(),
            "maxcontact": view.maxcontact_leads(),
        }
    run_dir = only_run(folder / "out")
    yield Imported(read_results(run_dir), run_dir, printed, held)
    view.reset()


def test_the_run_has_one_valid_result_per_row_and_target_and_writes_its_report(imported: Imported) -> None:
    results = imported.results
    RESULTS_SCHEMA.validate(results)
    assert results.height == ROWS * len(TARGETS)
    for target in TARGETS:
        assert sorted(results.filter(pl.col("target") == target)["source_row"]) == list(range(1, ROWS + 1))
    summary = json.loads((imported.run_dir / "summary.json").read_text())
    assert summary["rows"] == ROWS and summary["results"] == ROWS * len(TARGETS)
    run = json.loads((imported.run_dir / "run.json").read_text())
    assert [t["name"] for t in run["targets"]] == list(TARGETS) and run["dry_run"] is False
    assert (imported.run_dir / "report.html").stat().st_size > 0
    assert str(imported.run_dir / "report.html") in imported.printed


def test_every_target_had_rows_to_send_and_nothing_went_wrong(imported: Imported) -> None:
    for target in TARGETS:
        counts = statuses(imported.results, target)
        assert counts["accepted"] + counts["submitted"] > ROWS // 3, (target, counts)
        assert not counts.keys() & {"failed", "vendor_rejected", "dry_run", "already_sent"}, (target, counts)


def test_rows_we_refused_reach_no_vendor(imported: Imported) -> None:
    refused = imported.results.filter(~pl.col("status").is_in(DELIVERED))
    assert set(refused["status"]) >= {"rejected", "duplicate", "ineligible"}
    assert refused.filter(pl.col("status") == "rejected")["vendor_id"].is_null().all()


def test_obi_holds_each_accepted_row_once_with_its_numbers_and_names(imported: Imported) -> None:
    rows = imported.rows("obi")
    customers = imported.held["obi"]
    assert Counter(c["externalId"] for c in customers) == Counter(rows.keys())
    for customer in customers:
        row = rows[customer["externalId"]]
        assert set(customer["numbers"].split(";")) == phones_of(row)
        attributes = {a["name"]: a["value"] for a in customer["attributes"]}
        assert attributes.get("First Name") == row["first_name"]
        assert attributes.get("Last Name") == row["last_name"]
        assert customer.get("timeZone") == row["timezone"]
        assert customer["id"] == row["vendor_id"]


def test_engage_holds_each_accepted_row_once_with_its_phones(imported: Imported) -> None:
    rows = imported.rows("engage")
    contacts = imported.held["engage"]
    assert Counter(c["externalId"] for c in contacts) == Counter(rows.keys())
    for contact in contacts:
        row = rows[contact["externalId"]]
        assert {d["externalId"] for d in contact["devices"] if d["type"] == "Phone"} == phones_of(row)
        assert (contact.get("firstName") or None) == row["first_name"]


def test_onc_holds_each_accepted_row_once_under_its_stable_guid(imported: Imported) -> None:
    rows = imported.rows("onc")
    by_guid = {contact_guid(ONC_CAMPAIGN, eid): row for eid, row in rows.items()}
    contacts = imported.held["onc"]
    assert Counter(c["Id"] for c in contacts) == Counter(by_guid.keys())
    for contact in contacts:
        assert contact["VoiceCommInfo"]["Destination"] in phones_of(by_guid[contact["Id"]])


def test_maxcontact_holds_each_accepted_row_once_with_its_name_and_phones(imported: Imported) -> None:
    rows = imported.rows("maxcontact").values()
    expected = Counter(
        (
            " ".join(p for p in (r["first_name"], r["last_name"]) if p) or r["external_id"],
            frozenset(phones_of(r)),
        )
        for r in rows
    )
    leads = imported.held["maxcontact"]
    assert Counter((x["Name"], frozenset(p["PhoneNum"] for p in x["LeadPhones"])) for x in leads) == expected


def test_ucontact_sms_queues_one_line_per_submitted_row_to_one_of_its_numbers(imported: Imported) -> None:
    rows = list(imported.rows("ucontact-sms").values())
    owner = {phone: row["external_id"] for row in rows for phone in phones_of(row)}
    queued = imported.held["ucontact-sms"]
    assert Counter(owner[line["number"]] for line in queued) == Counter(r["external_id"] for r in rows)
    by_id = {r["external_id"]: r for r in rows}
    for line in queued:
        first = by_id[owner[line["number"]]]["first_name"] or ""
        assert line["text"] == f"Hi {first}, your callback from Leadflow Demo is booked."
        assert line["campaign"] == "somecampaign"


def test_ucontact_email_queues_one_line_per_submitted_row_with_its_external_id(imported: Imported) -> None:
    rows = imported.rows("ucontact-email")
    queued = imported.held["ucontact-email"]
    assert Counter(line["variables"]["ExternalId"] for line in queued) == Counter(rows.keys())
    for line in queued:
        assert line["email"] == rows[line["variables"]["ExternalId"]]["email"]


# --- a vendor's answer for one row lands on that row --------------------------------------------


def ready_with_phone(file: Path) -> pl.DataFrame:
    """The rows of ``file`` our own checks let through to a voice target."""
    clean = prepare_leads(file, PrepareOptions()).clean
    return clean.filter((pl.col("disposition") == "ready") & pl.col("phone1").is_not_null())


class Answered:
    def __init__(self, results: pl.DataFrame, seeded: dict[str, Any], known: str, big: str) -> None:
        self.results = results
        self.seeded = seeded
        self.known = known
        self.big = big


@pytest.fixture(scope="module")
def answered(
    sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Answered, Vendors]]:
    """One import that meets three per-row vendor answers: a customer OBI already holds (seeded
    through OBI's API), a contact over Engage's 96 kB custom payload limit, and a uContact SMS
    campaign the vendor does not know (so it refuses the upload)."""
    from sample_data.generate import messy_lead_frame

    folder = tmp_path_factory.mktemp("answers")
    file = folder / "leads.csv"
    frame = messy_lead_frame(30, 5).with_columns(notes=pl.lit("short note"))
    frame.write_csv(file)
    ready = ready_with_phone(file)
    known, big = ready.row(0, named=True), ready["external_id"][1]
    frame.with_columns(
        notes=pl.when(pl.col("customer_id") == big).then(pl.lit("x" * 100_000)).otherwise(pl.col("notes"))
    ).write_csv(file)
    view = Vendors(sandbox_server)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEMO_CREDENTIALS, "LEADFLOW_SANDBOX_URL": sandbox_server.base_url}.items():
            patch.setenv(name, value)
        patch.delenv("LEADFLOW_LEDGER", raising=False)
        view.reset()
        seeded = httpx.post(
            f"{view.base_url}/obi/campaigns/{OBI_CAMPAIGN}/customers/list",
            json=[{"externalId": known["external_id"], "numbers": known["phone1"]}],
            auth=(DEMO_CREDENTIALS["SANDBOX_USER"], DEMO_CREDENTIALS["SANDBOX_PASSWORD"]),
            headers={"Accept": "application/json"},
        ).json()[0]
        assert seeded["statusCode"] == 201
        targets = write_targets(
            folder / "targets.toml",
            ["obi", "engage", "ucontact-sms"],
            ucontact_sms={"campaign": "no-such-campaign"},
        )
        code, printed = run_import(file, folder / "out", targets=targets)
        assert code == 0, printed
    yield Answered(read_results(only_run(folder / "out")), seeded, known["external_id"], big), view
    view.reset()


def test_a_customer_obi_already_holds_with_other_data_is_a_conflict_on_its_own_row_not_added_again(
    answered: tuple[Answered, Vendors],
) -> None:
    run, view = answered
    obi = run.results.filter(pl.col("target") == "obi")
    row = obi.filter(pl.col("external_id") == run.known).row(0, named=True)
    # The seeded customer has our id and phone but none of our attributes: not our earlier send.
    assert row["status"] == "vendor_rejected" and "VENDOR_ID_CONFLICT" in row["reasons"]
    assert row["vendor_id"] == run.seeded["id"]
    assert f"customer {run.seeded['id']} holds other data" in row["vendor_message"]
    others = delivered(obi, "obi").filter(pl.col("external_id") != run.known)
    assert others.height > 10 and not others["reasons"].list.contains("VENDOR_DUPLICATE").any()
    assert Counter(c["externalId"] for c in view.obi_customers()) == Counter(
        [*delivered(obi, "obi")["external_id"], run.known]
    )


def test_a_contact_over_engages_payload_limit_is_refused_on_its_own_row_and_its_batch_arrives(
    answered: tuple[Answered, Vendors],
) -> None:
    run, view = answered
    engage = run.results.filter(pl.col("target") == "engage")
    refused = engage.filter(pl.col("status") == "vendor_rejected")
    assert refused["external_id"].to_list() == [run.big]
    assert refused["reasons"].to_list() == [["CHUNK_TOO_LARGE"]]
    held = Counter(c["externalId"] for c in view.engage_contacts())
    assert held == Counter(delivered(engage, "engage")["external_id"])
    assert run.big not in held and len(held) > 10


def test_an_upload_ucontact_refuses_rejects_the_rows_it_carried_and_queues_nothing(
    answered: tuple[Answered, Vendors],
) -> None:
    run, view = answered
    sent = run.results.filter((pl.col("target") == "ucontact-sms") & pl.col("batch_id").is_not_null())
    assert sent.height > 5
    assert set(zip(sent["status"], sent["vendor_status"], strict=True)) == {("vendor_rejected", "0")}
    assert view.ucontact_rows()[0] == []


# --- dry run, then the real run, a rerun and a resend, on one ledger -------------------------


class History:
    """Results and what the vendors held after each run of one file on one ledger."""

    def __init__(self) -> None:
        self.results: dict[str, pl.DataFrame] = {}
        self.held: dict[str, dict[str, int]] = {}
        self.state: dict[str, Any] = {}
        self.printed: dict[str, str] = {}


RESENT = ("obi", "engage", "onc")


@pytest.fixture(scope="module")
def history(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    from sample_data.generate import messy_lead_frame

    folder = tmp_path_factory.mktemp("history")
    file = folder / "leads.csv"
    messy_lead_frame(40, 9).write_csv(file)
    view = Vendors(sandbox_server)
    runs = History()
    steps = {
        "dry": ["--dry-run"],
        "first": [],
        "rerun": [],
        "dry-again": ["--dry-run"],
        "resend": ["--resend", *(arg for name in RESENT for arg in ("--target", name))],
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEMO_CREDENTIALS, "LEADFLOW_SANDBOX_URL": sandbox_server.base_url}.items():
            patch.setenv(name, value)
        patch.delenv("LEADFLOW_LEDGER", raising=False)
        view.reset()
        runs.state["before"] = httpx.get(f"{view.base_url}/_sandbox/state").json()["vendors"]
        for step, args in steps.items():
            # Run ids sort by second, then at random: two runs of one second need telling apart.
            earlier = set((folder / "out").glob("*"))
            code, printed = run_import(file, folder / "out", *args)
            assert code == 0, printed
            (run_dir,) = [p for p in (folder / "out").iterdir() if p.is_dir() and p not in earlier]
            runs.results[step] = read_results(run_dir)
            runs.printed[step] = printed
            runs.held[step] = view.held()
            runs.state[step] = httpx.get(f"{view.base_url}/_sandbox/state").json()["vendors"]
            runs.state[f"{step}-run"] = json.loads((run_dir / "run.json").read_text())
    yield runs
    view.reset()


def outcome_by_row(results: pl.DataFrame) -> dict[tuple[str, int], str]:
    return dict(
        zip(zip(results["target"], results["source_row"], strict=True), results["status"], strict=True)
    )


def test_a_dry_run_sends_nothing(history: History) -> None:
    assert history.state["dry"] == history.state["before"]
    assert history.state["dry-run"]["dry_run"] is True
    assert history.results["dry"].height == 40 * len(TARGETS)


def test_a_dry_run_predicts_each_rows_outcome_and_records_nothing_in_the_ledger(history: History) -> None:
    predicted = outcome_by_row(history.results["dry"])
    assert "dry_run" in predicted.values()
    for row in history.results["first"].iter_rows(named=True):
        expected = predicted[(row["target"], row["source_row"])]
        assert expected == ("dry_run" if row["status"] in DELIVERED else row["status"]), row


def test_a_rerun_reports_delivered_rows_already_sent_and_sends_nothing_again(history: History) -> None:
    first = outcome_by_row(history.results["first"])
    rerun = history.results["rerun"]
    for row in rerun.iter_rows(named=True):
        before = first[(row["target"], row["source_row"])]
        assert row["status"] == ("already_sent" if before in DELIVERED else before), row
    assert rerun.filter(pl.col("status") == "already_sent").height > 100
    assert history.held["rerun"] == history.held["first"]


def test_a_rerun_that_sent_nothing_says_so_on_each_targets_line_and_the_closing_line(
    history: History,
) -> None:
    for step, label in (("rerun", "nothing to send"), ("dry-again", "would send nothing (dry run)")):
        printed = history.printed[step]
        for target in TARGETS:
            statuses_now = set(history.results[step].filter(pl.col("target") == target)["status"])
            if statuses_now & {"already_sent"} and not statuses_now & {"accepted", "submitted", "dry_run"}:
                assert re.search(rf"{target}: {re.escape(label)}, (\d+) of \1 already delivered", printed), (
                    step,
                    printed,
                )
        assert f"{TARGETS[0]}: sent" not in printed and "Exit code 0: everything" not in printed, printed
    assert "Exit code 0: nothing left to send: an earlier run delivered it." in history.printed["rerun"]
    assert "Exit code 0: a dry run: nothing was sent" in history.printed["dry-again"]
    assert "Exit code 0: a dry run: nothing was sent" in history.printed["dry"]


def test_resend_sends_again_and_vendors_that_know_the_lead_keep_it_once(history: History) -> None:
    first, again = history.results["first"], history.results["resend"]
    assert again.height == 40 * len(RESENT)
    for target in RESENT:
        assert statuses(again, target) == statuses(first, target), target
        resent = delivered(again, target)
        assert resent.height == history.held["first"][target]
        assert resent["reasons"].list.contains("VENDOR_DUPLICATE").all(), target
    assert history.held["resend"] == history.held["first"]


# --- failed rows are owed: the next run sends them ------------------------------------------------


def test_rows_that_failed_are_sent_by_the_next_run(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        ["obi", "onc"],
        obi={"chunk_size": 10, "retry": {"attempts": 1, "backoff": 0, "breaker_failures": 2}},
    )
    file = lead_file(40)
    out = tmp_path / "out"
    vendors.set_faults({"vendors": {"sinch_obi": {"*": {"rate_503": 1.0}}}})

    assert run_import(file, out, targets=targets)[0] == 4
    failed = read_results(latest_run(out))
    obi_failed = failed.filter((pl.col("target") == "obi") & (pl.col("status") == "failed"))
    assert obi_failed.height > 10
    assert set(obi_failed["reasons"].list.first()) <= {"TRANSPORT_FAILED", "TARGET_STOPPED"}
    assert vendors.obi_customers() == []
    onc_held = vendors.held()["onc"]

    vendors.set_faults({})
    code, printed = run_import(file, out, targets=targets)

    assert code == 0, printed
    rerun = read_results(latest_run(out))
    retried = rerun.filter(
        (pl.col("target") == "obi") & pl.col("source_row").is_in(obi_failed["source_row"].implode())
    )
    assert set(retried["status"]) == {"accepted"}
    assert "accepted" not in set(rerun.filter(pl.col("target") == "onc")["status"])
    assert Counter(c["externalId"] for c in vendors.obi_customers()) == Counter(obi_failed["external_id"])
    assert vendors.held()["onc"] == onc_held


# --- exit codes and verdict lines: a run that did not send everything says so -------------------


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


FAST_FAIL = {"attempts": 2, "backoff": 0, "breaker_failures": 2}


def test_an_import_that_sent_everything_exits_0_with_a_sent_line_per_target(imported: Imported) -> None:
    for target in TARGETS:
        assert f"✓ {target}: sent, " in imported.printed or f"! {target}: sent, " in imported.printed
    assert "Exit code 0: everything that should be sent was sent." in imported.printed
    assert "✗" not in imported.printed


def test_rows_the_vendor_refused_keep_exit_0_and_are_named_on_the_targets_line(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml", ["ucontact-sms"], ucontact_sms={"campaign": "no-such-campaign"}
    )

    code, printed = run_import(lead_file(20), tmp_path / "out", targets=targets)

    assert code == 0, printed
    assert (
        "! ucontact-sms: all refused by the vendor, 0 of " in printed
        and "refused for good (by the vendor, or too large for it)" in printed
    )
    refused = re.search(r"ucontact-sms: all refused by the vendor, 0 of (\d+) delivered", printed)
    assert refused is not None
    assert (
        f"Exit code 0: nothing left to send; {refused[1]} rows refused for good (by the vendor, "
        "or too large for it): fix those rows (see the report)." in printed
    )
    assert "everything that should be sent was sent" not in printed


def test_some_rows_failed_exits_3_with_the_failed_target_named_and_the_run_folder_written(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        ["obi", "onc"],
        obi={
            "chunk_size": 5,
            "concurrency": 1,
            "retry": {"attempts": 1, "backoff": 0, "breaker_failures": 100},
        },
    )
    vendors.set_faults({"vendors": {"sinch_obi": {"*/customers/list": {"rate_503": 1.0, "max_faults": 2}}}})

    code, printed = run_import(lead_file(40), tmp_path / "out", targets=targets)

    assert code == 3, printed
    results = read_results(only_run(tmp_path / "out"))
    obi = statuses(results, "obi")
    assert obi["failed"] == 10 and obi["accepted"] > 5, obi
    assert "✗ obi: rows failed, " in printed and "10 failed (TRANSPORT_FAILED 10)" in printed
    assert "✓ onc: sent, " in printed
    assert "Exit code 3: not everything was sent" in printed
    assert "✓ Sent" not in printed


def test_a_login_refused_while_preparing_a_target_exits_4_even_when_every_row_was_already_sent(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = maxcontact_with_changeable_password(tmp_path / "targets.toml", monkeypatch)
    file = lead_file(20)
    code, printed = run_import(file, tmp_path / "out", targets=targets)
    assert code == 0, printed
    monkeypatch.setenv("MAXCONTACT_PASSWORD", "not-the-password")

    # the same file again: the ledger has every row delivered, so no lead is to be sent, but
    # MaxContact's list is prepared first (connectors.maxcontact ``open``) and the login is refused
    code, printed = run_import(file, tmp_path / "out", targets=targets)

    assert code == 4, printed
    results = read_results(latest_run(tmp_path / "out"))
    assert "failed" not in statuses(results, "maxcontact") and statuses(results, "maxcontact")["already_sent"]
    assert "✗ maxcontact: STOPPED before sending, no row to send; " in printed
    assert "AUTH_FAILED: " in printed and "Exit code 4" in printed
    run = json.loads((latest_run(tmp_path / "out") / "run.json").read_text(encoding="utf-8"))
    assert run["targets"][0]["stopped"]["reason"] == "AUTH_FAILED"


def test_a_target_with_a_wrong_password_exits_4_and_the_good_target_still_sends(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBI_WRONG_PASSWORD", "not-the-password")
    targets = write_targets(
        tmp_path / "targets.toml",
        ["obi", "onc"],
        obi={"credentials": {"username": "env:SANDBOX_USER", "password": "env:OBI_WRONG_PASSWORD"}},
    )

    code, printed = run_import(lead_file(30), tmp_path / "out", targets=targets)

    assert code == 4, printed
    results = read_results(only_run(tmp_path / "out"))
    assert statuses(results, "obi")["accepted"] == 0 and statuses(results, "obi")["failed"] > 5
    assert statuses(results, "onc")["accepted"] > 5
    assert "✗ obi: STOPPED, 0 of " in printed and "AUTH_FAILED" in printed
    assert "✓ onc: sent, " in printed and "Exit code 4: " in printed
    assert "not-the-password" not in printed


def test_a_vendor_that_is_down_exits_4_with_nothing_sent_and_the_run_folder_written(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path / "targets.toml",
        ["obi"],
        obi={"base_url": f"http://127.0.0.1:{closed_port()}/obi", "retry": FAST_FAIL},
    )

    code, printed = run_import(lead_file(30), tmp_path / "out", targets=targets)

    assert code == 4, printed
    run_dir = only_run(tmp_path / "out")
    assert statuses(read_results(run_dir), "obi")["failed"] > 5
    assert (run_dir / "summary.json").exists() and (run_dir / "report.html").exists()
    assert "✗ obi: NOTHING SENT, 0 of " in printed or "✗ obi: STOPPED, 0 of " in printed
    assert "Exit code 4: not everything was sent: obi " in printed


def test_a_ledger_url_carrying_a_password_is_refused_in_one_line_before_anything_is_sent(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    """Prefect stores a flow's parameters: a password in the ledger URL would be kept there."""
    before = vendors.state("sinch_obi")
    code, printed = run_import(
        lead_file(5), tmp_path / "out", "--ledger", "postgresql://leadflow:hunter2-secret@127.0.0.1/leadflow"
    )

    assert code == 1
    assert "PGPASSWORD" in printed and "hunter2-secret" not in printed
    assert "Traceback" not in printed
    assert vendors.state("sinch_obi") == before


def test_a_ledger_locked_past_the_wait_fails_its_rows_unsent_exits_4_and_writes_the_run_folder(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the ledger's write lock for longer than LEADFLOW_LEDGER_WAIT: nothing
    can be claimed, so nothing is sent; each row says why, and the run is not a traceback."""
    ledger = tmp_path / "ledger.sqlite"
    Ledger(ledger).close()
    monkeypatch.setenv("LEADFLOW_LEDGER_WAIT", "0.3")
    targets = write_targets(tmp_path / "targets.toml", ["obi", "onc"])
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, printed = run_import(lead_file(20), tmp_path / "out", "--ledger", str(ledger), targets=targets)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert code == 4, printed
    results = read_results(only_run(tmp_path / "out"))
    for target in ("obi", "onc"):
        unsent = results.filter((pl.col("target") == target) & (pl.col("status") == "failed"))
        assert unsent.height > 5, target
        assert unsent["reasons"].list.first().unique().to_list() == ["LEDGER_UNAVAILABLE"]
        assert statuses(results, target)["accepted"] == 0
    assert vendors.obi_customers() == [] and vendors.onc_contacts() == []
    assert "LEDGER_UNAVAILABLE" in printed and "Traceback" not in printed


def test_every_import_says_which_ledger_decides_what_was_delivered(history: History) -> None:
    ledger = r"Ledger: \S+/out/ledger\.sqlite"
    assert re.search(
        ledger + r" \(a lead it records as delivered is not sent again\)", history.printed["rerun"]
    )
    assert re.search(ledger + r" \(ignored \(--resend\)\)", history.printed["resend"])
