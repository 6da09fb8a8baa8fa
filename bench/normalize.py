"""Benchmark: a messy N-row lead file -> normalized per-row results Parquet.

    python -m bench.normalize --rows 1000000 [--baseline-rows 50000] [--workers 2]
    python -m bench.normalize --rows 200000 --regions all --skip-baseline
    python -m bench.normalize --rows 1000000 --skip-baseline --quoted [--encoding cp1252]
    python -m bench.normalize --rows 1000000 --skip-baseline --damage ragged|mixed|latin1|quote
        [--encoding cp1252]
    python -m bench.normalize --rows 1000000 --skip-baseline --compliance us-tcpa
    python -m bench.normalize --rows 1000000 --skip-baseline [--compliance us-tcpa] --frequency
    LEADFLOW_BATCH_ROWS=100000 python -m bench.normalize --rows 5000000 --skip-baseline [--path whole]
    python -m bench.normalize --rows 10000000 --skip-baseline --keep-file /tmp/leads-10m.csv --stages

Generates the file first (not timed: about 1.5 phones per row, six countries, 5% duplicate
rows, ~10% broken values; with ``--regions all`` every one of libphonenumber's 245 regions,
evenly, bench/many_regions.py), then times, each in a fresh process so that peak RSS is the
pipeline's own (``LEADFLOW_PHONE_COLUMNAR=0`` in the environment reaches it, to compare the
per-value phone path):

* leadflow: ingest -> map -> normalize (phones once per distinct value, across cores) ->
  dedupe -> result rows -> the run folder (results Parquet, summary.json, run.json), exactly
  what ``leadflow validate`` does minus the HTML report and the terminal output: a batch at
  a time (``--path batched``, the default, flows.prepare_batches: memory independent of the
  file's size) or the whole file in memory (``--path whole``, flows.prepare.prepare_leads);
* naive: pandas ``read_csv`` + ``DataFrame.apply`` parsing each row's phones with
  phonenumbers, then ``to_parquet``: the code one would write first. It is linear in rows,
  so it runs on ``--baseline-rows`` (default all rows up to 100k) and its rate is compared.

With ``--compliance PROFILE`` the leadflow run also computes every row's calling window under
that profile (transforms.calling_windows, as a voice target with ``compliance`` does, from the
run's start) and puts it in the results; its time is printed beside prepare's (issue 18: it must
stay under 10% of it). Windows are computed at send time on the prepared leads, so this runs
the whole-file path (``--path whole``) whatever ``--path`` says.

With ``--frequency`` (alone or with ``--compliance``: the whole-file path too) the same child
process then times, after prepare and the windows and before the results, the frequency
guardrail on the run's own prepared leads for one voice target under bench/frequency.py's
``LIMIT`` (per person, 2 a day): the person keys as flows.importer computes them, a 100,000-row
batch at a time (each batch's emails' keys, then its eligible rows' keys, transforms.people
``batch_people``), and the SQLite guardrail's ledger work as an import pays it (bench/frequency.py
``_as_imported_loops``: a plan per batch, a commit a chunk, in a fresh ledger, less the same
loop without the guardrail, after a warm-up run), in CPU seconds (:func:`run_frequency`). As
imported rather than per chunk alone: issue 18's budget is what an import of the file pays,
commits and plans included. Printed per million rows of the file and as shares of prepare's and
the whole run's wall (the guardrail's own wall and CPU are left out of the run's), and with
``--compliance`` the windows and the guardrail together. Its Lead objects are made for every
batch at once (not timed), so the run's peak RSS with ``--frequency`` can be the guardrail's.
Measured (2026-12-06, the 2-core machine at load 1.4-2.4, the generated 1M file, two runs):
keys 0.13 s + ledger 1.88-2.05 s per million rows (680,540 eligible leads: 2.8-3.0 CPU us a
lead, where bench/frequency.py's made-up leads, a person each, take 0.7-1.4; SQLite's statements
and commits are most of it), 40-48% of prepare (4.5-5.1 s), 28-32% of the whole run; the windows
0.11-0.13 s: together 42-51% of prepare, against issue 18's 10%. After the guardrail's fixes of
that session (bench/frequency.py), alternating with the code before on a quieter machine: ledger
1.10-1.16 s per million rows (was 1.87-1.97), keys 0.13-0.14 s, with the windows 1.34-1.37 s,
35-41% of prepare (3.3-3.6 s). A later session's runs of the same code gave the ledger 1.41-2.13
s: a single pair's difference is noisy (bench/frequency.py ``_as_imported_loops``), so the
ledger is now the median of ``PAIRS`` pairs, printed with their spread, the guardrail's own
calls' time (measured inside the loop: 1.04-1.12 s, steady) and the claims' own ledger work
(9-10 s per million rows). First run: median 0.71 s (0.58-1.66), own calls 1.12 s. Then a
floor line: the same loop where each claimed chunk only writes its contact row (bench/frequency.py
``_record_only_loops``, the product's ``sqlite_record``: no plan, no decision, no memory), less
the plain loop, and the rows' inserts timed inside it: what any guardrail decided at claim time
pays. Measured (2026-12-06, a slower machine: prepare 5.5 s): medians 0.28 and 0.72 s per
million rows over two runs (single pairs -0.2 to 2.7), the inserts about 0.2 s, against a
guardrail's 1.35 s (own calls 1.33) and issue 18's budget of 0.38-0.53 s for all of it.

Prints wall seconds, rows/s, peak RSS (of the child process that runs the whole pipeline,
see _peak_rss_mb) and the speed-up; with ``--stages``, where the time goes: wall and CPU
seconds per stage (bench/stages.py). ``--keep-file PATH`` generates the file once and reuses
it on later runs (a 10M-row file takes minutes to generate).

Measured when the results came to be written behind (flows.run.write_behind, issue 17), back
to back against the code before, three pairs each, ``--path cli`` at 1M rows: at load 2-3
wall median 11.8 s against 13.3 (0.91 pair by pair), CPU 13.5 s against 13.0, peak 0.70 GB
either way (CPU equal to wall: the other jobs left the run about one core); at load 14-19 wall
60 s against 92 (0.76), CPU 15.6 s against 15.2. The batched path at 10M rows: peak 1.15-1.17
GB against 1.19-1.20 (README). With ``--stages`` at load 2-3: phones 5.40 CPU-s, results write
3.13 (now in the writer's thread), dedupe 1.47, Arrow read 1.38, pandera 1.21. Before, idle:
11.7-14.0 s wall, CPU 14.5-17.0 s, peak 0.66 GB at 1M (``--path cli``), with these stages
(wall / CPU s): phones 4.32/5.45, dedupe 1.56/1.74, results write 1.52/1.64, pandera checks
1.09/1.26, Arrow read 0.98/1.26 (half of it the region inference pass), result rows 0.41, scan
and fingerprint 0.35, the report's lead view 0.32, emails 0.30, summaries 0.22. About a third
of normalizing's CPU at 100k-row batches is fixed per batch (some 300 polars queries planned
and run per batch): 200k-row batches took it from 0.69 to 0.51 CPU-s per 100k rows, and
50k-row ones to 0.91, but a larger batch costs its memory at the peak.

Of that fixed cost, the phone stage's part (profiled on 100k-row batches of the 1M file):
each batch rebuilt every region's expressions (patterns, type rules, the calling code and
zone lookup tables turned into polars Series), about 20 ms of Python; ran two plans per
region (values with and without a leading own calling code), each 2-3.5 ms whatever its
rows (polars' planning, 1-1.7 ms of it, and its per-step execution); and looked the time
zone prefixes up in one plan per calling code, 1-1.5 ms per table lookup (19 for six
countries). Now the expressions are built once per process (transforms.phone_reading, transforms.
phone_columnar ``_located``, transforms.timezones ``_zone_of_prefix``), a region
runs one plan and the zone prefixes one plan for all codes: ``_decide`` on one value per
region 51-61 -> 32-35 CPU-ms, ``phone_zone_ids`` on 300 numbers 38 -> 12. ``phone_columns``
at 25k/50k/100k/200k rows, fitted: fixed 122 -> 81 CPU-ms per batch, 313 -> 310 per 100k
rows (medians of 7, in one process each, back to back, load 1.6-2.3; 100k batch 436 -> 389),
results identical. The 1M file (``--path cli --stages``), five pairs back to back at load
1.5-2: phones 5.54 -> 5.33 CPU-s (medians; 0.96 pair by pair), the child process 13.47 ->
13.74 CPU-s (1.02 pair by pair: within the load's noise; the stage clock counts the writer
thread's CPU too), peak 0.69-0.72 GB either way. Still fixed per batch: about 3.5 ms a
region plan and 1-1.5 ms per ``replace_strict``. Reading the ~7k "00"/"011" values of a batch
as columns too (1.5k per region after their prefix, under ``worth_a_plan``'s threshold) was
tried with ``min_group=1000``: no faster (391 vs 398 CPU-ms a batch), so the threshold stays.

Those "00"/"011" values are now found before the regions' plans run and read by the plan of
their calling code's region in the same pass (transforms.phone_columnar ``_decide``): no second
round, ~100 rather than ~7k values per batch left to the per-value parser. polars 2.1 runs a
sub-expression again at every use and both branches of a when/then on every row, so the type
rules' fixed-line and mobile regexes are columns of their own (region reading 48 -> 42 CPU-ms
a batch), values with and without "+" are located apart (``_prepared`` 50 -> 41), the
clean-up's repair flag is made once (32 -> 27), each zone prefix is one slice (19 -> 15), and
parse_columns orders its parts in one plan. The phone stage alone over the 1M file's ten
batches (``phone_columns`` in one process, load 3.5-4.3 from other jobs, four pairs
alternating): 3.94 -> 3.61 CPU-s, 4.18 -> 3.60 s wall (medians); per-row results identical on
the 1M and 245-region files. Where a 100k-row batch's ~330 CPU-ms go now: the regions'
reading plans 60 (about 20 of it planning six regions, fixed), ``_prepared`` 45, zone ids
30, the clean-up 30, with_timezones 20, gathering answers back to the rows 20, ordering the
parts 13, hashing the distinct pairs 13, findings 11; about 100 ms of a batch is fixed
(25k- against 100k-row batches), spread over some 190 small polars queries. Tried and
dropped: zone-id lookups only at each calling code's own prefix lengths (one plan, a branch
per set of lengths): 55 vs 43 CPU-ms a batch, slower (more nodes); integer prefixes for the
zone lookups: 2 ms a batch, not worth it; optimizer flags for the region plans: the default
is fastest; cross-batch caches of per-value answers: the 1M file's 1.32M distinct (value,
region) pairs per batch are 1.22M over the file, at most 7% to gain, and less when bounded.

At the run's edges and between its threads (issue 17's 6 s for 1M rows): the results parts'
value-per-row columns (ids, contacts, raw values) are written without a dictionary that Arrow's
writer built and then dropped (transforms.outputs ``PLAIN_COLUMNS``): 1M results in ten
batches through ResultsWriter 1.61-1.86 -> 1.36-1.43 CPU-s (best of five, alternating, load
5), the part 36.6 -> 31.7 MB, its values, schema, row groups and statistics the same. ``leadflow
validate`` runs the region inference pass (0.7-0.9 s of a 1M-row file, one core at most)
beside the first batch's reading and normalizing (flows.batch_region: that batch is made with
the region its own rows infer and kept only when the file's inference agrees, as it does on
this file), and marks each batch's duplicates in the results writer's thread (1.6-1.7 CPU-s
of the main thread's work, finish_run_in_batches ``marked``). Results Parquet, summary.json,
run.json and report.html are the same on the 1M file. Whole process, ``leadflow validate`` of
the 1M file against the code before, alternating: four pairs at load ~3 (little but our own):
wall 8.85 s against 9.75 (medians; 0.92, 0.94, 0.88 and 1.10 pair by pair), CPU 13.45 against
13.62; with other helpers' test runs beside (load 3-7.5, we got 1-1.5 cores) fifteen pairs in
three sets showed no gain through the noise (wall medians 16.1 against 15.2, 15.1 against 13.8,
14.3 against 13.0; CPU 0.3-1.4 s more): the main thread gives ~2.5 of its ~10 s (dedupe,
inference) to a second core that is only free on a quiet machine, and this one was quiet for
one set only: the gain is to be confirmed there. Peak RSS 628-654 MiB against 592-625 (the
same loaded or not): the region pass beside the first batch costs nothing at the peak (583-618
MiB with it alone), the dedupe beside the next batch's normalizing ~30-40 MiB (its transient
frames now coincide with that batch's). At 10M that is an estimated +40-75 MB over 1.12 GB
(the seen-value runs' merges, up to ~35 MB, coincide with a normalizing too): at issue 17's
1.2 GB bound, so that commit (flows.run.finish ``marked``) is to be measured at 10M before it
is relied on. Tried and dropped: the inference from one lazy polars scan of the plain file
(``scan_csv`` of the three columns 0.13-0.2 s against Arrow's 0.5, but its distinct (country,
value) pairs made it 0.78-1.0 s against 0.70 in all; ``collect_batches`` feeding the batch
code 0.38-0.42 s, but polars calls that API unstable and does not say how far it reads ahead
of the caller).

Batch size by the file's rows (2026-12-05, night; transforms.ingest_batches ``validate_batch_rows``:
``leadflow validate`` reads a file of at most 1.25M rows in 200k-row batches, a bigger one and
every import in 100k): on a fresh quiet 2-core machine, whole process, alternating, the 1M file
through the CLI took 0.94 of the wall time and CPU of 100k-row batches (seven pairs; medians
5.56 against 5.86 s, CPU 8.4 against 8.8), peak 873 against 702 MiB; 150k 0.97, 250k level with
200k but 972 MiB. 1.5M rows peaked at 913-946 MiB at 200k and 2M at 947 (777 at 100k), so the
larger batches stop at 1.25M. The import_leads flow's dry run of 1M rows (bench/flow_memory.py)
peaked at 1,774 MB at 200k against 1,227 at 100k, no faster: import keeps 100k. The same
machine ran the code of the day issue 17 was filed at 7.5-7.9 s (medians, 2.4-2.6 GB), this
benchmark's ``leadflow`` path of that code at 5.2-5.3 s (prepare 3.8). 5M rows 28.3 s, peak
930 MiB; 10M 55.8 s, CPU 89.5, peak 1,103 MiB. Where the time goes at 200k: the run uses about
1.55 of the two cores; py-spy's GIL sampling finds Python holding it about a third of the wall
time, so the rest is polars' and Arrow's work whose parts do not all run in parallel.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from flows.allocator import MALLOC_CONF_VARIABLE, tune_allocator

SIX_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "MX")
PAIRS = 3
"""Runs of the guardrail's ledger loops with and without it (``--frequency``): the median of
their differences, whose spread is printed too (bench/frequency.py ``_as_imported_loops``)."""


def _peak_rss_mb() -> float:
    """Peak RSS of this process (the benchmark's child: the whole pipeline's process) in MiB
    (ru_maxrss is KiB on Linux). Pool workers are not added:
    RUSAGE_CHILDREN reports a spawned worker's RSS at fork time, a copy of this process's;
    measured on their own, the phone workers stay around 35 MiB each (and most runs no longer
    start them: the columnar parser leaves only a few hundred values to the per-value one)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_batched(path: Path, out: Path, workers: int | None, ahead: int | None = None) -> dict[str, float]:
    """What ``leadflow validate`` does (minus the HTML report): the file read, normalized and
    written a batch at a time ($LEADFLOW_BATCH_ROWS rows, flows.prepare_batches), ``ahead``
    batches normalized beside the one written (default validate's, flows.prepare_batches.AHEAD)."""
    from datetime import UTC, datetime

    import flows.prepare_batches
    from flows.prepare import PrepareOptions
    from flows.prepare_batches import prepare_batches
    from flows.run.finish import finish_run_in_batches
    from transforms.outputs import new_run_id
    from transforms.results import VALIDATE_TARGET, build_results

    if ahead is None:  # an older version of the code (bench against main) has no AHEAD
        ahead = getattr(flows.prepare_batches, "AHEAD", 0)
    started, cpu = time.perf_counter(), time.process_time()
    batched = prepare_batches(path, PrepareOptions(country="US", workers=workers))
    prepared_at = time.perf_counter()
    prepared_rss = _peak_rss_mb()
    run_id = new_run_id()

    def results(clean: Any) -> Any:
        return build_results(clean, run_id=run_id, source_file=str(path), target=VALIDATE_TARGET)

    # results built in the writer's thread, as leadflow validate builds them (an older version
    # of the code, bench against main, builds them on the caller's thread)
    parameters = inspect.signature(finish_run_in_batches).parameters
    behind: dict[str, Any] = {"built_behind": True} if "built_behind" in parameters else {}
    finish_run_in_batches(
        batched.prepared,
        batched.batches(ahead) if ahead else batched.batches(),
        [(VALIDATE_TARGET, VALIDATE_TARGET, results)],
        run_id=run_id,
        started=datetime.now(UTC),
        out_dir=out,
        dry_run=False,
        report=False,
        **behind,
    )
    finished = time.perf_counter()
    return {
        "rows": batched.prepared.rows,
        "wall": finished - started,
        "cpu": time.process_time() - cpu,
        "prepare": prepared_at - started,
        "results": finished - prepared_at,
        "peak_rss_mb": _peak_rss_mb(),
        "prepare_peak_rss_mb": prepared_rss,
    }


