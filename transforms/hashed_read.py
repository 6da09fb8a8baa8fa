"""A file's bytes in blocks, its sha256 taken beside them: the streamed scans' one read.

Every streamed CSV scan (transforms.ingest_batches, transforms.csv_scan, transforms.damaged_scan)
checks the bytes and fingerprints the file in the same pass. hashlib lets go of the GIL on large
buffers, so each block is hashed in a thread while the scan checks it: the fingerprint costs no
pass and almost no wall time of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from transforms.eof_marker import text_end

__all__ = ["hashed_blocks"]


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def hashed_blocks(path: Path, size: int, digest: Digest) -> Iterator[bytes]:
    """The bytes of ``path`` in blocks of ``size``, each added to ``digest`` beside the caller's
    work on it. ``digest`` holds the whole file once the blocks are exhausted; a caller that stops
    early (the file is not for its path) gets a partial one, and the thread ends with the loop.
    The blocks end where the file's text does (transforms.eof_marker): a DOS end-of-file marker
    is hashed, never read as text."""
    text = text_end(path)
    done = 0
    with path.open("rb") as file, ThreadPoolExecutor(max_workers=1) as hasher:
        hashed: Future[None] | None = None
        while block := file.read(size):
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(digest.update, block)
            if done + len(block) <= text:
                yield block
            elif done < text:
                yield block[: text - done]
            done += len(block)
        if hashed is not None:
            hashed.result()
