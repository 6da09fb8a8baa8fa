"""The watched folder's mechanics: find complete drops, claim them, import each once, file the result.

Plain filesystem code, no Prefect: ``leadflow watch`` (flows.commands.watch) and the served scan flow
(flows.scan_inbox) both drive it, and its tests use a small real import step. The import is
any ``ImportStep``, a callable from the claimed file's path to an ``ImportOutcome``; it raises
``LeadFileError`` for a bad file.

    scan(root, settings)         complete drops in ROOT/inbox: size and mtime unchanged across
                                 the settle window (flows.inbox.settle), or a NAME.ready /
                                 NAME.force marker; NAME.part and other partial names ignored
    claim(path)                  atomic rename into processing/ (None if another watcher won)
    process(claim, step, ...)    refuse what is not a plain non-empty file, fingerprint it,
                                 reserve the fingerprint (duplicate drop if already imported),
                                 import, check the file did not change meanwhile, finish
    finish(claim, outcome)       archive/, retry/ (rows failed to send; held for a person when
                                 waiting cannot fix the cause) or failed/, with a note
    run_once(root, step, ...)    all of the above for one pass over the inbox, after taking over
                                 the claims of watchers that died (flows.inbox.recovery) and the
                                 files in retry/ whose next attempt is due (flows.inbox.retry)

Nothing here follows a symbolic link or opens anything but a regular file: a link, a pipe or
a device in the inbox is claimed (the link itself is moved) and refused to ``failed/``.
Directories and work-in-progress names are left where they are, with one log line each.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from flows.inbox.finish import (
    DuplicateDrop,
    Finished,
    Imported,
    ImportOutcome,
    Outcome,
    Rejected,
    Retrying,
    Verdict,
    finish,
)
from flows.inbox.layout import Claim, Layout, claim
from flows.inbox.names import MARKER_SUFFIXES, display_name, ignore_reason
from flows.inbox.options import InboxSettings
from flows.inbox.recovery import take_over_orphans
from flows.inbox.registry import IntakeRegistry, IntakeState
from flows.inbox.retry import claim_retry, due_retries, next_attempt_at
from flows.inbox.settle import settle_window, waiting_message
from transforms.errors import LeadFileError

__all__ = [
    "Claim",
    "DuplicateDrop",
    "Finished",
    "ImportOutcome",
    "ImportStep",
    "Imported",
    "InboxSettings",
    "Layout",
    "Outcome",
    "Rejected",
    "Retrying",
    "Verdict",
    "claim",
    "finish",
    "process",
    "run_once",
    "scan",
]

logger = logging.getLogger("leadflow.inbox")

ImportStep = Callable[[Path], ImportOutcome]

_REDROP = (
    "Drop the complete file into inbox/ again; tools that write slowly should write NAME.part and "
    "rename it when done, or add an empty NAME.ready marker after the file is complete."
)

_UNREADABLE = (
    "Let the user the watcher runs as read the file (its owner can run chmod a+r on it), then drop "
    "it into inbox/ again."
)


class _Refused(Exception):
    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


_Signature = tuple[int, int, int, int]
_noticed: set[tuple[str, str, str]] = set()


def _notice_once(inbox: Path, name: str, message: str, kind: str = "ignore") -> None:
    key = (str(inbox), name, kind)
    if key in _noticed:
        return
    if len(_noticed) > 10_000:
        _noticed.clear()
    _noticed.add(key)
    logger.info("%s", message)


def _ignoring(name: str, reason: str) -> str:
    return f"inbox: ignoring {display_name(name)} ({reason})"


def scan(root: Path | str, settings: InboxSettings | None = None, *, now: float | None = None) -> list[Path]:
    """Paths in ``ROOT/inbox`` that are ready to claim, oldest first.

    Regular files qualify when their (size, mtime) have been unchanged across the settle
    window (flows.inbox.settle: ``settle_seconds``, longer for a file that was written slowly;
    remembered in the registry, so restarts and other scanners share it) or when a
    ``NAME.ready``/``NAME.force`` marker is present. Links, pipes and other non-files qualify
    at once so that they are refused visibly; directories and work-in-progress names
    (``NAME.part``, ...) are ignored. A file left waiting is logged once, naming the
    conventions that avoid the wait.
    """
    settings = settings or InboxSettings()
    layout = Layout.at(root)
    now = time.time() if now is None else now
    with os.scandir(layout.inbox) as entries:
        listed = list(entries)
    names = {entry.name for entry in listed}
    marked = {name[: -len(suffix)] for name in names for suffix in MARKER_SUFFIXES if name.endswith(suffix)}
    files: dict[bytes, tuple[int, int]] = {}
    at_once: list[str] = []
    for entry in listed:
        reason = ignore_reason(entry.name)
        if reason is not None:
            if not entry.name.endswith(MARKER_SUFFIXES):
                _notice_once(layout.inbox, entry.name, _ignoring(entry.name, reason))
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _notice_once(
                layout.inbox, entry.name, _ignoring(entry.name, "a folder; drop the files themselves")
            )
        elif stat.S_ISREG(info.st_mode):
            files[os.fsencode(entry.name)] = (info.st_size, info.st_mtime_ns)
        else:
            at_once.append(entry.name)
    since = IntakeRegistry(layout.registry).observe(files, now)
    ready: list[tuple[float, str]] = [(now, name) for name in at_once]
    for raw, (unchanged_since, first_seen) in since.items():
        name = os.fsdecode(raw)
        window = settle_window(settings, written_for=unchanged_since - first_seen)
        if name in marked or now - unchanged_since >= window:
            ready.append((unchanged_since, name))
        else:
            message = waiting_message(display_name(name), now - unchanged_since, window)
            _notice_once(layout.inbox, name, message, kind="wait")
    return [layout.inbox / name for _, name in sorted(ready)]


def _open_regular(path: Path) -> int:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise _Refused(
            "it is a symbolic link, and Leadflow does not follow links out of the inbox",
            "Copy the file itself into inbox/.",
        )
    if stat.S_ISDIR(info.st_mode):
        raise _Refused("it is a folder", "Drop the files themselves into inbox/, one by one.")
    if not stat.S_ISREG(info.st_mode):
        raise _Refused("it is not a regular file (a pipe, socket or device)", "Drop a regular file.")
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise _Refused("it was replaced by something that is not a regular file", _REDROP)
    return descriptor


def _signature(info: os.stat_result) -> _Signature:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _fingerprint(path: Path, chunk_bytes: int = 1 << 20) -> tuple[str, _Signature]:
    """sha256 of a regular file's bytes read in chunks, and its (dev, inode, size, mtime) when read."""
    descriptor = _open_regular(path)
    with os.fdopen(descriptor, "rb") as handle:
        before = _signature(os.fstat(handle.fileno()))
        digest = hashlib.sha256()
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
        after = _signature(os.fstat(handle.fileno()))
    if before != after:
        raise _Refused("it changed while its fingerprint was being computed", _REDROP)
    return digest.hexdigest(), after


