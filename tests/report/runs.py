"""Realistic run folders for the report tests, in the layout the run writer produces.

Result frames are validated against schemas.results.RESULTS_SCHEMA before they are written,
so the report is tested against the contract, not against what it happens to accept.
Some leads carry hostile values (markup, script, spreadsheet formulas) on purpose.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from schemas.codes import Issue, Status
from schemas.results import RESULTS, RESULTS_SCHEMA

RUN_ID = "20261124T012233Z-ab12cd"
SOURCE_FILE = "leads_november.csv"
FINGERPRINT = "9f2c1e0b7a4d3c2b1a09f8e7d6c5b4a39f2c1e0b7a4d3c2b1a09f8e7d6c5b4a3"
TARGETS: tuple[tuple[str, str], ...] = (
    ("obi_main", "sinch_obi"),
    ("engage_eu", "engage"),
    ("sms_promo", "ucontact_sms"),
    ("mail_promo", "ucontact_email"),
)

PWNED_TITLE = "pwned"
XSS_SCRIPT = (
    "<script>document.title='pwned';"
    "document.body.insertAdjacentHTML('beforeend','<p id=\"pwned\">injected</p>')</script>"
)
XSS_IMG = "<img src=x onerror=\"document.title='pwned'\">"
FORMULA = '=HYPERLINK("http://evil.example/x","click me")'
HOSTILE_VENDOR_MESSAGE = "<b>Invalid</b> number & [red]rich markup[/red] </td></tr><tr><td>forged"

_SENT_AT = datetime(2026, 11, 24, 1, 23, 40, tzinfo=UTC)
_COUNTRIES = ("DE", "DE", "FR", "ES", None)
_FIRST_NAMES = ("Anna", "Jürgen", "Élodie", "Carlos", "Mia", "Noah", "Zoë", "Lukas")
_LAST_NAMES = ("Schmidt", "Müller", "Dubois", "García", "Weber", "Meyer", "Fischer", "Wagner")


def result_row(**fields: Any) -> dict[str, Any]:
    """One result row with every column of the contract; ``fields`` override the defaults."""
    row: dict[str, Any] = dict.fromkeys(RESULTS)
    row.update(
        run_id=RUN_ID,
        source_file=SOURCE_FILE,
        source_row=1,
        external_id="ext-1",
        target="obi_main",
        status=Status.ACCEPTED.value,
        reasons=[],
        attempts=1,
    )
    row.update(fields)
    return row


def status_rows(statuses: list[list[str]], targets: list[str]) -> list[dict[str, Any]]:
    """Result rows of leads 1, 2, ...: lead ``n``'s statuses are ``statuses[n - 1]``, one per
    target in ``targets`` order (a lead may have fewer results than there are targets)."""
    return [
        result_row(source_row=row, target=targets[index], status=status, external_id=f"e{row}")
        for row, per_target in enumerate(statuses, start=1)
        for index, status in enumerate(per_target)
    ]


def lead_targets(rows: int, size: int) -> st.SearchStrategy[list[tuple[int, str]]]:
    """Distinct (source_row, target) pairs, source rows 1 to ``rows``, at most ``size`` pairs:
    the results of a run drawn lead by lead, a lead with any of three targets."""
    return st.lists(
        st.tuples(st.integers(1, rows), st.sampled_from(("obi", "onc", "engage"))),
        min_size=1,
        max_size=size,
        unique=True,
    )


def results_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame that passes RESULTS_SCHEMA (raises if a test built an invalid one)."""
    frame = pl.DataFrame(rows, schema=RESULTS, orient="row") if rows else pl.DataFrame(schema=RESULTS)
    return RESULTS_SCHEMA.validate(frame)


def _lead(row: int) -> dict[str, Any]:
    mobile = row % 3 != 0
    return {
        "external_id": f"ext-{row:04d}",
        "first_name": _FIRST_NAMES[row % len(_FIRST_NAMES)],
        "last_name": _LAST_NAMES[row % len(_LAST_NAMES)],
        "phone1": f"+4915{row:08d}" if mobile else f"+4930{row:08d}",
        "phone1_type": "mobile" if mobile else "fixed_line",
        "phone2": f"+4989{row:08d}" if row % 4 == 0 else None,
        "phone2_type": "fixed_line" if row % 4 == 0 else None,
        "email": f"lead{row}@example.com" if row % 5 != 2 else None,
        "country": _COUNTRIES[row % len(_COUNTRIES)],
        "timezone": "Europe/Berlin",
    }


