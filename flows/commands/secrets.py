"""``leadflow secrets set NAME``: store a vendor credential as a Prefect Secret block.

The value is read from a hidden prompt, or from standard input when piped
(``printenv OBI_PASSWORD | leadflow secrets set obi-password``), never from the command
line, where it would land in shell history and ``ps``. A targets file then references it as
``prefect:obi-password``. Block names are Prefect's: lowercase letters, digits and dashes.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys

from rich.console import Console
from rich.text import Text

from flows.commands.help_text import plain
from flows.console import new_console

__all__ = ["main"]

_BLOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"Value for {name} (input hidden): ")
    return sys.stdin.read().rstrip("\r\n")


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow secrets", description=plain(__doc__))
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("set", help="create or replace a Secret block")
    put.add_argument("name", help="block name, e.g. obi-password")
    args = parser.parse_args(argv)
    console = console or new_console()
    if not _BLOCK_NAME.match(args.name):
        console.print(
            Text(f"Error: {args.name!r} is not a valid block name: use lowercase letters, digits, dashes")
        )
        return 1
    value = _read_value(args.name)
    if not value:
        console.print(Text("Error: empty value; nothing stored"))
        return 1
    from prefect.blocks.system import Secret

    Secret(value=value).save(args.name, overwrite=True)
    console.print(Text(f'Stored Prefect Secret block {args.name!r}; reference it as "prefect:{args.name}"'))
    return 0
