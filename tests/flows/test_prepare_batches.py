"""A file prepared in batches (flows.prepare_batches) gives prepare_leads' clean leads, row for
row: same normalization, same duplicates (kept rows, pointers, fields, issues), same region
inference and suppression, whatever the batch size and whether the file is streamed. (Batches
of a few rows are tests/transforms/test_dedupe_batches.py's: each batch costs ~0.1 s here.)"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl
import pytest

from flows.batch_region import inferred_beside_first, inferred_region
from flows.prepare import PrepareOptions, prepare_leads
from flows.prepare_batches import BatchedLeads, prepare_batches
from sample_data.generate import messy_lead_frame
from transforms.columns import resolve_columns
from transforms.errors import LeadFileError
from transforms.ingest_batches import open_lead_batches

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def _same(path: Path, options: PrepareOptions, size: int, ahead: int = 0) -> None:
    whole = prepare_leads(path, options)
    batched = prepare_batches(path, options, rows=size)
    clean = pl.concat(list(batched.batches(ahead)))
    assert clean.equals(whole.clean)
    prepared = batched.prepared
    assert prepared.rows == whole.rows
    assert (prepared.default_region, prepared.region_source, prepared.region_note) == (
        whole.default_region,
        whole.region_source,
        whole.region_note,
    )
    assert prepared.suppression_lists == whole.suppression_lists
    assert prepared.ingested.fingerprint == whole.ingested.fingerprint


@pytest.mark.parametrize("size", [150, 10_000])
@pytest.mark.parametrize("name", ["us_crm_export.csv", "de_kunden_cp1252.csv", "latam_leads.parquet"])
def test_sample_files_prepare_the_same_in_batches(name: str, size: int) -> None:
    _same(SAMPLES / name, PrepareOptions(), size)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many duplicates (a fifth of the rows), six countries, no country column for some rows."""
    path = tmp_path_factory.mktemp("messy") / "messy.csv"
    messy_lead_frame(6_000, seed=5, duplicate_share=0.2).write_csv(path)
    return path


@pytest.mark.parametrize("size", [997, 50_000])
def test_a_messy_file_with_many_duplicates_prepares_the_same_in_batches(messy: Path, size: int) -> None:
    _same(messy, PrepareOptions(country="US"), size)


@pytest.mark.parametrize("ahead", [1, 3])
def test_batches_normalized_ahead_in_threads_are_the_same_leads_in_order(messy: Path, ahead: int) -> None:
    _same(messy, PrepareOptions(country="US"), 700, ahead=ahead)


@pytest.mark.parametrize("ahead", [0, 2])
def test_a_consumer_that_stops_early_leaves_no_normalizing_thread_behind(messy: Path, ahead: int) -> None:
    # only this run's threads: an earlier test's batches may still wait for the collector
    before = set(threading.enumerate())
    batches = prepare_batches(messy, PrepareOptions(country="US"), rows=500).batches(ahead=ahead)
    first = next(batches)
    assert [thread for thread in set(threading.enumerate()) - before if thread.name.startswith("normalize")]
    batches.close()
    assert first.height == 500
    left = [thread for thread in set(threading.enumerate()) - before if thread.name.startswith("normalize")]
    assert not left


def test_region_inference_and_suppression_are_the_same_in_batches(messy: Path) -> None:
    options = PrepareOptions(suppress=(SAMPLES / "do_not_contact.csv",))
    _same(messy, options, 2_500)
    _same(SAMPLES / "us_crm_export.csv", options, 400)


def _probed(batched: BatchedLeads, fail_at: int | None = None) -> tuple[BatchedLeads, list[str], list[bool]]:
    """``batched`` whose file reading notes the thread each raw batch is read in, fails at batch
    ``fail_at`` as a file found broken half-way would, and notes that it was closed."""
    threads: list[str] = []
    closed: list[bool] = []
    reading = batched.lead_batches.batches

    def batches() -> Iterator[pl.DataFrame]:
        try:
            for number, frame in enumerate(reading(), start=1):
                if number == fail_at:
                    raise LeadFileError(batched.prepared.ingested.path, "a broken line", "mend it")
                threads.append(threading.current_thread().name)
                yield frame
        finally:
            closed.append(True)

    lead_batches = dataclasses.replace(batched.lead_batches, batches=batches)
    return dataclasses.replace(batched, lead_batches=lead_batches), threads, closed


@pytest.mark.parametrize("ahead", [0, 1])
def test_the_next_batch_is_read_beside_the_caller_in_file_order(messy: Path, ahead: int) -> None:
    # ahead 1 normalizes it there too; ahead 0 reads only its raw leads there
    batched, threads, _ = _probed(prepare_batches(messy, PrepareOptions(country="US"), rows=1_000))
    batches = batched.batches(ahead=ahead)
    first = next(batches)
    deadline = time.monotonic() + 30
    while len(threads) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    # the caller holds batch 1 and has not asked for batch 2: it was read all the same, and
    # not in the caller's thread (reading and normalizing both move off the caller's core)
    assert len(threads) == 2
    assert all(name.startswith("normalize") for name in threads)
    rest = list(batches)
    assert pl.concat([first, *rest]).get_column("source_row").to_list() == list(range(1, 6_001))


