"""The watched folder end to end: the scan-inbox flow under a Prefect test API, importing through
the real ``import_leads`` flow into the sandbox's OBI, and the deployments that schedule it."""

from __future__ import annotations

import inspect
import json
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import yaml  # type: ignore[import-untyped]

from connectors.config import ConfigError
from flows.inbox.intake import Layout
from flows.prepare import prepare_leads
from sandbox.server import SandboxServer
from tests.flows.conftest import write_targets
from transforms.errors import LeadFileError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ROWS = 60

pytestmark = pytest.mark.slow


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Layout.at(tmp_path / "watched").root


@pytest.fixture
def sample_drop(sample_data: Path) -> bytes:
    """The first rows of the US CRM export: a realistic file that imports in seconds."""
    lines = (sample_data / "us_crm_export.csv").read_bytes().splitlines(keepends=True)
    return b"".join(lines[: SAMPLE_ROWS + 1])


@pytest.fixture
def targets(tmp_path: Path, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    sandbox_server.sandbox.reset()
    monkeypatch.setenv("SANDBOX_USER", "demo")
    monkeypatch.setenv("SANDBOX_PASSWORD", "demo-secret")
    path = tmp_path / "targets.toml"
    path.write_text(
        "[targets.obi]\n"
        'kind = "sinch_obi"\n'
        f'base_url = "{sandbox_server.base_url}/obi"\n'
        'campaign = "00000000000000000000000000000001"\n'
        'credentials = { username = "env:SANDBOX_USER", password = "env:SANDBOX_PASSWORD" }\n',
        encoding="utf-8",
    )
    return path


def scan(root: Path, targets: Path | None = None, **options: Any) -> list[dict[str, Any]]:
    from flows.scan_inbox import scan_inbox

    result: list[dict[str, Any]] = scan_inbox(
        str(root), None if targets is None else str(targets), settle_seconds=0, **options
    )
    return result


def latest_artifacts(key: str) -> list[dict[str, Any]]:
    """The newest artifact with ``key``, read over the Prefect API.

    Plain HTTP rather than ``Artifact.get``: that client sends ``null`` for unset filter
    fields, which the API in this environment answers with 422.
    """
    from prefect.settings import PREFECT_API_URL

    body = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1, "offset": 0}
    with httpx.Client(base_url=str(PREFECT_API_URL.value())) as client:
        response = client.post("/artifacts/filter", json=body)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def note_of(done: dict[str, Any]) -> Path:
    return Path(done["note"])


def test_scan_flow_files_an_empty_drop_in_failed_and_lists_it_in_its_table_artifact(
    prefect_harness: None, root: Path
) -> None:
    (root / "inbox" / "empty.csv").write_bytes(b"")

    [done] = scan(root)

    assert done["verdict"] == "failed" and done["problem"] == "it is empty (0 bytes)"
    assert "Problem:     it is empty (0 bytes)" in note_of(done).read_text(encoding="utf-8")
    [artifact] = latest_artifacts("inbox-scan")
    table = json.loads(artifact["data"]) if isinstance(artifact["data"], str) else artifact["data"]
    assert [(row["file"], row["verdict"]) for row in table] == [("empty.csv", "failed")]


