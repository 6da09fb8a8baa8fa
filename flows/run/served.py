"""Run folders over http, so the report a Prefect artifact links opens in a browser.

A ``file://`` link in an artifact opens nothing: browsers refuse it from an http page, and the
file may be on another machine. ``leadflow serve`` therefore serves its run-folder root
read-only on 127.0.0.1 (``serve_runs``: GET and HEAD of files and folder listings under the
root, nothing else) and tells the flow runs it starts where (``LEADFLOW_RUNS_URL`` and
``LEADFLOW_RUNS_ROOT`` in their environment); ``report_url`` turns a run folder into the
link the summary artifact shows. Anywhere else (a plain ``leadflow import --prefect``, a
remote run-folder URL), no link is made: the artifacts carry the report's content and name
the folder.

The port is stable like the Prefect server's: ``DEFAULT_RUNS_PORT`` or ``--runs-port``, a free
one (said on stderr) when the default is taken.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["DEFAULT_RUNS_PORT", "RUNS_ROOT_ENV", "RUNS_URL_ENV", "report_url", "serve_runs"]

DEFAULT_RUNS_PORT = 4201
RUNS_URL_ENV = "LEADFLOW_RUNS_URL"
RUNS_ROOT_ENV = "LEADFLOW_RUNS_ROOT"


def report_url(run_dir: str | Path) -> str | None:
    """The http URL of ``run_dir``'s report when a ``leadflow serve`` serves the folder it is
    in (from the environment it gave this process), else None."""
    base, root = os.environ.get(RUNS_URL_ENV), os.environ.get(RUNS_ROOT_ENV)
    if not base or not root or "://" in str(run_dir):
        return None
    try:
        relative = Path(run_dir).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None
    return f"{base.rstrip('/')}/{quote(relative.as_posix())}/report.html"


class _ReadOnly(SimpleHTTPRequestHandler):
    """Files and listings under the served folder; GET and HEAD only (the base class answers
    any other method 501); no request lines on stderr (they would garble serve's console)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _bind(root: Path, port: int, explicit: bool) -> ThreadingHTTPServer:
    handler = functools.partial(_ReadOnly, directory=str(root))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        if explicit:
            raise
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(
        f"Port {port} on 127.0.0.1 is taken by another program: run folders are served on port "
        f"{server.server_address[1]} this time (choose a port with --runs-port)",
        file=sys.stderr,
    )
    return server


@contextmanager
def serve_runs(root: Path, port: int | None = None) -> Iterator[str]:
    """Serve ``root`` read-only on 127.0.0.1 while the block runs; its URL. The flow runs
    started meanwhile (they inherit the environment) link their reports there."""
    root.mkdir(parents=True, exist_ok=True)
    server = _bind(root, DEFAULT_RUNS_PORT if port is None else port, explicit=port is not None)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, name="leadflow-runs-http", daemon=True)
    thread.start()
    saved = {name: os.environ.get(name) for name in (RUNS_URL_ENV, RUNS_ROOT_ENV)}
    os.environ[RUNS_URL_ENV], os.environ[RUNS_ROOT_ENV] = url, str(root.resolve())
    try:
        yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