@pytest.mark.parametrize("ahead", [0, 1])
def test_a_batch_read_ahead_that_fails_raises_when_reached_and_leaves_no_thread(
    messy: Path, ahead: int
) -> None:
    batched, _, closed = _probed(prepare_batches(messy, PrepareOptions(country="US"), rows=1_000), fail_at=3)
    batches = batched.batches(ahead=ahead)
    # the batches before the broken one come out first, then its error, when it is reached
    assert [next(batches).height, next(batches).height] == [1_000, 1_000]
    with pytest.raises(LeadFileError, match="a broken line"):
        next(batches)
    assert closed == [True]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("normalize")]


@pytest.mark.parametrize("ahead", [0, 1])
def test_a_consumer_that_stops_early_closes_the_file_read_ahead(messy: Path, ahead: int) -> None:
    batched, _, closed = _probed(prepare_batches(messy, PrepareOptions(country="US"), rows=500))
    batches = batched.batches(ahead=ahead)
    next(batches)
    batches.close()
    assert closed == [True]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("normalize")]


def test_the_region_inference_reads_only_the_country_and_phone_columns(tmp_path: Path) -> None:
    # mapped phone headers, a country column empty for most rows, columns the inference needs not
    lines = ["Kunde,Tel,Handy,email,Land,notes"]
    for n in range(400):
        country = "DE" if n % 10 == 0 else ""
        lines.append(f"K{n},+1 201 555 {n:04d},{n:010d},k{n}@x.com,{country},a note {n}")
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n")
    whole = prepare_leads(path, PrepareOptions())
    assert whole.region_note is not None and whole.region_note.startswith("region inferred: US from")
    batched = prepare_batches(path, PrepareOptions(), rows=150)
    assert (batched.prepared.default_region, batched.prepared.region_note) == ("US", whole.region_note)

    def every_column() -> Iterator[pl.DataFrame]:
        raise AssertionError("the whole file was read for the region inference")

    columns_only = dataclasses.replace(batched.lead_batches, batches=every_column)
    inferred = inferred_region(columns_only, batched.prepared.applied)
    assert inferred is not None and inferred.note == whole.region_note


def _two_regions(path: Path, first_rows: int) -> Path:
    """No country column; the first ``first_rows`` rows' international numbers are British,
    the rest's (many more) American, and every row has a national number too."""
    lines = ["name,phone,mobile"]
    for n in range(3_000):
        international = f"+44 7911 {n:06d}" if n < first_rows else f"+1 201 555 {n % 10_000:04d}"
        lines.append(f"n{n},{international},020 7946 {n % 10_000:04d}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("first_rows", "rows", "kept"),
    [(150, 150, False), (0, 150, True), (150, 3_000, True)],  # 3,000: the file is one batch
)
def test_the_first_batch_made_beside_the_region_inference_uses_the_files_region(
    tmp_path: Path, first_rows: int, rows: int, kept: bool
) -> None:
    # the first batch alone says GB, the file US: its national numbers must be read as US ones
    path = _two_regions(tmp_path / "leads.csv", first_rows)
    whole = prepare_leads(path, PrepareOptions())
    assert whole.default_region == "US"
    batched = prepare_batches(path, PrepareOptions(), rows=rows, first_beside=True)
    assert batched.first is not None
    made_first, _ = batched.first._held or (None, None)
    assert (made_first is not None) == kept
    assert pl.concat(list(batched.batches())).equals(whole.clean)
    assert (batched.prepared.default_region, batched.prepared.region_note) == ("US", whole.region_note)


def test_a_file_of_one_batch_is_read_once_for_its_region_and_its_first_batch(tmp_path: Path) -> None:
    path = _two_regions(tmp_path / "leads.csv", 150)
    batches = open_lead_batches(path, 3_000)
    reads: list[int] = []

    def counted() -> Iterator[pl.DataFrame]:
        reads.append(1)
        yield from batches.batches()

    def every_column(names: Sequence[str]) -> Iterator[pl.DataFrame]:
        raise AssertionError("the file's columns were read again for the region inference")

    once = dataclasses.replace(batches, batches=counted, columns=every_column)
    applied = resolve_columns(batches.ingested.headers, None)
    inferred, first = inferred_beside_first(
        once, applied, lambda raw, region: raw.with_columns(region=pl.lit(region))
    )

    assert inferred is not None and inferred.region == "US"
    made, rest = first.take() or (None, iter([]))
    assert made is not None and made.get_column("region").to_list() == ["US"] * 3_000
    assert list(rest) == []
    assert reads == [1]


@pytest.mark.parametrize("rows", [150, 2_000])  # 2,000: each file is read as one batch
@pytest.mark.parametrize("name", ["us_crm_export.csv", "latam_leads.parquet", "de_kunden_cp1252.csv"])
def test_files_prepared_with_the_first_batch_beside_the_inference_are_the_same(name: str, rows: int) -> None:
    whole = prepare_leads(SAMPLES / name, PrepareOptions())
    batched = prepare_batches(SAMPLES / name, PrepareOptions(), rows=rows, first_beside=True)
    assert pl.concat(list(batched.batches())).equals(whole.clean)
    assert (batched.prepared.default_region, batched.prepared.region_note) == (
        whole.default_region,
        whole.region_note,
    )
