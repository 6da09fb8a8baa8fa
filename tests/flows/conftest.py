"""Fixtures for the flow tests: one temporary Prefect API for the session, and the sandbox vendors.

``prefect_harness`` is opt-in (not autouse): the watched-folder mechanics and the CLI tests
need no Prefect server, and starting one costs seconds. The startup timeout is generous
because the machine running the suite may be busy. Prefect's server modules are imported
inside the fixture so that a broken server install fails only the tests that need it.

The import tests add ``vendors`` (the shared sandbox reset, its environment set, its state dumps
read through the inspection API), ``lead_file`` and ``write_targets`` (a variant of
sample_data/sandbox.targets.toml with per-target overrides such as chunk size or retry budget).
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from sample_data.generate import messy_lead_frame
from sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


# --- the import tests: the sandbox as a test sees it, lead files and targets files --------------

SANDBOX_TARGETS = Path(__file__).resolve().parents[2] / "sample_data" / "sandbox.targets.toml"
DEMO_CREDENTIALS = {
    "SANDBOX_USER": "demo",
    "SANDBOX_PASSWORD": "demo-secret",
    "SANDBOX_ONC_ACCOUNT": "demo-account",
}
"""The sandbox's published demo credentials, under the names sandbox.targets.toml references."""

OBI_CAMPAIGN = "00000000000000000000000000000001"
ONC_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"


class Vendors:
    """The shared sandbox server through its inspection API: what each vendor now holds."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url

    def state(self, kind: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/_sandbox/{kind}/state", timeout=30)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def set_faults(self, profile: dict[str, Any]) -> None:
        httpx.post(f"{self.base_url}/_sandbox/faults", json=profile, timeout=30).raise_for_status()

    def reset(self) -> None:
        self.set_faults({})
        httpx.post(f"{self.base_url}/_sandbox/reset", timeout=30).raise_for_status()

    def obi_customers(self) -> list[dict[str, Any]]:
        customers: list[dict[str, Any]] = self.state("sinch_obi")["campaigns"][OBI_CAMPAIGN]["customers"]
        return customers

    def engage_contacts(self) -> list[dict[str, Any]]:
        return [
            contact
            for campaign in self.state("engage")["campaigns"]
            for batch in campaign["batches"]
            for contact in batch["contacts"]
        ]

    def onc_contacts(self) -> list[dict[str, Any]]:
        return [c for campaign in self.state("onc")["campaigns"] for c in campaign["contacts"]]

    def maxcontact_leads(self) -> list[dict[str, Any]]:
        return [lead for x in self.state("maxcontact")["lists"].values() for lead in x["leads"]]

    def ucontact_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(SMS rows, email rows) queued from accepted uploads."""
        state = self.state("ucontact")
        return state["sms_rows"], state["email_rows"]

    def held(self) -> dict[str, int]:
        """How many leads each sandbox target holds, by the target names of sandbox.targets.toml."""
        sms, email = self.ucontact_rows()
        return {
            "obi": len(self.obi_customers()),
            "engage": len(self.engage_contacts()),
            "ucontact-sms": len(sms),
            "ucontact-email": len(email),
            "onc": len(self.onc_contacts()),
            "maxcontact": len(self.maxcontact_leads()),
        }


DELIVERED = frozenset({"accepted", "submitted"})
"""The statuses of a row its vendor took."""


def held_ids(vendors: Vendors, results: pl.DataFrame) -> dict[str, Counter[str]]:
    """Per target of sandbox.targets.toml that keeps repeats or names them (obi, ucontact-sms,
    ucontact-email, maxcontact), the external ids of the leads the vendor holds, with repeats.
    uContact SMS and MaxContact hold phone numbers only: ``results`` (the runs' result rows)
    map each delivered phone back to its lead's external id."""
    sent = results.filter(pl.col("status").is_in(DELIVERED))
    rows = list(sent.unique(["target", "source_file", "source_row"]).iter_rows(named=True))
    by_phone = {r[slot]: r["external_id"] for r in rows for slot in ("phone1", "phone2", "phone3") if r[slot]}
    sms, email = vendors.ucontact_rows()
    return {
        "obi": Counter(c["externalId"] for c in vendors.obi_customers()),
        "ucontact-sms": Counter(by_phone.get(line["number"], line["number"]) for line in sms),
        "ucontact-email": Counter(line["variables"]["ExternalId"] for line in email),
        "maxcontact": Counter(
            by_phone.get(lead["LeadPhones"][0]["PhoneNum"], "?") for lead in vendors.maxcontact_leads()
        ),
    }


@pytest.fixture
def vendors(sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vendors]:
    """The session's sandbox with no faults and no leads, and the environment its targets file needs."""
    for name, value in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEADFLOW_SANDBOX_URL", sandbox_server.base_url)
    monkeypatch.delenv("LEADFLOW_LEDGER", raising=False)
    view = Vendors(sandbox_server)
    view.reset()
    yield view
    view.set_faults({})


@pytest.fixture
def lead_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a realistic messy lead CSV of ``n`` rows (sample_data.generate) and return its path."""

    def write(n: int, seed: int = 5, name: str = "leads.csv") -> Path:
        path = tmp_path / name
        messy_lead_frame(n, seed).write_csv(path)
        return path

    return write


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def write_targets(path: Path, only: Sequence[str] = (), **overrides: dict[str, Any]) -> Path:
    """sandbox.targets.toml (``only`` some of its targets), each with its ``overrides`` keys replaced."""
    targets = tomllib.loads(SANDBOX_TARGETS.read_text(encoding="utf-8"))["targets"]
    lines: list[str] = []
    for name, table in targets.items():
        if only and name not in only:
            continue
        lines.append(f"[targets.{json.dumps(name)}]")
        merged = {**table, **overrides.get(name.replace("-", "_"), {})}
        lines += [f"{key} = {_toml_value(value)}" for key, value in merged.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def maxcontact_with_changeable_password(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A targets file of MaxContact alone whose password is ``$MAXCONTACT_PASSWORD``, set to the
    sandbox's: a test changes it (``monkeypatch.setenv``) to have the login refused."""
    monkeypatch.setenv("MAXCONTACT_PASSWORD", DEMO_CREDENTIALS["SANDBOX_PASSWORD"])
    return write_targets(
        path,
        ["maxcontact"],
        maxcontact={"credentials": {"login": "env:SANDBOX_USER", "password": "env:MAXCONTACT_PASSWORD"}},
    )


def read_results(run_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(run_dir / "results" / "*" / "*.parquet")


def only_run(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


# --- a PostgreSQL database of its own, for the intake registry's tests ---------------------------

POSTGRES_ENV = "LEADFLOW_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def registry_postgres() -> Iterator[str]:
    """The URL of a new, randomly named database on $LEADFLOW_TEST_POSTGRES_URL's server
    (default: the project's local PostgreSQL 15), dropped afterwards; skips the test, saying
    why, when no server answers there."""
    import os
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    admin = os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES_URL)
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at ${POSTGRES_ENV} (default {DEFAULT_POSTGRES_URL}): {exc}")
    name = f"leadflow_registry_{secrets.token_hex(6)}"
    with connection:
        connection.execute(f"CREATE DATABASE {name}")
        try:
            yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        finally:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
