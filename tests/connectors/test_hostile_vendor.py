"""A hostile vendor cannot crash a run, exhaust its memory or make it leak a secret.

Each of the five vendor kinds is sent to through :class:`tests.connectors.hostile.HostileVendor`,
a raw socket server that lets logins and set-up through to the sandbox and answers the request
carrying the leads with something no honest vendor sends. Every case checks what the issue asks:
the rows of that target end ``failed`` with a reason saying what happened, a healthy target sent
to at the same time is untouched, memory stays far below the size of the answer, and no secret
(the password, base64 of ``user:password`` or of the password, the tokens and session ids the
vendor handed out) appears in the results or the logs.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import pickle
import re
import subprocess
import sys
import tomllib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from starlette.applications import Starlette

from connectors.base import Connector, Lead, Phone
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch
from connectors.errors import ConnectorError
from connectors.ledger import Ledger
from connectors.registry import build_connector
from sample_data.generate import messy_lead_frame
from schemas.codes import Issue, Status
from tests.connectors.hostile import Answer, HostileVendor, Seen, answers
from tests.flows.conftest import write_targets

TARGETS = Path(__file__).resolve().parents[2] / "sample_data" / "sandbox.targets.toml"
USER, PASSWORD, ACCOUNT = "demo", "demo-secret", "demo-account"
KINDS = ("sinch_obi", "engage", "ucontact_sms", "ucontact_email", "onc", "maxcontact")
MIB = 1 << 20

INVALID = Issue.VENDOR_ANSWER_INVALID.value
TOO_LARGE = Issue.VENDOR_ANSWER_TOO_LARGE.value


@pytest.fixture(scope="module")
def vendor() -> Iterator[HostileVendor]:
    with HostileVendor() as server:
        yield server


@pytest.fixture
def hostile(vendor: HostileVendor) -> Iterator[HostileVendor]:
    vendor.app.state.sandbox.reset()
    vendor.seen.clear()
    vendor.hostile_answers = 0
    yield vendor
    vendor.marker = vendor.answer = None


def connector(kind: str, base_url: str, **overrides: Any) -> Connector:
    """The sandbox targets file's target of ``kind``, pointed at ``base_url``, quick to give up."""
    tables = tomllib.loads(TARGETS.read_text(encoding="utf-8"))["targets"]
    table = next(t for t in tables.values() if t["kind"] == kind)
    settings: dict[str, Any] = {
        "name": kind,
        "kind": kind,
        "base_url": table["base_url"].replace("${LEADFLOW_SANDBOX_URL}", base_url),
        "campaign": table["campaign"],
        "options": table.get("options", {}),
        "retry": RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, breaker_failures=10),
        "timeout": 5.0,
        **overrides,
    }
    secrets = {"username": USER, "password": PASSWORD, "login": USER, "account_id": ACCOUNT}
    return build_connector(TargetConfig.model_validate(settings), secrets)


def leads(n: int = 3, prefix: str = "h") -> list[Lead]:
    return [
        Lead(
            i,
            f"{prefix}-{i:03d}",
            "Ana",
            "Diaz",
            phones=(Phone(f"+4477009{i:05d}", "mobile"),),
            email=f"ana{i}@example.com",
            country="GB",
            timezone="Europe/London",
        )
        for i in range(1, n + 1)
    ]


def healthy_kind(kind: str) -> str:
    return "engage" if kind == "sinch_obi" else "sinch_obi"


async def send_beside_a_healthy_target(
    server: HostileVendor, kind: str, answer: Answer, tmp_path: Path, **overrides: Any
) -> tuple[list[RowResult], list[RowResult]]:
    """(the hostile target's results, a healthy target's results), sent at the same time."""
    server.arm(kind, answer)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        hurt, fine = await asyncio.gather(
            dispatch(connector(kind, server.base_url, **overrides), leads(), ledger=ledger, run_id="r1"),
            dispatch(
                connector(healthy_kind(kind), server.base_url), leads(prefix="ok"), ledger=ledger, run_id="r1"
            ),
        )
    assert server.hostile_answers >= 1, "the hostile answer was never given"
    return hurt, fine


