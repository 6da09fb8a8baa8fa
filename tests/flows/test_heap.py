"""flows.heap: a command imports without collecting and runs with its imports frozen
(connectors.heap), and
leaves the collector as it found it (the tests run commands in-process)."""

from __future__ import annotations

import gc
from pathlib import Path

from flows.commands.validate import main
from flows.heap import collector_off


def test_the_collector_is_off_while_importing_and_as_it_was_after() -> None:
    with collector_off():
        assert not gc.isenabled()
    assert gc.isenabled()

    gc.disable()
    try:
        with collector_off():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_validate_run_in_process_leaves_the_collector_as_it_found_it(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("first_name,phone,country\nAnn,2025550123,US\n", encoding="utf-8")

    assert main([str(leads), "--out", str(tmp_path / "out")]) == 0

    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
