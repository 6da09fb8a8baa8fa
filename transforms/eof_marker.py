"""A DOS end-of-file marker: the Ctrl-Z bytes (0x1A) old Windows and DOS tools write after a
text file's last line (CP/M padded a file's last record with them).

Why: read as CSV, a marker after the last line break was a last row of one field (rejected:
RAGGED_ROW, NO_CHANNEL), and one right after the last value ended up in it (an email
``bob@example.com\\x1a`` was EMAIL_INVALID). Only a run of 0x1A at the very end of the file is
a marker: it is no part of the text, on every reader, whole or streamed (the streamed readers
read the file's bytes up to :func:`text_end`). A 0x1A anywhere else is a control byte in a
value, left to that row as any other. The file's fingerprint still covers every byte.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["EOF_MARKER", "text_end", "text_length", "without_marker"]

EOF_MARKER = 0x1A
_TAIL = 4096
_MARKER = bytes([EOF_MARKER])


def without_marker(data: bytes, encoding: str | None = None) -> bytes:
    """``data`` (a whole text file) without a run of end-of-file markers at its end; as it is
    when it is UTF-16 or UTF-32 (by its byte-order mark, or the ``encoding`` given), where a
    0x1A byte at the end is half of a character ("业" is ``4e 1a`` in UTF-16 BE)."""
    if not data.endswith(_MARKER) or _wide(data, encoding):
        return data
    return data[: text_length(data)]


def _wide(data: bytes, encoding: str | None) -> bool:
    if encoding is not None and encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        return True
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # UTF-32 LE's starts so too


def text_length(data: bytes) -> int:
    """How many of ``data``'s bytes are text: all but a run of end-of-file markers at its end."""
    return _text_end(len(data), lambda start, end: data[start:end])


def text_end(path: Path) -> int:
    """Where the text of the file at ``path`` ends: its size, less a run of end-of-file markers
    at its end (the size itself when it cannot be read: the reader then says why)."""
    try:
        with path.open("rb") as file:

            def read(start: int, end: int) -> bytes:
                file.seek(start)
                return file.read(end - start)

            return _text_end(file.seek(0, io.SEEK_END), read)
    except OSError:
        try:
            return os.stat(path).st_size
        except OSError:
            return 0


def _text_end(size: int, read: Callable[[int, int], bytes]) -> int:
    """Where text of ``size`` bytes ends, read back from its end :data:`_TAIL` bytes at a time
    (``read(start, end)``): a marker run is not copied whole, nor a large file read whole."""
    end = size
    while end:
        start = max(end - _TAIL, 0)
        kept = len(read(start, end).rstrip(_MARKER))
        if kept:
            return start + kept
        end = start
    return 0