def secret_forms(seen: list[Seen]) -> set[str]:
    """Every secret of the exchanges, found from the wire by the test itself: the password, base64
    of ``user:password`` and of the password, and each token or session id the vendors handed
    out (in uContact's ``Basic base64(user:token)``, MaxContact's cookie, ONC's SOAP body)."""
    found = {
        PASSWORD,
        base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        base64.b64encode(PASSWORD.encode()).decode(),
    }
    for exchange in seen:
        for value in (exchange.headers.get("authorization", ""), exchange.headers.get("cookie", "")):
            found.add(value.removeprefix("Basic ").strip())
            decoded = base64.b64decode(value.removeprefix("Basic ").strip() + "==", validate=False)
            user, colon, token = decoded.decode("latin-1").partition(":")
            if colon and user == USER:
                found.add(token)
            if value.startswith("TokenKey="):
                found.add(value.removeprefix("TokenKey="))
        found.update(m.decode() for m in re.findall(rb"<(?:\w+:)?sessionId>([^<]+)<", exchange.body))
    return {form for form in found if len(form) >= 6}


def assert_no_secret(text: str, forms: set[str], where: str) -> None:
    for form in forms:
        assert form not in text, f"{where} holds a secret ({form[:4]}...)"


KEEPS_REPEATS = {"ucontact_sms", "ucontact_email", "maxcontact"}
"""Vendors that store a resent lead again: an answer we could not read leaves the request's
outcome unknown, so its rows must say ``POSSIBLY_DUPLICATED``; the others refuse a known id."""


def assert_failed(results: list[RowResult], reasons: set[str], kind: str) -> None:
    assert {r.status for r in results} == {Status.FAILED}, [(r.status, r.reasons) for r in results]
    unknown = Issue.POSSIBLY_DUPLICATED.value
    assert {reason for r in results for reason in r.reasons} - {unknown} <= reasons, [
        r.reasons for r in results
    ]
    assert all((unknown in r.reasons) == (kind in KEEPS_REPEATS) for r in results), [
        r.reasons for r in results
    ]
    assert all(r.vendor_message for r in results)


def assert_unaffected(results: list[RowResult]) -> None:
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}, [
        (r.status, r.vendor_message) for r in results
    ]
    assert len(results) == 3


UNREADABLE = {
    "corrupt-gzip": answers.corrupt_gzip,
    "corrupt-deflate": answers.corrupt_deflate,
    "truncated-gzip": answers.truncated_gzip,
    "unasked-brotli": answers.unasked_brotli,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(UNREADABLE))
async def test_an_answer_in_a_broken_content_encoding_fails_the_rows_and_nothing_else(
    hostile: HostileVendor, tmp_path: Path, kind: str, name: str
) -> None:
    hurt, fine = await send_beside_a_healthy_target(hostile, kind, UNREADABLE[name](), tmp_path)

    assert_failed(hurt, {INVALID}, kind)
    assert any("Content-Encoding" in (r.vendor_message or "") or "gzip" in (r.vendor_message or "") or
               "deflate" in (r.vendor_message or "") for r in hurt)  # fmt: skip
    assert_unaffected(fine)


NONSENSE = {
    "not-utf8-json": lambda: answers.not_utf8("application/json; charset=utf-8"),
    "not-utf8-xml": lambda: answers.not_utf8("text/xml; charset=utf-8"),
    "invalid-json": answers.invalid_json,
    "wrong-shape": answers.wrong_shape,
    "invalid-xml": answers.invalid_xml,
    "entity-bomb": answers.entity_bomb,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(NONSENSE))
