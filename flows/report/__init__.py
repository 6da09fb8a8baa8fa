"""The run report: ``leadflow report`` (command), and what it reads and draws.

runs (a run folder and its results) and run_folders (the runs under a folder, at any depth,
and the folders skipped; the trend's rates) -> leads (one row per lead, its outcome at each
target) -> lead_sections (leads first) and sections (per target, inputs, glossary) ->
html_page / console / csv_export (the three ways to show it); markup escapes every value,
charts and trend_chart draw, assets hold the inline style and script.
"""
