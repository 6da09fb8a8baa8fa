"""The end of every run, with or without targets: check the row invariant, write the run folder.

Its own module, apart from flows.importer (which sends), so that ``leadflow validate``, which
sends nothing, does not import httpx, the connectors and the ledgers to write its results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flows.inbox.layout import recorded_source
from flows.report.html_page import write_html_report
from transforms.outputs import RunInfo, write_run
from transforms.results import check_row_invariant

if TYPE_CHECKING:
    from flows.prepare import PreparedLeads

__all__ = ["finish_run"]


def finish_run(
    prepared: PreparedLeads,
    results: Sequence[pl.DataFrame],
    targets: Sequence[tuple[str, str]],
    *,
    run_id: str,
    started: datetime,
    out_dir: Path,
    dry_run: bool,
    report: bool = True,
) -> Path:
    """Check the row invariant, write the run folder and (``report``) its HTML report; the
    run folder. ``targets`` are (name, kind) pairs, in the order of ``results``.
    bench/normalize.py times it without the report."""
    combined = pl.concat(results)
    check_row_invariant(combined, prepared.rows, len(targets))
    source = recorded_source(prepared.ingested.path)
    info = RunInfo(
        run_id=run_id,
        source_file=source.source_file,
        dropped_as=source.dropped_as,
        fingerprint=prepared.ingested.fingerprint,
        started_at=started.isoformat(timespec="seconds"),
        default_country=prepared.default_region,
        default_country_source=prepared.region_source,
        region_inference=prepared.region_note,
        mapping=dict(prepared.applied.columns),
        unmapped=list(prepared.applied.attributes),
        targets=[{"name": name, "kind": kind} for name, kind in targets],
        rows=prepared.rows,
        dry_run=dry_run,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        suppression_lists=[asdict(applied) for applied in prepared.suppression_lists],
        dnc_store=prepared.dnc_store,
        dnc_lists=[asdict(listed) for listed in prepared.dnc_lists],
    )
    run_dir = write_run(out_dir, info, combined)
    if report:
        write_html_report(run_dir)
    return run_dir
