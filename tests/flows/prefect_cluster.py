"""A Prefect server on PostgreSQL and process workers on one pool, as separate processes, for tests.

What an operations team runs on several machines (README "Several machines"), started on this one
machine: ``prefect server start`` with ``PREFECT_API_DATABASE_CONNECTION_URL`` on a database made
for the test (and dropped after it), and ``prefect worker start --pool POOL`` processes, each with
its own environment. Every process started here, and every process they start (the workers' flow
runs, which Prefect puts in sessions of their own), carries a marker in its environment; cleanup
ends exactly the processes carrying it, even when the test failed half-way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import httpx
import psycopg

from flows.local_server import stop_process_group

__all__ = ["Cluster", "prefect_cluster"]

PREFECT = str(Path(sys.executable).with_name("prefect"))
MARK = "LEADFLOW_TEST_CLUSTER"
"""The environment variable every process of one cluster carries, with the cluster's token."""

_PREFECT_SERVER_ONLY = ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _base_env(home: Path, token: str) -> dict[str, str]:
    """This process's environment without its Prefect API settings, with a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            MARK: token,
        }
    )
    return env


def _marked_pids(token: str) -> list[int]:
    """The processes whose environment carries ``MARK=token`` (Linux /proc)."""
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def _kill_marked(token: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _marked_pids(token)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
            time.sleep(0.1)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


@contextlib.contextmanager
def _database(admin_url: str) -> Iterator[str]:
    """A new database on ``admin_url``'s server for the Prefect server, as an asyncpg URL; dropped after."""
    name = f"leadflow_prefect_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        parts = urlsplit(admin_url)
        yield urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """A running Prefect server and the workers started on it."""

    def __init__(self, folder: Path, token: str, api_url: str, stack: contextlib.ExitStack) -> None:
        self.folder = folder
        self.token = token
        self.api_url = api_url
        self.workers: dict[str, Path] = {}
        """Each worker's name and its log file."""
        self._processes: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop_together, self._processes, 10)  # all workers at once, before the server

    def start_worker(self, name: str, pool: str, env: Mapping[str, str], *, limit: int) -> None:
        """``prefect worker start --pool POOL`` as a process of its own, polling every second,
        with ``env`` added to its environment (and so to its flow runs')."""
        home = self.folder / name
        home.mkdir()
        worker_env = {
            **_base_env(home, self.token),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
            "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
            **env,
        }
        log = home / "worker.log"
        command = [PREFECT, "worker", "start", "--pool", pool, "--name", name, "--limit", str(limit)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._processes.append(process)
        self.workers[name] = log

    def wait_for_workers(self, pool: str, timeout: float) -> None:
        """Until every started worker has sent its first heartbeat (so it is polling the pool)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = httpx.post(f"{self.api_url}/work_pools/{pool}/workers/filter", json={}, timeout=10)
            response.raise_for_status()
            if {w["name"] for w in response.json()} >= set(self.workers):
                return
            time.sleep(0.5)
        raise TimeoutError(f"workers not polling after {timeout:.0f} s: {self.logs()}")

    def logs(self) -> str:
        """The end of each worker's log (its flow runs' lines included), for failure messages."""
        tails = {name: log.read_text(errors="replace")[-3000:] for name, log in self.workers.items()}
        return "\n".join(f"--- {name}\n{tail}" for name, tail in tails.items())

    def submitted_by(self, name: str) -> set[UUID]:
        """The flow runs worker ``name`` took: its log's "submitting flow run" lines, less the runs
        whose submission the server aborted because the other worker had taken them first."""
        text = self.workers[name].read_text(errors="replace")

        def ids(marker: str) -> set[UUID]:
            return {UUID(part[:36]) for part in text.split(marker)[1:]}

        return ids("submitting flow run '") - ids("Aborted submission of flow run '")


def _stop_together(processes: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to every process's group at once, then SIGKILL to the groups still there after ``grace``."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        if process.poll() is None:
            stop_process_group(process, signal.SIGKILL, grace=5)


def _wait_healthy(url: str, process: subprocess.Popen[Any], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited {process.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"prefect server not healthy after {timeout:.0f} s: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def prefect_cluster(admin_url: str, folder: Path, *, startup_timeout: float = 180) -> Iterator[Cluster]:
    """A Prefect server on a fresh PostgreSQL database of ``admin_url``'s server, on 127.0.0.1."""
    token = secrets.token_hex(8)
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(_database(admin_url))
        stack.callback(_kill_marked, token)  # after the server and workers: flow runs left running
        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        home = folder / "server"
        home.mkdir(parents=True)
        env = {
            **_base_env(home, token),
            "PREFECT_API_DATABASE_CONNECTION_URL": database,
            "PREFECT_UI_ENABLED": "false",
            # runs are created by the test, none is scheduled or late: two services less on a busy machine
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        }
        log = home / "server.log"
        command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--analytics-off"]
        with log.open("wb") as out:
            server = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        stack.callback(stop_process_group, server, signal.SIGTERM, 15)
        _wait_healthy(api_url, server, log, startup_timeout)
        # workers are stopped before the server (the stack unwinds in reverse)
        yield Cluster(folder, token, api_url, stack)