async def test_an_answer_that_is_not_what_the_vendor_documents_fails_the_rows_and_nothing_else(
    hostile: HostileVendor, tmp_path: Path, kind: str, name: str
) -> None:
    hurt, fine = await send_beside_a_healthy_target(hostile, kind, NONSENSE[name](), tmp_path)

    assert {r.status for r in hurt} <= {Status.FAILED, Status.VENDOR_REJECTED}
    assert all(r.reasons and r.vendor_message for r in hurt)
    assert_unaffected(fine)


OVERSIZED = {
    "huge": lambda: answers.huge(4 * MIB),
    "gzip-bomb": lambda: answers.gzip_bomb(64 * MIB),
    "endless": answers.endless,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(OVERSIZED))
async def test_an_answer_over_the_size_limit_is_cut_off_and_fails_the_rows_saying_which_limit(
    hostile: HostileVendor, tmp_path: Path, kind: str, name: str
) -> None:
    hurt, fine = await send_beside_a_healthy_target(
        hostile, kind, OVERSIZED[name](), tmp_path, max_answer_bytes=MIB
    )

    assert_failed(hurt, {TOO_LARGE}, kind)
    assert "max_answer_bytes" in (hurt[0].vendor_message or "")
    assert "1,048,576 bytes" in (hurt[0].vendor_message or "")
    assert_unaffected(fine)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_answer_dripped_past_the_deadline_is_given_up_and_retried(
    hostile: HostileVendor, tmp_path: Path, kind: str
) -> None:
    hurt, fine = await send_beside_a_healthy_target(
        hostile, kind, answers.drip(0.05), tmp_path, timeout=2.0, deadline=0.5
    )

    assert_failed(hurt, {Issue.TRANSPORT_FAILED.value}, kind)
    assert all(r.attempts == 2 for r in hurt)
    assert "0.5s" in (hurt[0].vendor_message or "") and "deadline" in (hurt[0].vendor_message or "")
    assert_unaffected(fine)


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("huge", answers.huge(50 * MIB)),
        ("gzip-bomb", answers.gzip_bomb(256 * MIB)),
        ("endless", answers.endless()),
    ],
)
async def test_memory_stays_far_below_the_size_of_a_hostile_answer(
    hostile: HostileVendor, tmp_path: Path, name: str, answer: Answer
) -> None:
    """The vendor's default limit (8 MiB) applies; a 50 MB body, a 256 MB bomb or an endless body
    cost less than three times the limit."""
    tracemalloc.start()
    try:
        hurt, fine = await send_beside_a_healthy_target(hostile, "sinch_obi", answer, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_failed(hurt, {TOO_LARGE}, "sinch_obi")
    assert peak < 24 * MIB, f"peak {peak / MIB:.0f} MiB"
    assert_unaffected(fine)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [200, 400])
async def test_an_echo_of_our_headers_and_body_leaves_no_secret_in_results_or_logs(
    hostile: HostileVendor, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str, status: int
) -> None:
    """A gateway that reflects the request: the Authorization header (base64 of user:password,
    of user:token, of the password), the session cookie, the password or session id in the body."""
    caplog.set_level(logging.DEBUG)
    hurt, fine = await send_beside_a_healthy_target(hostile, kind, answers.echo(status), tmp_path)

    assert {r.status for r in hurt} <= {Status.FAILED, Status.VENDOR_REJECTED}
    assert any("Authorization" in (r.vendor_message or "") for r in hurt), [r.vendor_message for r in hurt]
    forms = secret_forms(hostile.seen)
    assert_no_secret(repr(hurt + fine), forms, "the results")
    assert_no_secret(caplog.text, forms, "the log")
    assert_unaffected(fine)


