"""The report's lead figures of a run taken a batch at a time, as its results are written.

Why: ``leadflow validate`` drew its report's lead view (flows.report.leads.lead_view) and its
reasons by lead (flows.report.leads.reasons_by_lead) from the written results, read back once
the last batch was written: for a million results 0.3-0.4 s of decoding and grouping after
everything else, when nothing runs beside it. A batch's share of them, taken in memory in the
results writer's thread beside the next batch's normalizing, costs a few hundredths of a
second; at the end only the few leads shown and the reasons' example rows are read back.

Only a run of one target whose results come in strictly increasing source rows (what
``leadflow validate`` writes) is taken so: each lead has one result, its outcome is that
result's. Anything else leaves :meth:`RunningLeads.view` and :meth:`RunningLeads.reasons`
None, and the report reads the results as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from flows.report.leads import (
    _DONE,
    OUTCOMES,
    LeadView,
    Outcome,
    _row_outcome,
    _sorted_targets,
    _windowed_plan,
    lead_rows,
    reason_counts,
    reasons_with_examples,
)

__all__ = ["RunningLeads"]


class RunningLeads:
    """Feed it each batch's results (:meth:`add`, one frame per target, batches in file order),
    then ask for the view of the first ``limit`` leads not delivered everywhere and the
    reasons by lead."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._off = False
        self._last = 0
        self._leads = 0
        self._counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self._missed = 0
        self._outcomes: set[str] = set()
        self._statuses: set[tuple[str, str]] = set()
        self._targets: set[str] = set()
        self._windowed: set[str] = set()
        # the first ``limit`` missed leads needing attention, and of the others, in file order
        self._attention: list[pl.DataFrame] = []
        self._others: list[pl.DataFrame] = []
        self._reasons: list[pl.DataFrame] = []

    def add(self, results: Sequence[pl.DataFrame]) -> None:
        """One batch's results, in the thread that writes them."""
        if self._off:
            return
        if len(results) != 1:
            self._off = True  # several targets: leads are grouped from the written results
            return
        frame = results[0]
        if frame.height == 0:
            return
        source_row = frame.get_column("source_row")
        first = source_row.first()
        increasing = bool((source_row.diff().drop_nulls() > 0).all())
        if source_row.null_count() or not isinstance(first, int) or first <= self._last or not increasing:
            self._off = True
            return
        self._last = int(source_row.item(-1))
        rows = frame.lazy().select("source_row", "target", "status", _row_outcome())
        missed = rows.filter(~pl.col("outcome").is_in(_DONE))
        attention = pl.col("outcome") == Outcome.ATTENTION
        windows = _windowed_plan(frame.lazy())
        counts, statuses, shown_attention, shown_others, reasons, *windowed = pl.collect_all(
            [
                rows.group_by("outcome").len(),
                missed.select("target", "status").unique(),
                missed.filter(attention).select("source_row", "outcome").head(self._limit),
                missed.filter(~attention).select("source_row", "outcome").head(self._limit),
                reason_counts(frame.lazy()),
                *([windows] if windows is not None else []),
            ]
        )
        if windowed:
            self._windowed.update(_sorted_targets(windowed[0]))
        self._leads += frame.height
        for outcome, count in counts.iter_rows():
            self._counts[str(outcome)] += int(count)
            if outcome not in _DONE:
                self._missed += int(count)
                self._outcomes.add(str(outcome))
        self._statuses.update(
            (str(target), str(status)) for target, status in statuses.iter_rows() if status is not None
        )
        self._targets.update(str(target) for target in frame.get_column("target").unique().to_list())
        self._attention = _first(self._attention, shown_attention, self._limit)
        self._others = _first(self._others, shown_others, self._limit)
        self._reasons.append(reasons)

    def view(self, results: pl.LazyFrame, targets: Sequence[str], limit: int) -> LeadView | None:
        """flows.report.leads.lead_view(results, targets, limit), ``results`` being the written
        results of the batches added; None when the batches did not allow it."""
        if self._off or not self._reasons or limit > self._limit:
            return None
        kept = [frame.get_column("source_row") for frame in (*self._attention, *self._others)]
        missed = pl.concat(kept).head(limit) if kept else pl.Series("source_row", [], pl.Int64)
        shown = lead_rows(results, missed, sorted({*self._targets, *targets}), sorted(self._windowed))
        return LeadView(
            leads=self._leads,
            counts=dict(self._counts),
            missed=self._missed,
            shown=shown,
            missed_outcomes=frozenset(self._outcomes),
            missed_statuses=frozenset(status for target, status in self._statuses if target in targets),
        )

    def reasons(self, results: pl.LazyFrame) -> pl.DataFrame | None:
        """flows.report.leads.reasons_by_lead(results), as :meth:`view`."""
        if self._off or not self._reasons:
            return None
        return reasons_with_examples(results, pl.concat(self._reasons))


def _first(kept: list[pl.DataFrame], more: pl.DataFrame, limit: int) -> list[pl.DataFrame]:
    """``kept`` and then ``more``, to ``limit`` rows in all."""
    room = limit - sum(frame.height for frame in kept)
    return [*kept, more.head(room)] if room > 0 and more.height else kept
