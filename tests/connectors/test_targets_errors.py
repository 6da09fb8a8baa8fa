"""A targets file's mistakes in a reader's words: the file, the target, the key, a likely fix.

Pydantic's own messages ("Extra inputs are not permitted", "Field required") said neither
which key was meant nor, for a vendor's options, which file.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from connectors.config import ConfigError, load_targets
from flows.commands.import_file import main as import_main

BASE = """
[targets.obi]
kind = "sinch_obi"
campaign = "1"
credentials = { username = "env:OBI_USER", password = "env:OBI_PASSWORD" }
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'base_url = "http://127.0.0.1:1/obi"\nchunk_sise = 10\n',
            "target 'obi': chunk_sise: unknown key; did you mean 'chunk_size'?",
        ),
        (
            'base_url = "http://127.0.0.1:1/obi"\nretry = { atempts = 3 }\n',
            "target 'obi': retry.atempts: unknown key; did you mean 'attempts'?",
        ),
        (
            'bse_url = "http://127.0.0.1:1/obi"\n',
            "target 'obi': base_url: required key is missing; bse_url: unknown key; did you mean 'base_url'?",
        ),
        ('base_url = "ftp://x"\n', "target 'obi': base_url: must start with http:// or https://"),
        (
            'base_url = "http://127.0.0.1:1/obi"\ncompliance = "us"\n',
            "target 'obi': compliance: unknown compliance profile 'us'; "
            "use one of us-tcpa, us-tcpa-strict, uk, de or a table",
        ),
        (
            'base_url = "http://127.0.0.1:1/obi"\ncompliance = { hours = "21:00-08:00" }\n',
            "target 'obi': compliance: hours '21:00-08:00': start must be before end, within 00:00-24:00",
        ),
    ],
)
def test_targets_file_errors_name_the_file_the_key_and_a_likely_fix(
    tmp_path: Path, extra: str, expected: str
) -> None:
    path = _file(tmp_path, BASE + extra)

    with pytest.raises(ConfigError) as raised:
        load_targets(path)

    assert str(raised.value) == f"{path}: {expected}"
    assert "Extra inputs" not in str(raised.value) and "Value error" not in str(raised.value)


def test_a_vendors_options_error_names_the_file_too(tmp_path: Path, sample_data: Path) -> None:
    path = _file(tmp_path, BASE + 'base_url = "http://127.0.0.1:1/obi"\noptions = { stop_on_eror = true }\n')
    buffer = io.StringIO()
    argv = [str(sample_data / "us_crm_export.csv"), "--targets", str(path), "--out", str(tmp_path / "out")]

    assert import_main([*argv, "--dry-run"], console=Console(file=buffer, width=80)) == 1

    [line] = buffer.getvalue().strip().splitlines()
    assert line.startswith(f"Error: {path}: target 'obi': options.stop_on_eror: unknown key; ")


def test_a_targets_file_that_is_not_there_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_targets(tmp_path / "targets.toml")

    assert str(caught.value) == (
        f"{tmp_path / 'targets.toml'}: targets file not found. Give it with --targets FILE "
        "(its format: README, 'Targets')"
    )
