"""The default region of a file read in batches (flows.prepare_batches), inferred as
``prepare_leads`` infers it, from the whole file (transforms.region_inference): the file is
read once more first, keeping only the distinct international numbers of the rows without a
country; or (``leadflow validate``) that pass runs beside the first batch's normalizing.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

import polars as pl
import polars.selectors as cs

from schemas.clean_leads import PHONE_SLOTS
from transforms.arrow_series import arrow_series
from transforms.columns import AppliedMapping, to_raw_leads
from transforms.ingest_batches import LeadBatches
from transforms.region_inference import RegionInference, infer_from_values, international_values

__all__ = ["FirstBatch", "inferred_beside_first", "inferred_region", "raw_batches"]

_Done = TypeVar("_Done")


def raw_batches(lead_batches: LeadBatches, applied: AppliedMapping) -> Generator[pl.DataFrame]:
    """The file's raw leads (schemas.raw_leads), batch by batch."""
    ingested = lead_batches.ingested
    for frame in lead_batches.batches():
        raw = to_raw_leads(replace(ingested, frame=frame), applied)
        del frame
        yield raw
        del raw


def inferred_region(lead_batches: LeadBatches, applied: AppliedMapping) -> RegionInference | None:
    """transforms.region_inference.infer_region over the whole file, read batch by batch."""
    # each batch's values picked out in a thread while the next batch is read
    return _inferred(_mapped_ahead(_inference_batches(lead_batches, applied), international_values, 1))


def _inferred(batches_found: Iterable[list[pl.Series] | None]) -> RegionInference | None:
    """The inference from each batch's :func:`international_values`, the batches in file order."""
    slots: list[list[pl.Series]] | None = None
    for found in batches_found:
        if found is None:
            continue
        slots = slots or [[] for _ in found]
        for gathered, values in zip(slots, found, strict=True):
            gathered.append(_own_strings(values))
        del found
    if slots is None:
        return None
    ordered = [values for gathered in slots for values in gathered]
    return infer_from_values(pl.concat(ordered).unique(maintain_order=True))


def _own_strings(values: pl.Series) -> pl.Series:
    """``values`` copied into buffers of their own.

    Why: a batch's international values are a few percent of its phone columns, but polars'
    strings are views into the columns' buffers, so the values kept from every batch held
    every batch's phone text: at 10M rows the pass grew by 270 MB to keep 1.5M values (this
    copy: 50 MB, 0.13 CPU-s), while the first batch was normalized beside it (the run's peak)."""
    return arrow_series(values.name, values.to_arrow(compat_level=pl.CompatLevel.oldest())).cast(pl.String)


_INFERENCE_COLUMNS = ("country", *PHONE_SLOTS)


_GUESS_SAMPLE = 200
"""International numbers the first batch's own region is read from: a guess (a wrong one costs
the batch made twice), a tenth of the file's sample (transforms.region_inference.SAMPLE: each
number is parsed in Python, ~0.1 s for 2,000 on the thread every stage waits on, 0.02 for
200)."""


def _rows_region(raw: pl.DataFrame) -> str | None:
    """The region ``raw``'s own international numbers infer, by the file's rule
    (transforms.region_inference) over at most :data:`_GUESS_SAMPLE` of them."""
    found = international_values(raw)
    if found is None:
        return None
    values = pl.concat(found).unique(maintain_order=True)
    if values.len() > _GUESS_SAMPLE:
        values = values.gather_every(values.len() // _GUESS_SAMPLE + 1)
    return infer_from_values(values).region


def inferred_beside_first(
    lead_batches: LeadBatches,
    applied: AppliedMapping,
    clean: Callable[[pl.DataFrame, str | None], pl.DataFrame],
) -> tuple[RegionInference | None, FirstBatch]:
    """:func:`inferred_region` in a thread of its own while the first batch is read and
    normalized (``clean``) with the region its own rows infer (:func:`_rows_region`): the pass
    over the whole file (0.7-0.9 s of a 1M-row file, one core at most) beside the first
    batch's work rather than before it. A file of one batch's rows at most is read once, with
    no thread and no guess (:func:`_inferred_from_batches`).

    The first batch is kept only when that region is the file's inferred one (None for
    None): the batch is then what it would have been. Otherwise (the first rows say
    otherwise than the file, or their normalizing failed) it is dropped, and made again
    from its raw rows with the file's region as every other batch is. The file's inference
    (or its error) comes first, as when it ran alone."""
    if lead_batches.rows <= lead_batches.size:
        return _inferred_from_batches(lead_batches, applied, clean)
    raws = raw_batches(lead_batches, applied)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="region-inference")
    try:
        inferring = pool.submit(inferred_region, lead_batches, applied)
        try:
            raw = next(raws)  # a file of no rows still gives one (empty) batch
            guess = _rows_region(raw)
            made: pl.DataFrame | None = None
            try:
                made = clean(raw, guess)
            except Exception:  # made again below, where its error is the run's
                made = None
        except BaseException:
            inferring.result()  # the file's inference error first, as before
            raise
        inferred = inferring.result()
    except BaseException:
        raws.close()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    region = inferred.region if inferred is not None else None
    if made is not None and region == guess:
        return inferred, FirstBatch(made, raws)
    del made
    return inferred, FirstBatch(None, itertools.chain([raw], raws))


