"""A uContact template (or email ``variables``) naming a column the lead file does not have stops
that target before anything is sent, instead of sending every message with a hole in it.

Real ``leadflow import`` runs, one ``import_leads`` flow run and one watched-folder scan against
the sandbox vendors on 127.0.0.1. What is checked is what the vendors hold (the sandbox's
uploads), the rows' results and the exit code: the refused target uploads nothing and its rows
are ``failed`` ``TARGET_MISCONFIGURED`` with a message naming the placeholder, the other targets
deliver, and the same template on a file that has the column delivers every message filled.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from tests.flows.conftest import Vendors, only_run, read_results, write_targets

pytestmark = pytest.mark.slow

ROWS = 6
NAMES = ("Ana", "Bruno", "Chloe", "Dmitri", "Eve", "Femi")
BALANCE = "Hi {first_name}, your balance on {Account No} is due"
EMAIL = {"template": "Dear {full_name}, thank you.", "dialer": "EmailDialer", "subject": "Balance"}


def lead_csv(path: Path, **extra: list[str]) -> Path:
    """``ROWS`` leads, each with a valid US mobile and an email, plus the ``extra`` columns
    (keyword ``Account_No`` is the header ``Account No``)."""
    frame = pl.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(ROWS)],
            "first_name": list(NAMES),
            "last_name": ["Lee"] * ROWS,
            "mobile": [f"+1415549{7500 + i}" for i in range(ROWS)],
            "email": [f"{name.lower()}@example.org" for name in NAMES],
            "country": ["US"] * ROWS,
            **{header.replace("_", " "): values for header, values in extra.items()},
        }
    )
    frame.write_csv(path)
    return path


def balance_targets(tmp_path: Path, names: Sequence[str] = ("ucontact-sms",)) -> Path:
    """sandbox.targets.toml's ``names``, ucontact-sms's template naming ``{Account No}``
    (:data:`BALANCE`), a column :func:`lead_csv` writes only when asked."""
    return write_targets(
        tmp_path / "targets.toml", list(names), ucontact_sms={"options": {"template": BALANCE}}
    )


def run_import(file: Path, out: Path, targets: Path, *args: str) -> tuple[int, str, pl.DataFrame]:
    printed = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(out), *args]
    code = import_main(argv, console=Console(file=printed, width=200))
    return code, printed.getvalue(), read_results(only_run(out))


def of(results: pl.DataFrame, target: str) -> pl.DataFrame:
    return results.filter(pl.col("target") == target)


def uploads(vendors: Vendors, channel: str) -> list[dict[str, Any]]:
    """Every upload of ``channel`` the sandbox's uContact received, queued or refused."""
    state = vendors.state("ucontact")
    return [u for u in [*state["uploads"], *state["rejected_uploads"]] if u["channel"] == channel]


def assert_refused_unsent(results: pl.DataFrame, target: str) -> str:
    """Every row of ``target`` failed TARGET_MISCONFIGURED without an attempt; their one message."""
    rows = of(results, target)
    assert rows.height == ROWS
    assert set(rows["status"]) == {"failed"}
    assert rows["reasons"].list.first().to_list() == ["TARGET_MISCONFIGURED"] * ROWS
    assert rows["batch_id"].is_null().all() and (rows["attempts"].fill_null(0) == 0).all()
    (message,) = set(rows["vendor_message"])
    assert isinstance(message, str)
    return message


