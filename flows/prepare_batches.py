"""flows.prepare for a file of any size: the same steps, a batch of rows at a time.

``prepare_leads`` holds the file, its raw leads and its clean leads (about 1.1 GB per million
rows at the peak); here the file is read in batches (transforms.ingest_batches), each batch
normalized with the same code (transforms.normalize.clean_leads, without dedupe) and its
duplicates marked against the keys of the batches before it (transforms.dedupe_batches).
The caller consumes the clean batches one by one (writing their results as it goes), so the
run's memory depends on the batch size, not on the file's.

The default region is inferred as ``prepare_leads`` infers it, from the whole file: when no
region is given, the file is read once more first, keeping only the distinct international
numbers of the rows without a country (flows.batch_region; ``leadflow validate`` reads it
beside the first batch's normalizing).
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

from connectors.config_error import ConfigError
from flows.batch_region import FirstBatch, inferred_beside_first, inferred_region, raw_batches
from flows.prepare import (
    PreparedLeads,
    PrepareOptions,
    _default_region,
    _region_source,
    _suppression,
    file_encoding,
    with_managed,
)
from schemas.clean_leads import CLEAN_LEADS
from transforms.columns import ColumnMapping, load_mapping, resolve_columns, to_raw_leads
from transforms.dedupe_batches import BatchDedupe
from transforms.ingest import check_readable
from transforms.ingest_batches import LeadBatches, RowsPerBatch, open_lead_batches
from transforms.normalize import Suppression, clean_leads
from transforms.suppress import SuppressionList

__all__ = ["AHEAD", "READ_AHEAD_VARIABLE", "BatchedLeads", "check_inputs", "prepare_batches", "read_ahead"]

_Done = TypeVar("_Done")

AHEAD = 0
"""Batches ``leadflow validate`` reads and normalizes ahead of the one it dedupes and turns into
result rows (BatchedLeads.batches) unless ``$LEADFLOW_READ_AHEAD`` says otherwise (:func:`read_ahead`).
1 runs the main thread's dedupe and result rows of one batch (and the writer's thread,
flows.run.write_behind) beside the next batch's reading and normalizing. Measured with
bench/normalize.py (``--path batched --ahead``), 1M rows, three pairs back to back at load 2:
wall 6.59-7.27 s against 7.70-9.61 (median 0.87), CPU equal (9.8-10.1 s against 9.7-10.5), peak
679-721 MiB against 634-640; at load 10-12, 10M rows: CPU equal (107.7 s against 107.1), peak
1,182 MiB against 1,055 (1.24 GB against 1.11). 0 by default, then: issue 17's bound is 1.2 GB at
10M rows, and one batch more in hand crosses it; a machine with memory to spare sets 1. (An
earlier version, each batch normalized in a pool thread and read by the caller, cost 18% more
CPU at 10M; this one makes the batches in one thread, which polars' own pools already spread
over the cores.)"""

READ_AHEAD_VARIABLE = "LEADFLOW_READ_AHEAD"
_MOST_AHEAD = 4


def read_ahead() -> int:
    """Batches ``leadflow validate`` makes ahead: ``$LEADFLOW_READ_AHEAD`` (0 to 4), else
    :data:`AHEAD`. Any other value is a ConfigError naming the variable (a setting that is
    ignored would leave an operator measuring the wrong thing)."""
    given = os.environ.get(READ_AHEAD_VARIABLE, "").strip()
    if not given:
        return AHEAD
    if not given.isdigit() or int(given) > _MOST_AHEAD:
        raise ConfigError(
            f"${READ_AHEAD_VARIABLE} is {given!r}: give the number of batches to read ahead, "
            f"0 to {_MOST_AHEAD} (each costs one batch's memory, about 60 MB per 100k rows), "
            "or unset it"
        )
    return int(given)


@dataclass(frozen=True)
class BatchedLeads:
    """What ``prepare_leads`` returns, its ``clean`` frame empty, and the clean leads as batches.

    ``batches()`` reads, normalizes and dedupes the file (once: it is an iterator over the file)."""

    prepared: PreparedLeads
    lead_batches: LeadBatches
    options: PrepareOptions
    suppression: Suppression | None
    erased: Callable[[pl.Series], pl.Series] | None = None
    """The managed store's erasure matcher (connectors.dnc), applied to every batch."""
    first: FirstBatch | None = None
    """The first batch, made while the region was inferred (prepare_batches ``first_beside``)."""

    def batches(self, ahead: int = 0) -> Generator[pl.DataFrame]:
        """The clean leads, batch by batch in file order (schemas.clean_leads).

        ``ahead``: how many batches are read and normalized in a thread of their own while
        the caller works on the one it was given (0: each batch is made when asked for).
        Why: reading and normalizing are polars and Arrow work that lets go of the GIL,
        between stretches of Python (the per-value phone parse, expression building, checks)
        that hold it; the next batch made beside the caller's dedupe and result rows of this
        one (and the writer's thread, flows.run.write_behind) keeps both cores busy where one
        batch at a time leaves one idle part of the time. The batches are made one after the
        other in that one thread (polars' own pools already spread each batch's work over the
        cores: a second normalizing thread only contends with them). Each batch in hand costs
        its frames' memory (~60 MB per 100k rows); the batches still come out in file order,
        their duplicates marked one after the other, so the leads are the same whatever
        ``ahead``.

        With ``ahead`` 0 the next batch's raw leads (Arrow's read, column mapping: ~10 MB per
        100k rows, a sixth of a clean batch) are still read in that thread while this batch is
        normalized: the read came off the thread every other stage waits on."""
        dedupe = BatchDedupe()
        cleaned = self.undeduped(ahead)
        try:
            for clean in cleaned:
                marked = dedupe.apply(clean)
                # let go of each stage's frame before yielding: a generator's locals live on
                # while the caller works, and into the next batch's reading
                del clean
                yield marked
                del marked
        finally:
            cleaned.close()

    def undeduped(self, ahead: int = 0) -> Generator[pl.DataFrame]:
        """:meth:`batches` before their duplicates are marked: the caller marks them, in file
        order, with one transforms.dedupe_batches.BatchDedupe (``BatchDedupe().apply`` on each
        batch, one after the other, gives :meth:`batches`). Why: ``leadflow validate`` marks
        them in the thread that builds and writes the batch's results (flows.run.finish,
        ``built_behind``), beside the next batch's normalizing, not on the thread every stage
        waits on."""
        first = self.first.take() if self.first is not None else None
        made_first, raws = first if first is not None else (None, None)
        del first  # the batch is held by ``made_first`` only, let go once handed over
        if raws is None:
            raws = raw_batches(self.lead_batches, self.prepared.applied)
        made = _made_ahead(raws, self._clean, ahead) if ahead > 0 else _made_ahead(raws, _as_read, 1)
        cleaned = made if ahead > 0 else map(self._clean, made)
        try:
            if made_first is not None:
                yield made_first
                del made_first
            for clean in cleaned:
                yield clean
                del clean
        finally:
            made.close()  # a caller that stops early: the reading thread and the file let go

    def _clean(self, raw: pl.DataFrame) -> pl.DataFrame:
        return _cleaned(
            raw,
            self.prepared.default_region,
            source=self.prepared.source,
            suppression=self.suppression,
            erased=self.erased,
            workers=self.options.workers,
        )