def _check(path: Path, settings: InboxSettings) -> tuple[str, _Signature]:
    digest, signature = _fingerprint(path, settings.chunk_bytes)
    size = signature[2]
    if size == 0:
        raise _Refused("it is empty (0 bytes)", _REDROP)
    if settings.max_bytes is not None and size > settings.max_bytes:
        raise _Refused(
            f"it is {size} bytes, more than this watcher's limit of {settings.max_bytes}",
            "Split the file, or raise the watcher's size limit.",
        )
    return digest, signature


def _changed_since(path: Path, digest: str, signature: _Signature, settings: InboxSettings) -> bool:
    try:
        if _signature(os.lstat(path)) == signature:
            return False
        return _fingerprint(path, settings.chunk_bytes)[0] != digest
    except (OSError, _Refused):
        return True


def _import(
    claim: Claim,
    step: ImportStep,
    *,
    digest: str,
    signature: _Signature,
    settings: InboxSettings,
    registry: IntakeRegistry,
) -> Outcome:
    try:
        result = step(claim.path)
    except LeadFileError as error:
        registry.settle(digest, IntakeState.FAILED)
        return Rejected(error.problem, error.fix)
    except Exception as error:
        logger.exception(
            "inbox: importing %s stopped with an unexpected error", display_name(claim.original_name)
        )
        registry.settle(digest, IntakeState.FAILED)
        return Rejected(
            f"the import stopped with an unexpected error: {type(error).__name__}: {error}",
            "Check the watcher's log for details; once the cause is fixed, drop the file again.",
        )
    except BaseException:
        registry.settle(digest, IntakeState.FAILED)
        raise
    run_dir = None if result.run_dir is None else str(result.run_dir)
    if _changed_since(claim.path, digest, signature, settings):
        registry.settle(digest, IntakeState.FAILED, result.run_id, run_dir)
        return Rejected(
            "the file changed while it was being imported, so the run's results describe a version "
            "of it that no longer exists",
            "Check the run's results, then drop the final version of the file again.",
            result.run_dir,
        )
    if result.unsent is not None:
        attempts = registry.unsent(digest, result.run_id, run_dir, max_attempts=settings.retry_attempts)
        if attempts < settings.retry_attempts:
            # a cause waiting cannot fix (a refused login): no automatic attempt, the note says why
            due = (
                None
                if result.fix is not None
                else next_attempt_at(
                    time.time(), attempts, settings.retry_delay_seconds, settings.retry_max_delay_seconds
                )
            )
            return Retrying(digest, result, attempts, settings.retry_attempts, due)
        return Rejected(
            f"rows still failed to send after {attempts} attempt(s): {result.unsent}",
            result.fix
            or "Nothing is lost: the run folder lists every row and why it failed. Fix the cause (the "
            "vendor's availability, the target's credentials or settings), then drop the file again: "
            "it is imported again and only the rows not yet delivered are sent.",
            result.run_dir,
        )
    registry.settle(digest, IntakeState.IMPORTED, result.run_id, run_dir)
    return Imported(digest, result)


