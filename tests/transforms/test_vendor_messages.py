"""transforms.vendor_messages: a vendor's refusals that differ only in the lead they name have
one pattern; what the vendor says (its words, a list or status number) is kept."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.vendor_messages import message_pattern


def _pattern(message: str | None) -> str | None:
    value = pl.select(message_pattern(pl.lit(message, dtype=pl.String))).item()
    return None if value is None else str(value)


@pytest.mark.parametrize(
    ("message", "pattern"),
    [
        # sandbox/obi_rules.py
        (
            "Invalid externalId: lf-3f2a9c0d11e4b7a2 : Value is not unique",
            "Invalid externalId: lf-<id> : Value is not unique",
        ),
        ("Invalid numbers: '+4915112345678;+4930123456'", "Invalid numbers: '+<id>;+<id>'"),
        ("Invalid numbers: '+491;+492;+493;+494'", "Invalid numbers: '+491;+492;+493;+494'"),
        # sandbox/maxcontact.py, the sandbox numbering its leads from 1
        (
            "Lead already exists in list 3: PhoneNum +447700900123 (LeadId 17)",
            "Lead already exists in list 3: PhoneNum +<id> (LeadId <id>)",
        ),
        (
            "Lead already exists in list 3: PhoneNum +447700900123 (lead 2 of this request)",
            "Lead already exists in list 3: PhoneNum +<id> (lead <id> of this request)",
        ),
        ("Invalid PhoneNum: 0151-2345678", "Invalid PhoneNum: <id>-<id>"),
        # the vendor's customer id (OBI: 32 hex digits), an ONC contact GUID, an email
        (
            "the vendor's customer CB4D57ABE70963294F28B4FF3B2F112F holds other data",
            "the vendor's customer <id> holds other data",
        ),
        ("contact 6f1c1f1e-0000-4000-8000-000000000001 exists", "contact <id> exists"),
        ("duplicate email Ann.Lee+crm@mail.example.co.uk", "duplicate email <email>"),
        # nothing of a lead's: unchanged
        ("Service Unavailable", "Service Unavailable"),
        ("HTTP 503: List is inactive", "HTTP 503: List is inactive"),
        ("Invalid 3 entries of 100", "Invalid 3 entries of 100"),
        (None, None),
    ],
)
def test_a_message_keeps_its_words_and_loses_the_leads_ids_phones_and_emails(
    message: str | None, pattern: str | None
) -> None:
    assert _pattern(message) == pattern


def test_refusals_of_different_leads_share_a_pattern_and_different_refusals_do_not() -> None:
    refusals = [
        "Lead already exists in list 3: PhoneNum +447700900123 (LeadId 17)",
        "Lead already exists in list 3: PhoneNum +447700900456 (LeadId 1234567)",
        "Lead already exists in list 3: PhoneNum +14155550100 (LeadId 9)",
    ]
    other_list = "Lead already exists in list 4: PhoneNum +447700900123 (LeadId 17)"

    patterns = {_pattern(message) for message in refusals}

    assert len(patterns) == 1
    assert _pattern(other_list) not in patterns
