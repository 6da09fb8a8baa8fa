"""A Prefect server on 127.0.0.1 for ``leadflow serve`` when none is configured.

Prefect's ephemeral default (what ``make demo`` and plain flow calls use) runs no scheduler:
served deployments would register their schedules and never run. So when
``PREFECT_API_URL`` is unset, ``leadflow serve`` starts ``prefect server start`` (scheduler
on, UI on, analytics off, its SQLite database in PREFECT_HOME) as a child process on a
loopback port, points this process at it, and stops it on exit. With ``PREFECT_API_URL``
set, the configured server is used and nothing is started.

The port is stable, so the UI's address (and a bookmark of it) survives a restart:
``DEFAULT_PORT`` (Prefect's own default), or ``--port``. When the default is taken by another
program, the server starts on a free port and says so; a port asked for with ``--port`` is
not silently replaced: taken, it is an error naming the port.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PORT",
    "LocalServerError",
    "choose_port",
    "dies_with_parent",
    "prefect_api",
    "stop_process_group",
]

DEFAULT_PORT = 4200

log = logging.getLogger("leadflow.serve")


class LocalServerError(RuntimeError):
    """The local Prefect server did not come up."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now. SO_REUSEADDR as the server sets
    it, so a port left in TIME_WAIT by the previous ``leadflow serve`` still counts as free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError:
            return False
        return True


def choose_port(port: int = DEFAULT_PORT, *, explicit: bool = False) -> int:
    """``port`` when it is free; otherwise a free port, said on stderr, unless ``explicit``
    (asked for with ``--port``): then a :class:`LocalServerError` naming it."""
    if _port_free(port):
        return port
    if explicit:
        raise LocalServerError(
            f"port {port} on 127.0.0.1 is taken by another program; choose another with --port"
        )
    fallback = _free_port()
    print(
        f"Port {port} on 127.0.0.1 is taken by another program: the Prefect server uses port {fallback} "
        "this time (choose a port with --port)",
        file=sys.stderr,
    )
    return fallback


_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM); "  # PR_SET_PDEATHSIG
    "os.getppid() == int(sys.argv[1]) or sys.exit(0); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def dies_with_parent(command: list[str]) -> list[str]:
    """``command`` run so that it gets SIGTERM when this process dies, however it dies.

    The server runs in its own session (a Ctrl-C for ``leadflow serve`` must not reach it before
    serve has stopped its runs), so nothing else ends it when serve is killed with SIGKILL or
    crashes: it would keep the port and its database, and the next serve would start beside it.
    Linux's PR_SET_PDEATHSIG, set by a tiny exec shim (``preexec_fn`` is unsafe with threads);
    the shim exits at once if this process already died before it could set it. Linux ties the
    signal to the starting *thread*: start it from one that lives as long as the server (serve's
    main thread). Elsewhere the command is returned as is."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]


def stop_process_group(process: subprocess.Popen[Any], first: signal.Signals, grace: float) -> None:
    """Ask a process started in its own session to stop (``first`` to its whole group), then
    kill the group if it is still there after ``grace`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, first)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx  # here, not at the top: ``leadflow serve --help`` prints DEFAULT_PORT only

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalServerError(f"the local Prefect server exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise LocalServerError(f"the local Prefect server did not answer within {timeout:.0f} s")


@contextmanager
def prefect_api(port: int | None = None, timeout: float = 180.0) -> Iterator[str]:
    """The API URL to use: the configured one, or a local server started for the duration, on
    ``port`` when given (else :data:`DEFAULT_PORT`, or a free port if that is taken)."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = choose_port(DEFAULT_PORT if port is None else port, explicit=port is not None)
    url = f"http://127.0.0.1:{port}/api"
    command = [
        str(Path(sys.executable).with_name("prefect")),
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--analytics-off",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter's prefect, fixed arguments
        dies_with_parent(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_healthy(url, process, timeout)
        log.info("local Prefect server at %s (UI at http://127.0.0.1:%d)", url, port)
        print(f"Prefect server for the served deployments: http://127.0.0.1:{port}")
        with temporary_settings(updates={PREFECT_API_URL: url}):
            os.environ["PREFECT_API_URL"] = url  # for flow-run subprocesses the runner starts
            try:
                yield url
            finally:
                os.environ.pop("PREFECT_API_URL", None)
    finally:
        stop_process_group(process, signal.SIGTERM, grace=15)