def _cleaned(
    raw: pl.DataFrame,
    region: str | None,
    *,
    source: str,
    suppression: Suppression | None,
    erased: Callable[[pl.Series], pl.Series] | None,
    workers: int | None,
) -> pl.DataFrame:
    """One batch normalized, duplicates not marked (transforms.normalize.clean_leads)."""
    return clean_leads(
        raw,
        default_region=region,
        source=source,
        dedupe_keys=(),
        suppression=suppression,
        erased=erased,
        workers=workers,
    )


def _as_read(raw: pl.DataFrame) -> pl.DataFrame:
    return raw


def _made_ahead(
    raws: Iterator[pl.DataFrame], work: Callable[[pl.DataFrame], _Done], ahead: int
) -> Generator[_Done]:
    """``map(work, raws)`` with up to ``ahead`` batches read and worked on in one thread while
    the caller works on the one it was given. They are made one after the other, so the file
    is read in order; an error making one (a file-level problem found in a late batch, a
    batch's own) is raised when the caller reaches that batch. When the caller stops early,
    what is not started is dropped, what is being made is finished and let go, and ``raws``
    is closed (its file with it)."""
    pending: deque[Future[_Done | object]] = deque()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="normalize")
    done = object()

    def made() -> _Done | object:
        # the end of ``raws`` comes back as ``done``: a StopIteration raised out of a future
        # into this generator would be turned into a RuntimeError
        raw = next(raws, None)
        return done if raw is None else work(raw)

    try:
        pending.extend(pool.submit(made) for _ in range(ahead))
        while pending:
            item = pending.popleft().result()
            if item is done:
                return
            pending.append(pool.submit(made))
            yield item  # type: ignore[misc]
            del item
    finally:
        pending.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(raws, "close", None)
        if close is not None:
            close()


