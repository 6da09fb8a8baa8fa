"""The error of a wrong targets file, apart from the pydantic models that find it
(connectors.config): every command catches it, and a command that reads no targets file
(``leadflow validate``) should not import pydantic to name it."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """The targets file is wrong: the message names the file, the target and the key."""
