"""Charts for the HTML report as inline SVG strings, drawn with matplotlib.

Why matplotlib: it renders to SVG offline with no JavaScript, so a report opens anywhere
with no network and nothing executable rides along with the data; it is small next to a
vega/plotly bundle and long maintained. Output is deterministic (fixed hash salt per chart,
no date in the metadata) so the same results give the same report bytes. Text stays text
(``svg.fonttype = none``), which matplotlib XML-escapes; ``text.parse_math`` is off so a
``$`` in a label is never read as TeX. Figures are built without pyplot (no global figure
registry), but rcParams are process-global: render reports from one thread at a time.
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

from schemas.codes import Status
from transforms.summary import STATUS_ORDER

__all__ = ["STATUS_COLORS", "bar_chart", "status_chart", "trend_chart"]

STATUS_COLORS: dict[str, str] = {
    Status.ACCEPTED: "#2e7d32",
    Status.SUBMITTED: "#66bb6a",
    Status.ALREADY_SENT: "#a5d6a7",
    Status.DRY_RUN: "#64b5f6",
    Status.READY: "#1e88e5",
    Status.INELIGIBLE: "#bdbdbd",
    Status.DUPLICATE: "#9575cd",
    Status.SUPPRESSED: "#ffb74d",
    Status.REJECTED: "#e53935",
    Status.VENDOR_REJECTED: "#ad1457",
    Status.FAILED: "#37474f",
}

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
_MAX_BARS = 15
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


def _figure(width: float, height: float) -> Figure:
    with mpl.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def status_chart(summary: Mapping[str, Any], chart_id: str = "chart-status") -> str:
    """Stacked horizontal bars: result rows per target, split by status."""
    targets: dict[str, dict[str, Any]] = summary["targets"]
    names = list(targets)
    figure = _figure(8.0, 0.9 + 0.45 * max(len(names), 1))
    with mpl.rc_context(_RC):
        axes = figure.add_subplot()
        left = [0] * len(names)
        for status in STATUS_ORDER:
            counts = [int(targets[name]["statuses"].get(status.value, 0)) for name in names]
            if any(counts):
                axes.barh(names, counts, left=left, label=status.value, color=STATUS_COLORS[status])
                left = [a + b for a, b in zip(left, counts, strict=True)]
        axes.invert_yaxis()
        axes.set_xlabel("result rows")
        axes.set_title("Results per target by status")
        if any(left):  # a run of no rows has no bars to name
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(figure, chart_id)


def bar_chart(counts: Mapping[str, int], title: str, chart_id: str, color: str = "#1e88e5") -> str:
    """Horizontal bars for the :data:`_MAX_BARS` largest counts (the rest summed as "other")."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(items) > _MAX_BARS:
        items = [*items[: _MAX_BARS - 1], ("other", sum(n for _, n in items[_MAX_BARS - 1 :]))]
    labels = [label for label, _ in items]
    values = [value for _, value in items]
    figure = _figure(5.2, 0.8 + 0.3 * max(len(items), 1))
    with mpl.rc_context(_RC):
        axes = figure.add_subplot()
        bars = axes.barh(labels, values, color=color)
        axes.bar_label(bars, padding=2, fontsize=8)
        axes.invert_yaxis()
        axes.set_title(title)
        axes.margins(x=0.12)
    return _svg(figure, chart_id)


def trend_chart(trend: pl.DataFrame, chart_id: str = "chart-trend") -> str:
    """Per target across runs: delivered (accepted + submitted) and not delivered
    (rejected + vendor_rejected + failed), oldest run first."""
    runs: Sequence[str] = trend["run_id"].unique(maintain_order=True).to_list()
    figure = _figure(9.0, 4.6)
    with mpl.rc_context(_RC):
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
