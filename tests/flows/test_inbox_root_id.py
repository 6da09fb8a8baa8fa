"""flows.inbox.registry_db.root_id: watchers starting together agree on one root id."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from flows.inbox.registry_db import ROOT_ID_FILE, root_id


def _ask(root: str) -> str:
    try:
        return root_id(Path(root))
    except ValueError as error:  # what a watcher reading a half-written id used to raise
        return f"error: {error}"


def test_processes_asking_at_once_for_a_new_root_id_all_get_the_same_whole_id(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        for attempt in range(40):
            root = tmp_path / f"root{attempt}"
            root.mkdir()
            answers = pool.map(_ask, [str(root)] * 32, chunksize=1)

            assert len(set(answers)) == 1, answers
            assert answers[0] == (root / ROOT_ID_FILE).read_text(encoding="ascii").strip()
            assert [p.name for p in root.iterdir()] == [ROOT_ID_FILE]  # no draft left behind
