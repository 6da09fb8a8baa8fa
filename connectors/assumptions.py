"""Declared assumptions: a connector's guesses where its vendor's document is silent.

Each connector keeps its guesses in one ``ASSUMPTIONS`` table at the top of its module: the
``options`` key that overrides the guess per target, the default, and the document's own words
(with its section) or "not documented". The sandbox never reads these tables: tests change each
guess on the client side only and check that the strict sandbox refuses it, so a guess is what
the tests test, and a wrong guess is fixed in a target's ``options`` without a release.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel

__all__ = ["Assumption", "check_defaults"]


class Assumption(NamedTuple):
    option: str
    """The key in the target's ``options`` table that overrides this guess."""
    default: Any
    """What the connector sends or expects when the target does not say."""
    source: str
    """The document's words and section, or ``not documented`` (and where the guess comes from)."""


def check_defaults(table: tuple[Assumption, ...], model: type[BaseModel]) -> list[str]:
    """Options whose model default differs from the table's (empty when the table is true)."""
    fields = model.model_fields
    return [a.option for a in table if a.option not in fields or fields[a.option].get_default() != a.default]
