"""One watcher of the several-machines registry test, as a process of its own.

``python -m tests.flows.scan_worker ROOT OUT GO`` waits for the file GO to appear (so that the
watchers start together), then runs scan passes over ROOT (settle window 0) until a pass finds
nothing, importing with tests.flows.inbox_steps.CountingImport (which lingers a little in each
import, to widen the races), and appends the sha256 of every file it imported to OUT.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from flows.inbox.intake import InboxSettings, run_once
from tests.flows.inbox_steps import CountingImport


def main(root: str, out: str, go: str) -> int:
    while not Path(go).exists():
        time.sleep(0.01)
    step = CountingImport(Path(out).with_suffix(".runs"), during=lambda _path: time.sleep(0.05))
    while run_once(root, step, InboxSettings(settle_seconds=0)):
        pass
    with open(out, "a", encoding="ascii") as record:
        record.writelines(f"{fingerprint}\n" for fingerprint in step.imported)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
