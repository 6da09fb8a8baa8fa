"""Files whose rows failed to send: kept in ``retry/`` and imported again with backoff.

A vendor that is down or refuses our credentials leaves rows ``failed``; the file is not
"imported" then, and filing it in ``archive/`` would bury it. Instead it waits in ``retry/``
beside ``NAME.retry.json`` (the attempt, the problem, the run folder and when the next attempt
is due) and each pass takes back the files that are due, by one atomic rename into
``processing/`` as for a drop. Another import of the same file is safe: the ledger reports
what was delivered as ``already_sent`` and sends only the rest. Delays double from
``retry_delay_seconds`` up to ``retry_max_delay_seconds``; after ``retry_attempts`` imports the
file goes to ``failed/`` with a note saying what was not sent and what to do, and its content
may be dropped again (flows.inbox.registry).

Not every cause passes with time: a refused login, an unknown campaign or a setting the vendor
refuses meets the same answer at every attempt, and a watcher keeps the environment it started
with. Such a file waits in ``retry/`` with no next attempt (``next_attempt_epoch`` null) and a note
saying what to fix (flows.inbox.held); moved back into ``inbox/`` it is imported again.

The schedule lives in the note beside the file, where a person looks; the count of attempts
lives in the intake registry, so that a watcher dying mid-attempt does not reset it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from flows.inbox.layout import Claim, Layout, claimed_name
from flows.inbox.names import display_name

__all__ = ["RETRY_NOTE_SUFFIX", "claim_retry", "due_retries", "next_attempt_at"]

logger = logging.getLogger("leadflow.inbox")

RETRY_NOTE_SUFFIX = ".retry.json"
_CLAIMED = re.compile(r"^\d{8}T\d{6}Z-\d+(?:@[0-9a-f]{8})?-[0-9a-f]+-(?P<name>.+)$")


def next_attempt_at(now: float, attempts: int, delay: float, max_delay: float) -> float:
    """When to try again after ``attempts`` imports left rows unsent: after ``delay``, doubling
    with each attempt, at most ``max_delay``."""
    return now + min(max_delay, delay * 2.0 ** max(attempts - 1, 0))


def _due_at(note: Path) -> float:
    """The note's next attempt time; 0 (due now) when the note is missing or unreadable; never
    (infinity) when it has none: a person must act first (flows.inbox.held)."""
    try:
        due = json.loads(note.read_text(encoding="utf-8"))["next_attempt_epoch"]
        return math.inf if due is None else float(due)
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("inbox: retry note %s unreadable (%s); retrying its file now", note.name, error)
        return 0.0


_STALE_NOTE_SECONDS = 60.0
"""A note is written just before its file is moved in: only a note this old is an orphan."""


def _drop_stale_note(note: Path, now: float) -> None:
    """Remove a note whose file was moved away (by hand, or taken back by a watcher)."""
    with contextlib.suppress(FileNotFoundError):
        if now - note.stat().st_mtime > _STALE_NOTE_SECONDS:
            note.unlink()


def due_retries(layout: Layout, now: float) -> list[Path]:
    """Files in ``retry/`` whose next attempt is due, earliest first."""
    due: list[tuple[float, str]] = []
    with os.scandir(layout.retry) as entries:
        names = [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]
    present = set(names)
    for name in names:
        if name.endswith(RETRY_NOTE_SUFFIX) and name.removesuffix(RETRY_NOTE_SUFFIX) not in present:
            _drop_stale_note(layout.retry / name, now)
        if name.startswith(".") or name.endswith(RETRY_NOTE_SUFFIX):
            continue
        at = _due_at(layout.retry / f"{name}{RETRY_NOTE_SUFFIX}")
        if at <= now:
            due.append((at, name))
    return [layout.retry / name for _, name in sorted(due)]


def claim_retry(path: Path, original_name: str | None = None) -> Claim | None:
    """Move a due file from ``retry/`` into ``processing/``; None when another watcher took it."""
    layout = Layout.at(path.parent.parent)
    match = _CLAIMED.match(path.name)
    safe = match["name"] if match else path.name
    now = datetime.now(UTC)
    target = layout.processing / claimed_name(safe, now)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        (layout.retry / f"{path.name}{RETRY_NOTE_SUFFIX}").unlink()
    original = original_name or safe
    logger.debug("inbox: retrying %s as processing/%s", display_name(original), target.name)
    return Claim(layout, original, target, now.isoformat(timespec="seconds"), retrying=True)
