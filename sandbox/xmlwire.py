"""Plain JAXB-style XML for the REST vendors that answer XML by default (Sinch OBI, MaxContact).

These services are Java/.NET REST stacks that serialise the same objects as JSON or XML by the
``Accept`` header. Objects become elements named after their fields; a list under a field repeats
that field's element (``{"attribute": [a, b]}`` -> ``<attribute>..</attribute><attribute>..``);
a top-level list is wrapped in a root element whose children are named ``item_name``. Parsing is
done with defusedxml: the sandbox reads untrusted bodies like any server.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

__all__ = ["XmlError", "from_xml", "to_xml", "wants_xml"]


class XmlError(ValueError):
    """The body is not well-formed XML of the expected shape."""


def wants_xml(accept: str | None, *, default_xml: bool) -> bool:
    """Whether to answer XML for this ``Accept`` header (first named of json/xml wins)."""
    accept = (accept or "").lower()
    json_at, xml_at = accept.find("json"), accept.find("xml")
    if json_at < 0 and xml_at < 0:
        return default_xml
    if json_at < 0:
        return True
    return 0 <= xml_at < json_at


def to_xml(value: Any, root: str, item_name: str = "item") -> bytes:
    element = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        _fill(element, value)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(element)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None:
                continue
            for item in child if isinstance(child, list) else [child]:
                _fill(ET.SubElement(element, key), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def from_xml(body: bytes, *, as_list: bool = False, list_fields: frozenset[str] = frozenset()) -> Any:
    """Elements to dicts of strings; children named in ``list_fields`` always become lists.

    With ``as_list`` the root is a wrapper and the result is the list of its children.
    """
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise XmlError(f"malformed XML: {exc}") from exc
    if as_list:
        return [_read(child, list_fields) for child in root]
    return _read(root, list_fields)


def _read(element: ET.Element, list_fields: frozenset[str]) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = _read(child, list_fields)
        if child.tag in list_fields:
            result.setdefault(child.tag, []).append(value)
        elif child.tag in result:
            previous = result[child.tag]
            result[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[child.tag] = value
    return result
