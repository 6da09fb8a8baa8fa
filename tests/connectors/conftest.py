"""Fixtures shared by the connector tests: the sandbox app in process, a recording transport, a ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from connectors import ledgers
from connectors.ledger import Ledger
from connectors.ledger_types import LedgerBackend


class Recorder(httpx.AsyncBaseTransport):
    """The sandbox transport, keeping every request and answer body that crossed it."""

    def __init__(self, app: Starlette) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.exchanges: list[tuple[httpx.Request, int, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((request, response.status_code, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def to(self, path: str) -> list[tuple[httpx.Request, int, bytes]]:
        """The exchanges whose URL path contains ``path``."""
        return [x for x in self.exchanges if path in x[0].url.path]


@pytest.fixture
def recorder(app: Starlette) -> Recorder:
    return Recorder(app)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger of each backend: a SQLite file, or a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def open_ledger(ledger_spec: str) -> Callable[..., LedgerBackend]:
    """Opens the test's ledger (each call a new connection, as another process would)."""

    def opened(*, lease: float | None = None) -> LedgerBackend:
        return ledgers.open_ledger(ledger_spec, lease=lease)

    return opened
