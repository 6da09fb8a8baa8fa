"""``leadflow``: the command people run. Each subcommand lives in its own module.

Every command catches the project's own errors (a bad lead file, a bad mapping or targets
file) and prints one ``Error: message`` line with exit status 1; a traceback means a bug.
Ctrl-C stops a command with one ``Interrupted`` line and exit status 130 (what an import left,
and what to do, is said by the command: flows.commands.import_file).
"""

from __future__ import annotations

import importlib
import platform
import sys
from collections.abc import Callable

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("flows.commands.validate", "check and normalize a lead file; write per-row results"),
    "import": ("flows.commands.import_file", "import a lead file into the configured dialer targets"),
    "check": (
        "flows.commands.check",
        "test the connection to each target: log in, read its campaign, log out",
    ),
    "report": ("flows.report.command", "show what a run did (terminal, --html, --csv)"),
    "watch": ("flows.commands.watch", "import files dropped into a watched folder"),
    "serve": ("flows.commands.serve", "serve the scheduled Prefect deployments on this machine"),
    "sandbox": ("sandbox.server", "run the five simulated vendors on 127.0.0.1"),
    "secrets": ("flows.commands.secrets", "store vendor credentials as Prefect Secret blocks"),
    "dnc": (
        "flows.commands.dnc",
        "manage the do-not-contact store every run applies (add, import, list, remove, erase)",
    ),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: leadflow COMMAND [options]   (leadflow COMMAND --help for each)", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += [
        "",
        "options:",
        f"  {'--version'.ljust(width)}  print Leadflow's, Prefect's and Python's versions, then exit",
    ]
    return "\n".join(lines)


def version_line() -> str:
    """``leadflow X (prefect Y, python Z)``: what a bug report needs, read without importing Prefect."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    python = platform.python_version()
    return f"leadflow {installed('leadflow')} (prefect {installed('prefect')}, python {python})"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(version_line())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"leadflow: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[name][0])
        command: Callable[[list[str]], int] = module.main
        return command(rest)
    except KeyboardInterrupt:
        print(f"Interrupted (Ctrl-C): leadflow {name} stopped before it finished.", file=sys.stderr)
        return 130  # flows.verdict.ExitCode.INTERRUPTED, not imported here: it loads polars


if __name__ == "__main__":
    raise SystemExit(main())
