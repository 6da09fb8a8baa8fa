"""Claims left in ``processing/`` by a watcher that died: taken over and imported again.

A watcher killed mid-import (SIGKILL, OOM, a reboot) leaves its claimed file in ``processing/``
and the file's fingerprint ``importing`` in the registry; nothing else would ever look at it.
The claimed name carries the claiming process id (``<time>-<pid>-<tag>-<name>``), so each pass
first looks for claims whose process is gone, or whose pid now belongs to a process started
after the claim (pid reuse), and takes each over with one atomic rename to a name of its own:
of two watchers recovering at once, one rename wins. The taken-over claim is imported again;
the import is resumable (the ledger settles what the dead run had in flight and reports what
it sent as ``already_sent``), so nothing is sent twice where the vendor allows it.

Process ids are only meaningful on one machine, so a claim also names its machine
(``<pid>@<host>``, flows.inbox.layout.host_tag): over a shared folder, a watcher takes over only
its own machine's dead claims, never another machine's (it cannot see that machine's processes).
A claim left by a machine that never comes back is moved back to ``inbox/`` by hand. A claim
without a machine (named by an older Leadflow) counts as this machine's.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.inbox.layout import Claim, Layout, claimed_name, host_tag
from flows.inbox.names import display_name
from flows.inbox.registry import IntakeRegistry

__all__ = ["owner_alive", "take_over_orphans"]

logger = logging.getLogger("leadflow.inbox")

_CLAIMED = re.compile(
    r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<pid>\d+)(?:@(?P<host>[0-9a-f]{8}))?-(?P<tag>[0-9a-f]+)-(?P<name>.+)$"
)
_CLOCK_SLACK = timedelta(seconds=2)
"""Claim times are whole seconds; a process started within this of the claim may own it."""


def _started_at(pid: int) -> tuple[datetime, bool] | None:
    """(when process ``pid`` started, whether it is a zombie) from /proc; None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    ticks = int(fields[19])  # field 22, starttime, in clock ticks since boot
    started = datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    return started, fields[0] == "Z"


def owner_alive(pid: int, claimed_at: datetime) -> bool:
    """Whether the process that claimed a file at ``claimed_at`` as ``pid`` may still run."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a process of another user has that pid; /proc still tells when it started
    known = _started_at(pid)
    if known is None:
        return True  # cannot tell: leave the claim alone rather than import it twice at once
    started, zombie = known
    return not zombie and started <= claimed_at + _CLOCK_SLACK


def take_over_orphans(layout: Layout) -> list[Claim]:
    """Claims in ``processing/`` whose watcher is gone, now renamed to and owned by this process."""
    taken: list[Claim] = []
    registry: IntakeRegistry | None = None
    for path in sorted(layout.processing.iterdir()):
        match = _CLAIMED.match(path.name)
        if match is None or not path.is_file() or path.is_symlink():
            continue
        if match["host"] not in (None, host_tag()):
            continue
        claimed_at = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if owner_alive(int(match["pid"]), claimed_at):
            continue
        registry = registry or IntakeRegistry(layout.registry)
        original = registry.original_name_of(path.name) or match["name"]
        now = datetime.now(UTC)
        target = layout.processing / claimed_name(match["name"], now)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue  # another watcher took it over first
        logger.warning(
            "inbox: resuming %s, left in processing/ by watcher process %s which is gone",
            display_name(original),
            match["pid"],
        )
        taken.append(Claim(layout, original, target, now.isoformat(timespec="seconds"), resumes=path.name))
    return taken
