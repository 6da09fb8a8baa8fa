"""A webhook receiver on 127.0.0.1 for the alert tests: a real HTTP server in a thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TOKEN", "Receiver"]

TOKEN = "T0KEN-abc123-secret"
"""The secret part of the receiver's URL (as in a Slack URL): never in a log or an alert."""


class Receiver:
    """A webhook receiver: records each POST's JSON; answers ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.posts.append(json.loads(body))
                received.paths.append(self.path)
                self.send_response(received.statuses.pop(0) if received.statuses else 200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://hook:pw@127.0.0.1:{self.server.server_address[1]}/services/{TOKEN}?key={TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
