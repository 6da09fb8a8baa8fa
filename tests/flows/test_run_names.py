"""The names ``import_leads`` runs get in the Prefect UI, from their parameters (no Prefect needed:
the flow tests read the names back from Prefect's API)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from flows.inbox.layout import claimed_name, original_name
from flows.inbox.names import safe_name
from flows.run.names import name_for_import, read_task_run_name

NOW = datetime(2026, 12, 4, 15, 20, tzinfo=UTC)


def test_a_run_without_targets_file_is_named_a_validation() -> None:
    assert name_for_import({"path": "/data/leads.csv"}, now=NOW) == "leads.csv → validate · 2026-12-04 15:20"


def test_a_run_names_its_chosen_targets_the_run_id_and_a_dry_run(tmp_path: Path) -> None:
    parameters = {
        "path": "leads.csv",
        "targets_file": "t.toml",
        "target_names": ["obi", "onc"],
        "dry_run": True,
    }
    name = name_for_import(parameters, run_id="1a2b3c4d-0000", now=NOW)
    assert name == "leads.csv → obi, onc · 2026-12-04 15:20 · 1a2b3c (dry run)"


def test_all_targets_of_the_file_are_named_up_to_four_then_counted(tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text("".join(f"[targets.t{i}]\nkind = 'onc'\n" for i in range(6)), encoding="utf-8")
    name = name_for_import({"path": "a.csv", "targets_file": str(targets)}, now=NOW)
    assert name == "a.csv → t0, t1, t2, t3 +2 · 2026-12-04 15:20"


def test_an_unreadable_targets_file_still_names_the_run_after_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[targets\n", encoding="utf-8")
    assert name_for_import({"path": "a.csv", "targets_file": str(broken)}, now=NOW).startswith(
        "a.csv → broken.toml"
    )


@given(
    st.text(min_size=1, max_size=40).filter(lambda n: "/" not in n and n not in (".", "..") and "\0" not in n)
)
def test_a_claimed_file_goes_by_the_name_it_was_dropped_with(dropped: str) -> None:
    claimed = claimed_name(dropped, NOW)
    safe = safe_name(dropped)
    assert original_name(claimed) == safe
    assert read_task_run_name({"path": Path("/w/processing") / claimed}) == f"read {safe}"
    assert name_for_import({"path": str(Path("/w/processing") / claimed)}, now=NOW).startswith(f"{safe} → ")
