"""The reason-code glossary, read from schemas.codes: its checks, anchors and Markdown table.

The README's "Reason codes" table is this module's output (``python -m schemas.glossary
--markdown``; ``--write-readme`` puts it between the README's glossary markers), and a test
compares the two, so the README cannot drift from the code list. The HTML report links each
code to :func:`anchor`.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from types import ModuleType

from schemas import codes
from schemas.codes import GLOSSARY, CodeHelp

__all__ = [
    "README_END",
    "README_START",
    "anchor",
    "code_enums",
    "entries",
    "glossary_problems",
    "markdown_table",
    "readme_table",
]

README_START = "<!-- glossary:start (generated: python -m schemas.glossary --write-readme) -->"
README_END = "<!-- glossary:end -->"
_KIND_ORDER = ("Status", "Issue", "Disposition")
"""Table order: what a result row shows first (status, then reasons), the internal step last."""
_KIND_COLUMN = {
    "Status": "`status`",
    "Issue": "`reasons`",
    "Disposition": "`disposition` (internal: clean leads, before targets)",
}


def code_enums(module: ModuleType = codes) -> dict[str, type[StrEnum]]:
    """Every code enum defined in ``module``, by class name (found, not listed, so none is missed)."""
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, StrEnum)
        and value is not StrEnum
        and value.__module__ == module.__name__
    }


def glossary_problems(
    enums: Mapping[str, type[StrEnum]], glossary: Mapping[str, Mapping[str, CodeHelp]]
) -> list[str]:
    """Codes without an entry, entries that name no code, and empty texts; empty when complete."""
    problems = [f"{kind}: glossary names no such code enum" for kind in glossary if kind not in enums]
    for kind, enum in enums.items():
        helps = glossary.get(kind, {})
        values = {member.value for member in enum}
        problems += [f"{kind}.{code}: no glossary entry" for code in sorted(values - set(helps))]
        problems += [
            f"{kind}: entry {str(code)!r} names no code" for code in sorted(set(helps) - values, key=str)
        ]
        problems += [
            f"{kind}.{code}: empty meaning or action"
            for code, help_ in helps.items()
            if not help_.meaning.strip() or not help_.action.strip()
        ]
    return problems


def anchor(kind: str, code: str) -> str:
    """The HTML id of a code's glossary entry, e.g. ``code-issue-PHONE_INVALID``."""
    return f"code-{kind.lower()}-{code}"


def entries(kinds: Iterable[str] = _KIND_ORDER) -> list[tuple[str, str, CodeHelp]]:
    """(kind, code, help) for every code, kinds in ``kinds`` order, codes in enum order."""
    enums = code_enums()
    return [(kind, member.value, GLOSSARY[kind][member.value]) for kind in kinds for member in enums[kind]]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The full glossary as a Markdown table (the README's "Reason codes" section)."""
    lines = ["| code | column | meaning | what to do |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{code}` | {_KIND_COLUMN[kind]} | {_cell(help_.meaning)} | {_cell(help_.action)} |"
        for kind, code, help_ in entries()
    ]
    return "\n".join(lines) + "\n"


_README_BLOCK = re.compile(re.escape(README_START) + r"\n(.*?)" + re.escape(README_END), re.DOTALL)


def readme_table(readme: str) -> str | None:
    """The table between the README's glossary markers, or None when the markers are absent."""
    found = _README_BLOCK.search(readme)
    return found.group(1) if found else None


def _write_readme(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if readme_table(text) is None:
        raise SystemExit(f"{path}: glossary markers not found; add {README_START!r} and {README_END!r}")
    block = f"{README_START}\n{markdown_table()}{README_END}"
    path.write_text(_README_BLOCK.sub(lambda _: block, text, count=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.glossary", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the glossary as a Markdown table")
    group.add_argument(
        "--write-readme", type=Path, metavar="README", help="replace the README's glossary table"
    )
    args = parser.parse_args(argv)
    if args.write_readme:
        _write_readme(args.write_readme)
    else:
        sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
