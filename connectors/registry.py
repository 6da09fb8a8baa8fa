"""Which connector class serves a target ``kind``: a string-keyed table, imported lazily.

Like dlt's ``AUTH_MAP``, the table maps a configuration string to code, but holds
``"module:Class"`` paths so that importing the registry imports no vendor module (the SOAP
vendors pull in defusedxml; a run that only loads OBI should not pay for them, and a vendor
module under repair does not break the others).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from connectors.base import Connector
from connectors.config import ConfigError, TargetConfig, resolve_secret

__all__ = ["CONNECTORS", "build_connector", "connector_class", "resolve_secrets"]

CONNECTORS: dict[str, str] = {
    "sinch_obi": "connectors.sinch_obi:SinchObiConnector",
    "engage": "connectors.engage:EngageConnector",
    "ucontact_sms": "connectors.ucontact:UContactSmsConnector",
    "ucontact_email": "connectors.ucontact:UContactEmailConnector",
    "onc": "connectors.onc:OncConnector",
    "maxcontact": "connectors.maxcontact:MaxContactConnector",
}


def connector_class(kind: str) -> type[Connector]:
    """The Connector subclass for ``kind``; ``ConfigError`` for an unknown kind."""
    path = CONNECTORS.get(kind)
    if path is None:
        raise ConfigError(f"unknown target kind {kind!r}: use one of {', '.join(sorted(CONNECTORS))}")
    module_name, _, class_name = path.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Connector) and cls.kind == kind):
        raise ConfigError(f"{path} is not the Connector for kind {kind!r}")
    return cls


def resolve_secrets(target: TargetConfig) -> dict[str, str]:
    """The target's credential references (``env:``/``prefect:``) resolved to their values."""
    values: dict[str, str] = {}
    for key, reference in target.credentials.items():
        try:
            values[key] = resolve_secret(reference).get_secret_value()
        except ConfigError as exc:
            raise ConfigError(f"target {target.name!r}: credentials.{key}: {exc}") from None
    return values


def build_connector(target: TargetConfig, secrets: Mapping[str, str] | None = None) -> Connector:
    """A ready connector for ``target``; ``secrets`` default to its resolved credentials."""
    resolved = dict(secrets) if secrets is not None else resolve_secrets(target)
    return connector_class(target.kind)(target=target, secrets=resolved)
