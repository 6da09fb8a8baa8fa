"""A hostile vendor for the tests: a raw socket server on 127.0.0.1 in front of the sandbox.

Every request is read off the socket by hand. One whose path, ``SOAPAction`` or body contains
the armed ``marker`` (each vendor kind's sending endpoint, :data:`MARKERS`) gets the armed
:data:`Answer`, written as raw bytes: a lying ``Content-Encoding``, a gzip bomb, a body with no
end, a body dripped a byte at a time, our own headers echoed back. Everything else (logins,
list set-up, logouts) is passed to the sandbox app, so each connector gets as far as its send.

A raw socket rather than an ASGI app, because only a socket can send what no framework would:
a chunked body that never ends, a stream that stops half-way, a ``Content-Length`` that lies.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx

from sandbox.app import build_app

__all__ = ["MARKERS", "Answer", "HostileVendor", "Seen", "answers"]

MARKERS = {
    "sinch_obi": "/customers/list",
    "engage": "createContactBatch",
    "ucontact_sms": "SMS/uploadbase",
    "ucontact_email": "uploadDialerBase",
    "onc": "AddCampaignContact",
    "maxcontact": "LeadManagement/addlead",
}
"""Per target kind, what identifies the request that carries its leads."""


@dataclass(frozen=True)
class Seen:
    """A request as it crossed the socket."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Seen, asyncio.StreamWriter], Awaitable[None]]
"""Writes one raw HTTP answer to a request (the connection is closed after it)."""


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers.items()), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def fixed(body: bytes, status: int = 200, **headers: str) -> Answer:
    """One body with a true Content-Length and the given headers (``content_encoding=...``)."""

    async def answer(_seen: Seen, writer: asyncio.StreamWriter) -> None:
        named = {k.replace("_", "-").title(): v for k, v in headers.items()}
        writer.write(_head(status, {"Content-Length": str(len(body)), **named}) + body)
        await writer.drain()

    return answer


def chunked(pieces: Callable[[], AsyncIterator[bytes]], status: int = 200, **headers: str) -> Answer:
    """A chunked body from ``pieces`` (which may never end: the client hanging up ends it)."""

    async def answer(_seen: Seen, writer: asyncio.StreamWriter) -> None:
        named = {k.replace("_", "-").title(): v for k, v in headers.items()}
        writer.write(_head(status, {"Transfer-Encoding": "chunked", **named}))
        async for piece in pieces():
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    return answer


_SECRET_IN_BODY = re.compile(
    rb"<(?:\w+:)?(?:password|sessionId|SessionId|Password)[^>]*>([^<]*)<|(?:password|token)=([^&\s]*)"
)


def echo_text(seen: Seen) -> str:
    """What a gateway that reflects the request would say: our auth headers and any password or
    session id our body carried, first (so that no truncation can cut them)."""
    found = [a or b for a, b in _SECRET_IN_BODY.findall(seen.body)]
    secrets = " ".join(x.decode("utf-8", "replace") for x in found)
    return (
        f"Authorization: {seen.headers.get('authorization', '-')} Cookie: {seen.headers.get('cookie', '-')} "
        f"in body: {secrets}"
    )


