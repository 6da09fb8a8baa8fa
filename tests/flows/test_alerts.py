"""Alerts reach a real HTTP receiver on 127.0.0.1: a run that failed, could not send or had too
many leads rejected posts one small JSON (counts and codes, never a lead's value or a secret),
a run that went well posts nothing, and a webhook that fails is retried, logged as one line
with its URL redacted, and never changes the run's result."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from flows.alerts import SHARE_ENV, WEBHOOK_ENV, AlertSettings, notify, redact_url
from flows.commands.import_file import main as import_main
from tests.flows.conftest import DEMO_CREDENTIALS, Vendors, write_targets
from tests.flows.webhook_receiver import TOKEN, Receiver

HOSTILE = "Zed <script>alert(1)</script>"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as running:
        monkeypatch.setenv(WEBHOOK_ENV, running.url)
        monkeypatch.delenv(SHARE_ENV, raising=False)
        yield running


def _closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://u:pw@127.0.0.1:{port}/hooks/{TOKEN}"


def _import(file: Path, out: Path, targets: Path) -> tuple[int, str]:
    buffer = io.StringIO()
    code = import_main(
        [str(file), "--targets", str(targets), "--out", str(out)], Console(file=buffer, width=200)
    )
    return code, buffer.getvalue()


def _leads(path: Path, bad: int, good: int) -> Path:
    lines = ["first_name,phone"]
    lines += [f"{HOSTILE},555-CALL-{i:03d}" for i in range(bad)]
    lines += [f"Ann,+1 415 555 {100 + i:04d}" for i in range(good)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the CLI import -----------------------------------------------------------------------


@pytest.mark.slow
def test_an_import_that_could_not_send_posts_one_alert_without_secrets_or_lead_values(
    vendors: Vendors, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "wr0ng-Pa55-XyZ"
    monkeypatch.setenv("SANDBOX_PASSWORD", password)
    file = _leads(tmp_path / "leads.csv", bad=1, good=9)

    code, printed = _import(file, tmp_path / "out", write_targets(tmp_path / "t.toml", only=["obi"]))

    assert code == 4, printed
    [alert] = receiver.posts
    assert alert["exit_code"] == 4 and "could_not_send" in alert["reasons"]
    assert alert["file"] == "leads.csv" and alert["rows"] == 10
    assert alert["counts"]["obi"]["rejected"] == 1
    assert alert["report"].endswith("/report.html")
    text = json.dumps(alert)
    for secret in (password, *DEMO_CREDENTIALS.values(), TOKEN):
        assert secret not in text
    assert "script" not in text and "555-CALL" not in text and "Ann" not in text


@pytest.mark.slow
def test_an_import_that_sent_everything_posts_nothing(
    vendors: Vendors, receiver: Receiver, tmp_path: Path
) -> None:
    file = _leads(tmp_path / "leads.csv", bad=1, good=9)

    code, printed = _import(file, tmp_path / "out", write_targets(tmp_path / "t.toml", only=["obi"]))

    assert code == 0, printed
    assert receiver.posts == []


@pytest.mark.slow
def test_a_rejected_share_above_the_threshold_posts_an_alert_even_when_everything_else_was_sent(
    vendors: Vendors, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SHARE_ENV, "0.25")
    file = _leads(tmp_path / "leads.csv", bad=3, good=7)

    code, _ = _import(file, tmp_path / "out", write_targets(tmp_path / "t.toml", only=["obi"]))

    assert code == 0
    [alert] = receiver.posts
    assert alert["reasons"] == ["rejected_share"] and alert["exit_code"] == 0
    assert alert["rejected_share"] == 0.3 and alert["rejected_share_threshold"] == 0.25
    assert alert["rejected_share_target"] == "obi"


@pytest.mark.slow
def test_a_spreadsheets_empty_rows_do_not_count_towards_the_rejected_share(
    vendors: Vendors, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SHARE_ENV, "0.25")
    file = _leads(tmp_path / "leads.csv", bad=0, good=7)
    with file.open("a", encoding="utf-8") as out:
        out.write(",\n" * 3)  # Excel's formatted but empty rows: 3 of 10 rows, rejected

    code, printed = _import(file, tmp_path / "out", write_targets(tmp_path / "t.toml", only=["obi"]))

    assert code == 0, printed
    assert "0 leads need attention" in printed
    assert receiver.posts == []


def test_a_bad_file_posts_a_failed_alert_and_still_exits_1(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**DEMO_CREDENTIALS, "LEADFLOW_SANDBOX_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(name, value)
    bad = tmp_path / "leads.csv"
    bad.write_text("name,notes\nAnn,hello\n", encoding="utf-8")
    targets = write_targets(tmp_path / "t.toml", only=["obi"])

    code, printed = _import(bad, tmp_path / "out", targets)

    assert code == 1, printed
    [alert] = receiver.posts
    assert alert["reasons"] == ["failed"] and alert["exit_code"] == 1
    assert "no phone or email column" in alert["verdict"].lower()


@pytest.mark.slow
def test_an_unreachable_webhook_is_one_redacted_log_line_and_changes_no_exit_code(
    vendors: Vendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, _closed_port_url())
    monkeypatch.setenv(SHARE_ENV, "0.05")
    file = _leads(tmp_path / "leads.csv", bad=1, good=9)

    with caplog.at_level(logging.DEBUG):
        code, printed = _import(file, tmp_path / "out", write_targets(tmp_path / "t.toml", only=["obi"]))

    assert code == 0, printed
    lines = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert len(lines) == 1 and "not reached" in lines[0] and "3 attempt(s)" in lines[0]
    for record in caplog.records:
        assert TOKEN not in record.getMessage() and ":pw@" not in record.getMessage()


# --- the webhook call itself ----------------------------------------------------------------


def test_a_webhook_that_fails_twice_gets_the_alert_on_the_third_attempt(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    settings = AlertSettings(webhook=receiver.url, backoff=0.01)

    assert notify({"event": "x"}, settings) is True
    assert len(receiver.posts) == 3 and receiver.paths[-1] == f"/services/{TOKEN}?key={TOKEN}"


def test_a_webhook_refusing_the_request_is_not_asked_again(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [403]

    assert notify({"event": "x"}, AlertSettings(webhook=receiver.url, backoff=0.01)) is False
    assert len(receiver.posts) == 1
    assert "HTTP 403" in caplog.text and TOKEN not in caplog.text


def test_a_bad_threshold_falls_back_to_the_default_and_a_non_http_webhook_is_ignored() -> None:
    settings = AlertSettings.from_env({WEBHOOK_ENV: f"file:///tmp/{TOKEN}", SHARE_ENV: "lots"})

    assert settings.webhook is None and settings.rejected_share == 0.2


@given(
    user=st.text(alphabet="abcXYZ019-_", min_size=1, max_size=12),
    password=st.text(alphabet="abcXYZ019-_.~", min_size=4, max_size=20),
    path=st.text(alphabet="abcXYZ019-_/", max_size=30),
    query=st.text(alphabet="abcXYZ019-_=&", max_size=30),
)
def test_a_redacted_webhook_url_shows_only_scheme_and_host(
    user: str, password: str, path: str, query: str
) -> None:
    url = f"https://{user}:{password}@hooks.example.com:8443/{path}?{query}"

    assert redact_url(url) == "https://hooks.example.com:8443/…"


# --- the Prefect flow (what watch, serve and the deployments run) -----------------------------


@pytest.mark.slow
def test_the_flow_alerts_for_a_bad_file_and_for_a_rejected_share_with_its_flow_run_id(
    prefect_harness: None, receiver: Receiver, tmp_path: Path
) -> None:
    from flows.import_leads import import_leads

    bad = tmp_path / "bad.csv"
    bad.write_text("name,notes\nAnn,hello\n", encoding="utf-8")
    failed = import_leads(str(bad), out_dir=str(tmp_path / "out"), return_state=True)
    rejecting = import_leads(
        str(_leads(tmp_path / "leads.csv", bad=3, good=1)), out_dir=str(tmp_path / "out"), return_state=True
    )

    assert failed.is_failed() and rejecting.is_completed()
    first, second = receiver.posts
    assert first["reasons"] == ["failed"] and first["file"] == "bad.csv" and first["exit_code"] == 1
    assert first["flow_run_id"] == str(failed.state_details.flow_run_id)
    assert second["reasons"] == ["rejected_share"] and second["rejected_share"] == 0.75
    assert second["flow_run_id"] == str(rejecting.state_details.flow_run_id)
    assert "script" not in json.dumps(second) and TOKEN not in json.dumps(receiver.posts)


@pytest.mark.slow
def test_a_failing_webhook_leaves_the_flows_result_alone(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.import_leads import import_leads

    monkeypatch.setenv(WEBHOOK_ENV, _closed_port_url())
    state = import_leads(
        str(_leads(tmp_path / "leads.csv", bad=3, good=1)), out_dir=str(tmp_path / "out"), return_state=True
    )

    assert state.is_completed()
