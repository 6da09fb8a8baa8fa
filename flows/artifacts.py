"""What a run publishes to Prefect: a markdown summary and the rows needing attention.

Artifacts live in Prefect's database and UI, so they carry counts, reason codes and row
numbers, plus names and contacts only for rows someone must act on (capped), never
credentials. Markdown special characters from lead data are escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from flows.verdict import judge
from transforms.summary import STATUS_ORDER, as_read, attention_rows

__all__ = ["ATTENTION_LIMIT", "attention_table", "summary_markdown"]

ATTENTION_LIMIT = 500
_TOP_REASONS = 5


def _escape(text: object) -> str:
    value = str(text)
    for ch in "\\`*_{}[]<>()#+-.!|":
        value = value.replace(ch, "\\" + ch)
    return value


def summary_markdown(
    summary: dict[str, Any],
    *,
    run_dir: Path | str,
    source: str,
    dry_run: bool,
    region_note: str | None = None,
) -> str:
    """Per target: counts by status, the verdict line (flows.verdict), the top reasons; where the
    results and report are; what the file's numbers said of its region, when none was given."""
    statuses = [
        s.value for s in STATUS_ORDER if any(s.value in t["statuses"] for t in summary["targets"].values())
    ]
    lines = [
        f"# Leadflow import of `{Path(source).name}`" + (" (dry run)" if dry_run else ""),
        "",
        f"{summary['rows']:,} input rows, {summary['attention']:,} result rows need attention.",
        "",
        *([_escape(region_note), ""] if region_note else []),
        "| target | " + " | ".join(statuses) + " | total |",
        "|---|" + "---:|" * (len(statuses) + 1),
    ]
    for name, target in summary["targets"].items():
        counts = " | ".join(f"{target['statuses'].get(s, 0):,}" for s in statuses)
        lines.append(f"| {_escape(name)} | {counts} | {target['total']:,} |")
    verdict = judge(summary)
    lines += ["", f"## Verdict: exit code {int(verdict.code)}", ""]
    lines += [f"- {_escape(target.line())}" for target in verdict.targets]
    lines += ["", "## Top reasons", ""]
    for name, target in summary["targets"].items():
        top = sorted(target["reasons"].items(), key=lambda item: -item[1])[:_TOP_REASONS]
        shown = ", ".join(f"`{code}` {count:,}" for code, count in top) or "none"
        lines.append(f"- **{_escape(name)}**: {shown}")
    lines += [
        "",
        f"Results Parquet: `{run_dir}/results`  ",
        f"HTML report: `{run_dir}/report.html`",
    ]
    return "\n".join(lines) + "\n"


def attention_table(results: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows that failed, were refused by a vendor or were rejected (first ATTENTION_LIMIT), each
    with its refused values as read beside the reasons (``as_read``: ``phone1: 555-CALL``)."""
    rows = attention_rows(results).head(ATTENTION_LIMIT)
    return rows.select(
        "source_row",
        "target",
        "status",
        reasons=pl.col("reasons").list.join(", "),
        as_read=as_read(),
        vendor_status=pl.col("vendor_status").fill_null(""),
        vendor_message=pl.col("vendor_message").fill_null(""),
        external_id="external_id",
    ).to_dicts()