def _inferred_from_batches(
    lead_batches: LeadBatches,
    applied: AppliedMapping,
    clean: Callable[[pl.DataFrame, str | None], pl.DataFrame],
) -> tuple[RegionInference | None, FirstBatch]:
    """:func:`inferred_beside_first` for a file of one batch's rows at most: its raw batches
    (one, or a few where a Parquet file's row groups cut it) held, the inference taken from
    them (the values :func:`inferred_region` reads, :func:`_inference_batches`' being the same
    text), then the first batch made with the file's region. Why: for a small file the second
    read, the thread and the guess cost more than they save (~30 ms of a one-row run)."""
    raws = list(raw_batches(lead_batches, applied))  # a file of no rows still gives one (empty) batch
    inferred = _inferred(international_values(raw) for raw in raws)
    try:
        made = clean(raws[0], inferred.region if inferred is not None else None)
    except Exception:  # made again, where its error is the run's
        return inferred, FirstBatch(None, iter(raws))
    return inferred, FirstBatch(made, iter(raws[1:]))


def _inference_batches(lead_batches: LeadBatches, applied: AppliedMapping) -> Iterator[pl.DataFrame]:
    """The raw leads' ``country`` and phone columns, all the inference reads, batch by batch.

    Where the file is read by Arrow's CSV reader (LeadBatches.columns) only the file's columns
    mapped to those are read, the same text as to_raw_leads gives them: a 1M-row file of seven
    columns took ~0.5 s to read and map whole on the thread every stage waits on, this a
    fraction of it. Other files are read whole, as before."""
    headers = [applied.columns[name] for name in _INFERENCE_COLUMNS if name in applied.columns]
    if lead_batches.columns is None or not headers:  # Arrow reads every column when given none
        yield from raw_batches(lead_batches, applied)
        return
    canonical = [
        cs.by_name(applied.columns[name]).alias(name)  # a header is a name: "*" is no wildcard
        if name in applied.columns
        else pl.lit(None, pl.String).alias(name)
        for name in _INFERENCE_COLUMNS
    ]
    for frame in lead_batches.columns(headers):
        yield frame.select(canonical)


class FirstBatch:
    """The first clean batch made during prepare_batches (None: made again, as any batch) and
    the raw batches after it, taken once by flows.prepare_batches.BatchedLeads.undeduped."""

    def __init__(self, clean: pl.DataFrame | None, rest: Iterator[pl.DataFrame]) -> None:
        self._held: tuple[pl.DataFrame | None, Iterator[pl.DataFrame]] | None = (clean, rest)

    def take(self) -> tuple[pl.DataFrame | None, Iterator[pl.DataFrame]] | None:
        held, self._held = self._held, None
        return held


def _mapped_ahead(
    raws: Iterator[pl.DataFrame], work: Callable[[pl.DataFrame], _Done], ahead: int
) -> Iterator[_Done]:
    """``map(work, raws)`` with up to ``ahead`` batches being worked on in threads while the
    caller works. The raw batches are read here, in the caller's thread, so that a file-level
    error is raised where it was (and reading stays in file order); a batch's error is
    raised when that batch is reached. When the caller stops early, what is in flight is
    dropped (a batch already being worked on is finished, then let go)."""
    pending: deque[Future[_Done]] = deque()
    pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="normalize")
    try:
        for raw in raws:
            pending.append(pool.submit(work, raw))
            del raw
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pending.clear()
        pool.shutdown(wait=True, cancel_futures=True)
