"""Vendor messages with the lead's own values masked, so that one refusal is one line.

Why: OBI and MaxContact name the refused lead in their error text (OBI: ``Invalid externalId:
lf-3f2a9c0d11e4b7a2 : Value is not unique``, ``Invalid numbers: '+4915112345678'``; MaxContact:
``Lead already exists in list 3: PhoneNum +447700900123 (LeadId 17)``), so counting errors by
message gave every lead its own line: 5,000 rejects were 5,000 "vendor errors" of one each.
:func:`message_pattern` masks what varies from lead to lead (emails, UUIDs and hex ids, runs
of four digits or more, and a number of any length after an id label: ``LeadId 17``,
``lead 3 of this request``) and keeps the words, so the errors are counted by what the vendor
said (transforms.summary). Other runs of fewer than four digits stay (``list 3``, ``HTTP 409``):
they rarely name a lead, and often say which list or code.

Both kinds of id become one placeholder (:data:`ID`): a 16-hex-digit hash that happens to have
no letter is masked as the digit run it is, and reads the same as its neighbours.
"""

from __future__ import annotations

import polars as pl

__all__ = ["EMAIL", "ID", "message_pattern"]

EMAIL = "<email>"
"""What an email address in a vendor message becomes."""
ID = "<id>"
"""What a UUID, a hex id of 8 characters or more, a run of 4 digits or more, or a number after
an id label (``LeadId``, ``ListID``, ``id``, ``lead``, ``row``: the sandbox's MaxContact
numbers its leads from 1) becomes."""

_HEX = "[0-9A-Fa-f]"
_MASKS: tuple[tuple[str, str], ...] = (
    (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", EMAIL),
    (rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b", ID),
    (rf"\b{_HEX}{{8,}}\b", ID),
    (r"[0-9]{4,}", ID),
    # an id label as such (``LeadId``, ``ListID``, ``id``), not a word ending so (``Invalid``)
    (r"\b(\w*Id|\w*ID|id|[Ll]ead|[Rr]ow)(\s*[:=#]?\s*)[0-9]+\b", "${1}${2}" + ID),
)
"""In order: an email's digits are not masked as an id first, a UUID's parts not one by one."""


def message_pattern(message: pl.Expr) -> pl.Expr:
    """``message`` (vendor messages) with emails, UUIDs, hex ids and runs of 4+ digits
    replaced by :data:`EMAIL` / :data:`ID`; null stays null. Two messages that differ only in
    such values have the same pattern."""
    for pattern, placeholder in _MASKS:
        message = message.str.replace_all(pattern, placeholder)
    return message
