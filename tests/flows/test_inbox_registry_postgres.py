"""The watched folder's registry in PostgreSQL: watchers on several machines over one shared folder.

Two watcher processes stand in for two machines: each reaches the folder by a path of its own (one
through a symbolic link, as two mount points would), both keep their registry in one PostgreSQL
database (``LEADFLOW_REGISTRY``), and they scan the same drops at the same time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from connectors.config import ConfigError
from flows.inbox.intake import Layout
from flows.inbox.layout import REGISTRY_FILE
from flows.inbox.registry import IntakeRegistry, IntakeState
from flows.inbox.registry_db import ROOT_ID_FILE
from tests.flows.inbox_steps import lead_csv

REPO = Path(__file__).resolve().parents[2]


def test_registry_url_chooses_postgresql_and_keeps_the_same_contract(
    registry_postgres: str, tmp_path: Path
) -> None:
    layout = Layout.at(tmp_path / "root")
    registry = IntakeRegistry(layout.registry, url=registry_postgres)
    assert registry.reserve("f1", "claim-1", "a.csv") is None
    again = registry.reserve("f1", "claim-2", "b.csv")
    assert again is not None and again.claimed_name == "claim-1"
    registry.settle("f1", IntakeState.IMPORTED, "run-1", "/runs/run-1")
    assert registry.unsent("f2", None, None, max_attempts=3) == 1
    seen = registry.observe({b"caf\xe9.csv": (10, 123_456_789_012_345)}, 1_733_300_000.25)
    assert seen == {b"caf\xe9.csv": (1_733_300_000.25, 1_733_300_000.25)}
    assert registry.observe({b"caf\xe9.csv": (10, 123_456_789_012_345)}, 1_733_300_009.5) == seen
    record = IntakeRegistry(layout.registry, url=registry_postgres).record("f1")
    assert record is not None and (record.state, record.run_id) == (IntakeState.IMPORTED, "run-1")
    assert not (layout.root / REGISTRY_FILE).exists()


def test_two_watchers_over_one_shared_folder_import_each_content_exactly_once(
    registry_postgres: str, tmp_path: Path
) -> None:
    layout = Layout.at(tmp_path / "share")
    mount = tmp_path / "other-mount"
    mount.symlink_to(layout.root)
    contents = {f"c{i}": lead_csv(f"c{i}") for i in range(8)}
    for i in range(16):  # every content dropped twice, under two names
        (layout.inbox / f"drop-{i:02}.csv").write_bytes(contents[f"c{i % 8}"])
    go = tmp_path / "go"
    env = {**os.environ, "LEADFLOW_REGISTRY": registry_postgres, "PYTHONPATH": str(REPO)}
    watchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.flows.scan_worker",
                str(root),
                str(tmp_path / f"w{n}.txt"),
                str(go),
            ],
            cwd=REPO,
            env=env,
        )
        for n, root in enumerate((layout.root, mount))
    ]
    go.touch()
    for watcher in watchers:
        assert watcher.wait(timeout=120) == 0

    imported = [
        line
        for n in range(2)
        if (tmp_path / f"w{n}.txt").exists()
        for line in (tmp_path / f"w{n}.txt").read_text().split()
    ]
    assert sorted(imported) == sorted(set(imported)), "a content was imported twice"
    assert len(imported) == 8
    assert not list(layout.inbox.iterdir()) and not list(layout.processing.iterdir())
    archived = [p for p in layout.archive.iterdir() if p.suffix == ".csv"]
    assert len(archived) == 16
    assert not (layout.root / REGISTRY_FILE).exists(), "the registry was kept in PostgreSQL"
    root_id = (layout.root / ROOT_ID_FILE).read_text().strip()
    with psycopg.connect(registry_postgres) as db:
        states = db.execute(
            f"SELECT state, count(*) FROM leadflow_intake_{root_id}.intake GROUP BY state"
        ).fetchall()
    assert states == [("imported", 8)]


def test_an_unknown_registry_setting_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_REGISTRY", "mysql://somewhere")
    with pytest.raises(ConfigError, match=r"use 'sqlite'.*or a postgresql:// URL"):
        IntakeRegistry(Layout.at(tmp_path / "root").registry)


def test_watch_says_in_one_line_when_the_registry_database_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from flows.commands.watch import main

    monkeypatch.setenv("LEADFLOW_REGISTRY", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    console = Console(record=True, width=300)

    assert main([str(tmp_path / "root")], console=console) == 1

    said = console.export_text().strip()
    assert said.startswith("Error: ") and "127.0.0.1" in said and "\n" not in said