def run_leadflow(
    path: Path, out: Path, workers: int | None, compliance: str | None = None, frequency: bool = False
) -> dict[str, float]:
    """The whole file in memory (flows.prepare.prepare_leads), as validate did before issue 17
    (and as import still prepares); with ``compliance``, every row's calling window too; with
    ``frequency``, then the frequency guardrail's cost on the prepared leads (:func:`run_frequency`,
    its ``frequency_`` figures), its wall and CPU left out of the run's."""
    from datetime import UTC, datetime

    from flows.prepare import PrepareOptions, prepare_leads
    from flows.run.finish import finish_run
    from transforms.calling_rules import profile_of
    from transforms.calling_windows import with_call_windows
    from transforms.outputs import new_run_id
    from transforms.results import VALIDATE_TARGET, build_results

    started, cpu = time.perf_counter(), time.process_time()
    prepared = prepare_leads(path, PrepareOptions(country="US", workers=workers))
    prepared_at = time.perf_counter()
    prepared_rss = _peak_rss_mb()
    windows = None
    if compliance:
        windows = with_call_windows(prepared.clean, profile_of(compliance), datetime.now(UTC))
    windows_at = time.perf_counter()
    guardrail: dict[str, float] = {}
    aside = aside_cpu = 0.0
    if frequency:
        aside_cpu = time.process_time()
        guardrail = run_frequency(prepared.clean)
        aside, aside_cpu = time.perf_counter() - windows_at, time.process_time() - aside_cpu
    results_at = time.perf_counter()
    run_id = new_run_id()
    results = build_results(
        prepared.clean, run_id=run_id, source_file=str(path), target=VALIDATE_TARGET, windows=windows
    )
    prepared = prepared.without_leads()  # as leadflow validate does
    finish_run(
        prepared,
        [results],
        [(VALIDATE_TARGET, VALIDATE_TARGET)],
        run_id=run_id,
        started=datetime.now(UTC),
        out_dir=out,
        dry_run=False,
        report=False,
    )
    finished = time.perf_counter()
    return {
        "rows": prepared.rows,
        "wall": finished - started - aside,
        "cpu": time.process_time() - cpu - aside_cpu,
        "prepare": prepared_at - started,
        "windows": windows_at - prepared_at,
        "results": finished - results_at,
        "peak_rss_mb": _peak_rss_mb(),
        "prepare_peak_rss_mb": prepared_rss,
        **guardrail,
    }


