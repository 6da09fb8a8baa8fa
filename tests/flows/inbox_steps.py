"""A small real import step for the watched-folder tests: reads the file, writes a run folder.

It stands in for the import flow where the tests are about the folder's mechanics, not the
import: it refuses a file without a header naming a phone or email column (a ``LeadFileError``,
like the real ingest), counts the data rows, writes ``<out>/<run_id>/rows.txt`` and remembers
every file it imported (by content) so that tests can count imports.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable
from pathlib import Path

from flows.inbox.intake import ImportOutcome
from transforms.errors import LeadFileError


class CountingImport:
    """Import step that records the sha256 of every file it imported."""

    def __init__(self, out: Path, during: Callable[[Path], None] | None = None) -> None:
        self.out = out
        self.imported: list[str] = []
        self._during = during
        self._lock = threading.Lock()
        self._runs = itertools.count(1)

    def __call__(self, path: Path) -> ImportOutcome:
        data = path.read_bytes()
        header = data.split(b"\n", 1)[0].lower()
        if b"phone" not in header and b"mail" not in header:
            raise LeadFileError(path, "no phone or email column in the header", "Add a header row.")
        if self._during is not None:
            self._during(path)
        with self._lock:
            run_id = f"run-{next(self._runs)}"
            self.imported.append(hashlib.sha256(data).hexdigest())
        run_dir = self.out / run_id
        run_dir.mkdir(parents=True)
        rows = max(data.count(b"\n") - 1, 0)
        (run_dir / "rows.txt").write_text(str(rows), encoding="utf-8")
        return ImportOutcome(run_id=run_id, run_dir=run_dir, summary={"rows": rows})


def lead_csv(tag: str, rows: int = 3) -> bytes:
    """A small lead file whose content differs by ``tag``."""
    lines = ["external_id,first_name,phone,email"]
    lines += [f"{tag}-{i},Ann,+4930123456{i % 10},ann{i}@{tag}.example" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")
