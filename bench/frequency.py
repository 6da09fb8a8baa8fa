"""The frequency guardrail's cost per contact: the ledger's claims with and without a limit.

    .venv/bin/python -m bench.frequency --rows 100000 [--ledger sqlite,postgresql] [--postgres URL]
    .venv/bin/python -m bench.frequency --rows 100000 --alone
    .venv/bin/python -m bench.frequency --rows 1000000 --as-imported 100000

No vendor and no HTTP: what the guardrail adds to a send is in the claim (connectors.ledger's
``begin_chunk``) and in the engine's computing each lead's person keys, so that is what is timed,
chunk by chunk (100 leads a chunk, as OBI and Engage send), each chunk claimed then settled
``accepted`` as the engine does. Leads have one phone and one email (two person keys). Three
runs, each in a fresh ledger of the backend:

* ``claims``: the claim and the settlement alone (today's ledger work per contact);
* ``guarded``: the same with ``max_contacts = 2`` a day, each chunk given its slice of the
  file's person keys (computed from its columns, as flows.importer does: timed apart), on a
  ledger with no earlier contact (the lookup finds nothing);
* ``claims, seen`` and ``guarded, seen``: the same after the same leads were sent once to
  another target (without, with the limit), so the ledger holds twice the claims and, guarded,
  every lookup finds a contact per key and every chunk is decided lead by lead. The guardrail's
  cost there is ``guarded, seen`` less ``claims, seen`` (a larger ledger's claims cost more).

Prints wall and CPU (this process: SQLite's work; PostgreSQL's server is not counted)
microseconds per contact and the guardrail's extra per million contacts. Before them, the SQLite
guardrail's own CPU (``--alone`` for only that): the same chunks through their slice of the
person keys, the decision, the contact log's row and its copy in memory, in one transaction and
without the claims, timed with one clock reading a run (a reading of the process clock is a system call,
about 14 us on the 2-core test machine: per-chunk readings would be most of what they time).
On a busy machine the difference of two whole runs (``guarded`` less ``claims``) is mostly
noise; this is not.

Measured (100k contacts, best of 3, 2-core machine at load 4-7, wall us per contact): SQLite
claims 16.3, guarded 22.4, guarded seen 30.4; PostgreSQL (same machine) 120, 188, 205. Since
made cheaper (30k contacts, medians of 5 runs each best of 3, load 8-13: CPU us per contact
added): SQLite guarded +4.3 (was +7.7), guarded seen +8.0 against claims seen (was +13.0);
PostgreSQL client CPU +11.9 (was +16.1), seen +14.5 (was +19.7). An index by person (the first
version) cost about 15 us more, mostly its random page writes at each commit.

Version 2 keys (transforms.person_keys; ``--alone``, 30k contacts, best of 3, medians of 3
runs alternating with the same benchmark on the code before, load 14-15): no earlier contact
7.3 -> 2.65 CPU us per contact, all contacted before 16.8 -> 7.2 (the emails' keys apart:
vectorized over a batch, 0.35-0.45 us a row, best of 5 at 100k rows; this benchmark's one
reading of them, cold, 1-2 us). What is left, fresh (components timed apart, same load):
the keys read from each Lead object (a phone's integer parse, the tuple; ~0.55 us), the log
row's JSON and INSERT (~0.55 us), its copy in memory (a dict entry per key and a sighting per
lead, ~0.75 us), the lookup and the catch-up query (~0.25 us). The dict entries alone are
~0.3 us a contact: an in-memory index of two keys a contact cannot fit in 0.3 us, nor can a
durable row of them. PostgreSQL's client CPU added (whole runs, 10k contacts, two each, noisy):
18-27 -> 18-21 us a contact without earlier contacts, 27-36 -> 13-22 with; three statements
more a chunk (lock, read, insert) are most of it.

Contact memory by row (connectors.contact_memory: key -> log row, a row decoded only when a
chunk's person is in it; ``--alone``, 30k contacts, best of 3, five runs alternating with the
code before, load 7-12, medians): no earlier contact 1.25 -> 1.09 CPU us per contact, all
contacted before 3.18 -> 3.58 (a row's sightings are now made when a later chunk finds them, not
when the row is added: in the ``seen`` case that moves them from the untimed first run into the
timed one; both runs together, three alternations: 5.10 -> 5.23, about equal). Issue 18's
budget, 10% of the ~12 s a million rows' normalize takes less the calling windows, is ~0.35 us a
contact. Where a fresh contact's ~1.0 us go now (stages added one at a time, one clock reading a
run, medians of 7, load 12): the person keys read off each Lead object, with the external ids'
list (a phone's integer parse and a tuple a lead) 0.23; the log row's JSON 0.14 and its INSERT
0.10 (a 3.5 KB row a chunk, the external ids 60% of it); the decision and the memory 0.52: the
chunk's key set, the catch-up query, one ``isdisjoint`` against the memory and one
``dict.update`` of the row's keys, i.e. about three hash operations a key on a dict of every key
in the window (under load mostly cache misses), and the lists a chunk is passed in. Not done:
keys as a list column into the Lead objects (polars makes a Python list a row: +2 us a row in
``iter_rows``); a binary row (numpy ``tobytes``: saves about 0.1, but the JSON is what SQL, the
tests and anyone querying the file read). Under 0.35 us needs the chunk's keys as arrays from
the batch to the ledger (no Lead object read, no Python set or dict a key): an engine that
sends columns, and a memory of sorted arrays; a durable row a chunk stays (0.25).

Person keys as arrays (issue 18; transforms.people, connectors.contact_memory's filter and
sorted runs, connectors.frequency.decide_people; ``--alone``, 100k contacts, best of 3, medians
of 3 runs alternating with main's code, load 5.2-5.5 on the 2-core machine): no earlier contact
1.29 -> 0.72 CPU us per contact, all contacted before 3.92 -> 3.67. The keys are now computed
once per target and batch from its columns (``person keys of the file``: 0.20 us a contact in
this benchmark's one cold call, 0.10 warm, three phone columns 0.13), no longer inside the chunk
loop (0.23 there before), so the guardrail's whole share of a fresh contact is about 0.9 (was
1.3): still above the 0.35 budget. What a fresh chunk of 100 leads (200 keys) costs now
(components apart, timeit best of 7, load 3): the filter's test-and-add 7.6 us (then one cache
miss a key, once the filter outgrows the cache: 16 MB past 32,768 keys), the within-chunk
repeat check 0 (told by the filter's words), the row's JSON 4.8 and its INSERT 3.6 (more in a
file), the catch-up query 1.8, the chunk's slice 0.9, Python glue: the SQL and JSON a chunk
needs are ~0.15 us a contact, and the rest is per-chunk Python and numpy calls (about 1 us
each) and the filter's misses. Whole runs (``--rows 30000``, medians of 3 alternating, load
5-7) are noise of +-3 us a contact, as above; guarded less claims, paired runs, median of 7:
CPU +3.42 -> +2.28 us a contact. Tried and dropped: ``np.bitwise_or.at`` to set the filter's
bits (twice the fancy ``|=``, kept only where two keys share a word), a 2-D (word, filter)
array (its fancy indexing 7x slower than the flat one), ``np.unique`` (hash-based in numpy 2.4:
11-57 us for 200 keys) and ``np.isin`` for the small sets, a stable sort to fold the fresh keys
(2x the AVX-512 one), a per-batch precomputed hash (saves 3 us a chunk, costs as much per
batch); not tried: skipping the catch-up query by ``PRAGMA data_version`` (this connection's
own erasures would go unseen). PostgreSQL (whole runs, 10k contacts, best of 2, three to five
alternations, load 3-5, client CPU added): unchanged within the noise (no earlier contact +5.5
against +5.2, all contacted before +8.0 against +6.5, runs of one case spreading by 2-3 us); a
profile of one ``guarded, seen`` run is the same on both (0.72 s, 85% psycopg's waits).

Contacts found before, as arrays (connectors.frequency.KeyEvents, ``_decide_found``; the
contact memory's runs of (key, contact number: row ``seq`` and lead's place), so no row is
decoded to decide; ``--alone``, 100k contacts, best of 3, medians of 6 runs alternating with
main's code, load 1.7-2.8): all contacted before 3.48 -> 2.03 CPU us per contact, no earlier
contact 0.71 -> 0.72 (unchanged). What is left of a seen chunk (wrapped timers, per contact):
the exact lookup in the sorted runs ~0.45 (a binary search per key in a run of 200k keys,
cache misses) and the one sort of the first run's keys ~0.2 (moved from the run that sent
them: it made no lookup), the filter and the lookup's glue ~0.4, the decision ~0.25 (about
25 numpy calls a chunk), the row's JSON and INSERT as for fresh people. Tried and dropped: an
interned number per external id (a dict insertion a lead decoded: 3.06 against 2.95 with
numbers by row, then 2.0 with the numbers kept in the runs).

A target's plan decided ahead (connectors.frequency_plan: ``Ledger.plan_limit`` when the
engine makes the plan, one filter pass, lookup and decision over all its chunks; each chunk's
claim confirms the verdict after its catch-up query, else decides as before, from the plan's
contacts when they are still the memory's; ``--alone`` now times the plan too; 100k contacts,
best of 3, medians of 6 runs alternating with main's code, load 4.9-8.5): no earlier contact
1.23 -> 0.74 CPU us per contact, all contacted before 3.13 -> 1.28; the person keys 0.24-0.28
on top at this load. Not the 0.35 budget: what a fresh chunk costs now is its row (JSON 5-8
us, INSERT 4-20 in this one long transaction, whose 3.5 MB of rows spill the page cache), the
catch-up query (4-6), the chunk's slice and external ids (the engine's, 6) and about ten
Python calls (memory add, plan bookkeeping: 4), i.e. 0.25-0.45 us a contact at this load; the
plan's own share is 0.15-0.25 (the filter's pass over 200,000 keys 8-13 ms, its 16 MB touched
once; one sort for repeated keys 3). The plan's filter pass reads a key's two words as one
16-byte item by blocks of 16,384 keys (over all keys at once each of its passes missed the
cache again: twice the time); a plan's binary searches are made in key order (in plan order
55 ms for 200,000, sorted 15). Every lead refused (two sends with a limit of one, the claims
included, 20k contacts, best of 5, three alternations): 16.0 -> 16.3, within the noise (14-18).
Whole runs (``--rows 100000 --repeat 2``, once each, load 7): noise of +-30 us wall a contact,
as above. Tried and dropped: leaving the filter to each chunk after a fold in the plan's
lookup (50 us a chunk here, against one 10 ms pass); dropping a plan that refuses more than
one lead in 200 (no measurable gain: a chunk decided again now reuses the plan's lookup). Not done:
``PRAGMA data_version`` in place of the catch-up query (2.9 against 3.8 us here, 0.01 us a
contact, and this connection's own erasures would go unseen); the plan's keys as JSON text
made once (orjson's 24 ns a key is the same in one call; finding each chunk's place in it
costs what the calls save); the row's ``seq`` and the generation returned by its INSERT in
place of the catch-up query (an optimistic claim undone when another row came first).

The person keys made cheaper (transforms.person_keys: the emails' sums weighted by a slice of
the inverse prime's powers a block of strings, no power per byte; transforms.people: a phone
column one cast, kept keys scattered; ``--alone``, 100k contacts, three runs alternating with
main's code, load 4.5-4.9, this benchmark's one cold call each): email keys of the file
0.54-0.60 -> 0.11-0.16 CPU us per contact, person keys from its columns 0.30-0.34 ->
0.08-0.12; the guardrail alone unchanged (0.65-0.81 fresh, 1.2-1.9 seen, noise). On 100k
real ``ready`` rows (emails 31 bytes, phones partly null), best of 7, load 3: 44 -> 10-12.5 ms
and 23-26 -> 8.5-10 ms. flows.importer now computes a batch's email keys once for all its
targets, not once per target.

Contact rows binary, named by the claim's journal row, a smaller filter, fewer sorts (issue 18,
2026-12-05, late; a quiet 2-core machine; CPU us per contact). ``--alone``, 100k contacts, three
runs alternating with the code before: no earlier contact 0.57-0.59 -> 0.35-0.36, all contacted
before 1.12-1.19 -> 0.97-0.99 (then the chunks' external ids, which the engine has for the claim
anyway, were made before the clock: 0.55-0.56 -> 0.31-0.32 and 1.12-1.15 -> 0.93-0.94; the keys
are also printed as an import makes them, a 100k batch at a time, warm: emails 0.065-0.073, all
keys 0.036-0.042, against 0.19-0.22 in one cold call); at 1M contacts (one plan of them all)
0.79 -> 0.45 and 1.57 -> 1.22. Step by step (fresh, 100k): the row binary, int64 keys rather
than their 19-digit decimals (6.5 -> 4.3 KB a chunk) 0.56 -> 0.48; the filter made anew at four
words a key, not eight (at 1M contacts 64 MB, not 256, each page of it a page fault) 0.46 ->
0.41; the external ids named by the claim's ``in_flight`` journal row, not copied (2 KB a chunk,
two rows a page) 0.44 -> 0.36. ``--as-imported 100000`` (new: a plan per 100k-lead batch and a
commit a chunk, as an import claims them; the guardrail is the difference from the same loop
without it, after a warm-up run), 1M contacts: no earlier contact 0.91-1.36 -> 0.69-0.75, all
contacted before 1.69-1.86 -> 1.57-1.61 (its first run in a process 1.99 -> 2.30: the filter now
grows twice as often and each new filter's pages are this VM's first touch, several times a
reused page's cost). Fewer sorts: a plan's lookup of the ten keys its filter lets through by
chance sorted the fresh keys into a run (10 ms) and merged it with the older runs (10-35 ms) at
every batch; now brute force up to 8M comparisons, runs merged eight at a time unless a lookup
of many keys comes (1M contacts in 100k plans, second run: 0.66-0.70 -> 0.54-0.58 in a script of
the same loop). Where a fresh contact's 0.7 us go as imported: the claim's commit carrying the
row (a leaf page and an index page more in the WAL each claim, written and later checkpointed by
system calls, about 10 us each on this VM: 0.2-0.3), the plans' filter passes, lookups and sorts
(~0.2), the chunk's Python calls (~0.1). Tried: the time index dropped (0.02-0.03 less; the
window's first row would then be found by a scan or by trusting the clock to be monotonic: not
done). Sampled as imported: the commit's share ~0.25, the plans ~0.27, the row's making and the
chunk's Python ~0.15. Not started: the keys as a column of the claim's journal row (no second
row, no index entry) would save about one page of the two, as that row already holds the chunk's
external ids (2.3 KB) and would overflow its page; the person keys are 0.19-0.22 more (emails
0.11-0.13 of it, a pass over every byte). The filter then stops growing at 8M words (128 MB) and
fills beyond (a key not added passes with a probability of 1.6e-4 at 4M keys, 5e-4 at 10M, 2e-3
at 20M): ``--as-imported``, all contacted before (the second target's plans pass 4M keys)
1.57-1.61 -> 1.41-1.51, a process's first such run 2.30 -> 1.82-2.03; no earlier contact
unchanged (0.69-0.72).

On a real file (2026-12-06): bench/normalize.py ``--frequency`` runs ``--as-imported`` on the
generated file's own prepared leads, with ``claims`` (a file's people recur: a contact row
names its leads by the claim's journal row, and a refused lead's earlier contacts count only
while claimed). There the guardrail cost 2.8-3.0 us a lead against this benchmark's 0.7-0.8,
1.87-1.97 s a million rows of the file. Causes and fixes, each measured there: a chunk its
plan did not confirm (nearly every one with a lead the plan refused) searched every fresh key
for all its keys, which the plan had put in the fresh filter ahead, and sorted the fresh keys
into a run nearly every such chunk; now its contacts are the plan's plus what the rows since
the plan add, searched in those rows for the only keys that can have them
(connectors.frequency_plan ``contacts``). A search of more than ~70 keys among the fresh ones
went through ``np.isin``'s sort (13 ms among 150,000, 99 among 1M), now hashed by polars
``is_in`` (0.7 and 3.6 ms); the fresh keys are sorted into a run only once searches have cost
about as much (a ski-rental count), and polars sorts plan-sized arrays (connectors.key_sorting:
half numpy's CPU). Each plan sorted its keys three times, now once. A lead's own earlier contact
at the target was told by reading the contact's journal row for nearly every contact found
(40% of a plan's decision); now only for leads whose count reaches the limit. Ledger 1.87-1.97
-> 1.10-1.16 s a million rows of the file; here ``--as-imported`` 1M, alternating with the code
before: no earlier contact 0.77-0.80 -> 0.66-0.70, all contacted before 1.59-2.00 -> 1.33-1.63.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import accumulate, pairwise
from pathlib import Path

import orjson
import polars as pl

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from connectors import ledger_contacts  # noqa: E402
from connectors.base import Lead, Phone  # noqa: E402
from connectors.frequency import FrequencyLimit, leads_legacy  # noqa: E402
from connectors.ledger_schema import CHECKPOINT_PAGES  # noqa: E402
from connectors.ledger_types import LedgerBackend, Settlement, TargetKey  # noqa: E402
from connectors.ledgers import open_ledger  # noqa: E402
from transforms.people import People, batch_people  # noqa: E402
from transforms.person_keys import email_key_column  # noqa: E402

A = TargetKey("sinch_obi", "http://127.0.0.1:8765/obi", "bench-a")
B = TargetKey("maxcontact", "http://127.0.0.1:8765/maxcontact", "bench-b")
LIMIT = FrequencyLimit(max_contacts=2, within_hours=24)
CHUNK = 100


def _leads(rows: int) -> tuple[list[Lead], People]:
    """External ids are hashes, as a file without ids gets (transforms.identity): the claims'
    and contacts' B-trees are written at random places, as in real runs. The emails' keys and
    then every lead's person keys are computed for all rows at once, as flows.importer does for
    a batch (timed apart: ``KEYS_CPU``, ``PEOPLE_CPU``)."""
    emails = pl.Series("email", [f"person{n}@example.com" for n in range(rows)])
    email_key_column(emails.head(1))  # pyarrow.compute's first use, a process's once
    started = time.process_time()
    keys = email_key_column(emails)
    KEYS_CPU.append(time.process_time() - started)
    phones = pl.Series("phone1", [f"+1415{n:07d}" for n in range(rows)])
    frame = pl.DataFrame([phones, emails, keys, phones.alias("channel_phone")])
    started = time.process_time()
    people = batch_people(frame, LIMIT.per)
    PEOPLE_CPU.append(time.process_time() - started)
    assert people is not None
    _batched_keys(emails, phones)
    email_keys = keys.to_list()
    leads = [
        Lead(
            n,
            hashlib.blake2b(str(n).encode(), digest_size=10).hexdigest(),
            phones=(Phone(phones[n], "mobile"),),
            email=emails[n],
            email_key=email_keys[n],
        )
        for n in range(rows)
    ]
    return leads, people


def _batched_keys(emails: pl.Series, phones: pl.Series, batch: int = 100_000) -> None:
    """The same keys as an import computes them: a batch of ``batch`` rows at a time
    (flows.importer), each call warm, twice over the file (``BATCHED_CPU``: the second pass)."""
    for _ in range(2):
        spent = [0.0, 0.0]
        for first in range(0, len(emails), batch):
            some, dialled = emails.slice(first, batch), phones.slice(first, batch)
            started = time.process_time()
            keys = email_key_column(some)
            spent[0] += time.process_time() - started
            frame = pl.DataFrame([dialled, some, keys, dialled.alias("channel_phone")])
            started = time.process_time()
            batch_people(frame, LIMIT.per)
            spent[1] += time.process_time() - started
    BATCHED_CPU[:] = spent


BATCHED_CPU: list[float] = []
"""CPU seconds of the emails' keys and of the person keys, a 100k batch at a time, warm."""
KEYS_CPU: list[float] = []
"""CPU seconds of the emails' keys for the whole file (transforms.person_keys.email_key_column)."""
PEOPLE_CPU: list[float] = []
"""CPU seconds of every lead's person keys from the columns (transforms.people.batch_people)."""


