"""The trend page's chart (``leadflow report DIR --html``), drawn with matplotlib as inline SVG.

Why matplotlib here: two panels of lines over runs, axes and ticks that adapt to any number of
runs; it renders to SVG offline with no JavaScript. Only the trend page imports this module:
matplotlib costs a third of a second to import, which the run report (written after every
``leadflow validate`` and import, flows.report.charts) does not pay. Output is deterministic
(fixed hash salt per chart, no date in the metadata) so the same results give the same bytes.
Text stays text (``svg.fonttype = none``), which matplotlib XML-escapes; ``text.parse_math`` is
off so a ``$`` in a label is never read as TeX. Figures are built without pyplot (no global
figure registry), but rcParams are process-global: render reports from one thread at a time.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import polars as pl
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

__all__ = ["trend_chart"]

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}
_GROUP_ID = re.compile(r'<g id="([A-Za-z0-9_.]+)"')
"""matplotlib numbers its groups per figure (``patch_1``...): prefixed so that several charts
inline in one page keep ids unique. Clip paths and markers are already salted per chart."""


def _svg(figure: Figure, chart_id: str) -> str:
    rc: dict[RcKeyType, Any] = {**_RC, "svg.hashsalt": f"leadflow-{chart_id}", "svg.id": chart_id}
    with mpl.rc_context(rc):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return _GROUP_ID.sub(rf'<g id="{chart_id}-\1"', text[text.index("<svg") :])


def trend_chart(trend: pl.DataFrame, chart_id: str = "chart-trend") -> str:
    """Per target across runs: delivered (accepted + submitted) and not delivered
    (rejected + vendor_rejected + failed), oldest run first."""
    runs: Sequence[str] = trend["run_id"].unique(maintain_order=True).to_list()
    with mpl.rc_context(_RC):
        figure = Figure(figsize=(9.0, 4.6), layout="constrained")
        delivered_axes, refused_axes = figure.subplots(1, 2, sharex=True)
        for (target,), part in trend.partition_by("target", as_dict=True, maintain_order=True).items():
            rows = {row["run_id"]: row for row in part.iter_rows(named=True)}
            delivered = [_sum(rows.get(run), ("accepted", "submitted")) for run in runs]
            refused = [_sum(rows.get(run), ("rejected", "vendor_rejected", "failed")) for run in runs]
            delivered_axes.plot(runs, delivered, marker="o", label=str(target))
            refused_axes.plot(runs, refused, marker="o", label=str(target))
        delivered_axes.set_title("Accepted + submitted per run")
        refused_axes.set_title("Rejected + vendor_rejected + failed per run")
        for axes in (delivered_axes, refused_axes):
            axes.tick_params(axis="x", labelrotation=30, labelsize=7)
            axes.set_ylim(bottom=0)
        if trend.height:  # results without run.json list no target
            refused_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(figure, chart_id)


def _sum(row: Mapping[str, Any] | None, columns: Sequence[str]) -> int | float:
    if row is None:
        return float("nan")
    return sum(int(row[column]) for column in columns)
