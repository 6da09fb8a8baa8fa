"""Where a claimed file ends, and the note left beside it so that a person knows why.

::

    archive/<claimed>  + <claimed>.result.json          imported; points to the run folder
    archive/<claimed>  + <claimed>.duplicate-drop.json   same content was imported before
    retry/<claimed>    + <claimed>.retry.json             rows failed to send; when the next try is,
                                                          or what a person must fix first (none due)
    failed/<claimed>   + <claimed>.error.txt              what is wrong and what to do

The note is written (atomically) before the file is moved, so a file in ``archive/`` or
``failed/`` always has its note. Original names appear in notes only through
``display_name``: escaped, one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from flows.inbox.layout import Claim
from flows.inbox.names import FORCE_SUFFIX, display_name
from flows.inbox.registry import IntakeRecord

__all__ = [
    "DuplicateDrop",
    "Finished",
    "ImportOutcome",
    "Imported",
    "Outcome",
    "Rejected",
    "Retrying",
    "Verdict",
    "finish",
]


@dataclass(frozen=True)
class ImportOutcome:
    """What the import step reports for one file: its run and a JSON-able summary."""

    run_id: str
    run_dir: Path | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)
    unsent: str | None = None
    """What was not sent (rows failed, a target stopped: flows.verdict's one line); None when
    everything that should be sent was sent. A file with unsent rows is imported again later."""
    fix: str | None = None
    """What a person must do when waiting cannot deliver the unsent rows (a refused login, an
    unknown campaign, a bad setting: flows.inbox.held); the file is then not imported again
    until they do. None: another attempt later may send them (the vendor down)."""


@dataclass(frozen=True)
class Imported:
    fingerprint: str
    result: ImportOutcome


@dataclass(frozen=True)
class DuplicateDrop:
    fingerprint: str
    earlier: IntakeRecord


@dataclass(frozen=True)
class Rejected:
    problem: str
    fix: str
    run_dir: Path | None = None


@dataclass(frozen=True)
class Retrying:
    """Rows failed to send: the file waits in ``retry/`` until ``next_at`` (epoch seconds)."""

    fingerprint: str
    result: ImportOutcome
    attempt: int
    attempts: int
    next_at: float | None
    """None: no automatic attempt; the note's ``what_to_do`` says what a person must do first."""


Outcome = Imported | DuplicateDrop | Rejected | Retrying


class Verdict(StrEnum):
    IMPORTED = "imported"
    DUPLICATE_DROP = "duplicate-drop"
    RETRYING = "retrying"
    FAILED = "failed"


@dataclass(frozen=True)
class Finished:
    """A claimed file at its final place, with the note written beside it."""

    verdict: Verdict
    original_name: str
    path: Path
    note: Path
    run_id: str | None = None
    run_dir: Path | None = None
    problem: str | None = None
    held: bool = False
    """In ``retry/`` with no automatic next attempt: a person must act (see its note)."""
    fix: str | None = None
    """What to do about a file in ``failed/`` (its note's "What to do")."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "file": display_name(self.original_name),
            "path": str(self.path),
            "note": str(self.note),
            "run_id": self.run_id,
            "run_dir": None if self.run_dir is None else str(self.run_dir),
            "problem": self.problem,
        }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _error_text(claim: Claim, outcome: Rejected) -> str:
    lines = [
        f"File:        {display_name(claim.original_name)}",
        f"Received:    {claim.claimed_at} (kept here as {claim.name})",
        f"Problem:     {outcome.problem}",
        f"What to do:  {outcome.fix}",
    ]
    if outcome.run_dir is not None:
        lines.append(f"Run folder:  {outcome.run_dir}")
    return "\n".join(lines) + "\n"


def finish(claim: Claim, outcome: Outcome) -> Finished:
    """Write the note for ``outcome`` and move the claimed file to ``archive/``, ``retry/`` or ``failed/``."""
    layout = claim.layout
    problem: str | None = None
    fix: str | None = None
    held = False
    run_id: str | None
    run_dir: Path | None
    base: dict[str, Any] = {"file": display_name(claim.original_name), "claimed_as": claim.name}
    if isinstance(outcome, Imported):
        folder, note_name = layout.archive, f"{claim.name}.result.json"
        note_text = _json(
            base
            | {
                "fingerprint": f"sha256:{outcome.fingerprint}",
                "run_id": outcome.result.run_id,
                "run_dir": outcome.result.run_dir,
                "summary": dict(outcome.result.summary),
                "finished_at": _now_iso(),
            }
        )
        verdict, run_id, run_dir = Verdict.IMPORTED, outcome.result.run_id, outcome.result.run_dir
    elif isinstance(outcome, DuplicateDrop):
        earlier = outcome.earlier
        folder, note_name = layout.archive, f"{claim.name}.duplicate-drop.json"
        problem = f"same content as {display_name(earlier.original_name)}, {earlier.state.value}"
        note_text = _json(
            base
            | {
                "fingerprint": f"sha256:{outcome.fingerprint}",
                "duplicate_of": {
                    "file": display_name(earlier.original_name),
                    "claimed_as": earlier.claimed_name,
                    "state": earlier.state.value,
                    "run_id": earlier.run_id,
                    "run_dir": earlier.run_dir,
                    "at": earlier.updated_at,
                },
                "what_to_do": (
                    "Nothing, if this was a second copy. To import it again anyway, drop it together "
                    f"with an empty marker file named like it plus '{FORCE_SUFFIX}'."
                ),
                "finished_at": _now_iso(),
            }
        )
        verdict, run_id = Verdict.DUPLICATE_DROP, earlier.run_id
        run_dir = None if earlier.run_dir is None else Path(earlier.run_dir)
    elif isinstance(outcome, Retrying):
        folder, note_name = layout.retry, f"{claim.name}.retry.json"
        problem, at = outcome.result.unsent, outcome.next_at
        held = at is None
        note_text = _json(
            base
            | {
                "fingerprint": f"sha256:{outcome.fingerprint}",
                "attempt": outcome.attempt,
                "attempts": outcome.attempts,
                "problem": problem,
                "run_id": outcome.result.run_id,
                "run_dir": outcome.result.run_dir,
                "next_attempt_at": None
                if at is None
                else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
                "next_attempt_epoch": at,
                "what_to_do": outcome.result.fix
                or (
                    "Nothing: the file is imported again when the next attempt is due, and only the rows "
                    "not yet delivered are sent (the ledger). To try at once, move it back into inbox/ "
                    "with an empty marker file named like it plus '.ready'."
                ),
            }
        )
        verdict, run_id, run_dir = Verdict.RETRYING, outcome.result.run_id, outcome.result.run_dir
    else:
        folder, note_name = layout.failed, f"{claim.name}.error.txt"
        note_text = _error_text(claim, outcome)
        verdict, run_id, run_dir, problem = Verdict.FAILED, None, outcome.run_dir, outcome.problem
        fix = outcome.fix
    note = folder / note_name
    _write_atomically(note, note_text)
    destination = folder / claim.name
    os.rename(claim.path, destination)
    return Finished(verdict, claim.original_name, destination, note, run_id, run_dir, problem, held, fix)
