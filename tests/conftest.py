"""Shared test fixtures. Each test folder adds its own conftest for its part."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from starlette.applications import Starlette

from sandbox.app import Sandbox, build_app
from sandbox.server import SandboxServer
from tests.pg import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures for every test folder (tests/pg.py)

# Prefect's ephemeral API server starts in a subprocess; on a loaded 2-core CI machine its
# default 20 s start-up allowance is not enough.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

# Property tests check behaviour, not speed (speed is bench/'s): hypothesis' default 200 ms
# deadline per example fails them at random on a loaded machine (seen on a 2-core box under load).
settings.register_profile("leadflow", deadline=None)
settings.load_profile("leadflow")

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "sample_data"


@pytest.fixture
def sample_data() -> Path:
    return SAMPLE_DATA


@pytest.fixture
def app() -> Starlette:
    """A fresh in-process sandbox server (all five vendors), for httpx.ASGITransport."""
    return build_app()


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    state: Sandbox = app.state.sandbox
    return state


@pytest.fixture(scope="session")
def live_server() -> Iterator[SandboxServer]:
    """One real uvicorn server with every simulated vendor, for the tests that need a socket."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def live(live_server: SandboxServer) -> Iterator[SandboxServer]:
    """The shared uvicorn server, with no faults and fresh vendor state for each test."""
    live_server.sandbox.faults.configure({})
    live_server.sandbox.reset()
    yield live_server
    live_server.sandbox.faults.configure({})