def _hostile(lead: dict[str, Any], row: int) -> dict[str, Any]:
    if row == 3:
        lead["first_name"] = XSS_SCRIPT
    elif row == 13:
        lead["last_name"] = XSS_IMG
    elif row == 23:
        lead["last_name"] = FORMULA
    return lead


def _outcome(row: int, target: str, kind: str, lead: dict[str, Any]) -> dict[str, Any]:
    if row % 10 == 3:
        reasons = [Issue.PHONE_INVALID.value, Issue.NO_CHANNEL.value]
        return {"status": Status.REJECTED.value, "reasons": reasons}
    if row % 10 == 7:
        return {
            "status": Status.DUPLICATE.value,
            "reasons": [Issue.DUPLICATE_PHONE.value],
            "duplicate_of": row - 1,
        }
    if row == 12:
        return {"status": Status.SUPPRESSED.value, "reasons": [Issue.SUPPRESSED_PHONE.value]}
    if kind == "ucontact_sms":
        if lead["phone1_type"] != "mobile":
            return {"status": Status.INELIGIBLE.value, "reasons": [Issue.NEEDS_MOBILE.value]}
        return {"status": Status.SUBMITTED.value, "batch_id": "sms-file-1", "vendor_status": "1"}
    if kind == "ucontact_email":
        if lead["email"] is None:
            return {"status": Status.INELIGIBLE.value, "reasons": [Issue.NEEDS_EMAIL.value]}
        return {"status": Status.SUBMITTED.value, "batch_id": "mail-file-1", "vendor_status": "1"}
    if kind == "sinch_obi" and row % 9 == 5:
        message = HOSTILE_VENDOR_MESSAGE if row == 14 else "Invalid phone number format"
        return {
            "status": Status.VENDOR_REJECTED.value,
            "reasons": [Issue.VENDOR_REJECTED.value],
            "vendor_status": "400",
            "vendor_message": message,
        }
    if kind == "engage" and row % 11 == 4:
        return {
            "status": Status.FAILED.value,
            "reasons": [Issue.TRANSPORT_FAILED.value],
            "vendor_status": "503",
            "vendor_message": "Service Unavailable",
            "attempts": 4,
        }
    return {"status": Status.ACCEPTED.value, "vendor_id": f"{target}-{row}", "batch_id": f"{target}-b1"}


def build_results(
    run_id: str = RUN_ID, rows: int = 40, targets: tuple[tuple[str, str], ...] = TARGETS
) -> pl.DataFrame:
    """A validated result frame: ``rows`` input rows times ``targets``, every status family present."""
    records = []
    for row in range(1, rows + 1):
        lead = _hostile(_lead(row), row)
        for target, kind in targets:
            outcome = _outcome(row, target, kind, lead)
            sent = outcome["status"] in (Status.ACCEPTED, Status.SUBMITTED, Status.VENDOR_REJECTED)
            fields = {"sent_at": _SENT_AT if sent else None, "attempts": 1 if sent else 0, **lead, **outcome}
            records.append(result_row(run_id=run_id, source_row=row, target=target, **fields))
    return results_frame(records)


def run_meta(run_id: str = RUN_ID, rows: int = 40, dry_run: bool = False) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "source_file": SOURCE_FILE,
        "fingerprint": FINGERPRINT,
        "started_at": "2026-11-24T01:22:33Z",
        "finished_at": "2026-11-24T01:24:02Z",
        "dry_run": dry_run,
        "default_country": "DE",
        "mapping": {"first_name": "Vorname", "last_name": "Nachname", "phone1": "Mobile", "email": "E-Mail"},
        "unmapped": ["Kampagne", "<i>Notiz</i>"],
        "targets": [{"name": name, "kind": kind} for name, kind in TARGETS],
        "rows": rows,
    }


def write_results(results: pl.DataFrame, results_dir: Path) -> None:
    """Hive-partitioned by target, the target column kept inside each file."""
    for (target,), part in results.partition_by("target", as_dict=True).items():
        folder = results_dir / f"target={target}"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / "part-0.parquet")


def write_run(
    out: Path,
    run_id: str = RUN_ID,
    results: pl.DataFrame | None = None,
    meta: dict[str, Any] | None = None,
    rows: int = 40,
) -> Path:
    """``<out>/<run_id>/`` with results and run.json; returns the run folder."""
    run_dir = out / run_id
    frame = build_results(run_id, rows) if results is None else results
    write_results(frame, run_dir / "results")
    (run_dir / "run.json").write_text(json.dumps(meta or run_meta(run_id, rows)), encoding="utf-8")
    return run_dir
