"""Command help from module docstrings, without the reST markup that docstrings are written in.

Why: each command's ``--help`` reuses its module docstring, so the help and the code's own
documentation cannot drift; but a terminal shows ``leadflow import`` and :mod:`flows.verdict`
literally, backticks and roles included. :func:`plain` turns reST inline markup into the words
a person types or reads.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")  # :class:`X`, :py:func:`~a.b`
_LITERAL = re.compile(r"``([^`]+)``")  # ``leadflow import``
_INTERPRETED = re.compile(r"(?<![\w`])`([^`]+)`(?![\w`])")  # `text`
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")  # *not*


def plain(text: str | None) -> str:
    """``text`` with reST inline markup removed (roles, literals, interpreted text, emphasis)."""
    if not text:
        return ""
    text = _ROLE.sub(lambda match: match.group(1), text)
    text = _LITERAL.sub(r"\1", text)
    text = _INTERPRETED.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)
