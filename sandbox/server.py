"""Run the sandbox: ``leadflow sandbox`` in the foreground, or :class:`SandboxServer` in a thread.

Both bind to loopback by default and print/offer, per vendor, its kind, base URL and test
credentials, so people, scripts, tests and the demo can point connectors at it. Shutdown is
uvicorn's (Ctrl-C or SIGTERM); ``GRACE_SECONDS`` bounds the wait for requests still running,
such as a hung request from the fault profile.

Speed: access logging is off (the sandbox answers thousands of requests a second in the dispatch
benchmark), and the foreground server runs on uvloop and httptools when they are installed
(uvicorn's ``auto`` choices). :class:`SandboxServer` keeps the standard asyncio loop in its
thread, so tests see the same loop everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import TextIO

import uvicorn
from starlette.applications import Starlette

from sandbox.app import Sandbox, build_app
from sandbox.faults import ConnectionDropped, Faults

__all__ = ["GRACE_SECONDS", "SandboxServer", "main", "vendor_lines"]

GRACE_SECONDS = 2
DEFAULT_PORT = 8765


class _QuietDrops(logging.Filter):
    """A dropped connection is an injected fault, not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _uvicorn_server(app: Starlette, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        lifespan="off",
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    return uvicorn.Server(config)


def _bound_port(server: uvicorn.Server) -> int:
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


def vendor_lines(sandbox: Sandbox, base_url: str) -> list[str]:
    """``kind  url  key=value ...`` per vendor, aligned."""
    sims = list(sandbox.simulators.values())
    width = max((len(s.kind) for s in sims), default=0)
    return [
        f"{s.kind:<{width}}  {base_url}{s.prefix}  " + " ".join(f"{k}={v}" for k, v in s.credentials.items())
        for s in sims
    ]


class SandboxServer:
    """The sandbox on a uvicorn server in a background thread (``with SandboxServer() as s: s.base_url``)."""

    def __init__(self, faults: Faults | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = build_app(faults)
        self.sandbox: Sandbox = self.app.state.sandbox
        self._server = _uvicorn_server(self.app, host, port)
        self._host = host
        self._thread = threading.Thread(target=self._run, name="leadflow-sandbox", daemon=True)
        self._error: BaseException | None = None
        self.base_url = ""

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # surfaced to the starting thread by start()
            self._error = exc

    def start(self) -> SandboxServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the sandbox server did not start: {self._error!r}")
            self._thread.join(0.01)
        self.base_url = f"http://{self._host}:{_bound_port(self._server)}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(GRACE_SECONDS + 5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _serve(
    server: uvicorn.Server, sandbox: Sandbox, host: str, out: TextIO, listening: socket.socket
) -> None:
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        for line in vendor_lines(sandbox, f"http://{host}:{_bound_port(server)}"):
            print(line, file=out, flush=True)
    await task


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow sandbox", description="Run the simulated vendors.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--faults", type=Path, help="fault profile, .toml or .json")
    parser.add_argument("--seed", type=int, help="seed for the fault profile (overrides the file's)")
    parser.add_argument(
        "--lenient",
        action="append",
        default=[],
        metavar="KIND",
        help="run this vendor's lenient profile (where the real service is known to be lenient; "
        "strict by default); repeatable",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        faults = Faults.from_file(args.faults, seed=args.seed) if args.faults else Faults(seed=args.seed)
    except (OSError, ValueError) as exc:
        print(f"{type(exc).__name__}: {args.faults}: {exc}", file=sys.stderr)
        return 1
    try:
        app = build_app(faults, lenient=args.lenient)
    except ValueError as exc:
        print(f"--lenient: {exc}", file=sys.stderr)
        return 1
    try:  # bound here, not by uvicorn: a port in use is one line, not its traceback
        listening = socket.create_server((args.host, args.port))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        print(
            f"Error: cannot listen on {args.host}:{args.port} ({reason}): another program, maybe "
            "another leadflow sandbox, has it; give --port another port, or 0 for any free one",
            file=sys.stderr,
        )
        return 1
    server = _uvicorn_server(app, args.host, args.port)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            runner.run(_serve(server, app.state.sandbox, args.host, sys.stdout, listening))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0 if server.started else 1


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the foreground server like Ctrl-C once uvicorn has shut down and re-raised it."""
    raise KeyboardInterrupt
