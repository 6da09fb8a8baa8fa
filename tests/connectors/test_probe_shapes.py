"""The response-shape rules of the connection test, as tables: an answer in, what is wrong out.

The documents' own examples pass (sinch-obi-v1.txt's campaign, maxcontact-management-api.txt's
entities); each missing or mistyped field the connector relies on is named.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.onc import OncOptions
from connectors.probe_rest import (
    maxcontact_campaign_problems,
    maxcontact_lists_problems,
    maxcontact_login_problem,
    obi_campaign_problems,
    ucontact_login_problem,
)
from connectors.probe_soap import engage_campaign_problems, onc_campaigns_problems, onc_login_problem

OBI_DOCUMENT_CAMPAIGN = {
    "notHandled": 5,
    "dialerName": "Queue Dialer",
    "total": 10,
    "registered": "2020-09-25T07:07:50.243Z",
    "dialerId": "88B8B41C99E6484A94F402EA5E465FC5",
    "dialer": "88B8B41C99E6484A94F402EA5E465FC5",
    "endDate": "2021-02-20T22:00:00Z",
    "startDate": "2020-12-20T22:00:00Z",
    "handled": 5,
    "dialerStatus": "PASSIVE",
    "maxCalls": 0,
    "filtered": 0,
    "dialingMode": "PREDICTIVE",
    "name": "Test Campaign",
    "timeZone": "Europe/Berlin",
    "queueId": "63AA93F493A54C5A8597FCFA670B2382",
    "status": "Passive",
    "queueName": "Test Queue",
    "id": "8A7C98EAF1164F2FAA93B98EECB95D76",
}
"""The document's ``GET /campaigns/{campaignId}`` example, verbatim."""


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({}, None),
        ({"name": None}, "name (string)"),
        ({"dialerId": 7}, "dialerId (string)"),
        ({"id": "8A7C"}, "id of 32 characters"),
        ({"status": "Running"}, "status one of"),
    ],
)
def test_obi_campaign_shape(change: dict[str, Any], named: str | None) -> None:
    campaign = {k: v for k, v in {**OBI_DOCUMENT_CAMPAIGN, **change}.items() if v is not None}
    problems = obi_campaign_problems(campaign)
    assert (problems == []) if named is None else any(p.startswith(named) for p in problems), problems


@pytest.mark.parametrize("value", [[OBI_DOCUMENT_CAMPAIGN], "Test Campaign", None])
def test_an_obi_campaign_must_be_one_object(value: Any) -> None:
    assert obi_campaign_problems(value) == [f"a JSON object, not {type(value).__name__}"]


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        ({"Id": 1, "CampaignName": "Leadflow Demo", "Active": True}, []),
        ({"id": 1, "campaignname": "lower-case as ASP.NET may write it"}, []),
        ({"Id": "1", "CampaignName": "x"}, ["Id 1 (integer)"]),
        ({"Id": 2, "CampaignName": "x"}, ["Id 1 (integer)"]),
        ({"Id": True, "CampaignName": "x"}, ["Id 1 (integer)"]),
        ({"Id": 1}, ["CampaignName (string)"]),
        ([{"Id": 1, "CampaignName": "x"}], ["Data a Campaign object, not list"]),
    ],
)
def test_maxcontact_campaign_shape(data: Any, problems: list[str]) -> None:
    assert maxcontact_campaign_problems(data, 1) == problems


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ([], True),
        ([{"Id": 3, "ListName": "Leadflow 1", "ListType": 0}], True),
        ([{"Id": "3", "ListName": "Leadflow 1"}], False),
        ([{"Id": 3}], False),
        ({"Id": 3, "ListName": "x"}, False),
    ],
)
def test_maxcontact_lists_shape(data: Any, ok: bool) -> None:
    assert (maxcontact_lists_problems(data) == []) is ok