def _bomb(decoded_bytes: int) -> bytes:
    """gzip of ``decoded_bytes`` zeros (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(decoded_bytes >> 20)]
    return b"".join([*parts, packer.flush()])


class answers:
    """The hostile answers the suite uses (a namespace: read as ``answers.gzip_bomb(...)``)."""

    @staticmethod
    def corrupt_gzip() -> Answer:
        return fixed(b"\x1f\x8b\x08\x00this is not gzip at all" * 20, content_encoding="gzip")

    @staticmethod
    def corrupt_deflate() -> Answer:
        return fixed(b"\x78\x9c\xff\xff garbage deflate" * 20, content_encoding="deflate")

    @staticmethod
    def truncated_gzip() -> Answer:
        return fixed(gzip.compress(b'{"ok": true}' * 100)[:40], content_encoding="gzip")

    @staticmethod
    def unasked_brotli() -> Answer:
        return fixed(b"\x8b\x05\x80garbage", content_encoding="br")

    @staticmethod
    def gzip_bomb(decoded_bytes: int) -> Answer:
        return fixed(_bomb(decoded_bytes), content_encoding="gzip", content_type="application/json")

    @staticmethod
    def not_utf8(content_type: str) -> Answer:
        return fixed(b"\xff\xfe\xfa\x80 <\x00?\xc3(", content_type=content_type)

    @staticmethod
    def invalid_json() -> Answer:
        return fixed(b'{"Success": tru', content_type="application/json")

    @staticmethod
    def wrong_shape() -> Answer:
        return fixed(json.dumps({"unexpected": [1, {"x": None}]}).encode(), content_type="application/json")

    @staticmethod
    def invalid_xml() -> Answer:
        return fixed(b"<soap:Envelope><unclosed>", content_type="text/xml")

    @staticmethod
    def entity_bomb() -> Answer:
        doc = (
            b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<z>&b;</z>"
        )
        return fixed(doc, content_type="text/xml")

    @staticmethod
    def huge(size: int) -> Answer:
        """``size`` bytes with a true Content-Length, written a block at a time (the server's own
        memory stays small, so a test can measure the client's)."""

        async def answer(_seen: Seen, writer: asyncio.StreamWriter) -> None:
            writer.write(_head(200, {"Content-Length": str(size), "Content-Type": "application/json"}))
            block = b"x" * (1 << 16)
            for start in range(0, size, len(block)):
                writer.write(block[: size - start])
                await writer.drain()

        return answer

    @staticmethod
    def endless() -> Answer:
        async def pieces() -> AsyncIterator[bytes]:
            block = b"[" + b"0," * (1 << 15)
            while True:
                yield block

        return chunked(pieces, content_type="application/json")

    @staticmethod
    def drip(interval: float) -> Answer:
        async def pieces() -> AsyncIterator[bytes]:
            while True:
                yield b" "
                await asyncio.sleep(interval)

        return chunked(pieces, content_type="application/json")

    @staticmethod
    def echo(status: int = 400) -> Answer:
        async def answer(seen: Seen, writer: asyncio.StreamWriter) -> None:
            await fixed(echo_text(seen).encode(), status, content_type="text/plain")(seen, writer)

        return answer


@dataclass
class HostileVendor:
    """The server (use as a context manager); :meth:`arm` chooses who gets which answer."""

    marker: str | None = None
    answer: Answer | None = None
    seen: list[Seen] = field(default_factory=list)
    hostile_answers: int = 0

    def __post_init__(self) -> None:
        self.app = build_app()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, kind: str, answer: Answer) -> None:
        self.marker, self.answer = MARKERS[kind], answer

    def __enter__(self) -> HostileVendor:
        self._thread.start()
        assert self._ready.wait(30), "hostile vendor did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._sandbox = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://sandbox"
        )
        self._ready.set()
        self._loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._sandbox.aclose())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (seen := await _read_request(reader)) is not None:
                self.seen.append(seen)
                if self._hostile(seen):
                    self.hostile_answers += 1
                    assert self.answer is not None
                    await self.answer(seen, writer)
                    break
                writer.write(await self._forward(seen))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _hostile(self, seen: Seen) -> bool:
        if self.marker is None:
            return False
        where = (seen.path, seen.headers.get("soapaction", ""), seen.body[:4096].decode("utf-8", "replace"))
        return any(self.marker in part for part in where)

    async def _forward(self, seen: Seen) -> bytes:
        headers = {k: v for k, v in seen.headers.items() if k not in {"host", "content-length"}}
        answer = await self._sandbox.request(seen.method, seen.path, headers=headers, content=seen.body)
        kept = {
            k: v
            for k, v in answer.headers.items()
            if k.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}
        }
        head = _head(answer.status_code, {**kept, "Content-Length": str(len(answer.content))})
        return head.replace(b"Connection: close\r\n", b"") + answer.content


async def _read_request(reader: asyncio.StreamReader) -> Seen | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *fields = head.decode("latin-1").split("\r\n")
    method, path, _ = line.split(" ", 2)
    headers = dict(_fields(fields))
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Seen(method, path, headers, body)


def _fields(lines: list[str]) -> Iterator[tuple[str, str]]:
    for text in lines:
        name, colon, value = text.partition(":")
        if colon:
            yield name.strip().lower(), value.strip()
