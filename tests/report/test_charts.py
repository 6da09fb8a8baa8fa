"""The run report's bar charts: SVG text, every label escaped, bars to scale, same bytes."""

from __future__ import annotations

import re
from typing import Any

from flows.report.charts import STATUS_COLORS, bar_chart, status_chart

HOSTILE = '<script>alert("x")</script>&'


def _summary(targets: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"targets": {name: {"statuses": statuses} for name, statuses in targets.items()}}


def _widths(svg: str, color: str) -> list[float]:
    return [float(w) for w in re.findall(rf'width="([0-9.]+)" height="14" fill="{color}"><title>', svg)]


def test_labels_and_titles_from_the_data_are_escaped_text() -> None:
    svg = bar_chart({HOSTILE: 3, "DE": 1}, HOSTILE, "chart-x")

    assert "<script" not in svg
    assert svg.count("&lt;script&gt;") >= 3  # title, label, tooltip
    assert set(re.findall(r"<([a-z]+)", svg)) == {"svg", "text", "rect", "title"}


def test_bars_are_to_scale_and_carry_their_counts() -> None:
    svg = bar_chart({"US": 300, "DE": 100}, "Countries", "chart-countries", "#00897b")

    us, de = _widths(svg, "#00897b")
    assert abs(us / de - 3) < 0.01
    assert ">300</text>" in svg
    assert ">100</text>" in svg


def test_more_than_fifteen_labels_sum_the_rest_as_other() -> None:
    counts = {f"R{index:02d}": 100 - index for index in range(20)}

    svg = bar_chart(counts, "Countries", "chart-countries")

    assert svg.count("<rect") == 15
    assert f">{sum(100 - index for index in range(14, 20))}</text>" in svg
    assert ">other</text>" in svg


def test_status_chart_stacks_each_target_and_names_only_the_statuses_present() -> None:
    summary = _summary({"obi": {"accepted": 8, "failed": 2}, "engage": {"accepted": 5}})

    svg = status_chart(summary)

    accepted = _widths(svg, STATUS_COLORS["accepted"])
    assert abs(accepted[0] / accepted[1] - 8 / 5) < 0.01
    assert len(_widths(svg, STATUS_COLORS["failed"])) == 1
    assert ">accepted</text>" in svg
    assert ">failed</text>" in svg
    assert ">rejected</text>" not in svg
    assert ">10</text>" in svg  # obi's total


def test_long_labels_are_cut_and_kept_whole_in_the_tooltip() -> None:
    label = "a-target-name-far-longer-than-a-chart-label-can-be"

    svg = bar_chart({label: 1}, "Targets", "chart-t")

    assert f">{label}</text>" not in svg
    assert f"<title>{label}: 1</title>" in svg


def test_same_counts_give_the_same_bytes_and_no_rows_still_draw() -> None:
    assert bar_chart({"a": 1}, "T", "c") == bar_chart({"a": 1}, "T", "c")
    assert "nothing to show" in bar_chart({}, "Reasons", "chart-reasons")
    assert status_chart(_summary({})).startswith("<svg")