def check_inputs(path: Path, options: PrepareOptions) -> tuple[ColumnMapping | None, str | None]:
    """The mistakes :func:`prepare_batches` reports before it reads a row: the mapping file
    (missing, not TOML, unknown keys), the default country, a lead file or ``--suppress`` list
    that is missing or cannot be opened. Returns the mapping and the default region given.

    Why on its own: ``leadflow import --prefect`` calls it before the flow starts, so a typo in
    a path is one ``Error:`` line at once, not a Prefect run that fails 20 s later; the flow's
    first step calls it again through :func:`prepare_batches`, with the same words."""
    mapping = load_mapping(options.mapping) if options.mapping else None
    region = _default_region(path, options, mapping)
    file_encoding(path, options, mapping)
    for file in (path, *options.suppress):
        check_readable(file)
    return mapping, region


def prepare_batches(
    path: Path,
    options: PrepareOptions | None = None,
    rows: RowsPerBatch = None,
    *,
    first_beside: bool = False,
) -> BatchedLeads:
    """Everything ``prepare_leads`` decides before the leads (file, mapping, region,
    suppression lists), and the leads as batches of ``rows`` rows (a number, a rule from the
    file's rows such as transforms.ingest_batches.validate_batch_rows, or None for its
    batch_rows). Raises what ``prepare_leads`` raises.

    ``first_beside``: when the region is inferred and no ``--suppress`` list needs it, the
    first batch is read and normalized beside the inference (flows.batch_region.inferred_beside_first;
    ``leadflow validate``); a file-level error of the first batch is then raised here."""
    options = options or PrepareOptions()
    mapping, region = check_inputs(path, options)
    encoding = file_encoding(path, options, mapping)
    lead_batches = open_lead_batches(path, rows, encoding)
    ingested = lead_batches.ingested
    applied = resolve_columns(ingested.headers, mapping)
    to_raw_leads(ingested, applied)  # a file without a contact column is refused before any batch
    source = options.source or (mapping.source if mapping and mapping.source else None) or path.stem
    region_source, note = _region_source(options, mapping), None
    first: FirstBatch | None = None
    lists: tuple[SuppressionList, ...]
    if region is None and first_beside and not options.suppress:
        # no list is read with the region: the store's keys are the batches' whatever it is
        suppression, managed = with_managed(None, options.ledger)
        lists = ()
        clean = functools.partial(
            _cleaned, source=source, suppression=suppression, erased=managed.erased, workers=options.workers
        )
        inferred, first = inferred_beside_first(lead_batches, applied, clean)
    else:
        inferred = inferred_region(lead_batches, applied) if region is None else None
    if inferred is not None:
        region, note = inferred.region, inferred.note
        region_source = "inferred" if region is not None else None
    if first is None:
        suppression, lists = _suppression(options.suppress, region)
        suppression, managed = with_managed(suppression, options.ledger)
    prepared = PreparedLeads(
        ingested,
        applied,
        region,
        source,
        pl.DataFrame(schema=CLEAN_LEADS),
        lead_batches.rows,
        region_source=region_source,
        region_note=note,
        suppression_lists=lists,
        dnc_store=managed.store,
        dnc_lists=managed.lists,
        encoding_given=encoding is not None,
    )
    return BatchedLeads(prepared, lead_batches, options, suppression, managed.erased, first)