FREQUENCY_CHANNEL = "voice"
"""The channel of the target whose guardrail ``--frequency`` times (its eligible rows, its
``channel_phone``): a voice target's, as under ``--compliance``."""


def run_frequency(clean: Any) -> dict[str, float]:
    """The frequency guardrail's cost on the prepared leads ``clean`` (``--frequency``), as an
    import pays it for one voice target under bench/frequency.py's ``LIMIT`` (per person, 2 a
    day): ``clean`` cut into the import's batches (transforms.ingest_batches ``batch_rows``:
    100,000 rows unless ``$LEADFLOW_BATCH_ROWS`` says otherwise), each batch's eligible rows as
    flows.importer ``_leads`` makes them (transforms.eligibility; no lead held outside its
    calling window: every eligible lead reaches the guardrail, whatever the hour), and

    * ``frequency_keys``: CPU seconds of the person keys, summed over the batches: the batch's
      emails' keys (flows.shared_leads ``SharedLeads.email_key``) and every eligible lead's keys
      (transforms.people.batch_people), each batch's call warm (a process's first call, made
      before: pyarrow.compute's first use, see below). The eligible rows'
      filter, which a target without a limit makes too, and the Lead objects are not timed;
    * ``frequency_ledger``: CPU seconds of the SQLite guardrail's ledger work as imported
      (bench/frequency.py ``_as_imported_loops``: less the same loop without it), over a
      fresh ledger in a temporary folder, after a warm-up run of the same. Called once over all
      the batches' leads, with their People concatenated and the batches' sizes, so that each
      batch is a plan of its own eligible leads (as the engine plans a batch's send) and the
      ledger and its contact memory outlive the batches as in an import; called batch by batch
      it would start a new ledger each batch, and a batch of the concatenation of 100,000
      leads would not be an import's. With the claims written (``claims``, in both of its
      loops): the file's people recur, and the guardrail then reads the claims of their earlier
      contacts.

    Also ``frequency_leads`` (the eligible leads) and ``frequency_peak_rss_mb`` (the process's
    peak by its end: the Leads of every batch are held at once here, an import's one batch at
    a time)."""
    import polars as pl

    from bench.frequency import LIMIT, _as_imported_loops, _record_only_loops
    from connectors.base import Lead
    from flows.shared_leads import SharedLeads
    from transforms.eligibility import eligibility
    from transforms.ingest_batches import batch_rows
    from transforms.people import People, batch_people
    from transforms.person_keys import email_key_column

    # a process's once, not per row: pyarrow.compute's first use (the emails' validity was read
    # through pyarrow's to_numpy, which imported pandas, 0.15-0.25 s: no longer,
    # transforms.person_keys)
    email_key_column(pl.Series("email", [None, "first@example.com"], dtype=pl.String))
    leads: list[Lead] = []
    parts: list[People] = []
    spent = 0.0
    rows = batch_rows()
    for first in range(0, clean.height, rows):
        batch = clean.slice(first, rows)
        decided = eligibility(batch, FREQUENCY_CHANNEL, sms_allow_unknown_type=False)
        shared = SharedLeads(batch, keyed=True)
        started = time.process_time()
        email_key = shared.email_key(decided)
        spent += time.process_time() - started
        eligible = decided.with_columns(email_key).filter(pl.col("eligible"))
        started = time.process_time()
        people = batch_people(eligible, LIMIT.per)
        spent += time.process_time() - started
        if people is None:
            raise SystemExit("a phone of the clean frame is not plain E.164: no person keys as arrays")
        if len(people):  # a batch without an eligible lead sends nothing and makes no plan
            parts.append(people)
            leads.extend(shared.leads(eligible))
    with tempfile.TemporaryDirectory() as folder:
        sizes = [len(part) for part in parts]
        everyone = _concatenated(parts)
        _as_imported_loops(Path(folder), leads, everyone, False, sizes, claims=True)  # warm-up
        loops = _as_imported_loops(Path(folder), leads, everyone, False, sizes, claims=True, pairs=PAIRS)
        floors = _record_only_loops(Path(folder), leads, everyone, sizes, pairs=PAIRS)
    added = sorted(guarded - plain for guarded, plain, _ in loops)
    floor = sorted(recorded - plain for recorded, plain, _ in floors)
    return {
        "frequency_keys": spent,
        "frequency_ledger": statistics.median(added),
        "frequency_ledger_low": added[0],
        "frequency_ledger_high": added[-1],
        "frequency_ledger_own": statistics.median(own for _, _, own in loops),
        "frequency_claims": statistics.median(plain for _, plain, _ in loops),
        "frequency_floor": statistics.median(floor),
        "frequency_floor_low": floor[0],
        "frequency_floor_high": floor[-1],
        "frequency_floor_inserts": statistics.median(inserts for _, _, inserts in floors),
        "frequency_leads": len(leads),
        "frequency_peak_rss_mb": _peak_rss_mb(),
    }