def _send(
    ledger: LedgerBackend, key: TargetKey, leads: Sequence[Lead], people: People, limit: FrequencyLimit | None
) -> None:
    """As connectors.engine sends: the plan given to the ledger, then each chunk with its slice
    of the batch's person keys."""
    run = f"run-{key.campaign}"
    if limit is not None:
        ledger.plan_limit(key, _Ids(leads), people=people, limit=limit)
    for start in range(0, len(leads), CHUNK):
        chunk = leads[start : start + CHUNK]
        mine = legacy = None
        if limit is not None:
            mine = people.slice(start, start + len(chunk))
            legacy = leads_legacy(chunk, limit.per)
        claim = ledger.begin_chunk(
            key,
            f"{key.campaign}-{start}",
            [x.external_id for x in chunk],
            run,
            people=mine,
            limit=limit,
            legacy=legacy,
        )
        ledger.settle_chunk(key, claim.batch_id, [Settlement(x, "accepted") for x in claim.claimed], run)


def _timed(
    spec: str, leads: list[Lead], people: People, limit: FrequencyLimit | None, seen: bool
) -> tuple[float, float]:
    with open_ledger(spec) as ledger:
        if seen:
            _send(ledger, A, leads, people, limit)
        wall, cpu = time.perf_counter(), time.process_time()
        _send(ledger, B, leads, people, limit)
        return time.perf_counter() - wall, time.process_time() - cpu


