"""The ``import_leads`` Prefect flow under a temporary Prefect API: the whole job and what it publishes.

One run imports the head of the partner feed sample (with its column mapping) into all six sandbox
targets; its artifacts are read back through the Prefect client, as the UI would show them. A bad
file fails the flow with the one-line LeadFileError message, not a traceback.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import Artifact, State
from prefect.client.schemas.objects import FlowRun as PrefectFlowRun
from prefect.logging.handlers import APILogHandler

from flows.verdict import SendIncomplete
from sandbox.server import SandboxServer
from tests.conftest import SAMPLE_DATA
from tests.flows.conftest import DEMO_CREDENTIALS, SANDBOX_TARGETS, Vendors, read_results, write_targets
from transforms.ingest import read_lead_file

pytestmark = pytest.mark.slow

HEAD = 50
TARGETS = ("obi", "engage", "ucontact-sms", "ucontact-email", "onc", "maxcontact")


@dataclass
class FlowRun:
    state: State[Any]
    summary: dict[str, Any]
    results: pl.DataFrame
    held: dict[str, int]
    artifacts: dict[str, Artifact]
    rows: int


def artifacts_of(flow_run_id: UUID) -> dict[str, Artifact]:
    """The flow run's artifacts by key, from the API's artifact filter. Posted directly: an empty
    task-run filter would drop the flow-level artifacts (and under FastAPI 0.151+, which
    pyproject now excludes, the nulls ``read_artifacts`` sends for the filters left out got a 422)."""
    body = {
        "artifacts": ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])).model_dump(
            mode="json", exclude_unset=True
        ),
        "limit": 100,
        "offset": 0,
        "sort": "CREATED_DESC",
    }
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    response.raise_for_status()
    return {a.key: a for a in Artifact.model_validate_list(response.json()) if a.key}


@pytest.fixture(scope="module")
def flow_run(
    prefect_harness: None, sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlowRun]:
    from flows.import_leads import import_leads, summary_of

    folder = tmp_path_factory.mktemp("flow")
    file = folder / "partner_feed.tsv"
    lines = (SAMPLE_DATA / "partner_feed.tsv").read_bytes().splitlines(keepends=True)
    file.write_bytes(b"".join(lines[: HEAD + 1]))
    view = Vendors(sandbox_server)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEMO_CREDENTIALS, "LEADFLOW_SANDBOX_URL": sandbox_server.base_url}.items():
            patch.setenv(name, value)
        patch.delenv("LEADFLOW_LEDGER", raising=False)
        view.reset()
        state = import_leads(
            str(file),
            str(SANDBOX_TARGETS),
            out_dir=str(folder / "out"),
            mapping=str(SAMPLE_DATA / "partner_feed.mapping.toml"),
            return_state=True,
        )
        summary = summary_of(state)
        held = view.held()
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    results = read_results(Path(summary["run_dir"]))
    rows = read_lead_file(file).frame.height
    yield FlowRun(state, summary, results, held, artifacts_of(flow_run_id), rows)
    view.reset()


def test_the_flow_returns_one_result_per_row_and_target(flow_run: FlowRun) -> None:
    rows = flow_run.rows
    assert flow_run.summary["rows"] == rows > 40
    assert flow_run.results.height == rows * len(TARGETS)
    assert Counter(flow_run.results["target"]) == dict.fromkeys(TARGETS, rows)
    run_dir = Path(flow_run.summary["run_dir"])
    assert json.loads((run_dir / "summary.json").read_text())["results"] == rows * len(TARGETS)


def test_each_vendor_holds_what_the_flow_reports_delivered(flow_run: FlowRun) -> None:
    delivered = flow_run.results.filter(pl.col("status").is_in(["accepted", "submitted"]))
    assert flow_run.held == dict(Counter(delivered["target"]))
    assert not {"failed", "vendor_rejected"} & set(flow_run.results["status"])


def markdown_table(text: str) -> list[dict[str, str]]:
    """The first pipe table of a markdown text, as rows of header -> cell (markdown escapes undone)."""
    all_lines = text.splitlines()
    first = next(i for i, line in enumerate(all_lines) if line.startswith("|"))
    lines = list(itertools.takewhile(lambda line: line.startswith("|"), all_lines[first:]))
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(
            zip(header, (cell.strip().replace("\\", "") for cell in line.strip("|").split("|")), strict=True)
        )
        for line in lines[2:]
    ]


def test_the_summary_artifact_counts_each_targets_statuses(flow_run: FlowRun) -> None:
    markdown = flow_run.artifacts["import-summary"]
    assert markdown.type == "markdown" and isinstance(markdown.data, str)
    shown = md_unescape(markdown.data)
    assert "partner_feed.tsv" in shown
    assert "## Verdict: exit code 0" in shown and "- obi: sent, " in shown
    table = {row["target"]: row for row in markdown_table(markdown.data)}
    assert sorted(table) == sorted(TARGETS)
    for target, row in table.items():
        counts = Counter(flow_run.results.filter(pl.col("target") == target)["status"])
        assert {s: int(n.replace(",", "")) for s, n in row.items() if s not in ("target", "total")} == {
            s: counts[s] for s in row if s not in ("target", "total")
        }
        assert int(row["total"]) == flow_run.rows


def md_unescape(text: str) -> str:
    """What the UI's markdown renderer shows of an escaped cell."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def test_the_summary_counts_leads_once_and_previews_those_needing_attention(flow_run: FlowRun) -> None:
    markdown = flow_run.artifacts["import-summary"]
    assert isinstance(markdown.data, str)
    assert f"## {flow_run.rows:,} leads" in markdown.data
    attention = flow_run.results.filter(pl.col("status").is_in(["failed", "vendor_rejected", "rejected"]))
    leads = attention["source_row"].n_unique()
    assert f"**{leads:,} need attention**" in markdown.data
    assert "## Leads needing attention" in markdown.data


