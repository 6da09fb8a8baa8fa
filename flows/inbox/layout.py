"""The watched folder's layout, and claiming a dropped file by one atomic rename.

::

    ROOT/inbox/        people and tools drop files here
    ROOT/processing/   a watcher's claimed files, renamed <time>-<pid>@<host>-<random>-<safe name>
    ROOT/archive/      imported files (and duplicate drops) with a note beside each
    ROOT/retry/        files whose rows failed to send, with NAME.retry.json: when the next
                       attempt is due (flows.inbox.retry)
    ROOT/failed/       refused files, and files still unsent after every attempt, with NAME.error.txt
    ROOT/.leadflow-intake.sqlite   fingerprints and settle timers (flows.inbox.registry)

Claiming is ``os.rename`` from ``inbox/`` to ``processing/`` on the same file system: it
either moves the file or fails because another watcher moved it first, so no file is taken
twice. The new name is built by the watcher, never taken from the drop as is, so nothing a
dropper names can make a path outside ROOT.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import itertools
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.inbox.names import FORCE_SUFFIX, MARKER_SUFFIXES, display_name, safe_name

__all__ = [
    "INBOX",
    "Claim",
    "Layout",
    "RecordedSource",
    "claim",
    "claimed_name",
    "host_tag",
    "recorded_source",
]

INBOX = "inbox"
PROCESSING = "processing"
ARCHIVE = "archive"
RETRY = "retry"
FAILED = "failed"
REGISTRY_FILE = ".leadflow-intake.sqlite"

logger = logging.getLogger("leadflow.inbox")
_sequence = itertools.count()


@dataclass(frozen=True)
class Layout:
    """The folders of one watched root; ``Layout.at(root)`` creates any that are missing."""

    root: Path

    @classmethod
    def at(cls, root: Path | str) -> Layout:
        layout = cls(Path(root).absolute())
        for folder in (layout.inbox, layout.processing, layout.archive, layout.retry, layout.failed):
            folder.mkdir(parents=True, exist_ok=True)
        return layout

    @property
    def inbox(self) -> Path:
        return self.root / INBOX

    @property
    def processing(self) -> Path:
        return self.root / PROCESSING

    @property
    def archive(self) -> Path:
        return self.root / ARCHIVE

    @property
    def retry(self) -> Path:
        return self.root / RETRY

    @property
    def failed(self) -> Path:
        return self.root / FAILED

    @property
    def registry(self) -> Path:
        return self.root / REGISTRY_FILE


@dataclass(frozen=True)
class Claim:
    """A dropped file that this watcher now owns, at ``path`` inside ``processing/``."""

    layout: Layout
    original_name: str
    path: Path
    claimed_at: str
    forced: bool = False
    resumes: str | None = None
    """The claimed name this claim took over from a watcher that died with it (flows.inbox.recovery)."""
    retrying: bool = False
    """Taken back from ``retry/`` for another attempt (flows.inbox.retry)."""

    @property
    def name(self) -> str:
        return self.path.name


@functools.cache
def host_tag() -> str:
    """Eight hex digits naming this machine (its host name and machine id), so that a watcher
    on another machine over a shared folder can tell a claim is not its own to recover."""
    try:
        machine = Path("/etc/machine-id").read_text(encoding="ascii").strip()
    except OSError:
        machine = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{machine}".encode()).hexdigest()[:8]


def claimed_name(original: str, now: datetime) -> str:
    """``<time>-<pid>@<host>-<sequence><random>-<safe name>``: unique, and naming the claiming
    process and its machine (:func:`host_tag`)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    unique = f"{os.getpid()}@{host_tag()}-{next(_sequence)}{secrets.token_hex(2)}"
    return f"{stamp}-{unique}-{safe_name(original)}"


_CLAIM_PREFIX = re.compile(r"\d{8}T\d{6}Z-\d+@[0-9a-f]{8}-\d+[0-9a-f]{4}-")


def original_name(name: str) -> str:
    """The dropped file's (safe) name inside a :func:`claimed_name`; other names unchanged."""
    return _CLAIM_PREFIX.sub("", name, count=1) if _CLAIM_PREFIX.match(name) else name


@dataclass(frozen=True)
class RecordedSource:
    """What a run records as its source file (results' ``source_file``, run.json)."""

    source_file: str
    """The file's path once the run is done: for a watched folder's claim, ``ROOT/archive/<claimed>``."""
    dropped_as: str | None = None
    """The path it was dropped as, ``ROOT/inbox/<name>`` (its safe name); None outside a watched folder."""


def recorded_source(path: Path | str) -> RecordedSource:
    """The source file a run of ``path`` records. A claimed file is imported from
    ``processing/``, which it leaves when filed: the run names ``archive/<claimed>`` instead,
    where an imported file stays (the same name in ``retry/`` or ``failed/`` when its rows
    failed to send or it changed meanwhile; the note beside it names the run), and the name
    it was dropped as. Any other path is recorded as given."""
    path = Path(path)
    if path.parent.name != PROCESSING or not _CLAIM_PREFIX.match(path.name):
        return RecordedSource(str(path))
    root = path.parent.parent
    return RecordedSource(str(root / ARCHIVE / path.name), str(root / INBOX / original_name(path.name)))


def _consume_marker(marker: Path) -> bool:
    try:
        marker.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            return False
        logger.warning("inbox: could not remove marker %s: %s", display_name(marker.name), error.strerror)
        return False
    return True


def claim(path: Path) -> Claim | None:
    """Move ``ROOT/inbox/NAME`` into ``processing/``; None when another watcher took it first.

    Consumes the file's ``NAME.ready`` / ``NAME.force`` markers; ``forced`` says whether a
    ``.force`` marker was there.
    """
    if path.parent.name != INBOX or path.name in ("", ".", ".."):
        raise ValueError(f"not a file directly inside an inbox folder: {display_name(str(path))}")
    layout = Layout.at(path.parent.parent)
    original = path.name
    now = datetime.now(UTC)
    target = layout.processing / claimed_name(original, now)
    try:
        os.rename(layout.inbox / original, target)
    except FileNotFoundError:
        logger.debug("inbox: %s was taken by another watcher", display_name(original))
        return None
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR):
            return None
        logger.warning("inbox: could not claim %s: %s", display_name(original), error.strerror)
        return None
    forced = False
    for suffix in MARKER_SUFFIXES:
        consumed = _consume_marker(layout.inbox / f"{original}{suffix}")
        forced = forced or (consumed and suffix == FORCE_SUFFIX)
    logger.debug("inbox: claimed %s as processing/%s", display_name(original), target.name)
    return Claim(layout, original, target, now.isoformat(timespec="seconds"), forced)
