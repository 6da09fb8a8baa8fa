"""JSON into frozen dataclasses, pydantic's lax validation only where the JSON needs it.

Why: importing pydantic costs ~50 ms of every ``leadflow validate`` start, and the run.json
it reads back is the one the run has just written, every key of the type its field says.
:func:`exact` builds the dataclass from such data directly: every field given has exactly
its annotated type (a ``str`` for ``str``, an ``int`` that is not a ``bool`` for ``int``, a
``list`` of such items, ...), a required field is not missing, keys no field names are
dropped. Anything else (a number as text, a float for an int, a type this module does not
know) returns None, and :func:`validated` hands it to pydantic (``TypeAdapter``), which
coerces or refuses it as it always has: for the data :func:`exact` accepts, pydantic gives
the same instance (tests/report/test_exact_json.py holds it to that).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

__all__ = ["exact", "validated"]

_T = TypeVar("_T")
_MISMATCH: Any = object()
_SCALARS = (str, int, bool)


def exact(cls: type[_T], data: object) -> _T | None:
    """``cls`` (a dataclass) built from ``data`` when it has exactly the field types; else None."""
    built = _value(cls, data)
    return None if built is _MISMATCH else typing.cast(_T, built)


def validated(cls: type[_T], data: object) -> _T:
    """``cls`` from ``data``: :func:`exact`, else pydantic's lax validation (raises
    ``pydantic.ValidationError``, a ``ValueError``, when ``data`` does not fit)."""
    built = exact(cls, data)
    if built is not None:
        return built
    return typing.cast(_T, _adapter(cls).validate_python(data))


_ADAPTERS: dict[type[Any], Any] = {}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _adapter(cls: type[Any]) -> Any:
    if cls not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _value(hint: Any, data: object) -> Any:
    if hint is Any:
        return data
    if hint is type(None):
        return None if data is None else _MISMATCH
    if hint in _SCALARS:
        return data if type(data) is hint else _MISMATCH
    origin = get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        for option in get_args(hint):
            built = _value(option, data)
            if built is not _MISMATCH:
                return built
        return _MISMATCH
    if origin is list:
        return _list(get_args(hint)[0], data)
    if origin is dict:
        key, item = get_args(hint)
        return _dict(item, data) if key is str else _MISMATCH
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, data)
    return _MISMATCH


def _list(item: Any, data: object) -> Any:
    if type(data) is not list:
        return _MISMATCH
    built = [_value(item, value) for value in data]
    return _MISMATCH if any(value is _MISMATCH for value in built) else built


def _dict(item: Any, data: object) -> Any:
    if type(data) is not dict:
        return _MISMATCH
    built = {key: _value(item, value) for key, value in data.items()}
    if any(type(key) is not str or value is _MISMATCH for key, value in built.items()):
        return _MISMATCH
    return built


def _dataclass(cls: type[Any], data: object) -> Any:
    if type(data) is not dict:
        return _MISMATCH
    hints = _hints(cls)
    given: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            built = _value(hints[field.name], data[field.name])
            if built is _MISMATCH:
                return _MISMATCH
            given[field.name] = built
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            return _MISMATCH
    return cls(**given)