def test_scan_flow_refuses_a_wrong_targets_file_before_claiming_anything(
    prefect_harness: None, root: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[targets.obi]\nkind = 'carrier-pigeon'\n", encoding="utf-8")
    (root / "inbox" / "leads.csv").write_bytes(b"phone\n+4930123456\n")

    with pytest.raises(ConfigError, match=r"target 'obi': kind"):
        scan(root, wrong)

    assert [p.name for p in (root / "inbox").iterdir()] == ["leads.csv"]


def test_drop_is_imported_by_the_import_flow_and_archived_beside_its_results(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes
) -> None:
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [done] = scan(root, targets)

    assert done["verdict"] == "imported", done
    assert Path(done["path"]).parent == root / "archive" and Path(done["path"]).read_bytes() == sample_drop
    assert list((root / "inbox").iterdir()) == list((root / "processing").iterdir()) == []
    note = json.loads(note_of(done).read_text(encoding="utf-8"))
    run_dir = Path(note["run_dir"])
    assert note["run_id"] == done["run_id"] and run_dir.parent == root / "runs"
    results = pl.read_parquet(run_dir / "results" / "**" / "*.parquet")
    assert results.height == SAMPLE_ROWS * 1
    assert set(results["target"]) == {"obi"}
    assert set(results["source_row"]) == set(range(1, SAMPLE_ROWS + 1))
    assert "accepted" in set(results["status"])


def _recorded_sources(done: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    run_dir = Path(json.loads(note_of(done).read_text(encoding="utf-8"))["run_dir"])
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    results = pl.read_parquet(run_dir / "results" / "**" / "*.parquet")
    return run, set(results["source_file"])


@pytest.mark.parametrize("with_targets", [True, False], ids=["sent", "validated"])
def test_a_drops_run_records_its_archived_file_and_the_name_it_was_dropped_as(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes, with_targets: bool
) -> None:
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [done] = scan(root, targets if with_targets else None)

    assert done["verdict"] == "imported", done
    run, sources = _recorded_sources(done)
    assert run["source_file"] == done["path"] and Path(run["source_file"]).read_bytes() == sample_drop
    assert sources == {done["path"]}
    assert run["dropped_as"] == str(root / "inbox" / "us_crm_export.csv")


def test_bad_file_goes_to_failed_with_the_reason_the_import_gives(
    prefect_harness: None, root: Path, targets: Path, tmp_path: Path
) -> None:
    content = b"colour;size\nred;3\nblue;4\n"
    (root / "inbox" / "inventory.csv").write_bytes(content)
    reference = tmp_path / "inventory.csv"
    reference.write_bytes(content)
    with pytest.raises(LeadFileError) as expected:
        prepare_leads(reference)

    [done] = scan(root, targets)

    assert done["verdict"] == "failed" and Path(done["path"]).parent == root / "failed"
    text = note_of(done).read_text(encoding="utf-8")
    assert f"Problem:     {expected.value.problem}" in text
    assert f"What to do:  {expected.value.fix}" in text
    assert "Traceback" not in text


def test_same_content_dropped_again_is_a_duplicate_drop_with_no_second_run(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes
) -> None:
    (root / "inbox" / "monday.csv").write_bytes(sample_drop)
    [first] = scan(root, targets)
    (root / "inbox" / "monday (1).csv").write_bytes(sample_drop)

    [second] = scan(root, targets)

    assert (first["verdict"], second["verdict"]) == ("imported", "duplicate-drop")
    note = json.loads(note_of(second).read_text(encoding="utf-8"))
    assert note["duplicate_of"]["run_id"] == first["run_id"]
    assert [p.name for p in (root / "runs").iterdir() if p.is_dir()] == [first["run_id"]]


def test_two_concurrent_scanners_never_import_a_file_or_a_content_twice(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes
) -> None:
    # Other leads (other ids), so that the two contents' imports never hold the same leads: two
    # runs sending one lead at once is the ledger's business (IN_PROGRESS_ELSEWHERE), not this test's.
    other = sample_drop.replace(b"Lead,", b"Customer,").replace(b"\nC1", b"\nD1")
    for name, data in [
        ("a.csv", sample_drop),
        ("b.csv", other),
        ("a-copy.csv", sample_drop),
        ("c.csv", other),
    ]:
        (root / "inbox" / name).write_bytes(data)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def scanner() -> None:
        finished = scan(root, targets)
        with lock:
            results.extend(finished)

    threads = [threading.Thread(target=scanner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    verdicts = sorted(done["verdict"] for done in results)
    assert verdicts == ["duplicate-drop", "duplicate-drop", "imported", "imported"]
    runs = [p for p in (root / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 2


def _flow_parameters(entrypoint: str) -> set[str]:
    from prefect.flows import Flow, load_flow_from_entrypoint

    loaded: object = load_flow_from_entrypoint(str(REPO_ROOT / entrypoint))
    assert isinstance(loaded, Flow)
    return set(inspect.signature(loaded.fn).parameters)


def test_prefect_yaml_deploys_real_flows_with_parameters_they_accept() -> None:
    document = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in document["deployments"]}

    assert set(deployments) == {"nightly-import", "watched-folder-scan", "import-partition"}
    for name, deployment in deployments.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        assert set(deployment.get("parameters") or {}) <= _flow_parameters(deployment["entrypoint"]), name
        # a partition runs when a split import asks for it, never on a schedule of its own
        assert bool(deployment.get("schedules")) is (name != "import-partition"), name
    assert "cron" in deployments["nightly-import"]["schedules"][0]
    assert "interval" in deployments["watched-folder-scan"]["schedules"][0]
    assert deployments["watched-folder-scan"]["parameters"]["root"]


def test_serve_builds_the_scan_and_the_nightly_import_deployments(tmp_path: Path) -> None:
    from flows.commands.serve import ServePlan, deployments
    from flows.settings import ImportSettings

    plan = ServePlan(
        root=tmp_path / "watched",
        settings=ImportSettings(targets_file="t.toml"),
        scan_every=15,
        drop_file="/drop/x.csv",
    )

    scan_deployment, nightly = deployments(plan)

    assert (scan_deployment.name, nightly.name) == ("watched-folder-scan", "nightly-import")
    assert scan_deployment.parameters["root"] == str(tmp_path / "watched")
    assert scan_deployment.parameters["out_dir"] == str(tmp_path / "watched" / "runs")
    scan_schedule: Any = (scan_deployment.schedules or [])[0].schedule
    nightly_schedule: Any = (nightly.schedules or [])[0].schedule
    assert scan_schedule.interval.total_seconds() == 15
    assert nightly.parameters["path"] == "/drop/x.csv"
    assert nightly_schedule.cron == "0 2 * * *"


# --- a vendor that is down: the file is retried, never filed as imported -------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def targets_down(targets: Path, tmp_path: Path) -> Path:
    """The same OBI target, at a port nobody listens on (the vendor is down): its breaker opens
    after two batches of ten failed."""
    down = tmp_path / "targets-down.toml"
    text = targets.read_text(encoding="utf-8")
    base = re.search(r'base_url = "([^"]+)"', text)
    assert base is not None
    down.write_text(
        text.replace(base.group(1), f"http://127.0.0.1:{_closed_port()}/obi")
        + "chunk_size = 10\nretry = { attempts = 2, backoff = 0, breaker_failures = 2 }\n",
        encoding="utf-8",
    )
    return down


def test_a_drop_meeting_a_vendor_that_is_down_waits_in_retry_and_is_sent_once_it_is_back(
    prefect_harness: None,
    root: Path,
    targets: Path,
    targets_down: Path,
    sample_drop: bytes,
    sandbox_server: SandboxServer,
) -> None:
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [first] = scan(root, targets_down, retry_delay_seconds=0)

    assert first["verdict"] == "retrying", first
    assert Path(first["path"]).parent == root / "retry" and list((root / "archive").iterdir()) == []
    assert "obi" in first["problem"] and "TRANSPORT_FAILED" in first["problem"]
    assert "TARGET_STOPPED" in first["problem"] and "TARGET_MISCONFIGURED" not in first["problem"]
    note = json.loads(Path(first["note"]).read_text(encoding="utf-8"))
    assert note["next_attempt_epoch"] is not None and note["what_to_do"].startswith("Nothing"), note
    failed_run = pl.read_parquet(Path(first["run_dir"]) / "results" / "**" / "*.parquet")
    assert "failed" in set(failed_run["status"]) and "accepted" not in set(failed_run["status"])

    [second] = scan(root, targets, retry_delay_seconds=0)

    assert second["verdict"] == "imported", second
    assert list((root / "retry").iterdir()) == []
    results = pl.read_parquet(Path(second["run_dir"]) / "results" / "**" / "*.parquet")
    accepted = results.filter(pl.col("status") == "accepted")
    assert accepted.height > 10 and "failed" not in set(results["status"])
    obi = sandbox_server.sandbox.state()["vendors"]["sinch_obi"]
    held = [c["externalId"] for c in obi["campaigns"]["00000000000000000000000000000001"]["customers"]]
    assert sorted(held) == sorted(accepted["external_id"])


def test_a_drop_meeting_an_unknown_campaign_is_recorded_misconfigured_and_waits_for_a_person(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes, tmp_path: Path
) -> None:
    """OBI answers 404 for a campaign it does not have: the rows say TARGET_MISCONFIGURED (not the
    breaker's TARGET_STOPPED), and the file waits in retry/ with no automatic attempt and a note
    saying to fix the target's settings."""
    wrong = tmp_path / "targets-wrong-campaign.toml"
    wrong.write_text(targets.read_text(encoding="utf-8").replace("0" * 31 + "1", "F" * 32), encoding="utf-8")
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [held] = scan(root, wrong, retry_delay_seconds=0)

    assert held["verdict"] == "retrying" and Path(held["path"]).parent == root / "retry", held
    assert "TARGET_MISCONFIGURED" in held["problem"] and "TARGET_STOPPED" not in held["problem"]
    note = json.loads(Path(held["note"]).read_text(encoding="utf-8"))
    assert note["next_attempt_at"] is None and note["next_attempt_epoch"] is None
    assert note["what_to_do"].startswith(
        "obi: the target's setup was refused (TARGET_MISCONFIGURED): "
        "fix the target's campaign or settings in the targets file"
    ), note
    results = pl.read_parquet(Path(held["run_dir"]) / "results" / "**" / "*.parquet")
    failed = results.filter(pl.col("status") == "failed")
    assert failed.height > 10
    assert failed["reasons"].list.first().unique().to_list() == ["TARGET_MISCONFIGURED"]
    assert scan(root, wrong, retry_delay_seconds=0) == []  # no automatic attempt, however long


def test_a_drop_whose_target_stopped_because_the_vendor_was_unreachable_before_any_send_is_retried(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes, tmp_path: Path
) -> None:
    """MaxContact unreachable while its list is prepared stops the target before any row is sent
    (TARGET_STOPPED and nothing else): that passes with time, so the file is retried by itself;
    it was held for a person while the hold was inferred from the absence of transport failures."""
    down = write_targets(
        tmp_path / "targets-maxcontact-down.toml",
        ["maxcontact"],
        maxcontact={
            "base_url": f"http://127.0.0.1:{_closed_port()}/maxcontact",
            "retry": {"attempts": 2, "backoff": 0, "breaker_failures": 2},
        },
    )
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [first] = scan(root, down, retry_delay_seconds=3600)

    assert first["verdict"] == "retrying" and Path(first["path"]).parent == root / "retry", first
    assert "maxcontact" in first["problem"] and "TARGET_STOPPED" in first["problem"], first
    assert "TRANSPORT_FAILED" not in first["problem"]
    note = json.loads(Path(first["note"]).read_text(encoding="utf-8"))
    assert note["next_attempt_epoch"] is not None and note["what_to_do"].startswith("Nothing"), note


def test_a_drop_still_unsent_after_its_attempts_goes_to_failed_and_may_be_dropped_again(
    prefect_harness: None, root: Path, targets: Path, targets_down: Path, sample_drop: bytes
) -> None:
    (root / "inbox" / "monday.csv").write_bytes(sample_drop)

    [failed] = scan(root, targets_down, retry_attempts=1)

    assert failed["verdict"] == "failed" and Path(failed["path"]).parent == root / "failed"
    text = note_of(failed).read_text(encoding="utf-8")
    assert "Problem:     rows still failed to send after 1 attempt(s): not everything was sent: obi" in text
    assert "drop the file again" in text and f"Run folder:  {failed['run_dir']}" in text

    (root / "inbox" / "monday.csv").write_bytes(sample_drop)
    [again] = scan(root, targets, retry_attempts=1)

    assert again["verdict"] == "imported", again


def test_a_drop_meeting_a_refused_login_waits_in_retry_for_a_person_and_is_sent_once_moved_back(
    prefect_harness: None,
    root: Path,
    targets: Path,
    sample_drop: bytes,
    sandbox_server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waiting does not fix a wrong password (the watcher keeps its environment): no automatic
    attempt, a note naming the credential references to fix; moved back into inbox/, it is sent."""
    monkeypatch.setenv("SANDBOX_PASSWORD", "not-the-password")
    (root / "inbox" / "us_crm_export.csv").write_bytes(sample_drop)

    [held] = scan(root, targets, retry_delay_seconds=0)

    assert held["verdict"] == "retrying" and Path(held["path"]).parent == root / "retry", held
    assert "obi" in held["problem"] and "AUTH_FAILED" in held["problem"]
    note = json.loads(Path(held["note"]).read_text(encoding="utf-8"))
    assert note["next_attempt_at"] is None and note["next_attempt_epoch"] is None
    what_to_do = note["what_to_do"]
    assert what_to_do.startswith("obi: the vendor refused our login: fix the values behind ")
    assert (
        "credentials.username (env:SANDBOX_USER), credentials.password (env:SANDBOX_PASSWORD)" in what_to_do
    )
    assert "restart the watcher" in what_to_do and "move the file back into inbox/" in what_to_do
    assert "Nothing" not in what_to_do and "not-the-password" not in json.dumps(note)
    assert scan(root, targets, retry_delay_seconds=0) == []  # no automatic attempt, however long

    monkeypatch.setenv("SANDBOX_PASSWORD", "demo-secret")
    waiting = Path(held["path"])
    waiting.rename(root / "inbox" / waiting.name)
    (root / "inbox" / f"{waiting.name}.ready").touch()
    [sent] = scan(root, targets, retry_delay_seconds=0)

    assert sent["verdict"] == "imported", sent
    assert [p for p in (root / "retry").iterdir() if not p.name.endswith(".retry.json")] == []
    results = pl.read_parquet(Path(sent["run_dir"]) / "results" / "**" / "*.parquet")
    assert results.filter(pl.col("status") == "accepted").height > 10


# --- what the Prefect UI lists: scans named after what they did, empty scans not piling up -------


def flow_run_names(**flow_run_filter: Any) -> dict[str, str]:
    """Flow run id -> name of the runs the API's flow run filter finds, posted with only the fields
    given (the client's ``read_flow_runs`` would send the other filters as nulls)."""
    from prefect.client.orchestration import get_client

    body = {"flow_runs": flow_run_filter, "limit": 200, "offset": 0, "sort": "EXPECTED_START_TIME_DESC"}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/flow_runs/filter", json=body)
    response.raise_for_status()
    return {run["id"]: run["name"] for run in response.json()}


def scan_run(root: Path, targets: Path | None = None) -> str:
    """One scan of ``root``; the id of its flow run."""
    from flows.scan_inbox import scan_inbox

    state = scan_inbox(
        str(root), None if targets is None else str(targets), settle_seconds=0, return_state=True
    )
    assert state.is_completed(), state
    return str(state.state_details.flow_run_id)


def test_a_scan_that_imported_a_file_is_named_after_it_and_its_import_run_after_the_file_and_target(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes
) -> None:
    (root / "inbox" / "tuesday.csv").write_bytes(sample_drop)

    scan_id = scan_run(root, targets)

    assert flow_run_names(id={"any_": [scan_id]}) == {scan_id: "scan: 1 imported"}
    [import_name] = flow_run_names(parent_flow_run_id={"any_": [scan_id]}).values()
    assert re.fullmatch(r"tuesday\.csv → obi · \d{4}-\d\d-\d\d \d\d:\d\d · [0-9a-f]{6}", import_name), (
        import_name
    )


def test_empty_scans_are_named_so_and_only_the_newest_ten_are_kept_beside_the_scans_that_did_work(
    prefect_harness: None, root: Path, targets: Path, sample_drop: bytes
) -> None:
    keep = 10  # flows.inbox.scan_history.KEEP_EMPTY, as the README promises

    (root / "inbox" / "wednesday.csv").write_bytes(sample_drop)
    working = scan_run(root, targets)
    empty = [scan_run(root, targets) for _ in range(keep + 3)]

    assert flow_run_names(id={"any_": [working]}) == {working: "scan: 1 imported"}
    left = flow_run_names(name={"any_": ["scan: empty"]}, deployment_id={"is_null_": True})
    assert len(left) == keep
    assert set(left) == set(empty[-keep:])
