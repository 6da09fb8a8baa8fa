"""``leadflow watch ROOT``: import files dropped into ``ROOT/inbox`` as they arrive, until stopped.

For the person who wants a folder to drop files into and nothing to set up: no deployment,
no worker. watchfiles wakes the loop within a second of a change in the inbox; the loop
also rescans every ``rescan_seconds`` without a change, because a file becomes complete by
*not* changing for the settle window (flows.inbox.settle) and a file in ``retry/`` becomes
due by time passing. Each complete file goes through flows.inbox.intake (claim, import once per
content, archive, retry or failed) and is imported by the ``import_leads`` flow.

Ctrl-C or SIGTERM stops the loop cleanly: the file being imported is finished and filed,
then the watcher exits 0; a second Ctrl-C interrupts at once. Several watchers (and the
served scan flow) may share a root: claims are atomic and fingerprints are reserved in one
transaction, so no file and no content is imported twice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from flows.commands.help_text import plain
from flows.inbox.layout import Layout
from flows.inbox.options import InboxSettings
from flows.settings import ImportSettings, add_import_arguments

if TYPE_CHECKING:
    from rich.console import Console

    from flows.inbox.intake import Finished, ImportStep

# the watcher's machinery (watchfiles, the intake registry and its psycopg, rich, Prefect) is
# imported where it runs: ``leadflow watch --help`` and ``leadflow serve --help`` need none of it

__all__ = ["add_inbox_arguments", "inbox_settings", "main", "stop_on_signals", "watch_inbox", "watched_root"]

logger = logging.getLogger("leadflow.inbox")


def watch_inbox(
    root: Path | str,
    step: ImportStep,
    settings: InboxSettings | None = None,
    *,
    stop_event: threading.Event | None = None,
    force: bool = False,
    rescan_seconds: float = 1.0,
    on_finished: Callable[[Finished], None] | None = None,
) -> int:
    """Watch ``ROOT/inbox`` and import each complete drop until ``stop_event`` is set.

    Returns how many files were finished (imported, duplicate drops and failures).
    """
    import watchfiles

    from flows.inbox.intake import run_once
    from flows.inbox.registry_db import REGISTRY_ERRORS

    # a pass that fails with these (the folder or the registry's database unreachable) is retried
    pass_errors: tuple[type[Exception], ...] = (OSError, *REGISTRY_ERRORS)
    layout = Layout.at(root)
    stop = stop_event or threading.Event()
    finished = 0

    def one_pass() -> None:
        nonlocal finished
        try:
            for done in run_once(layout.root, step, settings, force=force):
                finished += 1
                if on_finished is not None:
                    on_finished(done)
        except pass_errors as error:
            logger.warning("inbox: scan of %s failed, retrying: %s", layout.inbox, error)

    logger.info("inbox: watching %s", layout.inbox)
    one_pass()
    changes = watchfiles.watch(
        layout.inbox,
        watch_filter=None,
        debounce=300,
        step=50,
        rust_timeout=max(int(rescan_seconds * 1000), 50),
        yield_on_timeout=True,
        stop_event=stop,
        raise_interrupt=False,
        recursive=False,
    )
    for _ in changes:
        if stop.is_set():
            break
        one_pass()
    logger.info("inbox: stopped watching %s after %d file(s)", layout.inbox, finished)
    return finished


def watched_root(root: Path) -> Layout:
    """ROOT's folders, made where missing; a ConfigError naming ROOT when they cannot be (ROOT
    is a file, or under a path that cannot be created or written)."""
    from connectors.config_error import ConfigError

    try:
        return Layout.at(root)
    except OSError as error:
        raise ConfigError(
            f"{root}: the watched folders cannot be made there ({error.strerror}: {error.filename}). "
            "Give a folder that exists or can be created, and that this user may write in"
        ) from None


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop``; a second SIGINT raises KeyboardInterrupt."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        logger.info("inbox: stopping after the current file (%s)", signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def add_inbox_arguments(parser: argparse.ArgumentParser) -> None:
    """The settle window and retry options shared by ``leadflow watch`` and ``leadflow serve``."""
    defaults = InboxSettings()
    parser.add_argument(
        "--settle",
        type=float,
        default=defaults.settle_seconds,
        help=(
            f"seconds a file's size and mtime must stay unchanged before it is taken (default "
            f"{defaults.settle_seconds:g}; longer for files written slowly). Writers that write NAME.part "
            "and rename it, or add NAME.ready when done, are taken without the wait"
        ),
    )
    parser.add_argument(
        "--settle-max",
        type=float,
        default=defaults.settle_max_seconds,
        help=f"the longest settle window (default {defaults.settle_max_seconds:g})",
    )
    parser.add_argument(
        "--retry-attempts",
        type=int,
        default=defaults.retry_attempts,
        help=(
            f"imports of a file whose rows failed to send before it goes to failed/ "
            f"(default {defaults.retry_attempts}; 1: no retry)"
        ),
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=defaults.retry_delay_seconds,
        help=f"seconds before the first retry, doubling each time (default {defaults.retry_delay_seconds:g})",
    )


def inbox_settings(args: argparse.Namespace, max_bytes: int | None = None) -> InboxSettings:
    return InboxSettings(
        settle_seconds=args.settle,
        settle_max_seconds=args.settle_max,
        retry_attempts=max(args.retry_attempts, 1),
        retry_delay_seconds=args.retry_delay,
        max_bytes=max_bytes,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow watch", description=plain(__doc__.split("\n\n")[0]))
    parser.add_argument(
        "root", type=Path, help="watched root; inbox/ processing/ retry/ archive/ failed/ inside"
    )
    add_import_arguments(parser)
    add_inbox_arguments(parser)
    parser.add_argument("--max-bytes", type=int, help="refuse files larger than this")
    parser.add_argument("--force", action="store_true", help="import content that was imported before")
    return parser


PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
"""Where Prefect logs each flow and task run: its start, its end, and a failed run's traceback."""


