"""Rows left unsent for a cause waiting cannot fix: what a person must do, for the retry note.

A refused login (``AUTH_FAILED``), an unknown campaign or a setting the vendor refuses, or a
uContact template naming a column the file lacks (``TARGET_MISCONFIGURED``) stops a target at
once (connectors.errors ``FatalTargetError``; flows.verdict ``needs_a_person``): another import
with the same settings meets the same answer, and a watcher keeps the environment it started
with, so an ``env:`` credential fixed in the shell reaches it only when it is restarted.
Such a file waits in ``retry/`` with no automatic next attempt (flows.inbox.retry), its note
saying what to fix, naming the credential references of the target's entry in the targets file.
A vendor that is down (``TRANSPORT_FAILED``, then the breaker's ``TARGET_STOPPED``) is retried
with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from connectors.config import load_targets
from connectors.config_error import ConfigError
from flows.inbox.names import READY_SUFFIX
from flows.verdict import RunVerdict, TargetVerdict

__all__ = ["what_to_fix"]

_THEN = (
    "Then restart the watcher if you changed an env: variable (it keeps the environment it started "
    "with; prefect: blocks are read at each import), and move the file back into inbox/ with an empty "
    f"marker file named like it plus '{READY_SUFFIX}': it is imported again and only the rows not yet "
    "delivered are sent. It is not imported again by itself: another attempt with the same settings "
    "would get the same answer."
)


def what_to_fix(verdict: RunVerdict, targets_file: str | Path | None = None) -> str | None:
    """The note's ``what_to_do`` when a target's unsent rows need a person first; None when a
    later attempt may send them all (the file is then retried with backoff)."""
    stuck = verdict.needing_a_person()
    if not stuck:
        return None
    credentials = _credentials(targets_file)
    return "; ".join(_fix(target, credentials.get(target.target, {})) for target in stuck) + ". " + _THEN


def _fix(target: TargetVerdict, credentials: Mapping[str, str]) -> str:
    if target.login_refused:
        named = ", ".join(f"credentials.{key} ({ref})" for key, ref in credentials.items())
        return (
            f"{target.target}: the vendor refused our login: fix the values behind "
            f"{named or 'its credentials in the targets file'} (leadflow check tests them)"
        )
    reasons = ", ".join(target.causes)
    return (
        f"{target.target}: the target's setup was refused ({reasons}): fix the "
        "target's campaign or settings in the targets file (leadflow check tests them), or the "
        "file's columns its settings name; the run folder's report says what the vendor answered "
        "or which name is missing"
    )


def _credentials(targets_file: str | Path | None) -> dict[str, dict[str, str]]:
    """Each target's credential references (``env:OBI_PASSWORD``), never their values."""
    if targets_file is None:
        return {}
    try:
        return {target.name: dict(target.credentials) for target in load_targets(Path(targets_file))}
    except (ConfigError, OSError):
        return {}
