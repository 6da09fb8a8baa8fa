"""One settings model for ``leadflow watch``, ``leadflow serve`` and the deployments (issue 16.6).

The scheduled path used to drop the watcher's ``--suppress``, ``--country``, ``--mapping`` and
``--target``: a file dropped for the served scan was imported with no do-not-contact list and
its national numbers unread. Here ``leadflow serve``'s own argument parsing builds the real
deployments, and the scan deployment's stored parameters run the real ``scan-inbox`` flow on a
dropped file: the list must suppress, the country must read the national numbers, and run.json
must say which list was applied (path, entries, sha256, modification time).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.inbox.intake import Layout
from flows.settings import ImportSettings

pytestmark = pytest.mark.slow

LEADS = (
    "First Name,Last Name,Phone Number,Email\n"
    "Anna,Schmidt,030 12345678,anna@example.de\n"  # on the list, written nationally there too
    "Ben,Weber,0151 23456789,ben@example.de\n"  # national mobile: E.164 only with the country
    "Clara,Fischer,0170 9876543,clara@example.de\n"  # her email is on the list
)
DO_NOT_CONTACT = "030 1234 5678\nCLARA@example.de\n+49 89 111111\n"


@pytest.fixture
def dropped(tmp_path: Path) -> tuple[Path, Path]:
    root = Layout.at(tmp_path / "watched").root
    (Layout.at(root).inbox / "kunden.csv").write_text(LEADS, encoding="utf-8")
    listed = tmp_path / "do-not-contact.csv"
    listed.write_text(DO_NOT_CONTACT, encoding="utf-8")
    return root, listed


def test_serve_gives_its_deployments_the_watchers_import_options(tmp_path: Path) -> None:
    from flows.commands.serve import deployments, serve_plan

    plan = serve_plan(
        [
            str(tmp_path / "watched"),
            "--targets",
            "t.toml",
            "--target",
            "obi",
            "--target",
            "onc",
            "--country",
            "DE",
            "--mapping",
            "m.toml",
            "--suppress",
            "a.csv",
            "--suppress",
            "b.csv",
            "--drop",
            "/drop/x.csv",
            "--compliance",
            "us-tcpa",
            "--encoding",
            "cp1250",
        ]
    )

    for deployment in deployments(plan):
        parameters = deployment.parameters
        assert parameters["target_names"] == ["obi", "onc"], deployment.name
        assert parameters["country"] == "DE", deployment.name
        assert parameters["mapping"] == "m.toml", deployment.name
        assert parameters["suppress"] == ["a.csv", "b.csv"], deployment.name
        assert parameters["compliance"] == "us-tcpa", deployment.name
        assert parameters["encoding"] == "cp1250", deployment.name
        assert parameters["out_dir"] == str(tmp_path / "watched" / "runs"), deployment.name
        json.dumps(parameters)  # what a deployment stores: JSON only


def test_the_flows_accept_the_import_settings_as_parameters() -> None:
    from flows.import_leads import import_leads
    from flows.scan_inbox import scan_inbox

    settings = ImportSettings.of(
        targets_file="t.toml",
        target_names=["obi"],
        country="DE",
        mapping="m.toml",
        suppress=["a.csv"],
        compliance="uk",
        encoding="cp1250",
    ).with_out_dir("/runs")

    for flow, extra in ((import_leads, {"path": "x.csv"}), (scan_inbox, {"root": "/watched"})):
        given = {**extra, **settings.flow_parameters()}
        validated = flow.validate_parameters(given)
        assert {name: validated[name] for name in given} == given, flow.name


def test_a_ledger_url_with_a_password_is_never_made_a_parameter() -> None:
    with pytest.raises(ValueError, match="PGPASSWORD"):
        ImportSettings(ledger="postgresql://leadflow:s3cret@db/leadflow")
    assert ImportSettings(ledger="postgresql://leadflow@db/leadflow").flow_parameters()["ledger"]


def test_serve_refuses_a_ledger_url_with_a_password_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.commands.serve import main

    code = main([str(tmp_path), "--ledger", "postgresql://leadflow:s3cret@db/leadflow"])

    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith("Error: ") and error.count("\n") == 1
    assert "s3cret" not in error


def test_served_scan_imports_a_drop_with_the_suppression_list_and_country_and_records_the_list(
    prefect_harness: None, dropped: tuple[Path, Path]
) -> None:
    from flows.commands.serve import deployments, serve_plan
    from flows.scan_inbox import scan_inbox

    root, listed = dropped
    plan = serve_plan([str(root), "--country", "DE", "--suppress", str(listed), "--settle", "0"])
    parameters: dict[str, Any] = dict(deployments(plan)[0].parameters)

    finished = scan_inbox(**parameters)

    assert [done["verdict"] for done in finished] == ["imported"], finished
    run_dirs = [path for path in (root / "runs").iterdir() if (path / "run.json").exists()]
    assert len(run_dirs) == 1
    results = pl.read_parquet(run_dirs[0] / "results" / "target=validate" / "part-0.parquet")
    by_name = {row["first_name"]: row for row in results.iter_rows(named=True)}
    assert by_name["Anna"]["status"] == "suppressed"
    assert by_name["Clara"]["status"] == "suppressed"
    assert by_name["Ben"]["status"] != "suppressed"
    assert by_name["Ben"]["phone1"] == "+4915123456789"

    run = json.loads((run_dirs[0] / "run.json").read_text(encoding="utf-8"))
    assert run["default_country"] == "DE"
    [applied] = run["suppression_lists"]
    assert applied["path"] == str(listed.absolute())
    assert (applied["entries"], applied["phones"], applied["emails"]) == (3, 2, 1)
    assert applied["sha256"] == hashlib.sha256(listed.read_bytes()).hexdigest()
    modified = datetime.fromtimestamp(listed.stat().st_mtime, UTC).isoformat(timespec="seconds")
    assert applied["modified_at"] == modified
