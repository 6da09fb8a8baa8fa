"""A uContact target checks the names its template and email ``variables`` look up against the
lead file's columns before anything is sent (connectors.ucontact ``check_columns``): a name that
is no lead field and no column of the file is refused, naming what could be meant."""

from __future__ import annotations

import logging
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import FileColumns, Lead, Phone
from connectors.config import TargetConfig
from connectors.errors import FatalTargetError
from connectors.ucontact import (
    UContactEmailConnector,
    UContactSmsConnector,
    render_template,
    template_names,
    template_values,
)
from connectors.ucontact_fields import LEAD_FIELDS
from schemas.codes import Issue


def sms(template: str, **options: Any) -> UContactSmsConnector:
    target = TargetConfig.model_validate(
        {
            "name": "uc-sms",
            "kind": "ucontact_sms",
            "base_url": "http://sandbox/ucontact",
            "campaign": "somecampaign",
            "options": {"template": template, **options},
        }
    )
    return UContactSmsConnector(target)


def email(template: str, **options: Any) -> UContactEmailConnector:
    target = TargetConfig.model_validate(
        {
            "name": "uc-email",
            "kind": "ucontact_email",
            "base_url": "http://sandbox/ucontact",
            "campaign": "CampName",
            "options": {"template": template, "dialer": "EmailDialer", **options},
        }
    )
    return UContactEmailConnector(target)


def refusal(connector: UContactSmsConnector | UContactEmailConnector, columns: FileColumns) -> str:
    with pytest.raises(FatalTargetError) as raised:
        connector.check_columns(columns)
    assert raised.value.reason == Issue.TARGET_MISCONFIGURED and raised.value.target == connector.target.name
    return str(raised.value)


FILE = FileColumns(
    attributes=("Account No", "Plan"),
    mapped={"first_name": "Vorname", "phone1": "Handy", "phone2": "Tel"},
    ignored=("Notes",),
)


def test_the_lead_fields_a_template_may_name_are_exactly_those_it_is_given() -> None:
    lead = Lead(
        1, "x", "Ana", "Lee", (Phone("+14155497500"),), "a@example.org", "US", "UTC", (("Plan", "g"),)
    )
    assert set(template_values(lead)) == {*LEAD_FIELDS, "Plan"}


def test_a_template_naming_lead_fields_and_the_files_columns_passes() -> None:
    sms("Hi {first_name} {full_name}, {Account No} on {Plan} ({phone}, {external_id})").check_columns(FILE)


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("Hi {first_name}, {Acount No} is due", "{Acount No} in template names no column of this file and "
         "no lead field (did you mean {Account No}?)"),
        ("Hi {fist_name}", "{fist_name} in template names no column of this file and no lead field "
         "(did you mean {first_name}?)"),
        ("Hi { first_name }", "(did you mean {first_name}?)"),
        ("Your {plan}", "(did you mean {Plan}?)"),
        ("Hallo {Vorname}", "{Vorname} in template: the file's column 'Vorname' is read as the lead field "
         "first_name: write {first_name}"),
        ("Call {Tel}", "{Tel} in template: the file's column 'Tel' is read as the lead's phone2; a message "
         "can name only {phone}"),
        ("See {Notes}", "{Notes} in template: the mapping file ignores the file's column 'Notes'"),
        ("Ref {zzzz}", "{zzzz} in template names no column of this file and no lead field. "),
    ],
)  # fmt: skip
def test_a_placeholder_naming_no_column_is_refused_with_what_could_be_meant(template: str, said: str) -> None:
    message = refusal(sms(template), FILE)
    assert message.startswith("uc-sms: ") and said in message
    assert "The file's own columns: 'Account No', 'Plan'; lead fields: external_id, first_name," in message
    assert "Fix options.template of the target in the targets file, or give the file the column" in message
    assert message.endswith("Nothing was sent to this target, so no message went out with a hole")


def test_every_missing_name_is_named_once_and_a_placeholder_in_a_format_spec_counts() -> None:
    message = refusal(sms("x {a} {b:{width}} {a}"), FileColumns(("b",)))
    assert message.count("{a} in template") == 1 and "{width} in template" in message
    assert "{b}" not in message


def test_email_variables_are_checked_like_placeholders() -> None:
    connector = email("Dear {full_name}", variables=["Account No", "Plann", "email"])
    message = refusal(connector, FILE)
    assert (
        '"Plann" in variables names no column of this file and no lead field (did you mean "Plan"?)'
        in message
    )
    assert "Account No" not in message.split(". The file's")[0]
    assert "Fix options.variables of the target" in message
    email("Dear {full_name}").check_columns(FileColumns())  # default: every attribute, none to check


def test_a_long_header_list_is_cut_in_the_message() -> None:
    columns = FileColumns(tuple(f"col{i}" for i in range(45)))
    message = refusal(sms("x {nothing_like_it}"), columns)
    assert "'col19' and 25 more" in message and "'col20'" not in message


def test_missing_fields_blank_warns_and_lets_the_target_send(caplog: pytest.LogCaptureFixture) -> None:
    connector = sms("Hi {first_name}, {Acount No}", missing_fields="blank")
    with caplog.at_level(logging.WARNING, logger="leadflow.connectors"):
        connector.check_columns(FILE)
    [record] = caplog.records
    assert (
        "{Acount No} in template" in record.getMessage()
        and "(did you mean {Account No}?)" in record.getMessage()
    )
    assert 'Sending anyway with them empty (missing_fields = "blank")' in record.getMessage()


def test_missing_fields_takes_only_refuse_or_blank() -> None:
    with pytest.raises(Exception, match="missing_fields"):
        sms("Hi", missing_fields="skip")


_name = st.text(string.ascii_letters + string.digits + " _-", min_size=1, max_size=12).filter(
    lambda n: n.strip() and not n.strip().isdigit()
)


@settings(max_examples=200, deadline=None)
@given(headers=st.lists(_name, max_size=6, unique=True), names=st.lists(_name, min_size=1, max_size=4))
def test_a_template_is_refused_exactly_when_a_placeholder_would_render_from_nothing(
    headers: list[str], names: list[str]
) -> None:
    template = "Hi " + " ".join("{" + name + "}" for name in names)
    columns = FileColumns(tuple(headers))
    lead = Lead(7, "ext-7", "Ana", "Lee", attributes=tuple((h, f"<{h}>") for h in headers))
    values = template_values(lead)
    unknown = [name for name in template_names(template) if name not in values]
    if unknown:
        message = refusal(sms(template), columns)
        assert all("{" + name + "} in template" in message for name in unknown)
    else:
        sms(template).check_columns(columns)
        rendered = render_template(template, values)
        assert all(f"<{h}>" in rendered for h in headers if "{" + h + "}" in template)