def _concatenated(parts: list[Any]) -> Any:
    """One transforms.people.People of ``parts``' leads one after the other (each lead its keys)."""
    import numpy as np

    from transforms.people import People

    keys = np.concatenate([part.flat for part in parts]) if parts else np.zeros(0, dtype=np.int64)
    ends = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for part in parts:
        ends.append(part.ends[1:] - part.ends[0] + offset)
        offset += len(part.flat)
    return People(keys, np.concatenate(ends))


def run_cli(path: Path, out: Path) -> dict[str, float]:
    """``leadflow validate FILE --out OUT`` in this process, its terminal output thrown away:
    the batched path plus the region inference pass (no ``--country``: the file's own
    numbers decide), the HTML report and the terminal report. Wall from the command's start
    (after the imports the ``leadflow`` entry point makes, which the parent's whole-process
    figure adds)."""
    from rich.console import Console

    from flows.commands.validate import main as validate

    started, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as sink:
        code = validate([str(path), "--out", str(out)], console=Console(file=sink, width=120))
    finished = time.perf_counter()
    if code != 0:
        raise SystemExit(f"leadflow validate failed ({code})")
    (run_json,) = out.glob("*/run.json")
    return {
        "rows": json.loads(run_json.read_text())["rows"],
        "wall": finished - started,
        "cpu": time.process_time() - cpu,
        "prepare": 0.0,
        "results": finished - started,
        "peak_rss_mb": _peak_rss_mb(),
        "prepare_peak_rss_mb": 0.0,
    }


