"""``leadflow import FILE --targets FILE``: send a lead file to the configured dialer targets.

The same steps as the ``import_leads`` Prefect flow (flows.importer), run directly in this
process with a progress bar per target; every target is sent to concurrently. ``--dry-run``
builds every payload and chunk and predicts per-row outcomes without sending anything.
``--prefect`` runs the Prefect flow instead (artifacts and run history in Prefect), after the
checks that need no reading of the file (the targets file and its credentials, the mapping, the
country, the lead file and ``--suppress`` lists can be opened): a mistake there is one ``Error:``
line at once, with no flow run; one the flow finds is that line too, without Prefect's traceback.
``--partitions K`` runs that flow with the file split into K row ranges, each a flow run on the
Prefect work pool (a Prefect server with the import-partition deployment and workers).

The run ends with one verdict line per target and exits with the code of flows.verdict
(0 sent, 3 rows failed, 4 a target stopped or got nothing; 1 a bad file or setting), the same
with ``--prefect``, whose flow run then ends ``Failed``. The run folder is written either way.
Ctrl-C stops the run where it is (requests under way are cancelled, the vendors' sessions
closed), writes no run folder and exits 130 with one line saying what it left: what the vendors
took is in the ledger, and the same command run again sends the rest (:func:`_interrupted`).
A run that failed, could not send, or had too many leads rejected posts an alert to
``$LEADFLOW_ALERT_WEBHOOK`` when set (flows.alerts; with ``--prefect``, the flow does).
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.commands.help_text import plain
from flows.commands.validate import add_prepare_arguments

if TYPE_CHECKING:
    from rich.console import Console

    from connectors.base import Connector
    from flows.prepare_batches import BatchedLeads
    from flows.run.store import RunNotWritten

__all__ = ["add_import_arguments", "main"]


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    add_prepare_arguments(parser)
    parser.add_argument("--targets", type=Path, required=True, help="targets file (TOML), see README")
    parser.add_argument(
        "--target", action="append", default=[], dest="target_names", help="only this target (repeatable)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="build payloads and predict outcomes; send nothing"
    )
    parser.add_argument("--resend", action="store_true", help="send again what the ledger says was delivered")
    parser.add_argument(
        "--compliance",
        metavar="PROFILE",
        help="calling hours of every voice/SMS target without its own (us-tcpa, us-tcpa-strict, uk, de), "
        "in place of the targets file's run-level compliance; run.json records each target's",
    )
    parser.add_argument(
        "--partitions",
        type=_partitions,
        default=1,
        help="send the file as K row ranges, each a flow run on the Prefect work pool (implies --prefect; "
        "needs PREFECT_API_URL and the import-partition deployment, see README)",
    )


def _partitions(given: str) -> int:
    try:
        count = int(given)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{given!r} is not a number of partitions (1 or more)")
    return count


def _run_with_prefect(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from flows.console import print_verdict, quiet_user_errors
    from flows.import_leads import import_leads, summary_of
    from flows.report.command import run_report
    from flows.run.store import is_remote
    from flows.split.parent import PARTITION_DEPLOYMENT
    from flows.verdict import judge

    with quiet_user_errors():  # the flow run's own log keeps the traceback; the terminal, one line
        state = import_leads(
            str(args.file),
            str(args.targets),
            out_dir=str(args.out),
            country=args.country,
            mapping=str(args.mapping) if args.mapping else None,
            suppress=[str(p) for p in args.suppress],
            dry_run=args.dry_run,
            resend=args.resend,
            target_names=args.target_names or None,
            ledger=str(args.ledger) if args.ledger else None,
            partitions=args.partitions,
            partition_deployment=PARTITION_DEPLOYMENT if args.partitions > 1 else None,
            compliance=args.compliance,
            encoding=args.encoding,
            return_state=True,
        )
    summary = summary_of(state)  # raises a bad file's or setting's error: main() prints its line
    if is_remote(str(summary["run_dir"])):
        console.print(Text(f"Run folder: {summary['run_dir']}"))
    else:
        run_report(Path(summary["run_dir"]), None, None, console)
    verdict = judge(summary, dry_run=args.dry_run)
    print_verdict(console, verdict)
    return int(verdict.code)


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow import", description=plain(__doc__))
    add_import_arguments(parser)
    parser.add_argument("--prefect", action="store_true", help="run as the import_leads Prefect flow")
    args = parser.parse_args(argv)
    # imported once the arguments are read: ``--help`` and a usage error need none of them
    from connectors.config_error import ConfigError
    from flows.alerts import alert_run
    from flows.commands.validate import prepare_options
    from flows.console import USER_ERRORS, new_console, print_error, print_interrupted, stage
    from flows.importer import ledger_path, load_connectors
    from flows.prepare_batches import check_inputs, prepare_batches
    from flows.run.store import RunNotWritten
    from flows.verdict import ExitCode

    console = console or new_console()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry URLs, some with logins
    started = datetime.now(UTC)
    in_flow = args.prefect or args.partitions > 1
    try:
        ledger = ledger_path(args.out, args.ledger)  # refused here, before Prefect stores it
        if args.partitions > 1:
            from flows.split.parent import pool_problem

            problem = pool_problem()
            if problem:
                raise ConfigError(problem)
        connectors = load_connectors(
            args.targets, args.target_names, dry_run=args.dry_run, compliance=args.compliance
        )
        if in_flow:
            # what can be checked without reading the file, before a flow run starts (and
            # Prefect's temporary server with it): a mistake is one line at once
            check_inputs(args.file, prepare_options(args))
        else:
            with stage(console, f"Read {args.file}"):
                batched = prepare_batches(args.file, prepare_options(args))
    except USER_ERRORS as error:
        print_error(console, error)
        alert_run(run_id=None, source=str(args.file), summary=None, error=error)
        return 1
    try:
        if not in_flow:
            return _send_file(batched, connectors, args, console, ledger=ledger, started=started)
        return _run_with_prefect(args, console)
    except RunNotWritten as error:  # the flow's run folder (a full disk): the flow alerted
        print_error(console, ConfigError(_unwritten(error, ledger, dry_run=args.dry_run)))
        return 1
    except USER_ERRORS as error:  # found inside the flow (a late batch, the file's columns)
        print_error(console, error)  # the flow alerted for its own run
        return 1
    except KeyboardInterrupt:
        print_interrupted(console, _interrupted(ledger, dry_run=args.dry_run, in_flow=in_flow))
        return int(ExitCode.INTERRUPTED)


def _unwritten(error: RunNotWritten, ledger: str | Path, *, dry_run: bool) -> str:
    """The run folder's error, and what the import left: what it sent before its results could
    not be written is in the ledger, which the rerun reads (delivered leads: ``already_sent``)."""
    if dry_run:
        return f"{error}; nothing was sent (dry run)"
    return (
        f"{error}: it skips what this import delivered, recorded in the ledger {ledger}, and "
        "writes the results of every row"
    )


def _interrupted(ledger: str | Path, *, dry_run: bool, in_flow: bool) -> str:
    """What an import stopped by Ctrl-C left, and what to do. Nothing the run delivered is lost:
    each chunk was claimed in the ledger before it was sent and settled when answered; a chunk
    whose request was under way stays claimed by the run's lease, after which the next run
    settles it through the vendor (README, ``IN_PROGRESS_ELSEWHERE``)."""
    from connectors.lease import LEASE_ENV, lease_seconds

    if dry_run:
        return "the dry run stopped before it finished; nothing was sent and no run folder was written."
    stopped = "the import_leads flow run stopped" if in_flow else "the import stopped"
    return (
        f"{stopped} before it finished; no run folder was written. What the vendors took is recorded "
        f"in the ledger {ledger}. Run the same command again to send the rest: it skips what was "
        f"delivered, and settles the leads whose requests were under way with the vendor once their "
        f"claim lapses ({lease_seconds():g} s, {LEASE_ENV})."
    )


def _send_file(
    batched: BatchedLeads,
    connectors: list[Connector],
    args: argparse.Namespace,
    console: Console,
    *,
    ledger: str | Path,
    started: datetime,
) -> int:
    """Send the file batch by batch (flows.import_batches), write and publish the run folder,
    print the verdict; the exit code."""
    from rich.text import Text

    from connectors.config_error import ConfigError
    from flows.alerts import alert_run
    from flows.commands.import_progress import Bars, progress
    from flows.commands.validate import print_prepared
    from flows.console import USER_ERRORS, print_error, print_verdict, stage
    from flows.import_batches import SendSettings, send_in_batches
    from flows.report.command import run_report
    from flows.run.store import RunNotPublished, RunNotWritten, run_output
    from flows.verdict import judge
    from transforms.outputs import new_run_id

    prepared = batched.prepared
    print_prepared(console, prepared)
    # which ledger decides what was delivered: the default follows --out, so two commands run
    # from different folders (or a watched folder's ROOT/runs) would each send the same leads
    skips = "ignored (--resend)" if args.resend else "a lead it records as delivered is not sent again"
    console.print(Text(f"Ledger: {ledger} ({skips})", style="dim"), soft_wrap=True)
    run_id = new_run_id(started)
    verb = "Predicting" if args.dry_run else "Sending"
    sending = f"{verb} {prepared.rows:,} rows to {len(connectors)} target(s)"
    settings = SendSettings(run_id, ledger, started, dry_run=args.dry_run, resend=args.resend)
    facts: dict[str, dict[str, Any]] = {}
    try:
        with run_output(args.out) as output:
            with (
                stage(console, sending, done=f"{sending}: finished, verdict below"),
                progress(console) as bars,
            ):
                run_dir, sent = send_in_batches(
                    batched,
                    connectors,
                    settings,
                    out_dir=output.folder,
                    progress=Bars(bars, prepared.rows, [c.target.name for c in connectors]),
                )
            facts.update(sent)
            run_report(run_dir, None, None, console)
            summary = {**json.loads((run_dir / "summary.json").read_text(encoding="utf-8")), "send": facts}
            where = output.publish(run_dir)
    except RunNotWritten as error:  # a full disk: what was sent is in the ledger
        print_error(console, ConfigError(_unwritten(error, ledger, dry_run=args.dry_run)))
        alert_run(run_id=run_id, source=str(args.file), summary=None, error=error)
        return 1
    except USER_ERRORS as error:  # a batch's file-level problem, found as it is read
        print_error(console, error)
        alert_run(run_id=run_id, source=str(args.file), summary=None, error=error)
        return 1
    except RunNotPublished as error:
        verdict = judge({"send": facts}, dry_run=args.dry_run)
        print_error(console, error)
        print_verdict(console, verdict)
        alert_run(run_id=run_id, source=str(args.file), summary=None, error=error)
        return max(int(verdict.code), 1)
    verdict = judge({"send": facts}, dry_run=args.dry_run)
    console.print(Text(f"Results: {where}/results"))
    console.print(Text(f"Report:  {where}/report.html"))
    print_verdict(console, verdict)
    alert_run(run_id=run_id, source=str(args.file), summary=summary, report=f"{where}/report.html")
    return int(verdict.code)
