"""Where a benchmark's time goes: wall and CPU seconds per stage of a run (``--stages``).

The stages are the pipeline's own functions (:data:`BATCHED_STAGES`, :data:`WHOLE_STAGES`),
wrapped for the length of the run so that each call is timed: the run is the real one, a
clock around each step (ten-odd calls per batch: the wrapping itself costs nothing one can
measure). A stage's time is exclusive: what a stage called inside another spends is its
own, not its caller's (``normalize: other`` is clean_leads minus phones, emails, ...).

Wall is per thread (a stage run in a reader thread beside the main one is counted in full,
so with overlap the stages add up to more than the run's wall); CPU is the process's
(``time.process_time``: every thread's, polars' and Arrow's pools included), so it is
exact only where one stage runs at a time, which is why the breakdown says how much of
the run's wall the stages cover.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BATCHED_STAGES", "WHOLE_STAGES", "StageClock", "print_stages"]

Stage = tuple[str, str, str]
"""(module, attribute, stage name): ``attribute`` may be ``Class.method``; one the code does
not have is left out (so that the same list times an older version of the code)."""

_COMMON: tuple[Stage, ...] = (
    ("transforms.normalize", "phone_columns", "normalize: phones"),
    ("transforms.normalize", "email_columns", "normalize: emails"),
    ("transforms.normalize", "assign_external_ids", "normalize: external ids"),
    ("transforms.normalize", "disposition_columns", "normalize: disposition"),
    ("transforms.normalize", "normalize_names", "normalize: names"),
    ("pandera.api.polars.container", "DataFrameSchema.validate", "pandera checks"),
    ("transforms.results", "build_results", "result rows"),
    ("flows.run.finish", "check_row_invariant", "summary + row check"),
    ("flows.run.finish", "write_run_files", "summary + row check"),
    ("flows.report.html_page", "render_run_html", "HTML report"),
    ("flows.report.console", "print_run", "terminal report"),
    # the report's passes over the result parts, wherever they are made from (before issue 17's
    # speed work each page made its own: the modules of both versions are listed)
    ("transforms.outputs", "summarize", "report: summaries (each pass)"),
    ("flows.report.html_page", "summarize", "report: summaries (each pass)"),
    ("flows.report.command", "summarize", "report: summaries (each pass)"),
    ("flows.report.figures", "summarize", "report: summaries (each pass)"),
    ("flows.report.html_page", "lead_view", "report: lead view (each pass)"),
    ("flows.report.console", "lead_view", "report: lead view (each pass)"),
    ("flows.report.figures", "lead_view", "report: lead view (each pass)"),
    ("flows.report.html_page", "reasons_by_lead", "report: reasons by lead (each pass)"),
    # taken a batch at a time in the results writer's thread (transforms.summary.RunningSummary,
    # flows.report.lead_batches), where the three passes above read the written results back
    ("transforms.summary", "RunningSummary.add", "summary (batch by batch)"),
    ("flows.report.lead_batches", "RunningLeads.add", "report: lead figures (batch by batch)"),
    ("flows.report.console", "reasons_by_lead", "report: reasons by lead (each pass)"),
    ("flows.report.figures", "reasons_by_lead", "report: reasons by lead (each pass)"),
)

BATCHED_STAGES: tuple[Stage, ...] = (
    ("flows.prepare_batches", "prepare_batches", "open: sniff, mapping, lists"),
    ("transforms.ingest_batches", "_scan", "scan + fingerprint"),
    ("flows.batch_region", "inferred_region", "region inference pass"),
    ("transforms.ingest_batches", "_csv_batches", "Arrow read"),
    ("transforms.ingest_batches", "_parquet_batches", "Arrow read"),
    ("flows.prepare_batches", "to_raw_leads", "mapping"),
    ("flows.batch_region", "to_raw_leads", "mapping"),
    ("flows.prepare_batches", "clean_leads", "normalize: other"),
    ("transforms.dedupe_batches", "BatchDedupe.apply", "dedupe"),
    ("transforms.outputs", "ResultsWriter.write", "results write"),
    ("transforms.outputs", "ResultsWriter.close", "results write"),
    *_COMMON,
)

WHOLE_STAGES: tuple[Stage, ...] = (
    ("flows.prepare", "read_lead_file", "read file"),
    ("flows.prepare", "to_raw_leads", "mapping"),
    ("flows.prepare", "clean_leads", "normalize: other"),
    ("transforms.outputs", "write_run", "results write"),
    *_COMMON,
)


@dataclass
class _Totals:
    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0


@dataclass
class StageClock:
    """Exclusive wall and CPU seconds per stage, over the runs made inside :meth:`timing`."""

    totals: dict[str, _Totals] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def timing(self, stages: tuple[Stage, ...]) -> Iterator[StageClock]:
        """The stages' functions wrapped while the block runs (put back after)."""
        undo: list[tuple[Any, str, Any]] = []
        try:
            for module_name, attribute, stage in stages:
                try:
                    owner: Any = importlib.import_module(module_name)
                except ModuleNotFoundError:
                    continue  # a stage of another version of the code (bench against main)
                *path, name = attribute.split(".")
                for part in path:
                    owner = getattr(owner, part, None)
                if owner is None or not hasattr(owner, name):
                    continue
                original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
                undo.append((owner, name, original))
                setattr(owner, name, self._wrapped(original, stage))
            yield self
        finally:
            for owner, name, original in reversed(undo):
                setattr(owner, name, original)

    def figures(self) -> dict[str, list[float]]:
        """stage -> [wall s, CPU s, calls], in the order the stages first ran."""
        return {stage: [t.wall, t.cpu, float(t.calls)] for stage, t in self.totals.items()}

    def _wrapped(self, function: Callable[..., Any], stage: str) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
                iterator = function(*args, **kwargs)
                while True:
                    with self._span(stage):
                        try:
                            item = next(iterator)
                        except StopIteration:
                            return
                    yield item

            return generator

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self._span(stage):
                return function(*args, **kwargs)

        return timed

    @contextmanager
    def _span(self, stage: str) -> Iterator[None]:
        stack: list[list[float]] = self._local.__dict__.setdefault("stack", [])
        frame = [time.perf_counter(), time.process_time(), 0.0, 0.0]  # start, start, children's
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            wall = time.perf_counter() - frame[0]
            cpu = time.process_time() - frame[1]
            if stack:
                stack[-1][2] += wall
                stack[-1][3] += cpu
            with self._lock:
                totals = self.totals.setdefault(stage, _Totals())
                totals.wall += wall - frame[2]
                totals.cpu += cpu - frame[3]
                totals.calls += 1


def print_stages(figures: dict[str, list[float]], wall: float, cpu: float) -> None:
    """The breakdown as a table, largest wall first, with what no stage covers."""
    width = max((len(stage) for stage in figures), default=10)
    print(f"{'stage':<{width}}  {'wall s':>7}  {'CPU s':>7}  calls")
    for stage, (stage_wall, stage_cpu, calls) in sorted(figures.items(), key=lambda item: -item[1][0]):
        print(f"{stage:<{width}}  {stage_wall:7.2f}  {stage_cpu:7.2f}  {calls:5.0f}")
    covered_wall = sum(values[0] for values in figures.values())
    covered_cpu = sum(values[1] for values in figures.values())
    print(f"{'(outside the stages)':<{width}}  {wall - covered_wall:7.2f}  {cpu - covered_cpu:7.2f}")
    print(f"{'run (child process)':<{width}}  {wall:7.2f}  {cpu:7.2f}")
