"""`leadflow secrets set` stores a Prefect Secret block; targets resolve `prefect:NAME` from it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from connectors.config import ConfigError, resolve_secret
from flows.commands.secrets import main as secrets

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _run(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    code = secrets(args, console=Console(file=out, width=200))
    return code, out.getvalue()


def test_a_stored_secret_is_what_a_prefect_reference_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    code, printed = _run(["set", "obi-password"], "s3cr3t-Pa55-XyZ\n", monkeypatch)
    assert code == 0
    assert "s3cr3t" not in printed
    assert "prefect:obi-password" in printed
    assert resolve_secret("prefect:obi-password").get_secret_value() == "s3cr3t-Pa55-XyZ"


def test_setting_again_replaces_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    _run(["set", "rotating"], "first", monkeypatch)
    _run(["set", "rotating"], "second", monkeypatch)
    assert resolve_secret("prefect:rotating").get_secret_value() == "second"


@pytest.mark.parametrize(("name", "value"), [("Bad_Name", "x"), ("ok-name", "")])
def test_bad_names_and_empty_values_store_nothing(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, printed = _run(["set", name], value, monkeypatch)
    assert code == 1
    assert printed.startswith("Error: ")
    with pytest.raises(ConfigError):
        resolve_secret(f"prefect:{name.lower()}")


def test_a_missing_block_is_a_config_error_that_says_how_to_create_it() -> None:
    with pytest.raises(ConfigError, match="leadflow secrets set never-stored"):
        resolve_secret("prefect:never-stored")
