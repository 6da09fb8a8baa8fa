"""The kind -> connector table: every configurable kind resolves, lazily, with its secrets."""

from __future__ import annotations

import importlib.util

import pytest

from connectors.base import Connector
from connectors.config import KINDS, ConfigError, TargetConfig
from connectors.registry import CONNECTORS, build_connector, connector_class
from connectors.sinch_obi import SinchObiConnector


def test_every_configurable_kind_has_an_entry() -> None:
    assert set(CONNECTORS) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_entry_names_the_connector_of_its_kind(kind: str) -> None:
    module = CONNECTORS[kind].partition(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet")
    cls = connector_class(kind)
    assert issubclass(cls, Connector)
    assert cls.kind == kind


def test_an_unknown_kind_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown target kind 'fax'.*sinch_obi"):
        connector_class("fax")


def target(**credentials: str) -> TargetConfig:
    return TargetConfig(
        name="obi-main", kind="sinch_obi", base_url="http://x/obi", campaign="1", credentials=credentials
    )


def test_build_connector_resolves_env_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBI_USER", "alice")
    monkeypatch.setenv("OBI_PASSWORD", "s3cret-value")
    connector = build_connector(target(username="env:OBI_USER", password="env:OBI_PASSWORD"))
    assert isinstance(connector, SinchObiConnector)
    assert connector.secrets == {"username": "alice", "password": "s3cret-value"}
    assert "s3cret-value" not in repr(connector)


def test_a_missing_environment_variable_names_the_target_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBI_PASSWORD_UNSET", raising=False)
    with pytest.raises(ConfigError, match=r"target 'obi-main': credentials.password: .*OBI_PASSWORD_UNSET"):
        build_connector(target(username="env:HOME", password="env:OBI_PASSWORD_UNSET"))