async def test_answers_through_an_environment_proxy_are_bounded_too(
    hostile: HostileVendor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY still applies (a client given a transport would ignore it), and what comes
    back through the proxy is read within the same limits."""
    monkeypatch.setenv("HTTP_PROXY", hostile.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    hostile.arm("sinch_obi", answers.huge(4 * MIB))
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        hurt = await dispatch(
            connector("sinch_obi", "http://vendor.invalid", max_answer_bytes=MIB),
            leads(),
            ledger=ledger,
            run_id="r1",
        )

    assert hostile.hostile_answers == 1
    assert hostile.seen[-1].path.startswith("http://vendor.invalid/")
    assert_failed(hurt, {TOO_LARGE}, "sinch_obi")


# --- the whole command under Prefect: the run folder and everything Prefect stores --------------

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = (sys.executable, "-m", "flows.cli", "import")


def _files_text(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under ``root`` as text; Parquet by its values (its pages may be compressed)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            yield path, pl.read_parquet(path).write_ndjson()
        else:
            yield path, path.read_bytes().decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["echo", "corrupt-gzip"])
def test_under_prefect_a_hostile_answer_is_a_run_folder_and_nothing_prefect_stores_holds_a_secret(
    hostile: HostileVendor, tmp_path: Path, name: str
) -> None:
    """``leadflow import --prefect`` with its own PREFECT_HOME: the SQLite database (flow and task
    states, their messages, logs, artifacts) and the result storage are searched for the
    password, base64 of ``user:password`` and of the password."""
    hostile.arm("sinch_obi", answers.echo(200) if name == "echo" else answers.corrupt_gzip())
    lead_file = tmp_path / "leads.csv"
    messy_lead_frame(40, 5).write_csv(lead_file)
    targets = write_targets(tmp_path / "targets.toml", only=("obi", "engage"))
    home, out = tmp_path / "prefect-home", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") or "STARTUP_TIMEOUT" in k} | {
        "PREFECT_HOME": str(home),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "LEADFLOW_SANDBOX_URL": hostile.base_url,
        "SANDBOX_USER": USER,
        "SANDBOX_PASSWORD": PASSWORD,
        "SANDBOX_ONC_ACCOUNT": ACCOUNT,
        "LEADFLOW_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
    done = subprocess.run(
        [*COMMAND, str(lead_file), "--targets", str(targets), "--out", str(out), "--prefect"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    stdout, stderr = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")

    # (the temporary Prefect server may print tracebacks of its own, e.g. a telemetry insert)
    for crash in ("ExceptionGroup", "DecodingError", "connectors/engine.py"):
        assert crash not in stdout + stderr, stdout + stderr
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = pl.read_parquet(run_dir / "results" / "*" / "*.parquet")
    sent = results.filter(pl.col("target") == "obi", pl.col("status") == "failed")
    assert sent.height > 0 and set(sent["reasons"].list.first()) == {INVALID}
    engage = results.filter(pl.col("target") == "engage", pl.col("batch_id").is_not_null())
    assert engage.height > 0 and set(engage["status"]) == {"accepted"}
    forms = secret_forms(hostile.seen)
    assert_no_secret(stdout + stderr, forms, "the console")
    stored = list(_files_text(home))
    assert any(path.suffix == ".db" for path, _ in stored), [str(p) for p, _ in stored]
    for path, text in [*_files_text(out), *stored]:
        assert_no_secret(text, forms, str(path.relative_to(tmp_path)))


async def test_an_error_of_ours_leaves_dispatch_redacted_without_request_or_chain(
    app: Starlette, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What does escape (a fault of ours, here a closed ledger) is what Prefect pickles: a
    ConnectorError with no request, no cause and no traceback, its pickle free of secrets."""
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        pass
    target = connector("sinch_obi", "http://sandbox")
    with pytest.raises(ConnectorError) as raised:
        await dispatch(target, leads(), ledger=ledger, run_id="r1", transport=httpx.ASGITransport(app=app))

    error = raised.value
    assert error.request is None and error.__cause__ is None and error.__suppress_context__
    assert "sinch_obi: sending failed: ProgrammingError" in str(error)
    stored = pickle.dumps(error)
    for form in (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()):
        assert form.encode() not in stored
    assert "Traceback" in caplog.text
