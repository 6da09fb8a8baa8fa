"""A run folder that cannot be written (a full disk, a file too large for the file system, a
path through a file) is one ``Error:`` line naming the folder, the system's reason and what to
do, exit 1, and no half run folder left behind; an import says where what it sent is recorded,
and the same command run again writes the results without sending anything twice.

The file system's refusals are real: the run's process is given a file size limit
(``RLIMIT_FSIZE``: writes past it fail with ``EFBIG``, as on a full disk they fail with
``ENOSPC``), or ``--out`` goes through a regular file (``ENOTDIR``)."""

from __future__ import annotations

import io
import resource
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.import_file import main as import_main
from flows.commands.validate import main as validate_main
from tests.flows.conftest import Vendors, write_targets

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "sample_data" / "us_crm_export.csv"


def _small_files_only() -> None:
    """In the child: files may not grow past 40 kB (its results and report do)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG, not the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


def test_a_write_refused_by_the_file_system_is_one_line_and_leaves_no_half_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "validate", str(SAMPLE), "--out", str(out)],
        cwd=REPO_ROOT,
        preexec_fn=_small_files_only,  # a resource limit, set before exec only
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("Error:")]
    assert line.startswith(f"Error: cannot write the run folder {out}/"), line
    assert "(File too large, EFBIG), so none was kept." in line
    assert line.endswith("then run the same command again")
    assert [path.name for path in out.iterdir()] in ([], ["ledger.sqlite"])  # the run folder is gone


def test_an_out_folder_through_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("a file, not a folder", encoding="utf-8")
    buffer = io.StringIO()

    code = validate_main(
        [str(SAMPLE), "--out", str(tmp_path / "notes" / "out")], Console(file=buffer, width=500)
    )

    printed = buffer.getvalue()
    assert code == 1, printed
    assert f"Error: cannot write the run folder {tmp_path / 'notes' / 'out'}/" in printed
    assert (
        "(Not a directory, ENOTDIR), so none was kept. Check that folder, or give --out another one"
        in printed
    )


@pytest.mark.slow
def test_an_import_whose_run_folder_is_not_written_says_where_its_sends_are_and_a_rerun_sends_nothing_twice(
    vendors: Vendors, tmp_path: Path
) -> None:
    (tmp_path / "notes").write_text("a file, not a folder", encoding="utf-8")
    targets = write_targets(tmp_path / "t.toml", only=["obi"])
    ledger = tmp_path / "ledger.sqlite"
    command = [str(SAMPLE), "--targets", str(targets), "--ledger", str(ledger)]
    buffer = io.StringIO()

    code = import_main([*command, "--out", str(tmp_path / "notes" / "out")], Console(file=buffer, width=500))

    printed = buffer.getvalue()
    assert code == 1, printed
    [line] = [line for line in printed.splitlines() if line.startswith("Error:")]
    assert "cannot write the run folder" in line and f"recorded in the ledger {ledger}" in line
    delivered = len(vendors.obi_customers())
    assert delivered > 0  # the sending was done before the results were written

    again = io.StringIO()
    code = import_main([*command, "--out", str(tmp_path / "out")], Console(file=again, width=500))

    assert code == 0, again.getvalue()
    assert (
        f"obi: nothing to send, {delivered:,} of {delivered:,} already delivered by an earlier run"
        in again.getvalue()
    )
    held = Counter(customer["externalId"] for customer in vendors.obi_customers())
    assert len(held) == delivered and max(held.values()) == 1
