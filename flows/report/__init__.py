"""The run report: ``leadflow report`` (command), and what it reads and draws.

runs (find run folders and results) -> sections (one function per part of the page) ->
html_page / console / csv_export (the three ways to show it); markup escapes every value,
charts and trend_chart draw, assets hold the inline style and script.
"""
