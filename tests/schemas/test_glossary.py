"""schemas.codes.GLOSSARY explains every code, and the README's table is the generated one."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from types import ModuleType

import pytest

from schemas import codes
from schemas.codes import GLOSSARY, CodeHelp
from schemas.glossary import (
    README_END,
    README_START,
    code_enums,
    glossary_problems,
    main,
    markdown_table,
    readme_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_code_of_every_code_enum_has_a_meaning_and_an_action() -> None:
    enums = code_enums()

    assert {"Issue", "Status", "Disposition"} <= set(enums)
    assert glossary_problems(enums, GLOSSARY) == []


def test_a_new_code_without_an_entry_is_reported() -> None:
    class Extra(StrEnum):
        NEW_CODE = "NEW_CODE"

    problems = glossary_problems({**code_enums(), "Extra": Extra}, GLOSSARY)

    assert problems == ["Extra.NEW_CODE: no glossary entry"]


def test_an_entry_that_names_no_code_is_reported() -> None:
    help_ = CodeHelp("meaning", "action")
    glossary = {**GLOSSARY, "Issue": {**GLOSSARY["Issue"], "PHONE_TYPO": help_}, "Gone": {"X": help_}}

    problems = glossary_problems(code_enums(), glossary)

    assert problems == ["Gone: glossary names no such code enum", "Issue: entry 'PHONE_TYPO' names no code"]


def test_code_enums_finds_an_enum_added_to_the_module_without_being_listed() -> None:
    module = ModuleType("fake_codes")

    class Added(StrEnum):
        A = "A"

    Added.__module__ = "fake_codes"
    module.Added = Added  # type: ignore[attr-defined]
    module.Imported = codes.Issue  # type: ignore[attr-defined]

    assert code_enums(module) == {"Added": Added}


def test_readme_reason_codes_table_is_the_generated_one() -> None:
    table = readme_table(README.read_text(encoding="utf-8"))

    assert table == markdown_table(), "run: python -m schemas.glossary --write-readme README.md"


def test_markdown_table_has_one_row_per_code() -> None:
    rows = markdown_table().splitlines()[2:]
    expected = sum(len(enum) for enum in code_enums().values())

    assert len(rows) == expected
    assert "| `PHONE_INVALID` | `reasons` |" in markdown_table()
    assert "| `vendor_rejected` | `status` |" in markdown_table()


def test_cli_prints_the_markdown_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()


def test_write_readme_replaces_only_the_marked_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\n| stale |\n{README_END}\n\nafter\n", encoding="utf-8")

    main(["--write-readme", str(readme)])

    text = readme.read_text(encoding="utf-8")
    assert text == f"# Title\n\n{README_START}\n{markdown_table()}{README_END}\n\nafter\n"
