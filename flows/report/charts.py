"""The run report's charts: horizontal bars, written as inline SVG text.

Why by hand: the run report is written after every ``leadflow validate`` and import, and its
four charts are bars with labels. Drawn with matplotlib they took longer than validating a
small file does (its import 0.3 s, its layout engine 0.1-0.2 s a chart); as SVG text they take
microseconds and need no plotting library. The trend page's line chart still uses matplotlib
(flows.report.trend_chart), imported only there.

Every label is XML-escaped (a lead's country or a target's name can be anything); nothing but
``<svg>``, ``<g>``, ``<rect>``, ``<text>`` and ``<title>`` is written, no script, no style
attribute, no link. The same counts give the same bytes. Text widths are estimated (no font
metrics): labels are cut to :data:`_MAX_LABEL` characters, the full label in the bar's tooltip.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from schemas.codes import Status
from transforms.summary import STATUS_ORDER

__all__ = ["STATUS_COLORS", "bar_chart", "row_chart", "status_chart"]

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

_MAX_BARS = 15
_MAX_LABEL = 32
_FONT = 12
_CHAR = 0.6 * _FONT
"""Estimated width of a character of the sans-serif font at :data:`_FONT` px (digits and
capitals are about this wide, lower case less: an estimate that leaves room)."""
_ROW = 22
_BAR = 14
_TITLE = 28
_PAD = 8


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _label(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _svg(chart_id: str, title: str, width: float, height: float, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_esc(chart_id)}" role="img" '
        f'aria-label="{_esc(title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{_FONT}">'
        f'<text x="{_PAD}" y="{_TITLE - 10}" font-weight="bold" font-size="{_FONT + 1}">{_esc(title)}</text>'
        f"{''.join(body)}</svg>"
    )


def _rect(x: float, y: float, width: float, color: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{_BAR}" fill="{color}">'
        f"<title>{_esc(tip)}</title></rect>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{_esc(text)}</text>'


def _bars(
    rows: Sequence[tuple[str, Sequence[tuple[int, str, str | None]]]], width: float
) -> tuple[list[str], float]:
    """A row per (label, segments of (count, color, name or None)): labels right-aligned on
    the left, the segments stacked, the row's total after them. The body and the height."""
    label_width = max((len(_label(label)) for label, _ in rows), default=0) * _CHAR + 2 * _PAD
    totals = [sum(count for count, _, _ in segments) for _, segments in rows]
    number_width = len(f"{max(totals, default=0):,}") * _CHAR + _PAD
    scale = (width - label_width - number_width - _PAD) / max(max(totals, default=0), 1)
    body: list[str] = []
    for index, ((label, segments), total) in enumerate(zip(rows, totals, strict=True)):
        top = _TITLE + index * _ROW
        baseline = top + _BAR - 3
        body.append(_text(label_width - _PAD, baseline, _label(label), "end"))
        left = label_width
        for count, color, name in segments:
            if count:
                tip = f"{label}: {name} {count:,}" if name else f"{label}: {count:,}"
                body.append(_rect(left, top, count * scale, color, tip))
                left += count * scale
        body.append(_text(left + 4, baseline, f"{total:,}"))
    if not rows:
        body.append(_text(_PAD, _TITLE + _BAR - 3, "nothing to show"))
    return body, _TITLE + max(len(rows), 1) * _ROW + _PAD


def status_chart(summary: Mapping[str, Any], chart_id: str = "chart-status") -> str:
    """Stacked horizontal bars: the leads at each target (one result each), split by status,
    and a legend of the statuses present."""
    targets: dict[str, dict[str, Any]] = summary["targets"]
    shown = [s for s in STATUS_ORDER if any(int(t["statuses"].get(s.value, 0)) for t in targets.values())]
    rows: list[tuple[str, Sequence[tuple[int, str, str | None]]]] = [
        (name, [(int(t["statuses"].get(s.value, 0)), STATUS_COLORS[s], s.value) for s in shown])
        for name, t in targets.items()
    ]
    title = "Leads at each target, by status there"
    legend_width = max((len(s.value) for s in shown), default=0) * _CHAR + 3 * _PAD + _BAR
    width = 760.0
    body, height = _bars(rows, width - legend_width)
    for index, status in enumerate(shown):
        top = _TITLE + index * _ROW
        left = width - legend_width + _PAD
        swatch = STATUS_COLORS[status]
        body.append(f'<rect x="{left:.1f}" y="{top}" width="{_BAR}" height="{_BAR}" fill="{swatch}"/>')
        body.append(_text(left + _BAR + 6, top + _BAR - 3, status.value))
    height = max(height, _TITLE + len(shown) * _ROW + _PAD)
    return _svg(chart_id, title, width, height, body)


def bar_chart(counts: Mapping[str, int], title: str, chart_id: str, color: str = "#1e88e5") -> str:
    """Horizontal bars for the :data:`_MAX_BARS` largest counts (the rest summed as "other")."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(items) > _MAX_BARS:
        items = [*items[: _MAX_BARS - 1], ("other", sum(n for _, n in items[_MAX_BARS - 1 :]))]
    rows = [(str(label), [(int(count), color, None)]) for label, count in items]
    body, height = _bars(rows, 460.0)
    return _svg(chart_id, title, 460.0, height, body)


def row_chart(
    rows: Sequence[tuple[str, Sequence[tuple[int, str, str | None]]]], title: str, chart_id: str
) -> str:
    """Horizontal bars given as (label, segments of (count, color, name or None)), in the
    order given: for categories with their own colors (the leads' outcomes)."""
    body, height = _bars(rows, 460.0)
    return _svg(chart_id, title, 460.0, height, body)
