"""While one batch is sent, the next is read and normalized (issue 17, "Any file size in bounded
memory": reading and sending overlap, at most two batches held).

Against the sandbox's OBI made slow (a latency on every upload), the file's batches counted as
flows.prepare_batches hands them out: by the time the first batch's sending ends, the second
has been read. The results are those of the same file sent without reading ahead, row for row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flows.import_batches import BatchProgress, SendSettings, send_in_batches
from flows.importer import load_connectors
from flows.prepare import PrepareOptions
from flows.prepare_batches import BatchedLeads, prepare_batches
from tests.flows.conftest import Vendors, read_results, write_targets

pytestmark = pytest.mark.slow

RUN_SPECIFIC = ("run_id", "vendor_id", "batch_id", "sent_at", "call_window_start", "call_window_end")


@dataclasses.dataclass(frozen=True)
class CountedBatches(BatchedLeads):
    """The same batches, counting how many were handed out so far (from whichever thread)."""

    handed: list[int] = dataclasses.field(default_factory=lambda: [0])

    def batches(self) -> Iterator[pl.DataFrame]:
        for batch in super().batches():
            self.handed[0] += 1
            yield batch


class Watch(BatchProgress):
    def __init__(self, handed: list[int]) -> None:
        self.handed = handed
        self.events: list[tuple[str, int]] = []

    def read(self, rows: int) -> None:
        self.events.append(("read", self.handed[0]))

    def sent(self, target: str, rows: int) -> None:
        self.events.append(("sent", self.handed[0]))


def _send(file: Path, tmp_path: Path, name: str, *, read_ahead: bool) -> tuple[Watch, pl.DataFrame]:
    targets = write_targets(tmp_path / "targets.toml", ["obi"], obi={"chunk_size": 2, "concurrency": 1})
    plain = prepare_batches(file, PrepareOptions(), rows=6)
    counted = CountedBatches(*(getattr(plain, f.name) for f in dataclasses.fields(BatchedLeads)))
    watch = Watch(counted.handed)
    settings = SendSettings(
        f"20261204T000000Z-00000000{int(read_ahead)}",
        tmp_path / f"{name}.sqlite",
        datetime(2026, 12, 4, 12, tzinfo=UTC),
        read_ahead=read_ahead,
    )
    run_dir, _ = send_in_batches(
        counted, load_connectors(targets), settings, out_dir=tmp_path / name, progress=watch
    )
    return watch, read_results(run_dir)


def test_the_next_batch_is_read_while_one_is_sent_and_the_results_are_the_same(
    vendors: Vendors, lead_file: Callable[..., Path], tmp_path: Path
) -> None:
    vendors.set_faults({"vendors": {"sinch_obi": {"*/customers/list": {"latency": 0.1}}}})
    file = lead_file(24, 4)

    ahead, results = _send(file, tmp_path, "ahead", read_ahead=True)
    vendors.reset()
    vendors.set_faults({"vendors": {"sinch_obi": {"*/customers/list": {"latency": 0.1}}}})
    _, one_by_one = _send(file, tmp_path, "plain", read_ahead=False)

    second_read = [i for i, (what, _) in enumerate(ahead.events) if what == "read"][1]
    last_sent_of_first = [handed for what, handed in ahead.events[:second_read] if what == "sent"][-1]
    assert last_sent_of_first == 2, ahead.events  # the second batch was read during the first's sending
    assert results.height == 24
    assert results.drop(RUN_SPECIFIC).equals(one_by_one.drop(RUN_SPECIFIC))
