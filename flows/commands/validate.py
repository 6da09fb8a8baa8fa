"""``leadflow validate FILE``: check and normalize a lead file without sending anything.

Writes the same run folder an import writes, with the single target ``validate``: every
row gets ``ready``, ``rejected``, ``duplicate`` or ``suppressed`` with its reasons, so the
file can be fixed before the real import.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flows.commands.help_text import plain

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from flows.prepare import PreparedLeads, PrepareOptions

__all__ = ["add_prepare_arguments", "dnc_line", "main", "mapping_table", "prepare_options", "print_prepared"]


def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="lead file: CSV (any common encoding/delimiter) or Parquet")
    parser.add_argument("--country", help="default country for national numbers (ISO code or name)")
    parser.add_argument("--mapping", type=Path, help="per-source column mapping (TOML)")
    parser.add_argument(
        "--encoding",
        help="the CSV's text encoding, e.g. cp1250 (Central European), cp1251 (Cyrillic), shift_jis; "
        "default: detected (UTF-8, else cp1252)",
    )
    parser.add_argument(
        "--suppress", type=Path, action="append", default=[], help="do-not-contact list (repeatable)"
    )
    parser.add_argument(
        "--source", help="source name for generated external ids (default: mapping or file name)"
    )
    parser.add_argument(
        "--ledger",
        help="ledger: a SQLite file or a postgresql:// URL; its do-not-contact store (leadflow dnc) "
        "is applied (default $LEADFLOW_LEDGER or <out>/ledger.sqlite)",
    )
    parser.add_argument(
        "--out",
        default="leadflow-out",
        help="output folder, or an fsspec URL such as s3://bucket/runs (default %(default)s)",
    )


def prepare_options(args: argparse.Namespace) -> PrepareOptions:
    from flows.prepare import PrepareOptions
    from flows.run.ledger_spec import store_ledger

    return PrepareOptions(
        country=args.country,
        mapping=args.mapping,
        encoding=args.encoding,
        suppress=tuple(args.suppress),
        source=args.source,
        ledger=store_ledger(args.out, args.ledger),
    )


def dnc_line(prepared: PreparedLeads) -> str | None:
    """What the run applied of the do-not-contact store, in one line (None: no entries)."""
    if not prepared.dnc_lists:
        return None
    entries = sum(listed.entries for listed in prepared.dnc_lists)
    names = ", ".join(f"{listed.name} ({listed.entries:,})" for listed in prepared.dnc_lists)
    return f"Do-not-contact store applied: {entries:,} entries in force on {names}"


def print_prepared(console: Console, prepared: PreparedLeads) -> None:
    """What validate and import show once a file is read: the column mapping, then the region
    inference's note and the do-not-contact store's line where there are any."""
    from rich.text import Text

    console.print(mapping_table(prepared))
    for note in (prepared.region_note, dnc_line(prepared)):
        if note:
            console.print(Text(note))


def mapping_table(prepared: PreparedLeads) -> Table:
    from rich.table import Table
    from rich.text import Text

    ingested = prepared.ingested
    detected = f"{ingested.format}" + (
        f", {ingested.encoding}, delimiter {ingested.delimiter!r}" if ingested.format == "csv" else ""
    )
    table = Table(title=f"Column mapping ({detected})", title_justify="left")
    table.add_column("column")
    table.add_column("from header")
    table.add_column("how")
    for name, header, origin in prepared.applied.rows():
        table.add_row(Text(name), Text(header or "-"), Text(origin))
    return table


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow validate", description=plain(__doc__))
    add_prepare_arguments(parser)
    args = parser.parse_args(argv)
    # imported once the arguments are read: ``--help`` and a usage error need none of them;
    # without collecting, and kept out of the collector's walks while the run goes on (flows.heap)
    from connectors.heap import frozen_heap
    from flows.heap import collector_off

    with collector_off():
        import polars as pl
        from rich.text import Text

        from flows.allocator import release_freed
        from flows.console import USER_ERRORS, new_console, print_error, stage
        from flows.prepare_batches import prepare_batches, read_ahead
        from flows.report.command import report_finished_run
        from flows.report.lead_batches import RunningLeads
        from flows.report.lead_sections import LEAD_LIMIT
        from flows.run.finish import finish_run_in_batches
        from flows.run.store import RunNotPublished, run_output
        from transforms.dedupe_batches import BatchDedupe
        from transforms.ingest_batches import validate_batch_rows
        from transforms.outputs import new_run_id
        from transforms.results import VALIDATE_TARGET, build_results

    with frozen_heap():
        console = console or new_console()
        started = datetime.now(UTC)
        try:
            ahead = read_ahead()
            with stage(console, f"Read {args.file}"):
                # one batch in hand at a time: a small file's batches are larger (fewer fixed costs)
                batched = prepare_batches(
                    args.file, prepare_options(args), validate_batch_rows, first_beside=True
                )
        except USER_ERRORS as error:
            print_error(console, error)
            return 1
        prepared = batched.prepared
        print_prepared(console, prepared)
        run_id = new_run_id(started)
        taken = RunningLeads(LEAD_LIMIT)  # the report's lead figures, as the results are written
        try:
            with run_output(args.out) as output:
                with stage(console, f"Normalized and wrote results of {prepared.rows:,} rows"):

                    def results(clean: pl.DataFrame) -> pl.DataFrame:
                        return build_results(
                            clean, run_id=run_id, source_file=str(args.file), target=VALIDATE_TARGET
                        )

                    run_dir = finish_run_in_batches(
                        prepared,
                        batched.undeduped(ahead),
                        [(VALIDATE_TARGET, VALIDATE_TARGET, results)],
                        run_id=run_id,
                        started=started,
                        out_dir=output.folder,
                        dry_run=False,
                        report=False,  # written below, from the figures the terminal shows too
                        built_behind=True,
                        # duplicates marked in the writer's thread, batch after batch in file
                        # order, beside the next batch's normalizing
                        marked=BatchDedupe().apply,
                        seen=taken.add,
                    )
                # the dedupe's keys (0.3 GB at 10M rows, mostly in the C heap) went with the
                # batches: their pages go back before the report reads the results
                release_freed()
                report_finished_run(run_dir, console, taken)
                where = output.publish(run_dir)
        except RunNotPublished as error:
            print_error(console, error)
            return 1
        except USER_ERRORS as error:  # a batch's file-level problem, found as it is read
            print_error(console, error)
            return 1
        console.print(Text(f"Results: {where}/results"))
        console.print(Text(f"Report:  {where}/report.html"))
        return 0