def test_the_attention_table_lists_each_lead_someone_must_act_on_once(flow_run: FlowRun) -> None:
    table = flow_run.artifacts["rows-needing-attention"]
    assert table.type == "table" and isinstance(table.data, str)
    rows = json.loads(table.data)
    expected = flow_run.results.filter(pl.col("status").is_in(["failed", "vendor_rejected", "rejected"]))
    assert expected.height > 0
    assert [r["source_row"] for r in rows] == sorted(set(expected["source_row"]))
    status_at = {
        (row, target): status
        for row, target, status in flow_run.results.select("source_row", "target", "status").iter_rows()
    }
    for row in rows:
        assert {t: md_unescape(row[t]) for t in TARGETS} == {
            t: status_at[row["source_row"], t] for t in TARGETS
        }
    assert table.description is not None and f"{len(rows):,} leads need attention" in table.description


def test_each_target_has_a_finished_progress_artifact(flow_run: FlowRun) -> None:
    for target in TARGETS:
        progress = flow_run.artifacts[f"send-{target}"]
        assert progress.type == "progress"
        assert progress.data == 100.0


def test_no_artifact_links_a_file_url_when_the_run_folders_are_not_served(flow_run: FlowRun) -> None:
    """A browser opens no ``file://`` link from the Prefect UI: unserved, the artifacts carry
    the report's content and name the folder as text."""
    assert "import-report" not in flow_run.artifacts
    for artifact in flow_run.artifacts.values():
        assert "file://" not in str(artifact.data)
    assert f"`{flow_run.summary['run_dir']}/report.html`" in str(flow_run.artifacts["import-summary"].data)


