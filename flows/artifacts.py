"""What a run publishes to Prefect: the report's content itself, readable in the UI.

An artifact used to link the HTML report as ``file://``, which a browser refuses to open from
an http page (and which points at another machine's disk when the run ran on a worker). So the
artifacts carry what an operator opens the report for, lead first:

``import-summary`` (markdown)
    leads by outcome (each input row counted once, whatever its number of targets), each
    target's statuses, the verdict, the top reasons, the first leads needing attention, and
    where the run folder is (a link when ``leadflow serve`` serves it over http)
``rows-needing-attention`` (table)
    one row per lead needing attention (first ``ATTENTION_LIMIT``): its values as read, its
    reasons, its status at each target, what the vendors said; the artifact's description
    says how many were left out

Prefect's UI renders every text cell of a table artifact as markdown, like the summary, so
every text taken from a lead file or a vendor answer is escaped (``md_escape``: a name with
``|`` or ``<script>`` shows as typed) and cut at ``CELL_LIMIT`` characters. Credentials never
reach a result row, so none can reach an artifact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl

from flows.verdict import judge
from schemas.codes import Status
from transforms.summary import STATUS_ORDER, as_read, needs_attention

__all__ = [
    "ATTENTION_LIMIT",
    "CELL_LIMIT",
    "PREVIEW_LIMIT",
    "attention_count",
    "attention_leads",
    "attention_table",
    "lead_outcomes",
    "md_escape",
    "summary_markdown",
]

ATTENTION_LIMIT = 500
"""Leads in the table artifact: enough to act on, small enough for Prefect's database and UI."""
PREVIEW_LIMIT = 20
"""Leads needing attention shown in the summary itself."""
CELL_LIMIT = 200
"""Characters of one value shown (values as read can be anything a file holds)."""
_TOP_REASONS = 5
_PUNCTUATION = r"([!-/:-@\[-`{-~])"  # every ASCII punctuation character: CommonMark escapes each
_DELIVERED = [s.value for s in (Status.ACCEPTED, Status.SUBMITTED, Status.ALREADY_SENT, Status.DRY_RUN)]


def md_escape(text: object) -> str:
    """``text`` as literal markdown: on one line, every ASCII punctuation character escaped."""
    value = re.sub(r"\s+", " ", str(text))
    return re.sub(_PUNCTUATION, r"\\\1", value)


def _md_escape_expr(column: pl.Expr) -> pl.Expr:
    """``md_escape`` in polars, after cutting the value at ``CELL_LIMIT`` characters."""
    cut = (
        pl.when(column.str.len_chars() > CELL_LIMIT)
        .then(column.str.slice(0, CELL_LIMIT - 1) + pl.lit("…"))
        .otherwise(column)
    )
    return cut.str.replace_all(r"\s+", " ").str.replace_all(_PUNCTUATION, r"\$1").fill_null("")


def lead_outcomes(results: pl.DataFrame | pl.LazyFrame) -> dict[str, int]:
    """Leads (input rows) by what happened to them across the run's targets, each counted once:
    ``delivered_everywhere`` / ``delivered_somewhere`` (to every / at least one target, dry run
    included), ``rejected`` (unusable data: the same at every target), ``duplicate``,
    ``suppressed``, ``attention`` (a lead some target needs someone for). ``results`` may be a
    lazy scan of a run's parts: three columns are read, a few bytes a lead held."""
    per_lead = (
        results.lazy()
        .group_by("source_row")
        .agg(
            everywhere=pl.col("status").is_in(_DELIVERED).all(),
            somewhere=pl.col("status").is_in(_DELIVERED).any(),
            rejected=(pl.col("status") == Status.REJECTED.value).any(),
            duplicate=(pl.col("status") == Status.DUPLICATE.value).any(),
            suppressed=(pl.col("status") == Status.SUPPRESSED.value).any(),
            attention=needs_attention().any(),
        )
    )
    counted = (
        per_lead.select(pl.len().alias("leads"), pl.exclude("source_row").sum())
        .collect(engine="streaming")
        .row(0, named=True)
    )
    return {
        "leads": int(counted["leads"]),
        "delivered_everywhere": int(counted["everywhere"]),
        "delivered_somewhere": int(counted["somewhere"]),
        "rejected": int(counted["rejected"]),
        "duplicate": int(counted["duplicate"]),
        "suppressed": int(counted["suppressed"]),
        "attention": int(counted["attention"]),
    }


def attention_count(results: pl.DataFrame | pl.LazyFrame) -> int:
    """How many leads need attention (at any target)."""
    return len(_flagged(results))


def _flagged(results: pl.DataFrame | pl.LazyFrame) -> pl.Series:
    """The source rows of the leads needing attention, in order (three columns read)."""
    flagged = (
        results.lazy()
        .select("source_row", "status", "reasons")
        .filter(needs_attention())
        .select(pl.col("source_row").unique())
        .collect(engine="streaming")
    )
    return flagged["source_row"].sort()


def attention_leads(results: pl.DataFrame | pl.LazyFrame, limit: int | None = None) -> pl.DataFrame:
    """Every lead needing attention (the first ``limit`` by source row), one row each by source
    row: ``name``, ``as_read``, ``reasons`` (all targets'), one column per target holding its
    status there, and ``vendor`` (what each vendor said and the lead's id there). Unescaped:
    ``attention_table`` escapes. Only those leads' results are read whole (``results`` may be
    a lazy scan of a run's parts)."""
    flagged = _flagged(results)
    if limit is not None:
        flagged = flagged.head(limit)
    rows = (
        results.lazy()
        .filter(pl.col("source_row").is_in(flagged.implode()))
        .sort("source_row", "target")
        .collect()
    )
    said = pl.concat_str(
        [
            pl.col("target") + pl.lit(":"),
            pl.col("vendor_status"),
            pl.col("vendor_message"),
            pl.lit("(id ") + pl.col("external_id") + pl.lit(")"),
        ],
        separator=" ",
        ignore_nulls=True,
    )
    vendor_said = pl.col("vendor_status").is_not_null() | pl.col("vendor_message").is_not_null()
    leads = rows.group_by("source_row", maintain_order=True).agg(
        name=pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True).first(),
        as_read=as_read().first(),
        reasons=pl.col("reasons")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True)
        .str.join(", "),
        vendor=said.filter(vendor_said).str.join("; "),
    )
    statuses = rows.pivot(on="target", index="source_row", values="status", aggregate_function="first")
    return leads.join(statuses, on="source_row", how="left", maintain_order="left")


