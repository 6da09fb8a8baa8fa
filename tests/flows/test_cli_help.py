"""Every command's ``--help`` reads as plain text, and ``leadflow --version`` answers.

The help reuses module docstrings (flows.commands.help_text), which are written in reST: a person
reading ``leadflow import --help`` should see ``--dry-run``, not two pairs of backticks
around it, nor ``:class:`` roles.
"""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

from flows.cli import COMMANDS, main
from flows.commands.help_text import plain

REST_MARKUP = re.compile(r"``|:[a-z]+:`|(?<![\w`])`[^`\s][^`]*`")


def _help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse exits after printing the help
        status = exit_.code
    assert status == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "command", [[], *([name] for name in COMMANDS)], ids=lambda c: " ".join(c) or "leadflow"
)
def test_help_has_no_rest_markup(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")

    shown = _help_of([*command, "--help"], capsys)

    assert shown.strip()
    assert not REST_MARKUP.findall(shown), shown


def test_version_names_leadflow_and_prefect(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help_of(["--version"], capsys).strip()

    assert shown.startswith(f"leadflow {version('leadflow')} (prefect {version('prefect')}, python ")
    assert "\n" not in shown


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("``leadflow import FILE``: send", "leadflow import FILE: send"),
        ("exits with :class:`~flows.verdict.RunVerdict` codes", "exits with flows.verdict.RunVerdict codes"),
        ("by *not* changing; `--dry-run` and :py:func:`run`", "by not changing; --dry-run and run"),
        ("a*b stays, ``x`` and ``y``", "a*b stays, x and y"),
    ],
)
def test_plain_removes_inline_markup_and_keeps_the_words(written: str, shown: str) -> None:
    assert plain(written) == shown
