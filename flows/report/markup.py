"""The only way report HTML is built from values: every value passes through :func:`esc`.

Helpers take plain values and return markup; markup is only ever produced here or from
literals in the section renderers, so a lead's ``<script>`` can only ever become text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Cell", "Markup", "definition_list", "esc", "table", "tiles"]


class Markup(str):
    """Already-safe HTML (built by these helpers); any plain ``str`` is escaped."""

    __slots__ = ()


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


@dataclass(frozen=True)
class Cell:
    value: object
    css: str = ""


def _cell(tag: str, value: object) -> str:
    if isinstance(value, Cell):
        css = f' class="{esc(value.css)}"' if value.css else ""
        return f"<{tag}{css}>{esc(value.value)}</{tag}>"
    css = ' class="num"' if isinstance(value, int | float) and not isinstance(value, bool) else ""
    return f"<{tag}{css}>{esc(value)}</{tag}>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str | None = None) -> Markup:
    """A plain table; numbers right-aligned."""
    head = "".join(_cell("th", header) for header in headers)
    body = "".join("<tr>" + "".join(_cell("td", value) for value in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return Markup(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def definition_list(items: Mapping[str, object]) -> Markup:
    return Markup("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items.items()) + "</dl>")


def tiles(items: Iterable[tuple[str, int, bool]]) -> Markup:
    """Big numbers: (label, value, needs attention)."""
    parts = [
        f'<div class="tile{" bad" if bad and value else ""}"><b>{value:,}</b><span>{esc(label)}</span></div>'
        for label, value, bad in items
    ]
    return Markup('<div class="tiles">' + "".join(parts) + "</div>")
