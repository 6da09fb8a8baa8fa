"""The frozen heap of a dispatch run: frozen while any run is on, handed back after, and a
process's own freeze or disabled collector left as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from connectors.heap import frozen_heap


@pytest.fixture(autouse=True)
def collector_as_found() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


# A frozen object that another thread lets go of (one an earlier test left running) leaves the
# frozen set, so the count may fall while a test looks: "not frozen again" is "not more", and
# "not handed back" is "not zero". Exact counts failed in long test processes.


def test_objects_are_frozen_during_overlapping_runs_and_handed_back_after_the_last() -> None:
    with frozen_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with frozen_heap():
            assert 0 < gc.get_freeze_count() <= frozen
        assert 0 < gc.get_freeze_count() <= frozen
    assert gc.get_freeze_count() == 0


def test_a_heap_the_process_froze_itself_stays_frozen() -> None:
    gc.freeze()
    before = gc.get_freeze_count()
    with frozen_heap():
        made_in_the_run = [[] for _ in range(1_000)]  # tracked: a freeze here would count them
    assert 0 < gc.get_freeze_count() <= before  # neither handed back nor frozen again
    del made_in_the_run


def test_a_disabled_collector_is_left_alone() -> None:
    gc.disable()
    with frozen_heap():
        assert gc.get_freeze_count() == 0
    assert not gc.isenabled()


def test_the_heap_is_handed_back_when_the_run_fails() -> None:
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
