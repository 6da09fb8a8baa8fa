"""``leadflow dnc add|remove|import|list|erase``: the managed do-not-contact store.

The store lives in the ledger's database (``--ledger``, $LEADFLOW_LEDGER, else
``<out>/ledger.sqlite``) and every ``leadflow validate`` and ``leadflow import`` applies it:
a row whose phone or email is on a list in force becomes ``suppressed``, and run.json lists
each list applied (name, entries, newest added). Entries carry their list (``--list``), a
reason, the date they were added and an optional expiry (``--expires``, not applied from then).

``import`` reads one value a line (phones normalized to E.164, national ones with
``--country``; emails), the US National Do Not Call Registry's ``areacode,number`` files, or
an email list, and prints every line it could not read with its line number (exit 3).
``erase VALUE`` records an erasure request (GDPR Art. 17): the value's raw entries go and
only a keyed hash stays, so the person is never imported again (see README, "Do-not-contact").
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from flows.commands.country_option import country_region
from flows.commands.help_text import plain

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from connectors.dnc_types import DncStore

__all__ = ["main"]

REFUSED_SHOWN = 50
"""Refused lines printed one by one; the rest are counted (all are, with ``--refused FILE``)."""


def _expiry(text: str) -> datetime:
    """``--expires``: a date (the entry ends at its start, UTC) or an ISO date and time."""
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is no date: give YYYY-MM-DD (or an ISO date and time, UTC when no offset)"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--ledger", help="ledger: SQLite file or postgresql:// URL (default $LEADFLOW_LEDGER)"
    )
    common.add_argument("--out", default="leadflow-out", help="run folder whose ledger.sqlite is the default")
    entry = argparse.ArgumentParser(add_help=False)
    entry.add_argument("--country", help="country of national phone numbers (ISO code or name)")
    entry.add_argument("--reason", help="why these entries are on the list (shown by list)")
    entry.add_argument("--expires", type=_expiry, help="date (or ISO time, UTC) from which not applied")
    parser = argparse.ArgumentParser(prog="leadflow dnc", description=plain(__doc__))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", parents=[common, entry], help="put values on a list")
    add.add_argument("values", nargs="+", help="phone numbers or emails")
    add.add_argument("--list", default="manual", dest="source", help="list name (default %(default)s)")
    remove = commands.add_parser("remove", parents=[common], help="take values off a list (or all lists)")
    remove.add_argument("values", nargs="+", help="phone numbers or emails")
    remove.add_argument("--list", dest="source", help="only from this list (default: every list)")
    remove.add_argument("--country", help="country of national phone numbers (ISO code or name)")
    load = commands.add_parser("import", parents=[common, entry], help="put a file's values on a list")
    load.add_argument("file", type=Path)
    load.add_argument("--list", dest="source", help="list name (default: the file's name without suffix)")
    load.add_argument("--format", default="auto", choices=("auto", "lines", "emails", "ftc"))
    load.add_argument("--refused", type=Path, help="write every refused line here (CSV: line,text,problem)")
    show = commands.add_parser("list", parents=[common], help="the lists, or with --entries their entries")
    show.add_argument("--list", dest="source", help="only this list")
    show.add_argument("--entries", action="store_true", help="print each entry")
    erase = commands.add_parser("erase", parents=[common], help="erasure request: keep only a hash")
    erase.add_argument("value", help="the phone number or email to forget")
    erase.add_argument("--country", help="country of a national phone number (ISO code or name)")
    erase.add_argument("--reason", default="GDPR Art. 17 erasure request")
    return parser


def _read_values(values: list[str], country: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(line, value, kind) and (line, text, problem) of command-line values, as a file's lines."""
    import polars as pl

    from transforms.dnc_formats import read_dnc_values

    lines = pl.DataFrame({"line": list(range(1, len(values) + 1)), "text": [v.strip() for v in values]})
    read = read_dnc_values(lines, "lines", country_region(country))
    return read.values, read.refused


def _entries(values: pl.DataFrame, source: str, args: argparse.Namespace) -> pl.DataFrame:
    import polars as pl

    from connectors.dnc_types import ENTRY_SCHEMA

    return (
        values.unique("value", maintain_order=True)
        .select(
            "value",
            "kind",
            source=pl.lit(source),
            reason=pl.lit(args.reason, pl.String),
            added_at=pl.lit(datetime.now(UTC)),
            expires_at=pl.lit(args.expires, pl.Datetime("us", "UTC")),
        )
        .cast(ENTRY_SCHEMA)  # type: ignore[arg-type]
    )