class _Ids(Sequence[str]):
    """The leads' external ids, read when asked (as connectors.engine gives a plan's)."""

    def __init__(self, leads: Sequence[Lead]) -> None:
        self.leads = leads

    def __len__(self) -> int:
        return len(self.leads)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self.leads[index].external_id


def _bare_ledger(folder: Path, name: str) -> tuple[sqlite3.Connection, dict[str, int]]:
    """A new ledger file with targets ``A`` and ``B`` and no lead, opened as a bare connection
    (the guardrail's functions are called on it directly); its target ids by campaign."""
    path = folder / f"{name}-{secrets.token_hex(4)}.sqlite"
    with open_ledger(str(path)) as ledger:
        for key in (A, B):
            ledger.begin_chunk(key, "none", [], "run")
    db = sqlite3.connect(path, isolation_level=None)
    return db, dict(db.execute("SELECT campaign, id FROM targets").fetchall())


def _guardrail_alone(folder: Path, leads: list[Lead], people: People, seen: bool) -> float:
    """CPU seconds of the SQLite guardrail's own work for the leads sent to ``B`` (after ``A``
    when ``seen``): the plan decided ahead, then each chunk's slice of the batch's person keys,
    the decision confirmed, the log row and the memory, chunk by chunk in one transaction,
    without the claims. One clock reading per run: on this machine a reading of the process
    clock costs about 14 us (a system call), more than the per-chunk work it would time."""
    db, ids = _bare_ledger(folder, "alone")
    memory = ledger_contacts.Contacts()

    # each chunk's external ids, made before the clock starts: the engine has them for the
    # claim with or without a limit (they were a tenth of this figure)
    chunks = [
        [lead.external_id for lead in leads[start : start + CHUNK]] for start in range(0, len(leads), CHUNK)
    ]

    def run(key: TargetKey) -> None:
        target = ids[key.campaign]
        db.execute("BEGIN IMMEDIATE")
        plan = ledger_contacts.sqlite_plan(db, memory, target, _Ids(leads), people, limit=LIMIT)
        for start in range(0, len(leads), CHUNK):
            chunk = leads[start : start + CHUNK]
            mine = people.slice(start, start + len(chunk))
            legacy = leads_legacy(chunk, LIMIT.per)
            eids = chunks[start // CHUNK]
            allowed, _ = ledger_contacts.sqlite_admit(
                db, memory, target, eids, mine, limit=LIMIT, legacy=legacy, plan=plan
            )
            journal_seq = start // CHUNK + 1  # the claim's in_flight row, not written here
            ledger_contacts.sqlite_record(
                db, target, allowed, eids, mine, plan=plan, journal_seq=journal_seq
            )(memory)
        db.execute("COMMIT")

    if seen:
        run(A)
    started = time.process_time()
    run(B)
    spent = time.process_time() - started
    db.close()
    return spent


def _as_imported_loops(
    folder: Path,
    leads: list[Lead],
    people: People,
    seen: bool,
    batch: int | Sequence[int],
    claims: bool = False,
    pairs: int = 1,
) -> list[tuple[float, float, float]]:
    """(with the guardrail, without, the guardrail's own calls) CPU seconds of ``pairs`` runs of
    both loops below, one after the other. The last is the time inside the guardrail's calls
    (plans, admissions, its rows' inserts, the memory's updates): the loops' difference less it
    is what its rows add to the commits (their pages). With the claims written a loop takes
    about 1.5 s a 100k leads (SQLite's statements and commits, the kernel's page writes
    included) and the guardrail about a tenth of that: a single difference moved between 0.6
    and 1.9 s a million rows from run to run; the median of a few interleaved pairs holds
    better, and the own calls' time, measured inside one loop, much better.

    The loops, whose difference is the CPU seconds the SQLite guardrail adds to the leads'
    claims as an import makes them: a plan per batch of ``batch`` leads (flows.importer; given
    sizes, a plan per batch of each size in turn: an import's batches of the file, each of its
    own number of eligible leads, as bench/normalize.py ``--frequency`` gives them), then a
    transaction a chunk, committed (the claim's commit, which the guardrail's row joins), less
    the same loop without the guardrail (each transaction then writes only a lease row, standing
    for the claim's own writes). After the leads were sent to ``A`` when ``seen``. The claims
    and journal rows themselves are not written: their cost is the same with and without a
    limit. But with ``claims`` each chunk's claim writes them (:func:`_claimed`: its claimed
    leads' claims and its ``in_flight`` journal row, as connectors.ledger's claim does; in both
    loops), which the guardrail reads where a lead's person was contacted before at the same
    target (a real file's repeated people): a contact row names its leads by that journal row,
    and a refused lead's earlier contacts count only while they are claimed (without the claims
    the guardrail allows that lead when its chunk is decided again, and the plan, broken, leaves
    every later chunk of it to a lookup of its own). This benchmark's own leads, each a person
    of its own, never need them (its figures were measured without).
    """
    firsts = _batch_firsts(len(leads), batch)

    def loop(guarded: bool) -> tuple[float, float]:
        """CPU seconds of the loop, and of the guardrail's own calls in it (0 unguarded)."""
        db, ids = _loop_ledger(folder, "import")
        memory = ledger_contacts.Contacts()
        eids = [lead.external_id for lead in leads]
        started = own = 0.0
        clock = time.process_time
        for key in (A, B) if seen and guarded else (B,):
            if key == B:
                started, own = clock(), 0.0
            target = ids[key.campaign]
            journal_seq = 0
            for first, stop in pairwise(firsts):
                batch_ids = eids[first:stop]
                mine = people.slice(first, first + len(batch_ids))
                entered = clock()
                plan = (
                    ledger_contacts.sqlite_plan(db, memory, target, batch_ids, mine, limit=LIMIT)
                    if guarded
                    else None
                )
                own += clock() - entered
                for start in range(0, len(batch_ids), CHUNK):
                    db.execute("BEGIN IMMEDIATE")
                    if guarded:
                        entered = clock()
                        chunk = batch_ids[start : start + CHUNK]
                        keys = mine.slice(start, start + len(chunk))
                        legacy = leads_legacy(leads[first + start : first + start + CHUNK], LIMIT.per)
                        allowed, _ = ledger_contacts.sqlite_admit(
                            db, memory, target, chunk, keys, limit=LIMIT, legacy=legacy, plan=plan
                        )
                        own += clock() - entered
                        if claims:
                            journal_seq = _claimed(db, target, allowed)
                        else:
                            journal_seq += 1  # the claim's in_flight row, not written here
                        if allowed:  # as the claim: no lead claimed, no row
                            entered = clock()
                            record = ledger_contacts.sqlite_record(
                                db, target, allowed, chunk, keys, plan=plan, journal_seq=journal_seq
                            )
                            record(memory)
                            own += clock() - entered
                    elif claims:
                        _claimed(db, target, batch_ids[start : start + CHUNK])
                    _commit_with_lease(db, target, start)
        spent = clock() - started
        db.close()
        return spent, own

    return _interleaved(loop, pairs)


def _record_only_loops(
    folder: Path, leads: list[Lead], people: People, batch: int | Sequence[int], pairs: int = 1
) -> list[tuple[float, float, float]]:
    """(with each chunk's contact row, without, the rows' inserts) CPU seconds of ``pairs`` runs
    of :func:`_as_imported_loops`' loop with the claims, where the guarded loop only records each
    claimed chunk's contacts (connectors.ledger_contacts ``sqlite_record``, the product's row)
    and nothing else: no plan, no decision, no memory. Their difference is the floor under any
    guardrail decided at claim time across runs and machines: the contacts must be written
    where other processes read them, in the claim's transaction."""
    firsts = _batch_firsts(len(leads), batch)
    eids = [lead.external_id for lead in leads]

    def loop(recording: bool) -> tuple[float, float]:
        db, ids = _loop_ledger(folder, "floor")
        target = ids[B.campaign]
        clock = time.process_time
        started, inserts = clock(), 0.0
        for first, stop in pairwise(firsts):
            mine = people.slice(first, stop)
            for start in range(0, stop - first, CHUNK):
                chunk = eids[first + start : first + start + CHUNK]
                db.execute("BEGIN IMMEDIATE")
                journal_seq = _claimed(db, target, chunk)
                if recording:
                    entered = clock()
                    keys = mine.slice(start, start + len(chunk))
                    ledger_contacts.sqlite_record(db, target, chunk, chunk, keys, journal_seq=journal_seq)
                    inserts += clock() - entered
                _commit_with_lease(db, target, start)
        spent = clock() - started
        db.close()
        return spent, inserts

    return _interleaved(loop, pairs)


def _batch_firsts(leads: int, batch: int | Sequence[int]) -> list[int]:
    """Where each batch of ``leads`` starts, then the end: batches of ``batch`` leads, or of
    each given size in turn."""
    sizes = [batch] * -(-leads // batch) if isinstance(batch, int) else batch
    return [min(first, leads) for first in accumulate(sizes, initial=0)]


def _loop_ledger(folder: Path, name: str) -> tuple[sqlite3.Connection, dict[str, int]]:
    """:func:`_bare_ledger` with the ledger's own settings for its commits."""
    db, ids = _bare_ledger(folder, name)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    return db, ids


def _commit_with_lease(db: sqlite3.Connection, target: int, start: int) -> None:
    """A chunk's lease row (standing for the claim's own writes, in every loop), then its commit."""
    db.execute(
        "INSERT INTO leases (target_id, run_id, until) VALUES (?, 'run', ?) "
        "ON CONFLICT (target_id, run_id) DO UPDATE SET until = excluded.until",
        (target, float(start)),
    )
    db.execute("COMMIT")


def _interleaved(loop: Callable[[bool], tuple[float, float]], pairs: int) -> list[tuple[float, float, float]]:
    """(with, without, the measured part) of ``pairs`` runs of ``loop(True)`` then ``loop(False)``."""
    runs = []
    for _ in range(pairs):
        (measured, part), (plain, _) = loop(True), loop(False)
        runs.append((measured, plain, part))
    return runs


def _claimed(db: sqlite3.Connection, target: int, claimed: Sequence[str]) -> int:
    """A chunk's claims of its ``claimed`` leads and its ``in_flight`` journal row of their
    external ids, as connectors.ledger's claim writes them (nothing when no lead was claimed:
    then 0); the journal row's ``seq``."""
    if not claimed:
        return 0
    ids = orjson.dumps(list(claimed)).decode()
    db.execute(
        "INSERT INTO claims (target_id, external_id, run_id) SELECT ?, value, 'run' FROM json_each(?) "
        "WHERE true ON CONFLICT (target_id, external_id) DO NOTHING",
        (target, ids),
    )
    cursor = db.execute(
        "INSERT INTO journal (target_id, batch_id, state, run_id, at, rows) "
        "VALUES (?, 'chunk', 'in_flight', 'run', ?, ?)",
        (target, datetime.now(UTC).isoformat(), ids),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


MADE: list[str] = []
"""PostgreSQL schemas this benchmark made, dropped at the end."""


def _fresh(kind: str, folder: Path, postgres: str | None) -> str:
    if kind == "sqlite":
        return str(folder / f"ledger-{secrets.token_hex(4)}.sqlite")
    if postgres is None:
        raise SystemExit("--postgres URL needed for the postgresql ledger")
    import psycopg

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(postgres, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    MADE.append(schema)
    sep = "&" if "?" in postgres else "?"
    return f"{postgres}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--ledger", default="sqlite")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alone", action="store_true", help="only the SQLite guardrail's own work")
    parser.add_argument(
        "--as-imported",
        type=int,
        metavar="BATCH",
        default=0,
        help="only the SQLite guardrail's cost as an import pays it: plans of BATCH leads, a commit a chunk",
    )
    args = parser.parse_args()
    leads, people = _leads(args.rows)
    runs: list[tuple[str, FrequencyLimit | None, bool]] = [
        ("claims", None, False),
        ("guarded", LIMIT, False),
        ("claims, seen", None, True),
        ("guarded, seen", LIMIT, True),
    ]
    print(f"{args.rows:,} contacts, {CHUNK} a chunk, best of {args.repeat}")
    print(f"email keys of the file, vectorized: {KEYS_CPU[0] / args.rows * 1e6:.3f} cpu us/contact")
    print(f"person keys of the file from its columns: {PEOPLE_CPU[0] / args.rows * 1e6:.3f} cpu us/contact")
    emails_cpu, people_cpu = (spent / args.rows * 1e6 for spent in BATCHED_CPU)
    warm = f"emails {emails_cpu:.3f}, all keys {people_cpu:.3f}"
    print(f"the same a 100k batch at a time, warm: {warm} cpu us/contact")
    print(f"{'ledger':>10} {'run':>14} {'wall us/c':>10} {'cpu us/c':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.as_imported:
            _as_imported_loops(
                Path(tmp), leads, people, False, args.as_imported
            )  # warm-up: see the docstring
            for seen in (False, True):
                loops = _as_imported_loops(
                    Path(tmp), leads, people, seen, args.as_imported, pairs=args.repeat
                )
                spent = [guarded - plain for guarded, plain, _ in loops]
                what = "all contacted before" if seen else "no earlier contact"
                figures = ", ".join(f"{cost / args.rows * 1e6:.2f}" for cost in spent)
                plans = f"{args.as_imported:,}-lead plans"
                print(f"sqlite guardrail as imported ({plans}), {what}: {figures} cpu us/contact")
            return
        if args.alone or "sqlite" in args.ledger.split(","):
            for seen in (False, True):
                alone = min(_guardrail_alone(Path(tmp), leads, people, seen) for _ in range(args.repeat))
                what = "all contacted before" if seen else "no earlier contact"
                print(f"sqlite guardrail alone, {what}: {alone / args.rows * 1e6:.2f} cpu us/contact")
        for kind in [] if args.alone else args.ledger.split(","):
            best: dict[str, tuple[float, float]] = {}
            for name, limit, seen in runs:
                times = [
                    _timed(_fresh(kind, Path(tmp), args.postgres), leads, people, limit, seen)
                    for _ in range(args.repeat)
                ]
                wall, cpu = (min(t[i] for t in times) for i in range(2))
                best[name] = (wall, cpu)
                print(f"{kind:>10} {name:>14} {wall / args.rows * 1e6:>10.2f} {cpu / args.rows * 1e6:>9.2f}")
            for name, base in (("guarded", "claims"), ("guarded, seen", "claims, seen")):
                extra = (best[name][0] - best[base][0]) / args.rows * 1e6
                cpu = (best[name][1] - best[base][1]) / args.rows * 1e6
                print(
                    f"{kind:>10} {name:>14} guardrail +{extra:.2f} us/contact = {extra:.2f} s per million"
                    f" (cpu +{cpu:.2f})"
                )
    if MADE and args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as db:
            for schema in MADE:
                db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