def test_a_template_naming_a_column_the_file_lacks_sends_nothing_to_its_target_until_the_file_has_it(
    vendors: Vendors, tmp_path: Path
) -> None:
    file = lead_csv(tmp_path / "leads.csv", Plan=["gold"] * ROWS)
    targets = balance_targets(tmp_path, ["obi", "ucontact-sms", "ucontact-email"])

    code, printed, results = run_import(file, tmp_path / "out", targets)

    assert code == 4, printed
    message = assert_refused_unsent(results, "ucontact-sms")
    assert message.startswith("ucontact-sms: {Account No} in template names no column of this file")
    assert "The file's own columns: 'Plan'" in message and "Fix options.template" in message
    assert uploads(vendors, "sms") == [] and vendors.ucontact_rows()[0] == []
    assert Counter(of(results, "ucontact-email")["status"]) == {"submitted": ROWS}
    assert len(vendors.ucontact_rows()[1]) == ROWS
    assert Counter(of(results, "obi")["status"]) == {"accepted": ROWS}
    assert len(vendors.obi_customers()) == ROWS
    assert "✗ ucontact-sms: STOPPED, 0 of 6 delivered, 6 failed (TARGET_MISCONFIGURED 6)" in printed
    assert "{Account No} in template names no column" in printed  # the vendor errors table
    assert "Exit code 4" in printed

    # the file given the column: the same template delivers every message filled
    accounts = [f"A{i:04d}" for i in range(ROWS - 1)] + [""]  # the last lead has no account number
    fixed = lead_csv(tmp_path / "fixed.csv", Account_No=accounts, Plan=["gold"] * ROWS)
    code, printed, results = run_import(fixed, tmp_path / "fixed", targets)

    assert code == 0, printed
    assert Counter(of(results, "ucontact-sms")["status"]) == {"submitted": ROWS}
    texts = sorted(row["text"] for row in vendors.ucontact_rows()[0])
    filled = [
        BALANCE.format_map({"first_name": n, "Account No": a}) for n, a in zip(NAMES, accounts, strict=True)
    ]
    assert texts == sorted(filled)
    assert "Hi Femi, your balance on  is due" in texts  # a row's empty value is that row's own


def test_a_misspelt_placeholder_is_refused_naming_the_column_it_could_mean(
    vendors: Vendors, tmp_path: Path
) -> None:
    file = lead_csv(tmp_path / "leads.csv", Account_No=[f"A{i:04d}" for i in range(ROWS)])
    targets = write_targets(
        tmp_path / "targets.toml",
        ["ucontact-sms"],
        ucontact_sms={"options": {"template": BALANCE.replace("Account", "Acount")}},
    )

    code, printed, results = run_import(file, tmp_path / "out", targets)

    assert code == 4, printed
    message = assert_refused_unsent(results, "ucontact-sms")
    assert "{Acount No} in template names no column of this file and no lead field" in message
    assert "(did you mean {Account No}?)" in message
    assert uploads(vendors, "sms") == [] and vendors.state("ucontact")["logins"] == 0


def test_email_variables_naming_a_column_the_file_lacks_stop_the_email_target_until_the_file_has_it(
    vendors: Vendors, tmp_path: Path
) -> None:
    file = lead_csv(tmp_path / "leads.csv", Account_No=[f"A{i:04d}" for i in range(ROWS)])
    targets = write_targets(
        tmp_path / "targets.toml",
        ["ucontact-sms", "ucontact-email"],
        ucontact_email={"options": {**EMAIL, "variables": ["Account No", "Plan"]}},
    )

    code, printed, results = run_import(file, tmp_path / "out", targets)

    assert code == 4, printed
    message = assert_refused_unsent(results, "ucontact-email")
    assert message.startswith('ucontact-email: "Plan" in variables names no column of this file')
    assert "Fix options.variables" in message and "'Account No'" in message
    assert uploads(vendors, "email") == [] and vendors.ucontact_rows()[1] == []
    assert Counter(of(results, "ucontact-sms")["status"]) == {"submitted": ROWS}
    assert len(vendors.ucontact_rows()[0]) == ROWS

    # the file given the column: each email carries the variables with the lead's values
    fixed = lead_csv(
        tmp_path / "fixed.csv", Account_No=[f"A{i:04d}" for i in range(ROWS)], Plan=["gold"] * ROWS
    )
    code, printed, results = run_import(fixed, tmp_path / "fixed", targets)

    assert code == 0, printed
    assert Counter(of(results, "ucontact-email")["status"]) == {"submitted": ROWS}
    sent = {row["email"]: row["variables"] for row in vendors.ucontact_rows()[1]}
    assert sent["ana@example.org"] == {"Account No": "A0000", "Plan": "gold", "ExternalId": "C0"}
    assert len(sent) == ROWS


