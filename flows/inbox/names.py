"""File names in the watched folder: which to ignore, how to rename them safely, how to show them.

Names come from whoever drops files in the inbox, so they are hostile input: newlines and
control characters, bytes that are not UTF-8 (kept by Python as surrogate escapes), leading
dashes that a shell would read as options, names longer than the file system allows once a
prefix is added, ``..%2f`` that some tool may decode into a separator later. A claimed file
is therefore renamed to ``safe_name(original)``: printable characters only, no separator, no
leading dash or dot, bounded length, the extension kept because ingest reads it. The original
name is kept only as data (``display_name`` in logs and the notes written beside the file).

Ignored outright, because they are somebody's work in progress rather than a drop: hidden
files (``.name``, also rsync's temporary files), ``*.part`` / ``*.partial`` / ``*.tmp`` /
``*.crdownload`` / ``*.swp`` and editors' ``name~`` backups, Office lock files ``~$name``,
and the markers ``NAME.ready`` / ``NAME.force`` that speak about another file.
"""

from __future__ import annotations

import os
import unicodedata

__all__ = [
    "FORCE_SUFFIX",
    "MARKER_SUFFIXES",
    "READY_SUFFIX",
    "display_name",
    "ignore_reason",
    "safe_name",
]

READY_SUFFIX = ".ready"
FORCE_SUFFIX = ".force"
MARKER_SUFFIXES = (READY_SUFFIX, FORCE_SUFFIX)
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp")
MAX_NAME_BYTES = 120
_MAX_SUFFIX_CHARS = 16
_KEEP_PUNCTUATION = frozenset("._-+=@,()[] ")


def ignore_reason(name: str) -> str | None:
    """Why a name in the inbox is not a drop (None when it is one)."""
    lowered = name.lower()
    if name.startswith("."):
        return "hidden file"
    if name.startswith("~$"):
        return "Office lock file"
    if name.endswith("~"):
        return "editor backup file"
    if lowered.endswith(PARTIAL_SUFFIXES):
        stem = name.rpartition(".")[0]
        return (
            f"partial file still being written: waiting for it to be renamed to {display_name(stem)}, "
            f"or for a {display_name(stem)}.ready marker once {display_name(stem)} is complete"
        )
    if lowered.endswith(MARKER_SUFFIXES):
        return "marker file"
    return None


def display_name(name: str) -> str:
    """The name as one printable line: undecodable bytes as ``\\xNN``, control characters escaped."""
    text = os.fsencode(name).decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _clean_char(ch: str) -> str:
    if ch.isalnum() or ch in _KEEP_PUNCTUATION:
        return ch
    return "_"


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A name that is safe as one path component on any file system, keeping the extension.

    The result is non-empty, printable, at most ``max_bytes`` UTF-8 bytes, contains no path
    separator, does not start with ``-`` or ``.`` and has no surrounding spaces.
    """
    text = os.fsencode(name).decode("utf-8", errors="replace").replace("\ufffd", "_")
    text = unicodedata.normalize("NFC", text)
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS:
        stem, suffix = text, ""
    suffix = "".join(ch if ch.isalnum() else "_" for ch in suffix)
    tail = f".{suffix}" if suffix else ""
    cleaned = "".join(_clean_char(ch) for ch in stem).lstrip("-. ").rstrip(" ")
    cleaned = _truncate_utf8(cleaned, max_bytes - len(tail.encode("utf-8"))).rstrip(" ")
    return f"{cleaned or 'unnamed'}{tail}"
