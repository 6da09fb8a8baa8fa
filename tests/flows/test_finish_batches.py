"""finish_run_in_batches writes each batch's results in a thread beside the next batch
(flows.run.write_behind): the part must hold every batch's rows in file order, and a write
that fails must fail the run and leave no results file and no writer thread behind."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.prepare import PrepareOptions
from flows.prepare_batches import BatchedLeads, prepare_batches
from flows.run.finish import finish_run_in_batches
from flows.run.write_behind import WriteBehind
from sample_data.generate import messy_lead_frame
from transforms.dedupe_batches import BatchDedupe
from transforms.results import VALIDATE_TARGET, build_results


@pytest.fixture(scope="module")
def leads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("leads") / "leads.csv"
    messy_lead_frame(2_000, seed=11, duplicate_share=0.1).write_csv(path)
    return path


def _validate(clean: pl.DataFrame) -> pl.DataFrame:
    return build_results(clean, run_id="r1", source_file="leads.csv", target=VALIDATE_TARGET)


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("results-writer")]


def _validated_in_batches(
    batched: BatchedLeads,
    batches: Iterator[pl.DataFrame],
    validate: Callable[[pl.DataFrame], pl.DataFrame],
    out_dir: Path,
    **options: Any,
) -> pl.DataFrame:
    """The results a validate run of ``batches`` writes (finish_run_in_batches with ``options``)."""
    run_dir = finish_run_in_batches(
        batched.prepared,
        batches,
        [(VALIDATE_TARGET, VALIDATE_TARGET, validate)],
        run_id="r1",
        started=datetime.now(UTC),
        out_dir=out_dir,
        dry_run=False,
        report=False,
        **options,
    )
    return pl.read_parquet(run_dir / "results" / f"target={VALIDATE_TARGET}" / "part-0.parquet")


@pytest.mark.parametrize("built_behind", [False, True])
def test_results_written_behind_hold_every_batch_in_file_order(
    leads: Path, tmp_path: Path, built_behind: bool
) -> None:
    batched = prepare_batches(leads, PrepareOptions(country="US"), rows=170)
    expected = pl.concat(
        [_validate(clean) for clean in prepare_batches(leads, PrepareOptions(country="US")).batches()]
    )
    building: list[str] = []

    def validate(clean: pl.DataFrame) -> pl.DataFrame:
        building.append(threading.current_thread().name)
        return _validate(clean)

    written = _validated_in_batches(batched, batched.batches(), validate, tmp_path, built_behind=built_behind)

    assert written.equals(expected.select(written.columns))
    assert not _writer_threads()
    # validate's results are built in the writer's thread, off the one that normalizes
    assert {name.startswith("results-writer") for name in building} == {built_behind}


def test_a_write_that_fails_behind_fails_the_run_and_leaves_no_results(leads: Path, tmp_path: Path) -> None:
    batched = prepare_batches(leads, PrepareOptions(country="US"), rows=500)
    made: list[int] = []

    def broken_from_the_third(clean: pl.DataFrame) -> pl.DataFrame:
        made.append(clean.height)
        results = _validate(clean)
        # the results contract refuses an unknown status: the writer's check raises, in its thread
        return results.with_columns(status=pl.lit("lost")) if len(made) == 3 else results

    with pytest.raises(Exception, match="status"):
        _validated_in_batches(batched, batched.batches(), broken_from_the_third, tmp_path)

    assert not list(tmp_path.rglob("*.parquet*"))
    assert not _writer_threads()


def test_a_run_that_fails_lets_its_batches_reading_go_at_once(leads: Path, tmp_path: Path) -> None:
    # the error's traceback holds the run's frame, and with it the batches: their reading
    # thread and file must not wait for that traceback to be freed
    before = set(threading.enumerate())
    batched = prepare_batches(leads, PrepareOptions(country="US"), rows=500)

    def broken(clean: pl.DataFrame) -> pl.DataFrame:
        raise ValueError("a build that fails")

    with pytest.raises(ValueError, match="a build that fails") as failure:
        _validated_in_batches(batched, batched.batches(), broken, tmp_path)

    assert failure.traceback  # still held here
    left = [thread for thread in set(threading.enumerate()) - before if thread.name.startswith("normalize")]
    assert not left


def test_a_write_runs_while_the_caller_makes_the_next_batch() -> None:
    """The point of writing behind: the caller is not waiting on the write it handed over."""
    behind = WriteBehind()
    caller_went_on = threading.Event()
    overlapped: list[bool] = []

    def write() -> None:
        overlapped.append(caller_went_on.wait(timeout=10))

    behind.submit(write)
    caller_went_on.set()  # the caller's next batch, made while the write waits for it
    behind.close()

    assert overlapped == [True]


def test_a_write_error_is_raised_by_the_next_hand_over() -> None:
    behind = WriteBehind()
    written: list[int] = []

    def fails() -> None:
        raise OSError("disk full")

    behind.submit(fails)
    with pytest.raises(OSError, match="disk full"):
        behind.submit(lambda: written.append(2))
    behind.drop()
    assert written == []


@pytest.mark.parametrize("built_behind", [False, True])
def test_duplicates_marked_by_the_run_are_the_batches_own(
    leads: Path, tmp_path: Path, built_behind: bool
) -> None:
    # leadflow validate hands over batches with duplicates unmarked and marks them where the
    # results are built: the same rows as batches() gives, marked in the writer's thread
    expected = pl.concat(
        [_validate(clean) for clean in prepare_batches(leads, PrepareOptions(country="US")).batches()]
    )
    batched = prepare_batches(leads, PrepareOptions(country="US"), rows=170)
    dedupe = BatchDedupe()
    marking: list[str] = []

    def marked(clean: pl.DataFrame) -> pl.DataFrame:
        marking.append(threading.current_thread().name)
        return dedupe.apply(clean)

    written = _validated_in_batches(
        batched, batched.undeduped(), _validate, tmp_path, built_behind=built_behind, marked=marked
    )

    assert written.equals(expected.select(written.columns))
    assert "duplicate" in expected.get_column("status").to_list()  # some to mark
    assert len(marking) == 12
    assert {name.startswith("results-writer") for name in marking} == {built_behind}