def test_missing_fields_blank_sends_the_messages_with_the_placeholder_empty_and_warns(
    vendors: Vendors, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = lead_csv(tmp_path / "leads.csv")
    targets = write_targets(
        tmp_path / "targets.toml",
        ["ucontact-sms"],
        ucontact_sms={"options": {"template": BALANCE, "missing_fields": "blank"}},
    )

    with caplog.at_level(logging.WARNING, logger="leadflow"):
        code, printed, results = run_import(file, tmp_path / "out", targets)

    assert code == 0, printed
    assert Counter(of(results, "ucontact-sms")["status"]) == {"submitted": ROWS}
    assert {row["text"] for row in vendors.ucontact_rows()[0]} == {
        f"Hi {name}, your balance on  is due" for name in NAMES
    }
    [warning] = [r.getMessage() for r in caplog.records if "{Account No}" in r.getMessage()]
    assert warning.startswith("ucontact-sms: {Account No} in template names no column")
    assert 'missing_fields = "blank"' in warning


def test_a_dry_run_predicts_the_refusal_and_contacts_no_vendor(vendors: Vendors, tmp_path: Path) -> None:
    file = lead_csv(tmp_path / "leads.csv")
    targets = balance_targets(tmp_path)

    code, printed, results = run_import(file, tmp_path / "out", targets, "--dry-run")

    assert code == 4, printed
    assert_refused_unsent(results, "ucontact-sms")
    assert vendors.state("ucontact")["logins"] == 0 and uploads(vendors, "sms") == []


def test_an_import_leads_flow_run_with_such_a_template_fails_and_the_other_target_delivers(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads, summary_of

    file = lead_csv(tmp_path / "leads.csv")
    targets = balance_targets(tmp_path, ["obi", "ucontact-sms"])

    state = import_leads(str(file), str(targets), out_dir=str(tmp_path / "flow"), return_state=True)

    assert state.is_failed(), state.message
    assert "ucontact-sms stopped: 6 failed (TARGET_MISCONFIGURED 6)" in str(state.message)
    results = read_results(Path(summary_of(state)["run_dir"]))
    assert_refused_unsent(results, "ucontact-sms")
    assert uploads(vendors, "sms") == [] and len(vendors.obi_customers()) == ROWS


@pytest.mark.parametrize("has_rows_to_send", [True, False], ids=["rows to send", "no row to send"])
def test_a_dropped_file_whose_template_names_a_missing_column_waits_for_a_person(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, has_rows_to_send: bool
) -> None:
    from flows.inbox.intake import Layout
    from flows.scan_inbox import scan_inbox

    root = Layout.at(tmp_path / "watched").root
    (lead_csv if has_rows_to_send else nothing_to_text_csv)(root / "inbox" / "leads.csv")
    targets = balance_targets(tmp_path)

    [held] = scan_inbox(str(root), str(targets), settle_seconds=0, retry_delay_seconds=0)

    assert held["verdict"] == "retrying" and Path(held["path"]).parent == root / "retry", held
    note = json.loads(Path(held["note"]).read_text(encoding="utf-8"))
    assert note["next_attempt_epoch"] is None, note
    assert note["what_to_do"].startswith(
        "ucontact-sms: the target's setup was refused (TARGET_MISCONFIGURED)"
    )
    if has_rows_to_send:
        results = pl.read_parquet(Path(held["run_dir"]) / "results" / "**" / "*.parquet")
        assert_refused_unsent(results, "ucontact-sms")
    assert uploads(vendors, "sms") == []


# --- a refused target with no row to send -----------------------------------------------------

NOTHING_TO_TEXT = {
    "customer_id": ["N0", "N1", "N2", "N3"],
    "first_name": ["Gus", "Hana", "Hana", "Ivo"],
    "last_name": ["Lee"] * 4,
    "mobile": ["12", "", "", "not a number"],
    "email": ["", "hana@example.org", "hana@example.org", ""],
    "country": ["US"] * 4,
}
"""Leads none of which a text can go to: no usable channel (rejected), an email only (not
eligible for SMS) and that email again (a duplicate)."""


def nothing_to_text_csv(path: Path, **extra: list[str]) -> Path:
    columns = {**NOTHING_TO_TEXT, **{header.replace("_", " "): values for header, values in extra.items()}}
    pl.DataFrame(columns).write_csv(path)
    return path


def test_a_refused_template_stops_the_run_even_when_its_target_has_no_row_to_send(
    vendors: Vendors, tmp_path: Path
) -> None:
    file = nothing_to_text_csv(tmp_path / "leads.csv", Plan=["gold"] * 4)
    targets = balance_targets(tmp_path)

    code, printed, results = run_import(file, tmp_path / "out", targets)

    assert code == 4, printed
    rows = of(results, "ucontact-sms").sort("source_row")
    assert rows["status"].to_list() == ["rejected", "ineligible", "duplicate", "rejected"]  # their own
    assert (
        "✗ ucontact-sms: STOPPED before sending, no row to send; 4 kept back by our checks; "
        "TARGET_MISCONFIGURED: {Account No} in template names no column of this file"
    ) in printed
    assert "Exit code 4" in printed
    assert uploads(vendors, "sms") == [] and vendors.state("ucontact")["logins"] == 0
    run_dir = only_run(tmp_path / "out")
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    [target] = run["targets"]
    assert target["name"] == "ucontact-sms" and target["stopped"]["reason"] == "TARGET_MISCONFIGURED"
    assert target["stopped"]["message"].startswith("ucontact-sms: {Account No} in template names no column")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["targets"]["ucontact-sms"]["stopped"] == target["stopped"]

    # the same leads with the column the template names: nothing to send, and that is no failure
    fixed = nothing_to_text_csv(tmp_path / "fixed.csv", Account_No=["A1", "A2", "A3", "A4"])
    code, printed, results = run_import(fixed, tmp_path / "fixed", targets)

    assert code == 0, printed
    assert "· ucontact-sms: nothing to send; 4 kept back by our checks" in printed
    run = json.loads((only_run(tmp_path / "fixed") / "run.json").read_text(encoding="utf-8"))
    assert "stopped" not in run["targets"][0]


def test_an_import_leads_flow_run_fails_for_a_refused_template_with_no_row_to_send(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads, summary_of

    file = nothing_to_text_csv(tmp_path / "leads.csv")
    targets = balance_targets(tmp_path, ["obi", "ucontact-sms"])

    state = import_leads(str(file), str(targets), out_dir=str(tmp_path / "flow"), return_state=True)

    assert state.is_failed(), state.message
    assert (
        "ucontact-sms stopped before sending, no row to send; "
        "TARGET_MISCONFIGURED: {Account No} in template names no column"
    ) in str(state.message)
    summary = summary_of(state)
    assert summary["send"]["ucontact-sms"]["stopped"]["reason"] == "TARGET_MISCONFIGURED"
    results = read_results(Path(summary["run_dir"]))
    assert "failed" not in set(of(results, "ucontact-sms")["status"])
    assert uploads(vendors, "sms") == []


def test_a_split_import_fails_for_a_refused_template_with_no_row_to_send(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads, summary_of

    file = nothing_to_text_csv(tmp_path / "leads.csv")
    targets = balance_targets(tmp_path)

    state = import_leads(
        str(file), str(targets), out_dir=str(tmp_path / "split"), partitions=2, return_state=True
    )

    assert state.is_failed(), state.message
    assert "ucontact-sms stopped before sending, no row to send; TARGET_MISCONFIGURED: " in str(state.message)
    run_dir = Path(summary_of(state)["run_dir"])
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert run["targets"][0]["stopped"]["reason"] == "TARGET_MISCONFIGURED"
    assert sorted(read_results(run_dir)["source_row"]) == [1, 2, 3, 4]
    assert uploads(vendors, "sms") == []
