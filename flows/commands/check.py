"""``leadflow check [--targets FILE] [--target NAME]...``: a connection test of each target.

For each target: resolve its credential references, log in, read the campaign it names, check
the answers have the shapes the connector expects, log out (connectors.probe). No lead is sent,
nothing is written to the ledger or created at the vendor. One line per target says what was
verified, or what failed and what to change; targets are tested concurrently and printed in the
file's order, each on one line however long (no wrapping), so that logs and scripts can read
them. Exit codes (flows.verdict.ExitCode): 0 every target passed, 4 a target failed,
1 a bad targets file (or an unknown ``--target``), 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from connectors.base import Connector
    from connectors.config import TargetConfig
    from connectors.probe import ProbeReport

__all__ = ["check_targets", "main", "prepare_targets"]

DEFAULT_TARGETS = Path("targets.toml")

_DESCRIPTION = """\
Test the connection to each target, like the "test connection" of reverse-ETL tools:
resolve the credential references, log in, read the campaign the target names, check that
the vendor's answers have the shapes the connector expects, and log out. No lead is sent,
nothing is written to the ledger, nothing is created at the vendor."""

_EPILOG = """\
Output: one line per target, with what was verified or what failed and what to fix.

exit codes:
  0  every target passed
  1  a targets file that cannot be read (TOML, an unknown kind or key), or an unknown --target
  2  command-line usage error
  4  at least one target failed, its settings or credentials included"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadflow check",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--targets",
        type=Path,
        default=DEFAULT_TARGETS,
        metavar="FILE",
        help=f"targets file (TOML), see README (default: {DEFAULT_TARGETS})",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        dest="target_names",
        metavar="NAME",
        help="only this target (repeatable)",
    )
    return parser


def prepare_targets(targets: Sequence[TargetConfig]) -> list[Connector | ProbeReport]:
    """Each target's connector, or the failed report naming the setting that keeps it from being
    built (a credential reference that does not resolve, an option the connector refuses).
    Synchronous, before any event loop runs: Prefect Secret blocks are loaded synchronously."""
    from connectors.config import ConfigError
    from connectors.probe import failed_report
    from connectors.registry import build_connector

    prepared: list[Connector | ProbeReport] = []
    for target in targets:
        try:
            prepared.append(build_connector(target))
        except ConfigError as exc:
            prepared.append(
                failed_report(
                    target.name,
                    target.kind,
                    f"cannot test: {exc}",
                    "correct that setting in the targets file (or set the variable or Prefect Secret "
                    "block it names), then check again",
                )
            )
    return prepared


async def check_targets(
    prepared: Sequence[Connector | ProbeReport], *, transport: httpx.AsyncBaseTransport | None = None
) -> list[ProbeReport]:
    """One report per target, in order; the targets are probed concurrently.
    ``transport`` is for tests (``httpx.ASGITransport(app=...)``)."""
    from connectors.probe import ProbeReport, probe

    async def one(item: Connector | ProbeReport) -> ProbeReport:
        return item if isinstance(item, ProbeReport) else await probe(item, transport=transport)

    return list(await asyncio.gather(*(one(item) for item in prepared)))


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    # imported once the arguments are read: ``--help`` and a usage error need none of them
    from rich.text import Text

    from connectors.config import ConfigError, select_targets
    from flows.console import new_console
    from flows.verdict import ExitCode

    console = console or new_console(highlight=False)
    try:
        targets = select_targets(args.targets, args.target_names)
    except ConfigError as exc:
        console.print(Text(f"Error: {exc}", style="bold red"), soft_wrap=True)
        return int(ExitCode.USER_ERROR)
    reports = asyncio.run(check_targets(prepare_targets(targets)))
    for report in reports:
        console.print(Text(report.line(), style="green" if report.ok else "bold red"), soft_wrap=True)
    failed = [report.target for report in reports if not report.ok]
    if not failed:
        console.print(Text(f"Exit code 0: all {len(reports)} targets passed.", style="green"), soft_wrap=True)
        return int(ExitCode.OK)
    console.print(
        Text(
            f"Exit code {int(ExitCode.TARGET_FAILED)}: {len(failed)} of {len(reports)} targets failed "
            f"({', '.join(failed)}); fix what each line says and run the check again.",
            style="bold red",
        ),
        soft_wrap=True,
    )
    return int(ExitCode.TARGET_FAILED)