def attention_table(results: pl.DataFrame | pl.LazyFrame) -> tuple[list[dict[str, Any]], str]:
    """The ``rows-needing-attention`` table (first ``ATTENTION_LIMIT`` leads, text escaped for
    Prefect's markdown cells) and its description, which says how many leads were left out."""
    count = attention_count(results)
    shown = attention_leads(results, ATTENTION_LIMIT)
    table = shown.with_columns(_md_escape_expr(pl.col(c)) for c in shown.columns if c != "source_row")
    described = f"{count:,} leads need attention (failed, refused by a vendor, rejected)"
    if count > ATTENTION_LIMIT:
        described += (
            f"; the first {ATTENTION_LIMIT:,} are listed, {count - ATTENTION_LIMIT:,} left out: "
            "all are in the run folder (`leadflow report RUN --csv`)"
        )
    return table.to_dicts(), described


def _leads_lines(outcomes: dict[str, int], targets: int) -> list[str]:
    lines = [f"- {outcomes['delivered_everywhere']:,} delivered to every target"]
    if targets > 1:
        lines.append(f"- {outcomes['delivered_somewhere']:,} delivered to at least one target")
    lines += [
        f"- {outcomes['rejected']:,} rejected for their data (at every target)",
        f"- {outcomes['duplicate']:,} duplicates, {outcomes['suppressed']:,} on a do-not-contact list",
        f"- **{outcomes['attention']:,} need attention**",
    ]
    return lines


def _preview(results: pl.DataFrame | pl.LazyFrame, targets: list[str]) -> list[str]:
    """The first ``PREVIEW_LIMIT`` leads needing attention as a markdown table, escaped."""
    count = attention_count(results)
    leads = attention_leads(results, PREVIEW_LIMIT)
    if leads.is_empty():
        return ["No lead needs attention."]
    columns = ["source_row", "name", "as_read", "reasons", *targets]
    lines = [
        "| row | name | as read | reasons | " + " | ".join(md_escape(t) for t in targets) + " |",
        "|---:|---|---|---|" + "---|" * len(targets),
    ]
    for row in leads.select(columns).iter_rows(named=True):
        cells = [str(row["source_row"])] + [
            md_escape(_cut(row[c])) if row[c] is not None else "" for c in columns[1:]
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if count > PREVIEW_LIMIT:
        lines += ["", f"… and {count - PREVIEW_LIMIT:,} more in the table `rows-needing-attention`."]
    return lines


def _cut(value: object) -> str:
    text = str(value)
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def summary_markdown(
    summary: dict[str, Any],
    *,
    run_dir: Path | str,
    source: str,
    dry_run: bool,
    region_note: str | None = None,
    results: pl.DataFrame | pl.LazyFrame | None = None,
    report_url: str | None = None,
) -> str:
    """The run's summary: leads by outcome and the first leads needing attention (from
    ``results``), each target's statuses, the verdict line (flows.verdict), the top reasons,
    what the file's numbers said of its region when none was given, and where the run folder
    is (``report_url``: the report over http, when served)."""
    statuses = [
        s.value for s in STATUS_ORDER if any(s.value in t["statuses"] for t in summary["targets"].values())
    ]
    targets = list(summary["targets"])
    lines = [f"# Leadflow import of {md_escape(Path(source).name)}" + (" (dry run)" if dry_run else ""), ""]
    lines += [*([md_escape(region_note), ""] if region_note else [])]
    lines += [f"## {summary['rows']:,} leads", ""]
    if results is not None:
        lines += [*_leads_lines(lead_outcomes(results), len(targets)), ""]
    lines += [
        "## Per target (one result per lead)",
        "",
        "| target | " + " | ".join(statuses) + " | total |",
        "|---|" + "---:|" * (len(statuses) + 1),
    ]
    for name, target in summary["targets"].items():
        counts = " | ".join(f"{target['statuses'].get(s, 0):,}" for s in statuses)
        lines.append(f"| {md_escape(name)} | {counts} | {target['total']:,} |")
    verdict = judge(summary, dry_run=dry_run)
    lines += ["", f"## Verdict: exit code {int(verdict.code)}", ""]
    lines += [f"- {md_escape(target.line())}" for target in verdict.targets]
    lines += ["", "## Top reasons", ""]
    for name, target in summary["targets"].items():
        top = sorted(target["reasons"].items(), key=lambda item: -item[1])[:_TOP_REASONS]
        shown = ", ".join(f"`{code}` {count:,}" for code, count in top) or "none"
        lines.append(f"- **{md_escape(name)}**: {shown}")
    if results is not None:
        lines += ["", "## Leads needing attention", "", *_preview(results, targets)]
    lines += ["", "## Run folder", ""]
    if report_url:
        lines.append(f"[HTML report]({report_url}) · [run folder]({report_url.rsplit('/', 1)[0]}/)  ")
    lines += [f"Results Parquet: `{run_dir}/results`  ", f"HTML report: `{run_dir}/report.html`"]
    return "\n".join(lines) + "\n"
