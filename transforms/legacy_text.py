"""A "Latin-1" file's text: cp1252, with only the bytes cp1252 leaves undefined read as Latin-1.

Why: a file that is not UTF-8 is read as cp1252, and one byte cp1252 leaves undefined (0x81,
0x8D, 0x8F, 0x90, 0x9D: a stray byte in a Windows export) made the whole file Latin-1, where
0x80-0x9F are control characters: every "’" of the file's "O’Brien", "œ" of "Cœur", "€", "Š"
and "Ž" became an invisible control, silently. Read so, those bytes stay cp1252's characters
and only the undefined ones are Latin-1's controls (as browsers read "windows-1252" and
"iso-8859-1" alike). The file's encoding is still reported as ``latin-1``.
"""

from __future__ import annotations

import codecs

__all__ = ["decode_latin1", "encode_latin1"]

_HANDLER = "leadflow-undefined-as-latin-1"


def _undefined_as_latin1(error: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(error, UnicodeDecodeError):
        return error.object[error.start : error.end].decode("latin-1"), error.end
    if isinstance(error, UnicodeEncodeError):
        return error.object[error.start : error.end].encode("latin-1", "replace"), error.end
    raise error


codecs.register_error(_HANDLER, _undefined_as_latin1)


def decode_latin1(data: bytes) -> str:
    """``data`` read as cp1252, each byte cp1252 leaves undefined as its Latin-1 character."""
    return data.decode("cp1252", _HANDLER)


def encode_latin1(text: str) -> bytes:
    """The bytes :func:`decode_latin1` read ``text`` from (``?`` for what neither page has)."""
    return text.encode("cp1252", _HANDLER)