def run_naive(path: Path, out: Path, rows: int) -> dict[str, float]:
    import pandas as pd  # type: ignore[import-untyped]
    import phonenumbers

    def parse(value: object, region: str) -> str | None:
        if not isinstance(value, str) or not value:
            return None
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def row(record: pd.Series) -> pd.Series:
        region = "US"
        return pd.Series(
            {
                "phone1": parse(record["phone"], region),
                "phone2": parse(record["mobile"], region),
                "email": str(record["email"]).strip().lower() if isinstance(record["email"], str) else None,
            }
        )

    started = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows)
    normalized = frame.apply(row, axis=1)
    frame.join(normalized, rsuffix="_e164").drop_duplicates(subset=["phone1"]).to_parquet(
        out / "naive.parquet"
    )
    return {"rows": len(frame), "wall": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def _child(
    kind: str,
    path: Path,
    workers: int | None,
    rows: int,
    compliance: str | None = None,
    stages: bool = False,
    ahead: int | None = None,
    frequency: bool = False,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "bench.normalize",
            "--child",
            kind,
            "--file",
            str(path),
            "--out",
            out,
            "--baseline-rows",
            str(rows),
        ]
        if workers:
            command += ["--workers", str(workers)]
        if compliance:
            command += ["--compliance", compliance]
        if stages:
            command += ["--stages"]
        if frequency:
            command += ["--frequency"]
        if ahead is not None:
            command += ["--ahead", str(ahead)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return figures


def _child_figures(args: argparse.Namespace) -> dict[str, Any]:
    """The child's run (``--child``), timed stage by stage with ``--stages``."""
    if args.child == "naive":
        return run_naive(args.file, args.out, args.baseline_rows)
    runs: dict[str, Callable[[], dict[str, float]]] = {
        "batched": lambda: run_batched(args.file, args.out, args.workers, args.ahead),
        "leadflow": lambda: run_leadflow(args.file, args.out, args.workers, args.compliance, args.frequency),
        "cli": lambda: run_cli(args.file, args.out),
    }
    if not args.stages:
        return runs[args.child]()
    from bench.stages import BATCHED_STAGES, WHOLE_STAGES, StageClock

    with StageClock().timing(WHOLE_STAGES if args.child == "leadflow" else BATCHED_STAGES) as clock:
        figures: dict[str, Any] = runs[args.child]()
    return {**figures, "stages": clock.figures()}


def _print_frequency(ours: dict[str, Any], compliance: str | None) -> None:
    """The guardrail's lines (``--frequency``): its parts per million rows of the file and their
    share of prepare's and of the whole run's wall (the guardrail's CPU seconds against them);
    with ``compliance``, the windows' and the guardrail's together."""
    from bench.frequency import LIMIT

    rows, prepare, whole = ours["rows"], ours["prepare"], ours["wall"]
    keys, ledger = ours["frequency_keys"], ours["frequency_ledger"]
    low, high, claims = ours["frequency_ledger_low"], ours["frequency_ledger_high"], ours["frequency_claims"]
    spent = keys + ledger
    limit = f"{LIMIT.per}, {LIMIT.max_contacts} per {LIMIT.within_hours:g} h"
    print(
        f"frequency guardrail ({limit}): keys {keys / rows * 1e6:.3f} s + ledger "
        f"{ledger / rows * 1e6:.3f} s = {spent / rows * 1e6:.3f} s per million rows, "
        f"{100 * spent / prepare:.1f}% of prepare (ingest + normalize), "
        f"{100 * spent / whole:.1f}% of the whole run"
    )
    own = ours["frequency_ledger_own"]
    print(
        f"  ledger: median of {PAIRS} pairs, {low / rows * 1e6:.3f}-{high / rows * 1e6:.3f} s, of which "
        f"{own / rows * 1e6:.3f} s in its own calls; the claims' own ledger work (the loop without "
        f"it) {claims / rows * 1e6:.3f} s per million rows: the guardrail adds "
        f"{100 * ledger / claims:.1f}% to it"
    )
    floor, floor_low, floor_high = (ours[f"frequency_floor{end}"] for end in ("", "_low", "_high"))
    print(
        f"  floor: each claimed chunk's contact row and nothing else, median of {PAIRS} pairs "
        f"{floor / rows * 1e6:.3f} s ({floor_low / rows * 1e6:.3f} to {floor_high / rows * 1e6:.3f}), of "
        f"which {ours['frequency_floor_inserts'] / rows * 1e6:.3f} s in the rows' inserts, per million rows"
    )
    print(
        f"  ({ours['frequency_leads']:,.0f} eligible leads of a {FREQUENCY_CHANNEL} target; "
        f"peak RSS {ours['frequency_peak_rss_mb']:,.0f} MiB by the guardrail's end, every Lead held)"
    )
    if compliance:
        both = ours["windows"] + spent
        print(
            f"windows + guardrail: {both / rows * 1e6:.3f} s per million rows = "
            f"{100 * both / prepare:.1f}% of prepare, {100 * both / whole:.1f}% of the whole run"
        )


def _write_file(
    path: Path,
    rows: int,
    regions: str,
    quoted: bool = False,
    encoding: str = "utf-8",
    damage: str | None = None,
) -> None:
    """The generated lead file (module docstring), written by a process of its own: every
    field quoted with ``quoted`` (as CRM and Excel exports do), in cp1252 with ``encoding``
    (characters cp1252 lacks become ``?``), and ``damage`` on a few lines (:func:`_damaged`)."""
    if regions == "all":
        from bench.many_regions import many_regions_frame

        frame = many_regions_frame(rows)
    else:
        from sample_data.generate import messy_lead_frame

        frame = messy_lead_frame(rows, seed=11, countries=SIX_COUNTRIES)
    style: Literal["always", "necessary"] = "always" if quoted else "necessary"
    if encoding == "utf-8" and damage is None:
        frame.write_csv(path, quote_style=style)
    else:
        content = frame.write_csv(quote_style=style).encode(encoding, errors="replace")
        path.write_bytes(_damaged(content, damage) if damage else content)


DAMAGED_LINES = 5
QUOTE_EVERY = 10_000
"""``--damage quote``: one data line in this many gets a stray quote (a typo'd ``"`` in a CRM export)."""


def _damaged(content: bytes, damage: str) -> bytes:
    """``content`` with :data:`DAMAGED_LINES` data lines, spread over the file, damaged as
    messy exports are (the file then leaves the clean streamed path): ``ragged`` one field too
    many, ``mixed`` the line in cp1252 with an accent (a UTF-8 file: a mixed-encoding file),
    ``latin1`` a byte cp1252 leaves undefined (0x81) on the line (a cp1252 file: Latin-1);
    ``quote`` instead damages one line in :data:`QUOTE_EVERY` with a stray quote opening its
    second field (never closed: the careful reader's UNTERMINATED_QUOTE)."""
    lines = content.split(b"\n")
    if damage == "quote":
        for index in range(QUOTE_EVERY // 2, len(lines) - 1, QUOTE_EVERY):
            first, comma, rest = lines[index].partition(b",")
            lines[index] = first + comma + b'"' + rest
        return b"\n".join(lines)
    step = max((len(lines) - 2) // DAMAGED_LINES, 1)
    for index in range(1 + step // 2, len(lines) - 1, step)[:DAMAGED_LINES]:
        line = lines[index]
        if damage == "ragged":
            lines[index] = line + b",extra"
        elif damage == "mixed":
            lines[index] = (line.decode("utf-8") + " M\u00fcller").encode("cp1252", errors="replace")
        else:
            lines[index] = line + b" \x81"
    return b"\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--baseline-rows", type=int, help="rows for the naive baseline (default min(rows, 100k))"
    )
    parser.add_argument("--workers", type=int, help="phone-parsing processes (default: all cores)")
    parser.add_argument("--file", type=Path, help="use this lead file instead of generating one")
    parser.add_argument(
        "--regions",
        choices=("six", "all"),
        default="six",
        help="generated phones from six countries (default) or from all 245 regions",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--quoted", action="store_true", help="generate a file with every field quoted")
    parser.add_argument(
        "--encoding", choices=("utf-8", "cp1252"), default="utf-8", help="the generated file's encoding"
    )
    parser.add_argument(
        "--damage",
        choices=("ragged", "mixed", "latin1", "quote"),
        help="damage a few lines of the generated file: a ragged row, a cp1252 line (mixed with "
        "UTF-8), a byte only Latin-1 has (with --encoding cp1252: a Latin-1 file), or one line "
        "in 10k with a stray quote",
    )
    parser.add_argument(
        "--path",
        choices=("batched", "whole", "cli"),
        default="batched",
        help="leadflow's batched path (leadflow validate's, default), the whole file in memory, "
        "or all of leadflow validate (no --country, with the reports)",
    )
    parser.add_argument(
        "--compliance", help="also compute calling windows under this profile (us-tcpa, uk, de)"
    )
    parser.add_argument(
        "--frequency",
        action="store_true",
        help="also time the frequency guardrail (person keys and SQLite ledger, as an import "
        "pays them) on the prepared leads",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also print wall and CPU seconds per stage of the leadflow run (bench/stages.py)",
    )
    parser.add_argument(
        "--ahead",
        type=int,
        help="batched path: batches normalized beside the one written "
        "(default leadflow validate's, flows.prepare_batches.AHEAD)",
    )
    parser.add_argument(
        "--keep-file",
        type=Path,
        help="generate the lead file at this path and keep it; reuse it if it is there already",
    )
    parser.add_argument("--child", choices=("batched", "leadflow", "cli", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.write_file:
        _write_file(args.write_file, args.rows, args.regions, args.quoted, args.encoding, args.damage)
        return 0

    if args.child:
        print(json.dumps(_child_figures(args)))
        return 0

    baseline_rows = args.baseline_rows or min(args.rows, 100_000)
    with tempfile.TemporaryDirectory() as folder:
        path = args.file
        if path is None and args.keep_file is not None and args.keep_file.exists():
            path = args.keep_file
            print(f"reusing {path} (--keep-file): its rows are what it holds, whatever --rows says")
        if path is None:
            quoted = "-quoted" if args.quoted else ""
            damaged = f"-{args.damage}" if args.damage else ""
            path = (
                args.keep_file
                or Path(folder) / f"leads-{args.rows}-{args.regions}{quoted}-{args.encoding}{damaged}.csv"
            )
            # in a process of its own: a child started from a parent that held the generated
            # frame inherits the parent's peak RSS (ru_maxrss survives fork and exec), which
            # made a 5M-row batched run read 2.4 GB instead of its own 1 GB
            generate = [sys.executable, "-m", "bench.normalize", "--write-file", str(path)]
            generate += ["--rows", str(args.rows), "--regions", args.regions, "--encoding", args.encoding]
            generate += ["--quoted"] if args.quoted else []
            generate += ["--damage", args.damage] if args.damage else []
            subprocess.run(generate, check=True)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {path.name}, {size_mb:.1f} MB, {os.cpu_count()} cores")
        print(f"allocator: {MALLOC_CONF_VARIABLE}={tune_allocator()} (flows.allocator, as every run has)")
        # windows and the guardrail: on the prepared leads
        whole = args.path == "whole" or bool(args.compliance) or args.frequency
        kind = "leadflow" if whole else args.path
        process = resource.getrusage(resource.RUSAGE_CHILDREN)
        process_started = time.perf_counter()
        ours = _child(
            kind, path, args.workers, baseline_rows, args.compliance, args.stages, args.ahead, args.frequency
        )
        process_wall = time.perf_counter() - process_started
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        process_cpu = used.ru_utime - process.ru_utime + used.ru_stime - process.ru_stime
        rate = ours["rows"] / ours["wall"]
        split = "" if kind == "cli" else f"prepare {ours['prepare']:.2f} s, results {ours['results']:.2f} s, "
        print(
            f"leadflow ({'whole' if whole else args.path}): {ours['rows']:,.0f} rows in {ours['wall']:.2f} s "
            f"({split}CPU {ours['cpu']:.2f} s) = {rate:,.0f} rows/s, "
            f"peak RSS {ours['peak_rss_mb']:,.0f} MiB = {ours['peak_rss_mb'] * 1.048576 / 1000:.2f} GB "
            f"({ours['prepare_peak_rss_mb']:,.0f} MiB by the end of prepare); "
            f"the child process with its imports: {process_wall:.2f} s, CPU {process_cpu:.2f} s"
        )
        if args.stages:
            from bench.stages import print_stages

            print(f"stages (exclusive seconds, {kind} path):")
            print_stages(ours["stages"], ours["wall"], ours["cpu"])
        if args.compliance:
            print(
                f"calling windows ({args.compliance}): {ours['windows']:.3f} s = "
                f"{ours['windows'] / ours['rows'] * 1e6:.2f} s per million rows, "
                f"{100 * ours['windows'] / ours['prepare']:.1f}% of prepare (ingest + normalize)"
            )
        if args.frequency:
            _print_frequency(ours, args.compliance)
        if not args.skip_baseline:
            naive = _child("naive", path, None, baseline_rows)
            naive_rate = naive["rows"] / naive["wall"]
            print(
                f"naive pandas+apply: {naive['rows']:,.0f} rows in {naive['wall']:.2f} s = "
                f"{naive_rate:,.0f} rows/s, peak RSS {naive['peak_rss_mb']:,.0f} MiB"
            )
            print(f"speed-up: {rate / naive_rate:.1f}x (rows/s, leadflow / naive)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