@contextmanager
def watch_console_logging(stream: IO[str] | None = None) -> Iterator[None]:
    """While inside, the watcher's terminal: one line per event from Leadflow, not Prefect's
    run-by-run log; the loggers are as they were afterwards.

    Why: each file is an ``import_leads`` flow run in this process, and Prefect prints every
    run's start, end and, for a bad file, the ~50-line traceback of the LeadFileError the
    folder then files in ``failed/`` with its reason. The folder's own lines (flows.inbox.intake) say
    the same in one line per file. Prefect's run loggers stop propagating to the terminal's
    handler; they keep their API handler, so the runs' logs are still in Prefect's UI. Leadflow's
    lines get a handler of their own: Prefect's logging setup holds the root logger at WARNING,
    which would hide the line of an imported file. Only the folder's logger is let down to INFO:
    the senders' INFO lines (a retry per batch while a vendor is down) stay off the terminal, as
    for ``leadflow import``; their warnings and errors are shown.
    """
    run_loggers = [logging.getLogger(name) for name in PREFECT_RUN_LOGGERS]
    leadflow, inbox = logging.getLogger("leadflow"), logger
    before = [each.propagate for each in run_loggers], leadflow.level, inbox.level, leadflow.propagate
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    for each in run_loggers:
        each.propagate = False
    leadflow.addHandler(handler)
    leadflow.setLevel(logging.WARNING)
    inbox.setLevel(logging.INFO)
    leadflow.propagate = False
    try:
        yield
    finally:
        leadflow.removeHandler(handler)
        propagated, leadflow.level, inbox.level, leadflow.propagate = before
        for each, propagate in zip(run_loggers, propagated, strict=True):
            each.propagate = propagate


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)  # before Prefect: ``--help`` and a usage error need none of it
    import flows.scan_inbox  # noqa: F401 - Prefect and its logging set up before the watcher's
    from flows.console import new_console

    console = console or new_console(stderr=True)
    with watch_console_logging(console.file):
        return _watch(args, console)


def _watch(args: argparse.Namespace, console: Console) -> int:
    from flows.console import USER_ERRORS, print_error
    from flows.inbox.registry import IntakeRegistry
    from flows.inbox.registry_db import REGISTRY_ERRORS
    from flows.run.ledger_spec import ledger_path
    from flows.scan_inbox import import_step, runs_folder

    try:
        IntakeRegistry(watched_root(args.root).registry)  # LEADFLOW_REGISTRY valid and reachable
    except (*USER_ERRORS, *REGISTRY_ERRORS) as error:
        print_error(console, error)
        return 1
    if args.targets is not None:
        from connectors.config import load_targets

        try:
            load_targets(Path(args.targets), compliance=args.compliance)
        except USER_ERRORS as error:
            print_error(console, error)
            return 1
    settings_errors: tuple[type[Exception], ...] = (ValueError, *USER_ERRORS)
    try:
        options = ImportSettings.from_args(args).with_out_dir(runs_folder(args.root))
        # the ledger every drop is claimed in: other commands send the same leads again without it
        ledger = ledger_path(options.out_dir or runs_folder(args.root), options.ledger)
    except settings_errors as error:
        print_error(console, error)
        return 1
    settings = inbox_settings(args, args.max_bytes)
    stop = threading.Event()
    console.print(f"Watching {Layout.at(args.root).inbox} (Ctrl-C to stop)")
    console.print(f"Ledger: {ledger}", soft_wrap=True, highlight=False)
    console.print(
        f"Files are taken once unchanged for {settings.settle_seconds:g} s (longer if written slowly); "
        "write NAME.part and rename it when done, or add an empty NAME.ready, to skip the wait. "
        f"Files whose rows fail to send are retried from retry/ up to {settings.retry_attempts} times "
        "(not after a refused login or a wrong setting: they wait in retry/ for you, see their note)."
    )
    with stop_on_signals(stop):
        watch_inbox(args.root, import_step(options), settings, stop_event=stop, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
