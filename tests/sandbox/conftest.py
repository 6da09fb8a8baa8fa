"""Fixtures for the sandbox tests: the composite app in process, and one real uvicorn server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.server import SandboxServer


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as c:
        yield c


@pytest.fixture(scope="session")
def live_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def live(live_server: SandboxServer) -> Iterator[SandboxServer]:
    """The shared uvicorn server, with no faults and fresh vendor state for each test."""
    live_server.sandbox.faults.configure({})
    live_server.sandbox.reset()
    yield live_server
    live_server.sandbox.faults.configure({})
