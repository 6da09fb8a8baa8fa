"""The run report: ``leadflow report`` (command), and what it reads and draws.

runs (a run folder and its results) and run_folders (the runs under a folder, at any depth,
and the folders skipped; the trend's rates) -> leads (one row per lead, its outcome at each
target) -> lead_sections (leads first) and sections (per target, inputs, glossary) ->
html_page / console / csv_export (the three ways to show it); markup escapes every value,
charts and trend_chart draw, assets hold the inline style and script.
"""

__all__ = ["DEFAULT_OUT"]

DEFAULT_OUT = "leadflow-out"
"""``leadflow import``'s and ``validate``'s ``--out`` default, where ``leadflow report`` looks up a
run id; here, not in flows.report.runs, so that ``leadflow report --help`` loads no data library."""
