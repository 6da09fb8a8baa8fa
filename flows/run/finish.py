"""The end of every run, with or without targets: check the row invariant, write the run folder.

Its own module, apart from flows.importer (which sends), so that ``leadflow validate``, which
sends nothing, does not import httpx, the connectors and the ledgers to write its results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flows.allocator import BATCH_FREE_AT_LEAST, release_freed
from flows.inbox.layout import recorded_source
from flows.report.html_page import write_html_report
from flows.run.store import writing_run
from flows.run.write_behind import WriteBehind
from schemas.results import RESULTS
from transforms.outputs import ResultsWriter, RunInfo, write_run, write_run_files
from transforms.results import check_row_invariant
from transforms.summary import RunningSummary, summarize

if TYPE_CHECKING:
    from flows.prepare import PreparedLeads

__all__ = ["BatchResults", "finish_run", "finish_run_from_results", "finish_run_in_batches"]

BatchResults = Callable[[pl.DataFrame], pl.DataFrame]
"""One target's result rows for one batch of clean leads."""

Seen = Callable[[Sequence[pl.DataFrame]], None]
"""What is taken of each batch's results (one frame per target) once they are written."""


def finish_run(
    prepared: PreparedLeads,
    results: Sequence[pl.DataFrame],
    targets: Sequence[tuple[str, str]],
    *,
    run_id: str,
    started: datetime,
    out_dir: Path,
    dry_run: bool,
    report: bool = True,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Check the row invariant, write the run folder and (``report``) its HTML report; the
    run folder. ``targets`` are (name, kind) pairs, in the order of ``results``; ``rules`` what
    run.json records of each target's calling hours and frequency limit, by name
    (connectors.config ``TargetConfig.recorded``).
    bench/normalize.py times it without the report."""
    combined = pl.concat(results)
    check_row_invariant(combined, prepared.rows, len(targets))
    info = _run_info(prepared, targets, run_id, started, dry_run, rules=rules)
    with writing_run(out_dir / run_id):
        run_dir = write_run(out_dir, info, combined)
        if report:
            write_html_report(run_dir)
    return run_dir


def finish_run_in_batches(
    prepared: PreparedLeads,
    batches: Iterable[pl.DataFrame],
    targets: Sequence[tuple[str, str, BatchResults]],
    *,
    run_id: str,
    started: datetime,
    out_dir: Path,
    dry_run: bool,
    report: bool = True,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    built_behind: bool = False,
    marked: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    seen: Seen | None = None,
    stops: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """:func:`finish_run` for leads that come in batches (flows.prepare_batches): each batch's
    result rows, per target (name, kind, how its results are built), are written as they
    are made; the row invariant and the summary are then taken from lazy scans of the parts.
    Nothing is left of a run that fails half-way but its temporary files' absence.

    ``marked``: what is done to each batch before its results are built, in the thread that
    builds them when ``built_behind`` (one batch after the other, in order): ``leadflow
    validate`` marks the duplicates there (transforms.dedupe_batches, 1.5-2 s of a 1M-row run
    off the thread every stage waits on); the unmarked batch is let go once it is marked.

    ``built_behind``: the results are built in the writer's thread too, beside the next
    batch's normalizing (0.3-0.4 s of a 1M-row run off the thread every stage waits on); only
    for builds that read nothing but the clean batch (``leadflow validate``'s). Otherwise they
    are built here, in order, before the next batch is asked for (a target's results may be
    what the batch's sending left, flows.import_batches).
    ``seen``: given each batch's results (one frame per target) once written, in the writer's
    thread, batch after batch (``leadflow validate``'s report figures, flows.report.lead_batches).
    The summary is taken the same way (transforms.summary.RunningSummary).
    A write that fails (a full disk) stops the run with flows.run.store.RunNotWritten, raised
    at the next batch's submission or at the end, and no run folder is left.
    ``stops``: the ``stopped`` fact (flows.verdict.stop_fact) of each target stopped by the
    sending, by name, read once the last batch is done (the sending fills it as it ends:
    flows.import_batches.sent_batches); run.json's and summary.json's entry of each such target
    records it as ``stopped``."""
    run_dir = out_dir / run_id
    writers = [ResultsWriter(run_dir, name) for name, _, _ in targets]
    summary = RunningSummary([name for name, _, _ in targets])
    taken = summary.add if seen is None else _both(summary.add, seen)
    behind = WriteBehind()
    try:
        for clean in batches:
            if built_behind:
                write = functools.partial(_build_and_write, writers, targets, [clean], marked, taken)
            else:
                ready = marked(clean) if marked is not None else clean
                built = [build(ready) for _, _, build in targets]
                del ready
                write = functools.partial(_write_all, writers, built, taken)
                del built
            del clean
            with writing_run(run_dir):  # the batch before's write: its error comes here
                behind.submit(write)
            del write
        with writing_run(run_dir):
            behind.close()
            parts = [writer.close() for writer in writers]
    except BaseException:
        behind.drop()
        for writer in writers:
            writer.abort()
        # the batches' reading thread and file go now, not when the traceback that holds
        # this frame is freed (a long-lived worker process may keep it for a while)
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        raise
    pairs = [(name, kind) for name, kind, _ in targets]
    return _finish_parts(
        prepared,
        parts,
        pairs,
        run_id=run_id,
        started=started,
        run_dir=run_dir,
        dry_run=dry_run,
        report=report,
        rules=rules,
        summary=summary.summary(),
        stops=stops,
    )


def finish_run_from_results(
    prepared: PreparedLeads,
    results: Iterable[pl.DataFrame],
    targets: Sequence[tuple[str, str]],
    *,
    run_id: str,
    started: datetime,
    out_dir: Path,
    dry_run: bool,
    report: bool = True,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    stops: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """:func:`finish_run_in_batches` for result rows already made, a frame at a time (a split
    import's parts, flows.split.parent): each frame's rows appended to their ``target``'s part,
    in the order they come; then the same checks and files from lazy scans of the parts.
    ``targets`` are (name, kind) pairs; a row of any other target is refused. ``stops`` as
    :func:`finish_run_in_batches` takes them."""
    run_dir = out_dir / run_id
    writers = {name: ResultsWriter(run_dir, name) for name, _ in targets}
    try:
        for frame in results:
            for (target,), rows in frame.partition_by("target", as_dict=True, maintain_order=True).items():
                if target not in writers:
                    raise ValueError(
                        f"result rows of target {target!r}, not one of the run's {list(writers)}"
                    )
                with writing_run(run_dir):
                    writers[str(target)].write(rows)
            del frame
        with writing_run(run_dir):
            parts = [writer.close() for writer in writers.values()]
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return _finish_parts(
        prepared,
        parts,
        targets,
        run_id=run_id,
        started=started,
        run_dir=run_dir,
        dry_run=dry_run,
        report=report,
        rules=rules,
        stops=stops,
    )


def _finish_parts(
    prepared: PreparedLeads,
    parts: Sequence[Path],
    targets: Sequence[tuple[str, str]],
    *,
    run_id: str,
    started: datetime,
    run_dir: Path,
    dry_run: bool,
    report: bool,
    rules: Mapping[str, Mapping[str, Any]] | None,
    summary: dict[str, Any] | None = None,
    stops: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """The row invariant, summary.json, run.json and the report, from lazy scans of ``parts``
    (the summary: ``summary`` when the batches' figures gave it, transforms.summary.RunningSummary),
    each target's entry of both with its ``stopped`` fact when ``stops`` has one."""
    scan = pl.scan_parquet(list(parts)) if parts else None
    if scan is not None:
        check_row_invariant(scan, prepared.rows, len(targets))
    results = scan if scan is not None else pl.DataFrame(schema=RESULTS)
    stopped = {name: {"stopped": dict(stop)} for name, stop in (stops or {}).items()}
    if stopped:
        rules = {name: {**(rules or {}).get(name, {}), **stopped.get(name, {})} for name, _ in targets}
        summary = summary if summary is not None else summarize(results, [name for name, _ in targets])
        for name, figures in summary["targets"].items():
            figures.update(stopped.get(name, {}))
    info = _run_info(prepared, targets, run_id, started, dry_run, rules=rules)
    with writing_run(run_dir):
        write_run_files(run_dir, info, results, summary)
        if report:
            write_html_report(run_dir)
    return run_dir


def _both(first: Seen, second: Seen) -> Seen:
    def both(results: Sequence[pl.DataFrame]) -> None:
        first(results)
        second(results)

    return both


def _write_all(writers: Sequence[ResultsWriter], built: Sequence[pl.DataFrame], seen: Seen) -> None:
    for writer, results in zip(writers, built, strict=True):
        writer.write(results)
    seen(built)
    release_freed(BATCH_FREE_AT_LEAST)


def _build_and_write(
    writers: Sequence[ResultsWriter],
    targets: Sequence[tuple[str, str, BatchResults]],
    held: list[pl.DataFrame],
    marked: Callable[[pl.DataFrame], pl.DataFrame] | None,
    seen: Seen,
) -> None:
    # the batch comes in a list the write's callable does not keep, so that it goes once
    # marked, and once the last target's results are built: its columns the results do not
    # take (issues, attributes) are not held through the last write
    clean = held.pop()
    if marked is not None:
        clean = marked(clean)
    last = len(targets) - 1
    built = []
    for index, (writer, (_, _, build)) in enumerate(zip(writers, targets, strict=True)):
        results = build(clean)
        if index == last:
            del clean
        writer.write(results)
        built.append(results)
        del results
    seen(built)
    del built  # its results go before the heap's free pages are handed back
    release_freed(BATCH_FREE_AT_LEAST)


def _run_info(
    prepared: PreparedLeads,
    targets: Sequence[tuple[str, str]],
    run_id: str,
    started: datetime,
    dry_run: bool,
    *,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
) -> RunInfo:
    source = recorded_source(prepared.ingested.path)
    return RunInfo(
        run_id=run_id,
        source_file=source.source_file,
        dropped_as=source.dropped_as,
        fingerprint=prepared.ingested.fingerprint,
        started_at=started.isoformat(timespec="seconds"),
        default_country=prepared.default_region,
        default_country_source=prepared.region_source,
        region_inference=prepared.region_note,
        mapping=dict(prepared.applied.columns),
        unmapped=list(prepared.applied.attributes),
        targets=[{"name": name, "kind": kind, **(rules or {}).get(name, {})} for name, kind in targets],
        rows=prepared.rows,
        dry_run=dry_run,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        suppression_lists=[asdict(applied) for applied in prepared.suppression_lists],
        dnc_store=prepared.dnc_store,
        dnc_lists=[asdict(listed) for listed in prepared.dnc_lists],
        encoding=prepared.ingested.encoding,
        encoding_source="option" if prepared.encoding_given else "detected",
    )
