"""``leadflow serve``: the scheduled deployments on one machine, with no work pool or worker to set up.

Two deployments, served by this process until Ctrl-C (Prefect pauses their schedules on
shutdown):

``watched-folder-scan``
    the ``scan-inbox`` flow every ``--scan-every`` seconds on ``ROOT``
``nightly-import``
    the ``import_leads`` flow on a cron schedule for one drop location (``--drop FILE``);
    only when a drop location is given

Prefect's ephemeral default runs no scheduler, so without ``PREFECT_API_URL`` this starts a
local Prefect server on 127.0.0.1 for as long as it serves (flows.local_server), on port
4200 or ``--port``; with ``PREFECT_API_URL`` pointing at a Prefect server the same command
registers and serves the deployments there. The run folders are served read-only over http
on 127.0.0.1 (port 4201 or ``--runs-port``; flows.run.served), and each import's summary
artifact links its report there. For work pools and workers on several machines, use
prefect.yaml and ``prefect deploy`` instead: it declares the same two deployments.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flows.commands.help_text import plain
from flows.commands.watch import add_inbox_arguments, watched_root
from flows.settings import ImportSettings, add_import_arguments

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

__all__ = ["IMPORT_DEPLOYMENT", "SCAN_DEPLOYMENT", "ServePlan", "deployments", "main", "serve_plan"]

SCAN_DEPLOYMENT = "watched-folder-scan"
IMPORT_DEPLOYMENT = "nightly-import"
TAGS = ["leadflow"]


@dataclass(frozen=True)
class ServePlan:
    """What ``leadflow serve`` serves: a watched root, and optionally a nightly import of one file."""

    root: Path
    settings: ImportSettings = field(default_factory=ImportSettings)
    """What every import is run with, as ``leadflow watch`` takes it (--targets, --suppress, ...)."""
    scan_every: float = 30.0
    settle_seconds: float = 30.0
    settle_max_seconds: float = 600.0
    retry_attempts: int = 6
    retry_delay_seconds: float = 60.0
    drop_file: str | None = None
    import_cron: str = "0 2 * * *"
    timezone: str = "UTC"
    port: int | None = None
    """Port of the local Prefect server (ignored with PREFECT_API_URL)."""
    runs_port: int | None = None
    """Port the run folders are served on (flows.run.served); None: its default."""


def deployments(plan: ServePlan) -> list[RunnerDeployment]:
    """The runner deployments for ``plan``, named as in prefect.yaml."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.scan_inbox import runs_folder, scan_inbox

    imports = plan.settings.with_out_dir(runs_folder(plan.root)).flow_parameters()
    scan_parameters: dict[str, Any] = {
        "root": str(plan.root.absolute()),
        **imports,
        "settle_seconds": plan.settle_seconds,
        "settle_max_seconds": plan.settle_max_seconds,
        "retry_attempts": plan.retry_attempts,
        "retry_delay_seconds": plan.retry_delay_seconds,
    }
    # to_deployment is typed for sync and async callers; called from sync code it returns the deployment.
    served = [
        cast(
            "RunnerDeployment",
            scan_inbox.to_deployment(
                name=SCAN_DEPLOYMENT,
                interval=timedelta(seconds=plan.scan_every),
                parameters=scan_parameters,
                description=f"Import complete files dropped into {plan.root.absolute() / 'inbox'}.",
                tags=TAGS,
                entrypoint_type=EntrypointType.MODULE_PATH,
            ),
        )
    ]
    if plan.drop_file is not None:
        from flows.import_leads import import_leads

        served.append(
            cast(
                "RunnerDeployment",
                import_leads.to_deployment(
                    name=IMPORT_DEPLOYMENT,
                    schedule=Cron(plan.import_cron, timezone=plan.timezone),
                    parameters={"path": plan.drop_file, **imports},
                    description=f"Import {plan.drop_file} on schedule {plan.import_cron} ({plan.timezone}).",
                    tags=TAGS,
                    entrypoint_type=EntrypointType.MODULE_PATH,
                ),
            )
        )
    return served


def _parser() -> argparse.ArgumentParser:
    from flows.local_server import DEFAULT_PORT

    parser = argparse.ArgumentParser(prog="leadflow serve", description=plain(__doc__.split("\n\n")[0]))
    parser.add_argument(
        "root", type=Path, help="watched root; inbox/ processing/ retry/ archive/ failed/ inside"
    )
    add_import_arguments(parser)
    parser.add_argument("--scan-every", type=float, default=30.0, help="seconds between scans (default 30)")
    add_inbox_arguments(parser)
    parser.add_argument("--drop", help="file imported on the cron schedule (enables nightly-import)")
    parser.add_argument("--cron", default="0 2 * * *", help="schedule of nightly-import (default 02:00)")
    parser.add_argument("--timezone", default="UTC", help="time zone of --cron (IANA name, default UTC)")
    parser.add_argument(
        "--port",
        type=int,
        help=f"port of the local Prefect server and its UI (default {DEFAULT_PORT}, or a free one if that is "
        "taken; ignored with PREFECT_API_URL)",
    )
    parser.add_argument(
        "--runs-port",
        type=int,
        help="port the run folders (reports) are served on, read-only on 127.0.0.1, so the Prefect "
        "artifacts can link them (default 4201, or a free one if that is taken)",
    )
    return parser


def runs_root(plan: ServePlan) -> Path | None:
    """The local folder of the served imports' run folders, or None for a URL (not served)."""
    from flows.scan_inbox import runs_folder

    out = plan.settings.with_out_dir(runs_folder(plan.root)).out_dir
    return None if out is None or "://" in out else Path(out)


def serve_plan(argv: list[str] | None = None) -> ServePlan:
    """What ``leadflow serve ARGV`` serves; ValueError for settings that must not be served
    (a ledger URL with a password)."""
    args = _parser().parse_args(argv)
    return ServePlan(
        root=args.root,
        settings=ImportSettings.from_args(args),
        scan_every=args.scan_every,
        settle_seconds=args.settle,
        settle_max_seconds=args.settle_max,
        retry_attempts=max(args.retry_attempts, 1),
        retry_delay_seconds=args.retry_delay,
        drop_file=args.drop,
        import_cron=args.cron,
        timezone=args.timezone,
        port=args.port,
        runs_port=args.runs_port,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        plan = serve_plan(argv)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    from prefect import serve  # once the arguments are read: ``--help`` needs no Prefect

    from connectors.config_error import ConfigError
    from flows.local_server import LocalServerError, prefect_api
    from flows.run.served import serve_runs

    try:
        watched_root(plan.root)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    root = runs_root(plan)
    with contextlib.ExitStack() as stack:
        if root is not None:
            try:
                url = stack.enter_context(serve_runs(root, plan.runs_port))
            except OSError as error:  # --runs-port taken
                print(f"Error: run folders not served: {error}; choose another --runs-port", file=sys.stderr)
                return 1
            print(f"Run folders and reports, read-only: {url}")
        try:
            with prefect_api(plan.port):
                serve(*deployments(plan))
        except LocalServerError as error:
            print(f"Error: {error}; set PREFECT_API_URL to a running Prefect server instead", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
