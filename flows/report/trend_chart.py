"""The trend page's chart (``leadflow report DIR --html``), drawn with matplotlib as inline SVG.

Why matplotlib here: three panels of lines over time, axes and ticks that adapt to any number of
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
from typing import Any

import matplotlib as mpl
import polars as pl
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
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


_STYLES: tuple[tuple[str, str, float], ...] = (
    ("o", "-", 9.0),
    ("s", "--", 7.0),
    ("^", ":", 6.0),
    ("D", "-.", 4.5),
    ("v", "--", 6.0),
    ("P", ":", 5.0),
)
"""(marker, line style, marker size) per target, in turn: targets whose lines coincide stay
apart, a big hollow marker around a smaller one, the dashes of one across the other."""

_PANELS = (
    ("delivered_share", "Delivered (accepted, submitted or already sent)"),
    ("rejected_share", "Rejected (by us or the vendor)"),
    ("failed_share", "Failed"),
)


def trend_chart(trend: pl.DataFrame, chart_id: str = "chart-trend") -> str:
    """Per target, over the runs' start times: the share of the target's leads accepted or
    submitted, rejected (rejected + vendor_rejected) and failed, in percent. Runs without a
    start time are left out (the page says which). The legend gives each target's latest value."""
    timed = trend.filter(pl.col("started").is_not_null()).sort("started", "folder")
    with mpl.rc_context(_RC):
        figure = Figure(figsize=(11.0, 3.8), layout="constrained")
        panels = figure.subplots(1, len(_PANELS), sharex=True, sharey=True)
        parts = timed.partition_by("target", as_dict=True, maintain_order=True)
        for index, ((target,), part) in enumerate(sorted(parts.items(), key=lambda item: str(item[0][0]))):
            marker, dashes, size = _STYLES[index % len(_STYLES)]
            for axes, (column, _) in zip(panels, _PANELS, strict=True):
                values = [None if v is None else 100 * v for v in part[column].to_list()]
                latest = next((v for v in reversed(values) if v is not None), None)
                label = f"{target} (latest {latest:.0f}%)" if latest is not None else str(target)
                axes.plot(
                    part["started"].to_list(),
                    [float("nan") if v is None else v for v in values],
                    marker=marker,
                    linestyle=dashes,
                    markersize=size,
                    markerfacecolor="none" if index % 2 == 0 else None,
                    markeredgewidth=1.4,
                    linewidth=1.4,
                    label=label,
                    color=f"C{index % 10}",
                )
        for axes, (_, title) in zip(panels, _PANELS, strict=True):
            axes.set_title(f"{title}, % of leads")
            axes.set_ylim(-3, 103)
            axes.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            locator = AutoDateLocator(minticks=2, maxticks=6)  # type: ignore[no-untyped-call]
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
            axes.grid(axis="y", color="#e4e7eb", linewidth=0.8)
            if timed.height:
                axes.legend(loc="best", fontsize=7, frameon=False)
        figure.supxlabel("run started (UTC)", fontsize=8)
    return _svg(figure, chart_id)
