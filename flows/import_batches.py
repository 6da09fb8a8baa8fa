"""``leadflow import`` for a file of any size: each clean batch sent to every target as it is read.

flows.prepare_batches yields the file's clean leads a batch at a time; each batch goes to every
target concurrently (flows.importer.send_target on a view of the prepared file holding only the
batch), and each target's result rows for it are appended to the run's results
(flows.run.finish.finish_run_in_batches) before the next batch is read. So the first vendor
request leaves before the last batch is read, and memory depends on the batch size. The next
batch is read and normalized in a thread while this one is sent (``SendSettings.read_ahead``):
reading and sending overlap, and at most two batches are held.

Before the first batch, each target checks the file's mapped columns (``Connector.check_columns``:
a uContact template naming a column the file lacks); a target that refuses them starts stopped
(``TARGET_MISCONFIGURED``), so it sends nothing and its rows fail with its message, while the
other targets send. A target stopped with no row failed by it (it had none to send, or every row
was already sent when the vendor refused its setup) is told by its ``stopped`` fact
(flows.verdict.stop_fact), in the verdict's facts and, through ``stops``, in run.json and
summary.json: the run's verdict is then ``stopped`` too.

What a target learns in one batch holds for the rest (connectors.target_state): a target stopped
in batch k (breaker, fatal error) gets no request in later batches, its rows get the stop's
reason. Each target keeps one vendor session for the run (connectors.session): it logs in at
its first request and out once at the end, also when a batch raises or the run is interrupted
(Ctrl-C between or during batches). Exactly-once is the ledger's, per chunk, as in a whole-file
run; calling windows are computed from the run's start for every batch. The verdict's facts
(flows.verdict.send_facts) are counted per batch and added up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from connectors.base import Connector, FileColumns
from connectors.engine import RequestGate
from connectors.errors import FatalTargetError
from connectors.target_state import TargetState
from flows.importer import send_target
from flows.prepare import PreparedLeads
from flows.prepare_batches import BatchedLeads
from flows.run.finish import finish_run_in_batches
from flows.shared_leads import SharedLeads
from flows.verdict import send_facts, stop_fact
from transforms.shared_windows import SharedWindows

__all__ = [
    "BatchProgress",
    "SendSettings",
    "add_facts",
    "add_stops",
    "check_columns",
    "column_stops",
    "send_in_batches",
    "sent_batches",
]

log = logging.getLogger("leadflow.flows")
_T = TypeVar("_T")


class BatchProgress:
    """What a caller shows while batches go out; every method is optional to override."""

    def read(self, rows: int) -> None:
        """``rows`` more input rows were read and normalized."""

    def sent(self, target: str, rows: int) -> None:
        """``target`` has results for ``rows`` input rows so far (eligible or not)."""


@dataclass(frozen=True)
class SendSettings:
    run_id: str
    ledger: str | Path
    started: datetime
    dry_run: bool = False
    resend: bool = False
    gates: dict[str, RequestGate] = field(default_factory=dict)
    """A gate per target name (flows.vendor_limits), around every request; none by default."""
    read_ahead: bool = True
    """Read and normalize the next batch in a thread while this one is sent (two batches held);
    False: one after the other (one batch held)."""
    open_gates: Mapping[str, AbstractAsyncContextManager[RequestGate]] = field(default_factory=dict)
    """Gates to enter for the run (the ``import_leads`` flow's flows.vendor_limits.PrefectGate):
    entered and left on the run's own event loop, the loop their client and slot releases need."""


def add_facts(total: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    """Add one batch's verdict facts (flows.verdict.send_facts) to the run's, in place; a
    target's first ``stopped`` fact is kept."""
    for target, facts in more.items():
        mine = total.setdefault(target, _no_facts())
        if "stopped" in facts:
            mine.setdefault("stopped", facts["stopped"])
        for counts in ("statuses", "failed_reasons"):
            for name, count in facts[counts].items():
                mine[counts][name] = mine[counts].get(name, 0) + count
        mine["not_attempted"] += facts["not_attempted"]
        mine["too_large"] += facts["too_large"]
    for facts in total.values():  # the order send_facts gives: most frequent reason first
        facts["statuses"] = dict(sorted(facts["statuses"].items()))
        facts["failed_reasons"] = dict(
            sorted(facts["failed_reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
        )


async def _send_batch(
    prepared: PreparedLeads,
    connectors: Sequence[Connector],
    *,
    states: Sequence[TargetState],
    settings: SendSettings,
    progress: BatchProgress,
    done: int,
) -> list[pl.DataFrame]:
    """One batch (``prepared.clean``) to every target concurrently; each target's result rows."""
    height = prepared.clean.height

    def update(name: str) -> Callable[[int, int], None]:
        def report(settled: int, eligible: int) -> None:
            progress.sent(name, done + height - eligible + settled)

        return report

    shared = SharedWindows(prepared.clean)  # the batch's targets of one profile share its windows
    keyed = any(connector.target.frequency is not None for connector in connectors)
    leads = SharedLeads(prepared.clean, keyed=keyed)  # and all of them its Leads: one copy, not six
    results = await asyncio.gather(
        *(
            send_target(
                prepared,
                connector,
                run_id=settings.run_id,
                ledger=settings.ledger,
                dry_run=settings.dry_run,
                resend=settings.resend,
                progress=update(connector.target.name),
                gate=settings.gates.get(connector.target.name),
                started=settings.started,
                state=state,
                shared=shared,
                leads=leads,
            )
            for connector, state in zip(connectors, states, strict=True)
        )
    )
    for connector in connectors:
        progress.sent(connector.target.name, done + height)
    return list(results)


def _read_ahead(batches: Iterator[pl.DataFrame], enabled: bool = True) -> Generator[pl.DataFrame]:
    """``batches``, each next one read by a thread while the caller works on the one yielded.
    A reading error is raised where that batch would have been yielded, after the ones before
    it; closed early (an error, Ctrl-C), the read under way is waited for, then ``batches``
    closed (its files released). Not ``enabled``: ``batches`` as they are."""
    if not enabled:
        yield from batches
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="leadflow-read-ahead")
    try:
        ahead = pool.submit(next, batches, None)
        while (batch := ahead.result()) is not None:
            ahead = pool.submit(next, batches, None)
            yield batch
            del batch
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _close_ledgers(states: Sequence[TargetState]) -> None:
    for state in states:
        if state.ledger is not None:
            state.ledger.close()
            state.ledger = None


def _cancel_unfinished(runner: asyncio.Runner, sending: list[asyncio.Task[Any]]) -> None:
    """Cancel a batch's send that an interruption left unfinished, and let it end, before the
    sessions and ledgers it ends in are closed. Only a Ctrl-C raised in the middle of the loop
    rather than through asyncio's own handler (the watched folder's second Ctrl-C: its own
    handler took the first) leaves it so; left to the runner's close, the send's cleanup (a lease
    ended, a chunk settled) met a closed ledger. Only the send: the tasks the gates keep of their
    own (slots handed back after a pause) are the gates' to end, as after any batch."""
    unfinished = [task for task in sending if not task.done()]
    if not unfinished:
        return
    for task in unfinished:
        task.cancel()
    runner.get_loop().run_until_complete(asyncio.gather(*unfinished, return_exceptions=True))


async def _tracked(sending: list[asyncio.Task[Any]], work: Awaitable[_T]) -> _T:
    """``work`` in the task :func:`_cancel_unfinished` looks at."""
    task = asyncio.current_task()
    assert task is not None
    sending[:] = [task]
    return await work


def _end_sessions(runner: asyncio.Runner, states: Sequence[TargetState], names: Sequence[str]) -> None:
    """Log out of every target's kept vendor session, concurrently, on the run's event loop."""

    async def end_all() -> None:
        ended = await asyncio.gather(*(state.end_session() for state in states), return_exceptions=True)
        for name, outcome in zip(names, ended, strict=True):
            if isinstance(outcome, Exception):  # closing a client: nothing the run's results depend on
                log.warning("%s: ending the vendor session failed: %s", name, type(outcome).__name__)

    if any(state.session is not None for state in states):
        runner.run(end_all())


def column_stops(prepared: PreparedLeads, connectors: Sequence[Connector]) -> dict[str, dict[str, str]]:
    """Each target's check of the file's mapped columns (``Connector.check_columns``): the
    ``stopped`` facts (flows.verdict.stop_fact) of the targets that refuse them, by name."""
    applied = prepared.applied
    columns = FileColumns(applied.attributes, dict(applied.columns), applied.ignored)
    stops = {}
    for connector in connectors:
        try:
            connector.check_columns(columns)
        except FatalTargetError as refused:
            stops[connector.target.name] = stop_fact(str(refused.reason), str(refused))
    return stops


def check_columns(
    prepared: PreparedLeads, connectors: Sequence[Connector], states: Sequence[TargetState]
) -> None:
    """:func:`column_stops`, and a target that refuses the columns is stopped before it sends
    anything (its state's breaker, with the refusal's reason and message: every row it would
    send fails with them, and :func:`_record_stops` finds the stop there)."""
    stops = column_stops(prepared, connectors)
    for connector, state in zip(connectors, states, strict=True):
        stop = stops.get(connector.target.name)
        if stop is not None:
            log.error("target stopped before sending: %s", stop["message"])
            state.breaker.trip(stop["reason"], stop["message"])


def add_stops(facts: dict[str, dict[str, Any]], stops: Mapping[str, dict[str, str]]) -> None:
    """Each target's ``stopped`` fact of ``stops`` in the run's verdict facts, in place (a
    target's first one is kept)."""
    add_facts(facts, {name: {**_no_facts(), "stopped": stop} for name, stop in stops.items()})


def _no_facts() -> dict[str, Any]:
    return {"statuses": {}, "failed_reasons": {}, "not_attempted": 0, "too_large": 0}


def _record_stops(
    connectors: Sequence[Connector],
    states: Sequence[TargetState],
    facts: dict[str, dict[str, Any]],
    stops: dict[str, dict[str, str]],
) -> None:
    """Each stopped target's ``stopped`` fact (its breaker's reason and message, the first one)
    in ``stops`` and ``facts``: what says so when no row of the target failed."""
    for connector, state in zip(connectors, states, strict=True):
        reason = state.breaker.reason
        if reason is not None:
            stops.setdefault(connector.target.name, stop_fact(reason, state.breaker.message or ""))
    add_stops(facts, stops)


def sent_batches(
    batches: Iterator[pl.DataFrame],
    prepared: PreparedLeads,
    connectors: Sequence[Connector],
    settings: SendSettings,
    *,
    progress: BatchProgress | None = None,
    facts: dict[str, dict[str, Any]] | None = None,
    stops: dict[str, dict[str, str]] | None = None,
) -> Generator[tuple[pl.DataFrame, list[pl.DataFrame]]]:
    """Each clean batch of ``batches`` (leads of the file ``prepared`` describes) sent to every
    target; yields the batch and every target's result rows for it, in the order of
    ``connectors``, and adds their verdict facts to ``facts``. Once the last batch is sent, each
    target stopped on the way (before sending: :func:`check_columns`; or by the vendor) has its
    ``stopped`` fact in ``facts`` and in ``stops``.

    The targets' sessions, ledgers and gates live as long as this generator: close it (use
    ``contextlib.closing``) so that they end when its caller stops early or fails. Raises what
    reading a batch raises, after the batches before it were sent and recorded in the ledger.
    What writes the results is the caller's: the run folder (:func:`send_in_batches`) or a
    split import's partition part (flows.import_partition)."""
    progress = progress or BatchProgress()
    facts = facts if facts is not None else {}
    stops = stops if stops is not None else {}
    states = [TargetState.of(connector, keep_session=True) for connector in connectors]
    check_columns(prepared, connectors, states)
    with asyncio.Runner() as runner, contextlib.ExitStack() as ledgers:
        # one event loop for the run: the targets' vendor sessions live on, and end (logout, then
        # their clients) before the ledgers opened by the first batch are closed
        ledgers.callback(_close_ledgers, states)
        if settings.open_gates:
            entered = contextlib.AsyncExitStack()
            ledgers.callback(lambda: runner.run(entered.aclose()))
            gates = {
                name: runner.run(entered.enter_async_context(gate))
                for name, gate in settings.open_gates.items()
            }
            settings = replace(settings, gates={**settings.gates, **gates})
        ledgers.callback(_end_sessions, runner, states, [c.target.name for c in connectors])
        sending: list[asyncio.Task[Any]] = []  # the batch's send, while it runs
        ledgers.callback(_cancel_unfinished, runner, sending)
        reading = _read_ahead(batches, settings.read_ahead)
        ledgers.callback(reading.close)  # first: no batch is read once the run is ending
        done = 0
        for clean in reading:
            progress.read(clean.height)
            view = replace(prepared, clean=clean)
            send = _send_batch(
                view, connectors, states=states, settings=settings, progress=progress, done=done
            )
            results = runner.run(_tracked(sending, send))
            del view
            for frame in results:
                add_facts(facts, send_facts(frame))
            done += clean.height
            yield clean, results
            del clean, results
        _record_stops(connectors, states, facts, stops)


def send_in_batches(
    batched: BatchedLeads,
    connectors: Sequence[Connector],
    settings: SendSettings,
    *,
    out_dir: Path,
    progress: BatchProgress | None = None,
    report: bool = True,
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Send the file batch by batch and write its run folder in ``out_dir``; the run folder and
    the verdict's facts. Raises what reading a batch raises (a file-level problem found late),
    after the batches before it were sent and recorded in the ledger."""
    prepared = batched.prepared
    facts: dict[str, dict[str, Any]] = {}
    stops: dict[str, dict[str, str]] = {}  # filled once the last batch is sent, read after it
    current: list[pl.DataFrame] = []
    sending = sent_batches(
        batched.batches(), prepared, connectors, settings, progress=progress, facts=facts, stops=stops
    )

    def cleans() -> Iterator[pl.DataFrame]:
        for clean, results in sending:
            current[:] = results
            del results
            yield clean
            del clean

    def results_of(index: int) -> Callable[[pl.DataFrame], pl.DataFrame]:
        return lambda _clean: current[index]

    with contextlib.closing(sending):
        run_dir = finish_run_in_batches(
            prepared,
            cleans(),
            [(c.target.name, c.target.kind, results_of(i)) for i, c in enumerate(connectors)],
            run_id=settings.run_id,
            started=settings.started,
            out_dir=out_dir,
            dry_run=settings.dry_run,
            report=report,
            rules={c.target.name: c.target.recorded() for c in connectors},
            stops=stops,
        )
    return run_dir, facts