def process(
    claim: Claim, step: ImportStep, settings: InboxSettings | None = None, *, force: bool = False
) -> Finished:
    """Import one claimed file at most once per content; file it in archive/, retry/ or failed/."""
    settings = settings or InboxSettings()
    registry = IntakeRegistry(claim.layout.registry)
    outcome: Outcome
    try:
        digest, signature = _check(claim.path, settings)
    except _Refused as refused:
        outcome = Rejected(refused.problem, refused.fix)
    except PermissionError as error:
        outcome = Rejected(f"it could not be read ({error.strerror})", _UNREADABLE)
    except OSError as error:
        outcome = Rejected(f"it could not be read ({error.strerror})", _REDROP)
    else:
        shown = display_name(claim.original_name)
        earlier = registry.reserve(
            digest,
            claim.name,
            shown,
            force=force or claim.forced,
            resumes=claim.resumes,
            retrying=claim.retrying,
        )
        if earlier is not None and claim.resumes is not None and earlier.claimed_name == claim.resumes:
            # the watcher died after its import was recorded, before the file was filed away
            outcome = Imported(
                digest,
                ImportOutcome(
                    earlier.run_id or "", None if earlier.run_dir is None else Path(earlier.run_dir)
                ),
            )
        elif earlier is not None:
            outcome = DuplicateDrop(digest, earlier)
        else:
            outcome = _import(
                claim, step, digest=digest, signature=signature, settings=settings, registry=registry
            )
    finished = finish(claim, outcome)
    _log(finished)
    return finished


def _log(finished: Finished) -> None:
    name = display_name(finished.original_name)
    where = f"{finished.path.parent.name}/{finished.path.name}"
    if finished.verdict is Verdict.IMPORTED:
        logger.info("inbox: imported %s (run %s) -> %s", name, finished.run_id, where)
    elif finished.verdict is Verdict.DUPLICATE_DROP:
        logger.info("inbox: %s is a duplicate drop (%s) -> %s", name, finished.problem, where)
    elif finished.verdict is Verdict.RETRYING and finished.held:
        logger.warning(
            "inbox: %s not fully sent, waiting for a person (see its note): %s -> %s",
            name,
            finished.problem,
            where,
        )
    elif finished.verdict is Verdict.RETRYING:
        logger.warning("inbox: %s not fully sent, will retry: %s -> %s", name, finished.problem, where)
    else:
        said = " ".join(f"{text.rstrip('.')}." for text in (finished.problem, finished.fix) if text)
        logger.warning("inbox: %s failed: %s -> %s", name, said.rstrip("."), where)


def run_once(
    root: Path | str, step: ImportStep, settings: InboxSettings | None = None, *, force: bool = False
) -> list[Finished]:
    """One pass: resume the claims of watchers that died (flows.inbox.recovery), retry the
    files in retry/ that are due (flows.inbox.retry), then scan, claim and process every
    complete drop; returns what this pass finished."""
    layout = Layout.at(root)
    finished = [process(taken, step, settings) for taken in take_over_orphans(layout)]
    due = due_retries(layout, time.time())
    if due:
        registry = IntakeRegistry(layout.registry)
        for path in due:
            retried = claim_retry(path, registry.original_name_of(path.name))
            if retried is not None:
                finished.append(process(retried, step, settings))
    for path in scan(root, settings):
        taken = claim(path)
        if taken is not None:
            IntakeRegistry(layout.registry).forget(os.fsencode(path.name))
            _noticed.discard((str(layout.inbox), path.name, "wait"))
            finished.append(process(taken, step, settings, force=force))
    return finished