def _print_refused(console: Console, refused: pl.DataFrame, args: argparse.Namespace, what: str) -> None:
    from rich.text import Text

    if refused.is_empty():
        return
    console.print(Text(f"{_count(refused.height, what)} not read (line: value  problem):", style="yellow"))
    for line, text, problem in refused.head(REFUSED_SHOWN).iter_rows():
        console.print(Text(f"  {line}: {text!r}  {problem}"), soft_wrap=True)
    if refused.height > REFUSED_SHOWN:
        more = f"  ... and {refused.height - REFUSED_SHOWN:,} more"
        console.print(Text(more + ("" if getattr(args, "refused", None) else " (all with --refused FILE)")))
    if getattr(args, "refused", None):
        refused.write_csv(args.refused)
        console.print(Text(f"  every refused line: {args.refused}"))


_SINGULAR = {"values": "value", "lines": "line", "entries": "entry", "new entries": "new entry"}


def _count(count: int, what: str) -> str:
    """``1 value``, ``2 values``: ``what`` is the plural (:data:`_SINGULAR` has its singular)."""
    return f"{count:,} {_SINGULAR[what] if count == 1 else what}"


def _run(args: argparse.Namespace, store: DncStore, console: Console) -> int:
    from rich.text import Text

    if args.command in ("add", "import"):
        if args.command == "add":
            values, refused = _read_values(args.values, args.country)
            source, what = args.source, "values"
        else:
            from transforms.dnc_formats import read_dnc_file

            read = read_dnc_file(args.file, args.format, country_region(args.country))
            values, refused = read.values, read.refused
            source, what = args.source or args.file.stem, "lines"
            if read.header is not None:
                console.print(Text(f"Line {read.header[0]} taken as the file's header: {read.header[1]!r}"))
        new = store.add(_entries(values, source, args)) if values.height else 0
        console.print(
            Text(f"List {source!r}: {_count(values.height, what)} read, {_count(new, 'new entries')}")
        )
        _print_refused(console, refused, args, what)
        return 3 if refused.height else 0
    if args.command == "remove":
        values, refused = _read_values(args.values, args.country)
        gone = store.remove(values["value"].to_list(), args.source)
        console.print(
            Text(f"Removed {_count(gone, 'entries')}" + (f" from {args.source!r}" if args.source else ""))
        )
        _print_refused(console, refused, args, "values")
        return 3 if refused.height else 0
    if args.command == "erase":
        return _erase(args, store, console)
    from flows.commands.dnc_list import print_lists

    print_lists(store, console, source=args.source, entries=args.entries)
    return 0


def _erase(args: argparse.Namespace, store: DncStore, console: Console) -> int:
    from rich.text import Text

    from connectors.config_error import ConfigError
    from connectors.dnc_erasure import checked_key, erasure_hash

    values, refused = _read_values([args.value], args.country)
    if values.is_empty():
        raise ConfigError(f"the value is no phone number or email ({refused['problem'][0]}): nothing erased")
    value = values["value"][0]
    key = checked_key(store, record=True)
    removed, contacts = store.erase(value, erasure_hash(key, value), args.reason, datetime.now(UTC))
    console.print(
        Text(
            f"Erasure recorded: {removed} stored entries of the value deleted, {contacts} recorded "
            "contacts of the person removed from the ledger; only its hash is kept"
        )
    )
    return 0


def _say_where(where: str | Path, command: str, console: Console) -> None:
    """Print which store the command works on, before it does: the default follows ``--out``,
    so a command run from another folder than the runs' (or a watched folder's, whose ledger is
    ``ROOT/runs/ledger.sqlite``) would otherwise work on a store no run reads, silently. A
    store that is not there yet is created only to put entries in: to list or remove from one
    is a mistake of place, refused."""
    from rich.text import Text

    from connectors.config_error import ConfigError

    new = isinstance(where, Path) and not where.exists()
    if new and command in ("list", "remove"):
        raise ConfigError(
            f"{where}: no ledger here, so no do-not-contact store to {command}. Give the ledger the runs "
            "use: --ledger or LEADFLOW_LEDGER, or --out of their run folder (a watched folder's is ROOT/runs)"
        )
    console.print(
        Text(f"Do-not-contact store: {where}" + (" (new)" if new else ""), style="dim"), soft_wrap=True
    )


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    from connectors.dnc import open_dnc_store
    from connectors.ledger_types import LedgerUnavailable
    from flows.console import USER_ERRORS, new_console, print_error
    from flows.run.ledger_spec import ledger_path

    console = console or new_console()
    expected: tuple[type[Exception], ...] = (*USER_ERRORS, LedgerUnavailable)
    try:
        where = ledger_path(args.out, args.ledger)
        _say_where(where, args.command, console)
        store = open_dnc_store(where)
        try:
            return _run(args, store, console)
        finally:
            store.close()
    except expected as error:
        print_error(console, error)
        return 1