def _answer(status: int, body: bytes, content_type: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": content_type})


@pytest.mark.parametrize(
    ("response", "wrong"),
    [
        (_answer(200, b'{"TokenKey": "abc"}', "application/json"), False),
        (_answer(200, b'{"tokenkey": "abc"}', "application/json"), False),
        (_answer(401, b'{"Success": false}', "application/json"), False),
        (_answer(200, b"<TokenResponse><TokenKey>abc</TokenKey></TokenResponse>", "application/xml"), True),
        (_answer(200, b'{"Token": "abc"}', "application/json"), True),
    ],
)
def test_maxcontact_login_shape(response: httpx.Response, wrong: bool) -> None:
    assert (maxcontact_login_problem(response) is not None) is wrong


@pytest.mark.parametrize(
    ("response", "wrong"),
    [
        (_answer(200, b"5f2b0c", "text/plain"), False),
        (_answer(200, b"ERROR", "text/plain"), False),
        (_answer(401, b"<html>denied</html>", "text/html"), False),
        (_answer(200, b"<html><body>Sign in</body></html>", "text/html"), True),
        (_answer(200, b"  <?xml version='1.0'?><a/>", "text/plain"), True),
    ],
)
def test_ucontact_login_shape(response: httpx.Response, wrong: bool) -> None:
    """``ERROR`` is a refused login (the login flow says so), a page is a wrong answer."""
    assert (ucontact_login_problem(response) is not None) is wrong


SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ONC_NS = "http://tempuri.org/"
DATA_NS = "http://schemas.datacontract.org/2004/07/DynamicNotifications"


def _envelope(body: str) -> bytes:
    return f'<s:Envelope xmlns:s="{SOAP}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


@pytest.mark.parametrize(
    ("body", "status", "wrong"),
    [
        (
            f'<OpenAPISessionResponse xmlns="{ONC_NS}"><OpenAPISessionResult xmlns:a="{DATA_NS}">'
            "<a:Description/><a:ErrorCode>0</a:ErrorCode><a:SessionId>x</a:SessionId>"
            "</OpenAPISessionResult></OpenAPISessionResponse>",
            200,
            False,
        ),
        (f'<OpenAPISessionResponse xmlns="{ONC_NS}"/>', 200, True),
        ("<s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring></s:Fault>", 500, False),
    ],
)
def test_onc_login_shape(body: str, status: int, wrong: bool) -> None:
    response = _answer(status, _envelope(body), "text/xml")
    assert (onc_login_problem(response) is not None) is wrong


@pytest.mark.parametrize(("status", "wrong"), [(200, True), (503, False)])
def test_an_onc_login_answer_that_is_no_envelope(status: int, wrong: bool) -> None:
    """A page with 200 is a wrong answer; with 503 it is the vendor's trouble (the flow's)."""
    response = _answer(status, b"<html>busy</html>", "text/html")
    assert (onc_login_problem(response) is not None) is wrong


def _campaigns(member_ns: str) -> ET.Element:
    return ET.fromstring(
        f'<GetCampaignsResponse xmlns="{ONC_NS}"><GetCampaignsResult xmlns:a="{member_ns}">'
        "<a:OutboundNotificationCampaignInfo><a:ID>6f1c1f1e-0000-4000-8000-000000000001</a:ID>"
        "<a:ShortName>Leadflow demo</a:ShortName></a:OutboundNotificationCampaignInfo>"
        "</GetCampaignsResult></GetCampaignsResponse>"
    )


def test_onc_campaigns_in_the_options_namespaces_pass() -> None:
    assert onc_campaigns_problems(_campaigns(DATA_NS), OncOptions()) == []


def test_onc_campaign_members_in_another_namespace_are_named() -> None:
    (problem,) = onc_campaigns_problems(_campaigns("http://example.com/other"), OncOptions())
    assert f"in namespace {DATA_NS} (options.data_namespace)" in problem
    assert "its members are in http://example.com/other" in problem


def test_onc_result_in_another_service_namespace_is_named() -> None:
    options = OncOptions(namespace="http://example.com/service/")
    (problem,) = onc_campaigns_problems(_campaigns(DATA_NS), options)
    assert "GetCampaignsResponse in namespace http://example.com/service/ (options.namespace)" in problem


ENGAGE_NS = "http://www.soundbite.com/SOAPAPI2/110"


@pytest.mark.parametrize(
    ("operation", "body", "problems"),
    [
        (
            "showCampaign",
            "<return><internalId>2002</internalId><externalId>LEADFLOW-DEMO</externalId></return>",
            [],
        ),
        ("showCampaign", "", ["one return element"]),
        (
            "showCampaign",
            "<return><externalId>X</externalId></return>",
            ["each Campaign with internalId and externalId"],
        ),
        ("listCampaigns", "", []),
        ("listCampaigns", "<return><internalId>1</internalId><externalId>A</externalId></return>" * 2, []),
    ],
)
def test_engage_campaign_shape(operation: str, body: str, problems: list[str]) -> None:
    reply = ET.fromstring(f'<ns:{operation}Response xmlns:ns="{ENGAGE_NS}">{body}</ns:{operation}Response>')
    assert engage_campaign_problems(reply, operation) == problems


def test_an_engage_answer_to_another_operation_is_named() -> None:
    reply = ET.fromstring(f'<ns:listCampaignsResponse xmlns:ns="{ENGAGE_NS}"/>')
    assert engage_campaign_problems(reply, "showCampaign") == [
        "showCampaignResponse, not listCampaignsResponse"
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
"""Any JSON value a vendor (or whatever answers in its place) could send."""


@settings(max_examples=100, deadline=None)
@given(value=JSON)
def test_the_json_shape_rules_name_problems_and_never_raise(value: Any) -> None:
    for problems in (
        obi_campaign_problems(value),
        maxcontact_campaign_problems(value, 1),
        maxcontact_lists_problems(value),
    ):
        assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)


REQUIRED_STRINGS = st.fixed_dictionaries(
    {key: st.text(max_size=40) for key in ("name", "dialerId", "dialingMode", "queueId", "registered")},
    optional={"status": st.text(max_size=10)},
)


@settings(max_examples=100, deadline=None)
@given(campaign=REQUIRED_STRINGS)
def test_an_obi_campaign_with_every_required_string_passes_unless_its_status_is_unknown(
    campaign: dict[str, str],
) -> None:
    campaign["id"] = "8A7C98EAF1164F2FAA93B98EECB95D76"
    problems = obi_campaign_problems(campaign)
    known = campaign.get("status", "Active") in {
        "Passive",
        "Active",
        "Handled",
        "Expired",
        "Invalid",
        "Deleted",
    }
    assert (problems == []) is known
