"""The dispatch engine: one target's leads out to its vendor, exactly one result per lead back.

``dispatch`` owns everything a vendor module does not: the httpx client (one per target, auth
from the connector, connection pool sized to the concurrency), the ledger, chunking within the
vendor's limits, a worker pool over the chunks, the token-bucket rate limit, retries with
backoff and jitter (connectors.retry), the circuit breaker (connectors.breaker) and turning the
vendor's per-row outcomes into :class:`RowResult` rows.

Order of a run: ``connector.open`` -> settle chunks a crashed run left in flight (ask the vendor
with ``connector.reconcile``; when it cannot tell, those leads are simply sent again with the same
external ids) -> leads the ledger says were accepted or submitted become ``already_sent`` (unless
``resend``) -> chunks are sent, each recorded in flight before and settled after ->
``connector.close`` (always; its failure is logged, never raised).

Failures, by bucket (the tree in connectors.errors): a transient error is retried up to
``retry.attempts`` tries; a request that exhausts them fails its rows (``TRANSPORT_FAILED``) and
counts towards the breaker, which after ``retry.breaker_failures`` consecutive such requests stops
the target (remaining rows ``TARGET_STOPPED``). An answer that cannot be read (too large, corrupt
encoding, not what the connector can parse: ``VendorAnswerError``, and any other exception of the
request path) fails its rows at once with its reason and counts towards the breaker the same way.
A ``FatalTargetError`` stops the target at once; its rows and the rest get its reason (e.g.
``AUTH_FAILED``, or ``TARGET_MISCONFIGURED`` when the vendor refused the target's setup) and its
message. Any other error that stops the target (``open`` failing after its retries: the vendor out
of reach; a request that cannot be built) is ``TARGET_STOPPED`` like the breaker's: nothing there
says a setting is wrong. Nothing a vendor provokes leaves ``dispatch`` as an exception.
Nor does a ledger that stops taking writes part-way (its disk full: ``LedgerUnavailable``): the
target stops with ``LEDGER_UNAVAILABLE``, since no lead can be claimed; a chunk whose answer
could not be recorded keeps the vendor's answer in its rows and stays in flight in the ledger,
for the next run to settle with the vendor, as after a crash.

Every request goes through connectors.answers.BoundedTransport (a size and a deadline per answer,
bounded decoding). Messages are redacted of the run's :class:`~connectors.secrets.SecretSet`
before they are logged or stored: the credentials, the tokens and session ids the vendor gave
(registered by the auth flow), the headers we sent, each in its derived forms.

The vendor session (connectors.session: the auth flow and its token, the clients) is the run's
when ``state`` keeps one across calls (a file sent in batches): it logs in once for all the
batches, and the state's maker ends it. Otherwise each call makes its own and ends it on return.

Connections: httpcore's pool does work proportional to its connections on every request (each
idle one is checked for expiry, which asks the socket, and counted against the keep-alive limit,
per connection), so one pool shared by the workers costs more CPU per request the higher the
concurrency. Each worker therefore sends through its own client of one connection; a separate
control client of at most :data:`CONTROL_CONNECTIONS` (and at most the concurrency) opens,
reconciles and closes the target, where a vendor module may run lookups side by side. All clients
share one auth flow. Requests built by one client are sent by any: they carry no client state
except the auth flow's, which is shared.

Requests go out first: work that waits for no answer (building the next requests, settling
answered ones) waits while a request is half-way out, between ``client.send`` and the last byte of
its body, where httpx yields to the event loop several times (pool, locks, anyio checkpoints). Run
there, it would delay the request itself and leave the vendor idle at low concurrency; run after,
it overlaps the vendor's work. httpcore's documented ``trace`` extension reports the body written
(``http11.send_request_body.complete``).

The collector: a run freezes the objects it starts with (connectors.heap), so the collections its
own allocations trigger do not walk the whole process.

Results and their ledger rows are kept by :class:`connectors.outcomes.ResultTable`. The per-lead
work of a run is building the body (the connector), parsing the answer (the connector), one result
row and one ledger row; everything else here is per request.

Under a frequency limit the leads' person keys may come with them as arrays (``people``,
transforms.people, computed from the batch's columns by flows.importer): the plan's chunks each
get their slice (``Chunk.people``, views, no copy) and the ledger decides on arrays, reading no
key off a Lead. Leads left out of the plan (already sent, too large) are left out of the keys by
position. Without them (a caller that has only Leads) each chunk's are read off its Leads. With
them the ledger is given the whole plan's first (``LedgerBackend.plan_limit``): the SQLite ledger
decides every chunk of it at once, and each chunk's claim confirms its verdict
(connectors.frequency_plan); PostgreSQL's decides chunk by chunk.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import overload

import httpx
import numpy as np

from connectors.base import Chunk, Connector, Lead, Phone, RowOutcome
from connectors.chunking import batch_id as make_batch_id
from connectors.chunking import lazy_plan_for
from connectors.errors import ConnectorError, FatalTargetError, VendorAnswerError, redact, truncate
from connectors.frequency import leads_legacy, leads_people
from connectors.heap import frozen_heap
from connectors.ledger_types import (
    SENT_STATUSES,
    UNSETTLED,
    Claim,
    LedgerBackend,
    LedgerUnavailable,
    SettledRow,
    TargetKey,
)
from connectors.outcomes import ProgressCallback, ResultTable, RowResult
from connectors.resume import settle_orphans
from connectors.retry import (
    answer_error,
    backoff_delay,
    call_with_retries,
    is_transient,
    outcome_unknown,
    retry_after_of,
)
from connectors.session import CONTROL_CONNECTIONS, VendorSession
from connectors.target_state import TargetState
from schemas.codes import Issue, Status
from transforms.people import People

__all__ = [
    "CONTROL_CONNECTIONS",
    "ProgressCallback",
    "RequestGate",
    "RowResult",
    "TargetState",
    "dispatch",
    "prefer_phone",
    "target_key",
]

log = logging.getLogger("leadflow.connectors")

_TRANSPORT_FAILED = Issue.TRANSPORT_FAILED.value

RequestGate = Callable[[], AbstractAsyncContextManager[None]]
"""Entered around every request attempt, after the run's own token bucket: a limit shared with
other runs on the target (the Prefect flow passes flows.vendor_limits' global concurrency and
rate limits). It raises a ``FatalTargetError`` when it cannot be entered; the rows then fail with
its reason, unsent. Kept a plain callable so connectors/ imports nothing of Prefect."""


def target_key(connector: Connector) -> TargetKey:
    """The ledger key of the connector's target: vendor endpoint (its ``ledger_key`` when set,
    else its URL, normalized by the ledger: connectors.endpoint) + campaign."""
    target = connector.target
    return TargetKey(target.kind, target.ledger_key or target.base_url, target.campaign)


def prefer_phone(lead: Lead, e164: str | None) -> Lead:
    """``lead`` with the phone ``e164`` moved first (SMS targets send to the first phone; see
    transforms.eligibility's ``channel_phone``). Unchanged when ``e164`` is None or absent."""
    if e164 is None or not lead.phones or lead.phones[0].e164 == e164:
        return lead
    chosen = [p for p in lead.phones if p.e164 == e164]
    if not chosen:
        return lead
    rest: list[Phone] = [p for p in lead.phones if p.e164 != e164]
    return replace(lead, phones=(chosen[0], *rest))


async def dispatch(
    connector: Connector,
    leads: Sequence[Lead],
    *,
    ledger: LedgerBackend,
    run_id: str,
    dry_run: bool = False,
    resend: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: ProgressCallback | None = None,
    gate: RequestGate | None = None,
    state: TargetState | None = None,
    people: People | None = None,
) -> list[RowResult]:
    """Send ``leads`` to ``connector``'s target; one :class:`RowResult` per lead, in input order.

    ``dry_run`` builds every request (payload errors and sizes surface) and sends nothing: no
    open/close, no ledger writes, status ``dry_run``. ``resend`` ignores what the ledger says
    was delivered. ``transport`` is for tests (``httpx.ASGITransport(app=...)``). ``gate``
    (:data:`RequestGate`) is entered around every request attempt. ``state``: the target's breaker,
    rate and unsettled orphans from earlier calls of the same run (a file sent in batches); once
    its breaker is open, the leads get its reason and the vendor is not contacted. A state that
    keeps the vendor session (``TargetState.keep_session``) lends it to this call and keeps it
    open afterwards; its maker ends it (``TargetState.end_session``). ``people``: the leads'
    person keys for the target's frequency limit, aligned with ``leads``
    (transforms.people.batch_people, computed with the batch's columns); each chunk's go to the
    ledger as arrays. Without them each lead's are read off it (connectors.frequency.leads_people).
    """
    if people is not None and len(people) != len(leads):
        raise ValueError(f"{len(people)} leads' person keys for {len(leads)} leads")
    run = _Run(
        connector,
        leads,
        ledger,
        run_id,
        dry_run=dry_run,
        resend=resend,
        progress=progress,
        gate=gate,
        state=state or TargetState.of(connector),
        transport=transport,
        people=people,
    )
    with frozen_heap():
        try:
            return await run.execute()
        except Exception as exc:
            # Only our own faults get here (a vendor's are results). What is raised is pickled
            # by Prefect and printed to the user: a redacted copy without request or chain.
            name = connector.target.name
            trace = "".join(traceback.format_exception(exc))
            log.error("%s: sending failed:\n%s", name, run.secrets.redact(trace))
            said = run.secrets.redact(f"{type(exc).__name__}: {exc}")
            raise ConnectorError(
                f"{name}: sending failed: {said}",
                target=connector.target.name,
            ).bare() from None


class _ExternalIds(Sequence[str]):
    """The external ids of some leads, read when asked."""

    __slots__ = ("leads",)

    def __init__(self, leads: Sequence[Lead]) -> None:
        self.leads = leads

    def __len__(self) -> int:
        return len(self.leads)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [lead.external_id for lead in self.leads[index]]
        return self.leads[index].external_id


class _Run:
    def __init__(
        self,
        connector: Connector,
        leads: Sequence[Lead],
        ledger: LedgerBackend,
        run_id: str,
        *,
        dry_run: bool,
        resend: bool,
        progress: ProgressCallback | None,
        gate: RequestGate | None,
        state: TargetState,
        transport: httpx.AsyncBaseTransport | None,
        people: People | None = None,
    ) -> None:
        self.connector = connector
        self.target = connector.target
        self.leads = leads
        self.ledger = ledger
        self.run_id = run_id
        self.dry_run = dry_run
        self.resend = resend
        self.progress = progress
        self.key = target_key(connector)
        self.policy = self.target.retry
        self.state = state
        self.breaker = state.breaker
        self.concurrency = self.target.concurrency or connector.LIMITS.default_concurrency
        self.bucket = state.bucket
        session = state.session
        self._owns_session = session is None
        if session is None:
            session = VendorSession(connector, concurrency=self.concurrency, transport=transport)
            if state.keep_session:
                state.session, self._owns_session = session, False
        self.session = session
        self.secrets = session.secrets
        """Every secret of the run in every known form; grows as tokens arrive and requests leave."""
        self.answers = session.answers
        self.table = ResultTable(leads, target=self.target.name, secrets=self.secrets, progress=progress)
        self._group: asyncio.TaskGroup
        self._writing = 0
        """Requests handed to httpx whose body is not fully written yet."""
        self._written = asyncio.Event()
        self._written.set()
        self._unknown: set[str] = set()
        """Batch ids whose answer was lost after the vendor may have stored them (only for vendors
        that keep repeats): their rows get ``POSSIBLY_DUPLICATED`` however they end."""
        self.gate = gate
        self.limit = self.target.frequency
        """The contact-frequency limit the ledger applies as it claims (connectors.frequency)."""
        self.people = people if self.limit is not None else None
        """The leads' person keys (aligned with ``leads``), given to each chunk (:meth:`_send_all`)."""
        self._pending: dict[int, list[str]] = {}
        """A dry run's leads it would send, by person key: they count for its later chunks."""

    # --- the run ------------------------------------------------------------------------
    async def execute(self) -> list[RowResult]:
        if not self.leads:
            return []
        if self.breaker.is_open:  # stopped in an earlier batch of the run: nothing is sent
            return self._finish()
        try:
            client = await self.session.control()
            if self.dry_run:
                await self._send_all(client)
            else:
                try:
                    with self.ledger.lease(self.key, self.run_id):
                        await self._open(client)
                        if not self.breaker.is_open and not self.state.orphans_settled:
                            self.state.orphans_settled = True
                            orphaned = await settle_orphans(
                                self.connector,
                                client,
                                ledger=self.ledger,
                                key=self.key,
                                leads=self.leads,
                                run_id=self.run_id,
                            )
                            self.state.orphaned.update(orphaned)
                        await self._send_all(client)
                except LedgerUnavailable as exc:  # the lease or a crash's settling not written
                    self._ledger_lost(exc)
        finally:
            if self._owns_session:
                await self.session.aclose()
        return self._finish()

    async def _open(self, client: httpx.AsyncClient) -> None:
        """``Connector.open``, once per vendor session (a run's first batch)."""
        if self.session.opened:
            return
        self.session.opened = True  # from here on the session's end closes it, as the vendor asks
        try:
            await self._with_retries(lambda: self.connector.open(client), "open")
        except Exception as exc:
            self._stop_target(exc, "could not prepare the target")

    async def _send_all(self, control: httpx.AsyncClient) -> None:
        """Send every chunk, each worker through a client of one connection of the session's
        (with a test transport ``control`` serves them all)."""
        todo, sent = self._skip_already_sent()
        plan = lazy_plan_for(self.connector, todo)  # each Chunk made as the builder takes it
        if self.people is not None:
            plan = replace(plan, people=self._placed_people(todo, sent, plan.too_large))
            if not self.dry_run and self.limit is not None and plan.people is not None:
                ids = _ExternalIds(plan.placed)  # the decision rarely reads one: no list made
                try:
                    self.ledger.plan_limit(self.key, ids, people=plan.people, limit=self.limit)
                except LedgerUnavailable as exc:  # each chunk then fails with its reason
                    self._ledger_lost(exc)
        for lead in plan.too_large:
            self._too_large(lead)
        count = min(self.concurrency, len(plan))
        clients = await self.session.workers(count)
        ready: asyncio.Queue[tuple[Chunk, httpx.Request] | None] = asyncio.Queue(maxsize=max(count, 1))
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self._build(control, plan, ready, count))
            for number in range(count):
                group.create_task(self._worker(clients[number % len(clients)], ready))

    def _skip_already_sent(self) -> tuple[list[Lead], list[int]]:
        """The leads to send, and the positions in ``leads`` of those skipped (sent before).

        A lead with no entry under its id whose ``legacy_external_id`` (the id an earlier
        version generated: transforms.identity) has a delivered one is skipped too: a file
        sent before extensions counted in generated ids is not sent again after. Known edge: two
        leads without name or email at one switchboard (extensions 12 and 34) had one legacy id,
        and the old version sent only the first (the second was its duplicate); when that first
        was delivered before, the second is now ``already_sent`` as well, which is what the old
        version made of it, no worse. The same holds for any lead whose legacy id another lead
        was delivered under: the same source, number, email and names, only the extension
        differing (or absent). ``resend`` sends them all.

        A lead whose entry is ``unsettled`` (a crashed run's, which the vendor could not settle,
        connectors.resume, maybe by another run or partition) is one of ``TargetState.orphaned``
        from here on. A lead with no entry under its id that the ledger knows by its legacy id
        otherwise (it failed there, or it is ``unsettled`` there) is sent under its legacy id:
        the vendor may hold it by that id, and only under it does a vendor that refuses known ids
        recognise the resend, and the rows of one that keeps repeats get ``POSSIBLY_DUPLICATED``.
        Under its new id it would be a stranger there, stored a second time and reported sent.
        Of two leads of the batch that share a legacy id only the first takes it (the earlier
        version sent only that one)."""
        if self.resend:
            return list(self.leads), []
        # only these leads' entries, under either id: a run sent in batches asks once a batch,
        # and the ledger brings its last reading up to date rather than reading the target whole
        ids = [lead.external_id for lead in self.leads]
        ids += [lead.legacy_external_id for lead in self.leads if lead.legacy_external_id is not None]
        entries = self.ledger.entries(self.key, ids)
        orphaned = self.state.orphaned
        todo: list[Lead] = []
        sent: list[int] = []
        earlier: list[Lead] | None = None
        taken: set[str] = set()
        for position, given in enumerate(self.leads):
            lead, entry = given, entries.get(given.external_id)
            legacy = given.legacy_external_id
            if entry is None and legacy is not None:
                entry = entries.get(legacy)
                if entry is not None and entry.status not in SENT_STATUSES and legacy not in taken:
                    taken.add(legacy)
                    lead = replace(given, external_id=legacy)
                    earlier = earlier or list(self.leads)
                    earlier[position] = lead
            if entry is not None and entry.status == UNSETTLED:  # another run settled the crash
                orphaned.add(entry.external_id)
            if entry is None or entry.status not in SENT_STATUSES:
                todo.append(lead)
            else:
                sent.append(position)
                self.table.already_sent(lead, entry)
        if earlier is not None:
            self.leads = earlier
            log.info(
                "%s: %d leads go under the ids an earlier version gave them", self.target.name, len(taken)
            )
        self.table.report()
        return todo, sent

    def _placed_people(self, todo: list[Lead], sent: list[int], too_large: Sequence[Lead]) -> People:
        """The person keys of the plan's leads (``todo`` less ``too_large``), in its order: the
        run's own when nothing was left out (the common case, no copy), else taken by position."""
        assert self.people is not None
        if not sent and not too_large:
            return self.people
        kept = np.delete(np.arange(len(self.leads)), sent)
        if too_large:
            large = set(map(id, too_large))
            kept = kept[[id(lead) not in large for lead in todo]]
        return self.people.take(kept)

    async def _build(
        self,
        client: httpx.AsyncClient,
        chunks: Iterable[Chunk],
        ready: asyncio.Queue[tuple[Chunk, httpx.Request] | None],
        workers: int,
    ) -> None:
        """Build requests ahead of the workers, while they wait for the vendor. ``chunks`` is a
        LazyPlan, which makes each chunk as the loop takes it (one hash, before the wait: the
        awaits are where they were when the plan was made up front, so tasks interleave as then)."""
        for chunk in chunks:
            await self._requests_out()
            for item in self._fit(client, chunk):
                await ready.put(item)
            self.table.report()
        for _ in range(workers):
            await ready.put(None)

    async def _worker(
        self, client: httpx.AsyncClient, ready: asyncio.Queue[tuple[Chunk, httpx.Request] | None]
    ) -> None:
        while (item := await ready.get()) is not None:
            try:
                await self._send(client, *item)
            except LedgerUnavailable as exc:  # the claim, or a read of the ledger's: nothing sent
                self._ledger_lost(exc)
                self._fail_chunk(item[0], self.breaker.reason, self.breaker.message, attempts=0)

    # --- one chunk ----------------------------------------------------------------------
    def _fit(self, client: httpx.AsyncClient, chunk: Chunk) -> list[tuple[Chunk, httpx.Request]]:
        """Build the chunk's request; halve the chunk while the real body breaks max_bytes
        (``item_size`` is an estimate). Nothing is built once the target is stopped."""
        if self.breaker.is_open:
            self._fail_chunk(chunk, self.breaker.reason, self.breaker.message, attempts=0)
            return []
        try:
            request = self.connector.build_request(client, chunk)
        except Exception as exc:
            self._stop_target(exc, "could not build the request")
            self._fail_chunk(chunk, self.breaker.reason, self.breaker.message, attempts=0)
            return []
        max_bytes = self.connector.LIMITS.max_bytes
        if max_bytes is None or len(request.content) <= max_bytes:
            return [(chunk, request)]
        if len(chunk) == 1:
            self._too_large(chunk.leads[0])
            return []
        half, people, size = len(chunk) // 2, chunk.people, len(chunk)
        first, second = (None, None) if people is None else (people.slice(0, half), people.slice(half, size))
        return [
            *self._fit(client, self._subchunk(chunk.leads[:half], first)),
            *self._fit(client, self._subchunk(chunk.leads[half:], second)),
        ]

    def _subchunk(self, leads: tuple[Lead, ...], people: People | None = None) -> Chunk:
        ids = [lead.external_id for lead in leads]
        batch = make_batch_id(self.target.name, self.target.campaign, ids)
        return Chunk(self.target.name, batch, leads, people)

    async def _send(self, client: httpx.AsyncClient, chunk: Chunk, request: httpx.Request) -> None:
        if self.breaker.is_open:
            self._fail_chunk(chunk, self.breaker.reason, self.breaker.message, attempts=0)
            return
        if self.dry_run:
            if self.limit is not None:
                chunk = self._preview(chunk)
            self.table.dry_run(chunk)
            return
        claim = self._claim(chunk)
        if claim.held or claim.limited:
            self._held_elsewhere(chunk, claim.held)
            self._limited(chunk, claim.limited)
            if not claim.claimed:
                return
            mine = set(claim.claimed)
            chunk = Chunk(
                chunk.target, claim.batch_id, tuple(x for x in chunk.leads if x.external_id in mine)
            )
            try:
                request = self.connector.build_request(client, chunk)
            except Exception as exc:
                self._stop_target(exc, "could not build the request")
                rows = self.table.fail(chunk, self.breaker.reason, self.breaker.message, 0)
                self._settle(chunk.batch_id, rows)
                return
        attempts = 0
        while True:
            await self.bucket.acquire()
            attempts += 1
            sent_at = datetime.now(UTC)
            try:
                outcomes = await self._gated(client, chunk, request)
            except FatalTargetError as exc:
                self._stop_target(exc, "stopped")
                self._fail_chunk(chunk, exc.reason, self._text(exc), attempts, sent_at)
                return
            except Exception as exc:
                if not self.connector.refuses_known_ids and outcome_unknown(exc):
                    self._unknown.add(chunk.batch_id)
                if not is_transient(exc):
                    self._unreadable(chunk, answer_error(exc, self.target.name), attempts, sent_at)
                    return
                message = self._describe(exc)
                if attempts >= self.policy.attempts:
                    log.warning(
                        "%s: batch %s failed after %d tries: %s",
                        self.target.name,
                        chunk.batch_id,
                        attempts,
                        message,
                    )
                    self.breaker.failure(message)
                    self._fail_chunk(chunk, _TRANSPORT_FAILED, message, attempts, sent_at)
                    return
                delay = backoff_delay(self.policy, attempts, retry_after_of(exc))
                log.info(
                    "%s: batch %s try %d failed (%s); retrying in %.2fs",
                    self.target.name,
                    chunk.batch_id,
                    attempts,
                    message,
                    delay,
                )
                await asyncio.sleep(delay)
                if self.breaker.is_open:
                    self._fail_chunk(chunk, self.breaker.reason, self.breaker.message, attempts, sent_at)
                    return
                continue
            self.breaker.success()
            self._group.create_task(self._complete(chunk, outcomes, attempts, sent_at))
            return

    def _claim(self, chunk: Chunk) -> Claim:
        """Claim the chunk's leads; with a frequency limit, each lead's person keys go along.
        A ledger that refuses the write raises ``LedgerUnavailable``: nothing is claimed or
        sent, and :meth:`_worker` stops the target and fails the chunk's rows."""
        limit = self.limit
        people: People | list[tuple[int, ...]] | None = None
        legacy = None
        if limit is not None:
            people = chunk.people if chunk.people is not None else leads_people(chunk.leads, limit.per)
            legacy = leads_legacy(chunk.leads, limit.per)
        return self.ledger.begin_chunk(
            self.key,
            chunk.batch_id,
            [lead.external_id for lead in chunk.leads],
            self.run_id,
            takeover=self.resend,
            batch_of=self._batch_of,
            people=people,
            limit=limit,
            legacy=legacy,
        )

    async def _gated(
        self, client: httpx.AsyncClient, chunk: Chunk, request: httpx.Request
    ) -> list[RowOutcome]:
        if self.gate is None:
            return await self._attempt(client, chunk, request)
        async with self.gate():
            return await self._attempt(client, chunk, request)

    async def _attempt(
        self, client: httpx.AsyncClient, chunk: Chunk, request: httpx.Request
    ) -> list[RowOutcome]:
        written = False

        async def trace(event: str, info: object) -> None:
            nonlocal written
            if event == "http11.send_request_body.complete" and not written:
                written = True
                self._out()

        request.extensions["trace"] = trace
        self._writing += 1
        self._written.clear()
        try:
            # The deadline is BoundedTransport's, per request (body included), and only its: a
            # second timer here, due the same moment, cancelled httpcore's clean-up of the cut
            # request half the time, and the connection it left open and busy took every retry.
            response = await client.send(request)
        finally:
            # The request outlives the attempt (httpx keeps it on the response, in a reference
            # cycle): without this it would keep the whole run, every result row, alive until a
            # full collection.
            request.extensions.pop("trace", None)
            if not written:
                written = True
                self._out()
        self.connector.classify(response)
        try:
            return self.connector.parse_response(chunk, response)
        except ConnectorError:
            raise
        except Exception as exc:
            raise VendorAnswerError(
                f"{self.target.name}: unreadable answer from {response.request.url.path} "
                f"(HTTP {response.status_code}): {type(exc).__name__}: {exc}: {truncate(response.text)}",
                target=self.target.name,
            ) from None

    async def _complete(
        self,
        chunk: Chunk,
        outcomes: list[RowOutcome],
        attempts: int,
        sent_at: datetime,
    ) -> None:
        """Enrich and settle an answered request off the worker, so the next request is already
        out while this one is written to the ledger. The enrichment's lookups (OBI's customer
        searches, ONC's listing, Engage's batch) go through the control client, made for lookups
        side by side: on the worker's one connection they would queue behind its next send, and
        a send the vendor is slow to answer used up their deadline while they waited."""
        await self._requests_out()
        try:
            outcomes = await self.connector.enrich(await self.session.control(), chunk, outcomes)
        except Exception as exc:
            log.warning(
                "%s: completing batch %s failed: %s", self.target.name, chunk.batch_id, self._text(exc)
            )
        rows = self.table.settle(chunk, outcomes, attempts, sent_at)
        self._mark_unknown(chunk)
        self._settle(chunk.batch_id, rows)
        self.table.report()

    def _out(self) -> None:
        """One request written to the wire (or given up before that)."""
        self._writing -= 1
        if not self._writing:
            self._written.set()

    async def _requests_out(self) -> None:
        """Return once no request is half-way out (see the module docstring); at once if none is."""
        if self._writing:
            await self._written.wait()

    def _batch_of(self, external_ids: Sequence[str]) -> str:
        return make_batch_id(self.target.name, self.target.campaign, external_ids)

    def _held_elsewhere(self, chunk: Chunk, held: dict[str, str]) -> None:
        """Leads another run claimed: ``already_sent`` when the ledger has them delivered, else
        ``failed`` with ``IN_PROGRESS_ELSEWHERE`` (that run is sending them, or died doing so and
        the next run settles them); never sent by this run."""
        if not held:
            return
        entries = self.ledger.entries(self.key, held)
        for lead in chunk.leads:
            holder = held.get(lead.external_id)
            if holder is None:
                continue
            entry = entries.get(lead.external_id)
            if entry is not None and entry.status in SENT_STATUSES:
                self.table.already_sent(lead, entry)
            else:
                self.table.record(
                    RowResult(
                        lead.source_row,
                        lead.external_id,
                        Status.FAILED,
                        (Issue.IN_PROGRESS_ELSEWHERE.value,),
                        vendor_message=f"claimed by run {holder}, which is sending it; "
                        "run the same import again once that run has finished",
                    )
                )

    def _preview(self, chunk: Chunk) -> Chunk:
        """A dry run's frequency decision (``Ledger.preview_limit``: nothing claimed or
        recorded): the refused leads get their ``FREQUENCY_LIMIT`` result, the rest is returned
        and counts for this target's later chunks (not for the run's other targets)."""
        assert self.limit is not None
        arrays = chunk.people
        people = arrays.to_lists() if arrays is not None else leads_people(chunk.leads, self.limit.per)
        limited = self.ledger.preview_limit(
            self.key,
            [lead.external_id for lead in chunk.leads],
            people=people,
            limit=self.limit,
            legacy=leads_legacy(chunk.leads, self.limit.per),
            pending=self._pending,
        )
        self._limited(chunk, limited)
        refused = set(limited)
        for lead, keys in zip(chunk.leads, people, strict=True):
            if lead.external_id not in refused:
                for key in keys:
                    self._pending.setdefault(key, []).append(lead.external_id)
        kept = tuple(lead for lead in chunk.leads if lead.external_id not in refused)
        return chunk if not refused else Chunk(chunk.target, chunk.batch_id, kept)

    def _limited(self, chunk: Chunk, limited: Sequence[str]) -> None:
        """Leads whose person reached the frequency limit: ``suppressed`` ``FREQUENCY_LIMIT``,
        not sent, not claimed (a later run, once the window has passed, may send them)."""
        if not limited or self.limit is None:
            return
        refused = set(limited)
        message = (
            f"not sent: the person was already contacted up to the limit of {self.limit.describe()} "
            "(across targets and runs sharing the ledger)"
        )
        for lead in chunk.leads:
            if lead.external_id in refused:
                self.table.record(
                    RowResult(
                        lead.source_row,
                        lead.external_id,
                        Status.SUPPRESSED,
                        (Issue.FREQUENCY_LIMIT.value,),
                        vendor_message=message,
                    )
                )

    # --- failures -----------------------------------------------------------------------
    def _unreadable(self, chunk: Chunk, exc: VendorAnswerError, attempts: int, sent_at: datetime) -> None:
        """An answer that cannot be read: its rows fail with the error's reason, not resent now
        (the vendor may hold them; the ledger has them ``failed`` for a rerun); one breaker failure."""
        message = self._text(exc)
        log.warning("%s: batch %s failed: %s", self.target.name, chunk.batch_id, message)
        self.breaker.failure(message)
        self._fail_chunk(chunk, exc.reason, message, attempts, sent_at)

    def _stop_target(self, exc: BaseException, what: str) -> None:
        """Open the breaker for good: a connector error with its reason, anything else (the vendor
        unreachable while the target was prepared, an error of ours) ``TARGET_STOPPED``."""
        reason = exc.reason if isinstance(exc, ConnectorError) else Issue.TARGET_STOPPED.value
        message = self._describe(exc) if isinstance(exc, ConnectorError) else f"{what}: {self._describe(exc)}"
        if not self.breaker.is_open:
            log.error("%s: target stopped: %s", self.target.name, message)
        self.breaker.trip(reason, message)

    def _fail_chunk(
        self,
        chunk: Chunk,
        reason: str | None,
        message: str | None,
        attempts: int,
        sent_at: datetime | None = None,
    ) -> None:
        rows = self.table.fail(chunk, reason, message, attempts, sent_at)
        self._mark_unknown(chunk)
        # A chunk the vendor may hold stays in flight: the next run settles it as a crash's
        # (connectors.resume) and marks the rows it sends again POSSIBLY_DUPLICATED.
        if attempts and not self.dry_run and chunk.batch_id not in self._unknown:
            self._settle(chunk.batch_id, rows)

    def _settle(self, batch_id: str, rows: list[SettledRow]) -> None:
        """Write a chunk's rows to the ledger. At a vendor that keeps repeats, a lead a crashed
        run left unsettled (``TargetState.orphaned``) that this run did not deliver stays
        ``unsettled`` there rather than ``failed``: the crashed run's copy may still be at the
        vendor, and the run that delivers the lead must mark it ``POSSIBLY_DUPLICATED`` too."""
        orphaned = self.state.orphaned
        if orphaned and not self.connector.refuses_known_ids:
            rows = [
                (eid, UNSETTLED, vendor_id, vendor_status)
                if eid in orphaned and status not in SENT_STATUSES
                else (eid, status, vendor_id, vendor_status)
                for eid, status, vendor_id, vendor_status in rows
            ]
        try:
            self.ledger.settle_chunk(self.key, batch_id, rows, self.run_id)
        except LedgerUnavailable as exc:
            # the rows keep the vendor's answer; the chunk stays in flight in the ledger
            log.warning(
                "%s: batch %s's answer was not recorded (the ledger refused the write): its leads "
                "stay in flight there, and the next run settles them with the vendor",
                self.target.name,
                batch_id,
            )
            self._ledger_lost(exc)

    def _ledger_lost(self, exc: LedgerUnavailable) -> None:
        """Stop the target: a ledger that refuses writes can claim no lead (its rows that are
        left fail ``LEDGER_UNAVAILABLE`` with the ledger's message, which names the file)."""
        self._stop_target(ConnectorError(str(exc), reason=Issue.LEDGER_UNAVAILABLE.value), "ledger")

    def _mark_unknown(self, chunk: Chunk) -> None:
        if chunk.batch_id in self._unknown:
            self.table.possibly_duplicated(chunk.leads)

    def _too_large(self, lead: Lead) -> None:
        self.table.too_large(lead, self.connector.LIMITS.max_bytes)

    def _finish(self) -> list[RowResult]:
        if self.leads is not self.table.leads:  # some went under their earlier ids
            self.table.sent_as(a for a, b in zip(self.leads, self.table.leads, strict=True) if a is not b)
        orphaned = self.state.orphaned
        if orphaned and not self.connector.refuses_known_ids:
            self.table.possibly_duplicated(lead for lead in self.leads if lead.external_id in orphaned)
        return self.table.finish(self.breaker.reason, self.breaker.message)

    def _text(self, exc: BaseException) -> str:
        return redact(str(exc), self.secrets)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return (
                f"no answer within {self.answers.deadline:g}s "
                "(the target's deadline, default its timeout; raise it if the vendor is this slow)"
            )
        text = self._text(exc)
        return f"{type(exc).__name__}: {text}" if not isinstance(exc, ConnectorError) else text

    async def _with_retries(self, call: Callable[[], Awaitable[None]], what: str) -> None:
        await call_with_retries(call, self.policy, what=f"{self.target.name}: {what}", secrets=self.secrets)