def test_a_served_run_links_its_report_over_http_and_the_link_opens(
    prefect_harness: None, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads
    from flows.run.served import serve_runs

    file = tmp_path / "leads.csv"
    file.write_text("first_name,phone\nAnn,+1 415 555 0101\nBob,555-CALL\n", encoding="utf-8")
    runs = tmp_path / "runs"
    with serve_runs(runs, 0) as base:
        state = import_leads(str(file), out_dir=str(runs), return_state=True)
        flow_run_id = state.state_details.flow_run_id
        assert flow_run_id is not None
        artifacts = artifacts_of(flow_run_id)
        link = artifacts["import-report"]
        assert isinstance(link.data, str)
        found = re.search(r"\((http://[^)]+)\)", link.data)
        assert found is not None, link.data
        url = found.group(1)
        assert url.startswith(base) and url.endswith("/report.html")
        assert f"[HTML report]({url})" in str(artifacts["import-summary"].data)
        page = httpx.get(url, timeout=30)
        refused = httpx.post(url, content=b"x", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert refused.status_code == 501


def test_a_bad_file_fails_the_flow_with_its_one_line_message(
    prefect_harness: None, vendors: Vendors, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads

    bad = tmp_path / "leads.csv"
    bad.write_text("name,notes\nAnn,hello\n", encoding="utf-8")

    state = import_leads(str(bad), str(SANDBOX_TARGETS), out_dir=str(tmp_path / "out"), return_state=True)

    assert state.is_failed()
    message = state.message or ""
    assert str(bad) in message and "no phone or email column" in message.lower()
    assert "Traceback" not in message and 'File "' not in message
    assert not (tmp_path / "out").exists() or not any(p.is_dir() for p in (tmp_path / "out").iterdir())
    assert vendors.held() == dict.fromkeys(TARGETS, 0)


def test_a_refused_login_leaves_no_password_in_the_flows_logs_parameters_or_artifacts(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect stores what a flow logs, its parameters and its artifacts in its database; the
    connectors (holding the credentials) are task parameters, and a refused login is logged."""
    from flows.import_leads import import_leads

    password = "s3cr3t-Pa55-XyZ"
    monkeypatch.setenv("SANDBOX_PASSWORD", password)
    file = tmp_path / "partner_feed.tsv"
    lines = (SAMPLE_DATA / "partner_feed.tsv").read_bytes().splitlines(keepends=True)
    file.write_bytes(b"".join(lines[:21]))

    state = import_leads(
        str(file),
        str(SANDBOX_TARGETS),
        out_dir=str(tmp_path / "out"),
        mapping=str(SAMPLE_DATA / "partner_feed.mapping.toml"),
        return_state=True,
    )

    assert state.is_failed()
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, SendIncomplete)
    summary = failure.summary
    assert {
        t: set(s["statuses"]) - {"ineligible", "rejected", "duplicate"} for t, s in summary["targets"].items()
    } == {target: {"failed"} for target in TARGETS}
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        logs = client.request(
            "POST",
            "/logs/filter",
            json={"logs": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": 200, "offset": 0},
        )
        run = client.read_flow_run(flow_run_id)
    logs.raise_for_status()
    stored = [entry["message"] for entry in logs.json()]
    assert any("AUTH_FAILED" in m or "refused" in m for m in stored), stored
    published = [str(a.data) for a in artifacts_of(flow_run_id).values()]
    for text in (*stored, *published, json.dumps(run.parameters), str(state.message)):
        assert password not in text


# --- the final state tells the truth: Completed only when everything was sent --------------------


def test_a_run_that_sent_everything_ends_completed(flow_run: FlowRun) -> None:
    assert flow_run.state.is_completed() and flow_run.state.name == "Completed"


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_run_where_some_rows_failed_ends_failed_naming_the_target_with_its_folder_written(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, lead_file: Any
) -> None:
    from flows.import_leads import import_leads

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

    state = import_leads(str(lead_file(40)), str(targets), out_dir=str(tmp_path / "out"), return_state=True)

    assert state.is_failed() and state.name == "Failed"
    message = state.message or ""
    assert "obi rows failed: 10 failed (TRANSPORT_FAILED 10)" in message and "onc" not in message
    assert "(exit code 3)" in message and "Traceback" not in message
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, SendIncomplete)
    run_dir = Path(failure.summary["run_dir"])
    assert f"Run folder: {run_dir}" in message
    results = read_results(run_dir)
    assert Counter(results.filter(pl.col("target") == "obi")["status"])["failed"] == 10
    assert (run_dir / "summary.json").exists() and (run_dir / "report.html").exists()


def test_a_run_that_could_send_nothing_ends_failed_and_prefect_cli_exits_4(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, lead_file: Any
) -> None:
    import io

    from rich.console import Console

    from flows.commands.import_file import main as import_main

    down = {"base_url": f"http://127.0.0.1:{_closed_port()}/obi"}
    targets = write_targets(
        tmp_path / "targets.toml", ["obi"], obi={**down, "retry": {"attempts": 2, "backoff": 0}}
    )
    printed = io.StringIO()

    out = tmp_path / "out"
    code = import_main(
        [str(lead_file(30)), "--targets", str(targets), "--out", str(out), "--prefect"],
        console=Console(file=printed, width=200),
    )

    assert code == 4, printed.getvalue()
    assert "✗ obi: NOTHING SENT, 0 of " in printed.getvalue() or "✗ obi: STOPPED" in printed.getvalue()
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert (run_dir / "summary.json").exists()
    with get_client(sync_client=True) as client:  # posted directly: read_flow_runs sends sort=null
        response = client.request(
            "POST", "/flow_runs/filter", json={"sort": "START_TIME_DESC", "limit": 20, "offset": 0}
        )
    response.raise_for_status()
    [run] = [
        r
        for r in PrefectFlowRun.model_validate_list(response.json())
        if r.parameters.get("out_dir") == str(out)
    ]
    assert run.state is not None and run.state.is_failed()
    assert "obi nothing sent" in (run.state.message or "") or "obi stopped" in (run.state.message or "")


def test_prefect_cli_exits_0_when_everything_was_sent(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, lead_file: Any
) -> None:
    import io

    from rich.console import Console

    from flows.commands.import_file import main as import_main

    targets = write_targets(tmp_path / "targets.toml", ["onc"])
    printed = io.StringIO()

    code = import_main(
        [str(lead_file(20)), "--targets", str(targets), "--out", str(tmp_path / "out"), "--prefect"],
        console=Console(file=printed, width=200),
    )

    assert code == 0, printed.getvalue()
    assert "✓ onc: sent, " in printed.getvalue()


# --- a user's mistake under --prefect: one Error: line, no traceback, no run when it can be seen first ---


def _runs_of(file: Path) -> list[PrefectFlowRun]:
    """The flow runs that imported ``file`` (posted directly: read_flow_runs sends sort=null)."""
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST", "/flow_runs/filter", json={"sort": "START_TIME_DESC", "limit": 200, "offset": 0}
        )
    response.raise_for_status()
    runs = PrefectFlowRun.model_validate_list(response.json())
    return [run for run in runs if run.parameters.get("path") == str(file)]


def _import_with_prefect(file: Path, targets: Path, out: Path) -> tuple[int, str]:
    import io

    from rich.console import Console

    from flows.commands.import_file import main as import_main

    printed = io.StringIO()
    argv = [str(file), "--targets", str(targets), "--out", str(out), "--prefect"]
    return import_main(argv, console=Console(file=printed, width=300)), printed.getvalue()


@pytest.mark.parametrize("mistake", ["missing lead file", "unknown key in the targets file"])
def test_a_mistake_seen_before_the_flow_is_one_error_line_at_once_and_starts_no_flow_run(
    prefect_harness: None,
    vendors: Vendors,
    tmp_path: Path,
    lead_file: Any,
    caplog: pytest.LogCaptureFixture,
    mistake: str,
) -> None:
    file, targets = lead_file(10), write_targets(tmp_path / "targets.toml", ["onc"])
    if mistake == "missing lead file":
        file, expected = tmp_path / "missing.csv", f"{tmp_path / 'missing.csv'}: the file does not exist"
    else:
        targets.write_text(
            targets.read_text(encoding="utf-8").replace("campaign", "campain"), encoding="utf-8"
        )
        expected = f"{targets}: target 'onc': campaign: required key is missing; campain: unknown key"

    code, printed = _import_with_prefect(file, targets, tmp_path / "out")

    assert code == 1
    assert printed.splitlines() == [printed.strip()] and printed.startswith(f"Error: {expected}"), printed
    assert "Traceback" not in caplog.text and "Encountered exception" not in caplog.text
    assert _runs_of(file) == []


def test_a_mistake_found_inside_the_flow_prints_one_error_line_and_no_traceback(
    prefect_harness: None, vendors: Vendors, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file's columns are read by the flow's first task: the run fails with the message, the
    terminal (the root logger's handlers: Prefect's console) shows no traceback of it."""
    bad = tmp_path / "leads.csv"
    bad.write_text("name,notes\nAnn,hello\n", encoding="utf-8")

    code, printed = _import_with_prefect(
        bad, write_targets(tmp_path / "targets.toml", ["onc"]), tmp_path / "o"
    )

    assert code == 1
    line = f"Error: {bad}: the file has no phone or email column (columns found: name, notes)."
    assert printed.splitlines() == [printed.strip()] and printed.startswith(line), printed
    assert "Traceback" not in caplog.text and "LeadFileError(" not in caplog.text, caplog.text
    [run] = _runs_of(bad)
    assert run.state is not None and run.state.is_failed()
    assert "no phone or email column" in (run.state.message or "")


# --- what the Prefect UI lists: runs named after the file and targets, the send task after the targets ---


def test_the_flow_run_is_named_after_its_file_and_targets_and_its_send_task_after_the_targets(
    flow_run: FlowRun,
) -> None:
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    flow_run_id = flow_run.state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        named = client.read_flow_run(flow_run_id).name
        body = {
            "task_runs": TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])).model_dump(
                mode="json", exclude_unset=True
            ),
            "limit": 100,
            "offset": 0,
        }
        response = client.request("POST", "/task_runs/filter", json=body)
    response.raise_for_status()
    task_names = sorted(task["name"] for task in response.json())

    short_id = str(flow_run_id).replace("-", "")[:6]
    targets = r"obi, engage, ucontact-sms, ucontact-email \+2"
    assert re.fullmatch(
        rf"partner_feed\.tsv → {targets} · \d{{4}}-\d\d-\d\d \d\d:\d\d · {short_id}", named
    ), named
    sent = "send obi, engage, ucontact-sms, ucontact-email +2"  # one task sends to every target
    assert task_names == sorted(["read partner_feed.tsv", sent])
