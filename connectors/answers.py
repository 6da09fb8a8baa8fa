"""Vendor answers read within limits: a size and a deadline per request, decoding included.

httpx reads a whole body into memory and inflates gzip/deflate without a bound, and its
timeouts are per phase (connect, each read), so a vendor (or anything between us and it) could
make one request cost gigabytes or last forever: a 200 MB page, an endless chunked body, a
gzip bomb, a body dripped one byte at a time. :class:`BoundedTransport` wraps the transport
every request of a target goes through (logins, sends, look-ups, logouts):

- the whole exchange, headers and body, must finish within ``deadline`` seconds, else
  :class:`~connectors.errors.AnswerDeadlineError` (transient: retried, then ``TRANSPORT_FAILED``);
- the body is counted as it arrives and as it inflates; past ``max_bytes``, reading stops with
  :class:`~connectors.errors.AnswerTooLargeError` (``VENDOR_ANSWER_TOO_LARGE``);
- ``Content-Encoding`` is decoded here, in pieces of at most :data:`PIECE` bytes, and removed
  from the headers so that httpx never inflates anything itself. We ask for gzip and deflate
  only; a corrupt body is a :class:`~connectors.errors.VendorAnswerError`
  (``VENDOR_ANSWER_INVALID``), never an ``httpx.DecodingError``. Unknown tokens are passed
  through as httpx does (servers write ``Content-Encoding: utf-8``); compressions we did not ask
  for (br, zstd, compress) are refused with a message saying so;
- the ``Authorization``/``Cookie`` headers of every request and the ``Set-Cookie`` of every
  answer are registered in the run's :class:`~connectors.secrets.SecretSet`, so whatever
  derived form of a credential or token goes out is redacted when it comes back.

Limits come from the target (``max_answer_bytes``, ``deadline``), else the vendor's
``LIMITS.max_answer_bytes`` and the target's ``timeout``.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx

from connectors.errors import AnswerDeadlineError, AnswerTooLargeError, VendorAnswerError
from connectors.secrets import SecretSet

__all__ = ["PIECE", "AnswerLimits", "BoundedTransport"]

PIECE = 64 * 1024
"""Most bytes one inflate step may produce: what a gzip bomb can cost before it is counted."""

_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_REFUSED = {"br", "zstd", "compress", "x-compress"}


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    target: str
    max_bytes: int
    deadline: float

    def too_large(self, request: httpx.Request) -> AnswerTooLargeError:
        return AnswerTooLargeError(
            f"{self.target}: the answer from {request.url.path} is larger than {self.max_bytes:,} bytes; "
            "reading stopped there (raise the target's max_answer_bytes if the vendor does send that much)",
            target=self.target,
        )

    def too_slow(self, request: httpx.Request) -> AnswerDeadlineError:
        return AnswerDeadlineError(
            f"{self.target}: no answer within {self.deadline:g}s from {request.url.path}, body included "
            "(the target's deadline, default its timeout; raise it if the vendor is this slow)",
            target=self.target,
            request=request,
        )


class BoundedTransport(httpx.AsyncBaseTransport):
    """``inner`` with every answer bounded by ``limits``; see the module docstring."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limits: AnswerLimits, secrets: SecretSet) -> None:
        self.inner = inner
        self.limits = limits
        self.secrets = secrets

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.secrets.harvest(request)
        request.headers["Accept-Encoding"] = "gzip, deflate"
        deadline = asyncio.get_running_loop().time() + self.limits.deadline
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.inner.handle_async_request(request)
        except TimeoutError:
            raise self.limits.too_slow(request) from None
        for cookie in response.headers.get_list("set-cookie"):
            self.secrets.add_cookies(cookie.partition(";")[0])
        encodings = [
            token.strip().lower()
            for value in response.headers.get_list("content-encoding")
            for token in value.split(",")
            if token.strip()
        ]
        refused = [token for token in encodings if token in _REFUSED]
        if refused:
            await response.aclose()
            raise VendorAnswerError(
                f"{self.limits.target}: the answer from {request.url.path} is in Content-Encoding "
                f"{refused[0]!r}, which we did not ask for (we accept gzip and deflate)",
                target=self.limits.target,
            )
        inflaters = [_Inflater(token) for token in reversed(encodings) if token in _ZLIB]
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() != b"content-encoding" and not (inflaters and name.lower() == b"content-length")
        ]
        stream = _BoundedStream(response.stream, request, self.limits, deadline, inflaters)
        return httpx.Response(
            response.status_code, headers=headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Inflater:
    """One zlib stream, inflated at most :data:`PIECE` bytes per step. Like httpx, ``deflate``
    is tried with the zlib header first and as raw deflate when that fails at once; bytes after
    the end of the stream are ignored."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._inflate = zlib.decompressobj(_ZLIB[encoding])
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self._inflate.eof:
            try:
                piece = self._inflate.decompress(data, PIECE)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    self._started = True
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise ValueError(f"not valid {self.encoding} ({exc})") from None
            self._started = True
            if piece:
                yield piece
            data = self._inflate.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        try:
            rest = self._inflate.flush()
        except zlib.error as exc:
            raise ValueError(f"not valid {self.encoding} ({exc})") from None
        if rest:
            yield rest
        if self._started and not self._inflate.eof:
            raise ValueError(f"{self.encoding} body ends before its stream does")


def _through(inflaters: list[_Inflater], data: bytes, *, last: bool = False) -> Iterator[bytes]:
    """``data`` inflated by each of ``inflaters`` in turn (``last``: flush them too)."""
    if not inflaters:
        if data:
            yield data
        return
    first, rest = inflaters[0], inflaters[1:]
    for piece in first.feed(data):
        yield from _through(rest, piece)
    if last:
        for piece in first.flush():
            yield from _through(rest, piece)
        yield from _through(rest, b"", last=True)


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream | httpx.SyncByteStream,
        request: httpx.Request,
        limits: AnswerLimits,
        deadline: float,
        inflaters: list[_Inflater],
    ) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner
        self._request = request
        self._limits = limits
        self._deadline = deadline
        self._inflaters = inflaters

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = produced = 0
        chunks = aiter(self._inner)
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise self._limits.too_slow(self._request) from None
            received += len(chunk)
            if received > self._limits.max_bytes:
                raise self._limits.too_large(self._request)
            for piece in self._decoded(chunk):
                produced += len(piece)
                if produced > self._limits.max_bytes:
                    raise self._limits.too_large(self._request)
                yield piece
        for piece in self._decoded(b"", last=True):
            produced += len(piece)
            if produced > self._limits.max_bytes:
                raise self._limits.too_large(self._request)
            yield piece

    def _decoded(self, chunk: bytes, *, last: bool = False) -> Iterator[bytes]:
        try:
            yield from _through(self._inflaters, chunk, last=last)
        except ValueError as exc:
            raise VendorAnswerError(
                f"{self._limits.target}: the answer from {self._request.url.path} is {exc}",
                target=self._limits.target,
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
