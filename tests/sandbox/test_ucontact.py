from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import Sandbox, build_app

INTEGRA = "/ucontact/Integra/resources"
CHANNELS = "/ucontact/IntegraChannels/resources"
SMS_SAMPLE = "somecampaign;098344484;Hello World!;9999\n"
EMAIL_SAMPLE = 'CampName;ejemplo@gmail.com;This is an example mail body;;"Var1":"value","Var2":"value";9999\n'


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        f"{INTEGRA}/auth/getUserToken", data={"user": "demo", "password": "demo-secret"}
    )
    assert response.status_code == 200
    return response.text


@pytest.fixture
async def uc(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.auth = httpx.BasicAuth("demo", await _token(client))
    return client


def _state(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.simulators["ucontact"].dump()


async def test_wrong_password_gets_no_token(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{INTEGRA}/auth/getUserToken", data={"user": "demo", "password": "nope"})
    assert response.status_code == 401


@pytest.mark.parametrize("auth", [None, ("demo", "not-a-token"), ("demo", "demo-secret")])
async def test_calls_need_basic_user_and_token(client: httpx.AsyncClient, auth: Any) -> None:
    form = {"filename": "f.txt", "fileb64": _b64(SMS_SAMPLE), "campaign": "somecampaign"}
    assert (await client.post(f"{INTEGRA}/SMS/uploadbase", data=form, auth=auth)).status_code == 401


async def test_token_of_another_user_name_is_refused(client: httpx.AsyncClient) -> None:
    token = await _token(client)
    response = await client.post(f"{INTEGRA}/SMS/SendSMS", data={}, auth=("mallory", token))
    assert response.status_code == 401


async def test_documents_sms_sample_line_is_queued(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    form = {"filename": "leads.txt", "fileb64": _b64(SMS_SAMPLE), "campaign": "somecampaign"}
    response = await uc.post(f"{INTEGRA}/SMS/uploadbase", data=form)
    assert (response.status_code, response.text) == (200, "1")
    rows = _state(sandbox)["sms_rows"]
    expected = {"line": 1, "campaign": "somecampaign", "number": "098344484", "text": "Hello World!"}
    assert rows == [
        {**expected, "priority": 9999, "filename": "leads.txt", "upload_campaign": "somecampaign"}
    ]


async def test_documents_email_sample_line_is_queued(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    form = {
        "channel": "email",
        "filename": "m.txt",
        "fileb64": _b64(EMAIL_SAMPLE),
        "dialer": "EmailDialer",
        "cant": "1",
    }
    response = await uc.post(f"{CHANNELS}/DialersResources/uploadDialerBase", data=form)
    assert response.text == "1"
    row = _state(sandbox)["email_rows"][0]
    assert (row["campaign"], row["email"], row["body"]) == (
        "CampName",
        "ejemplo@gmail.com",
        "This is an example mail body",
    )
    assert row["variables"] == {"Var1": "value", "Var2": "value"}
    assert (row["priority"], row["filename"], row["dialer"]) == (9999, "m.txt", "EmailDialer")


@pytest.mark.parametrize(
    ("fileb64", "campaign", "reason"),
    [
        ("not base64!!", "somecampaign", "base64"),
        (_b64("somecampaign;098344484;Hello\n"), "somecampaign", "3 fields"),
        (_b64("somecampaign;09834x484;Hello;1\n"), "somecampaign", "invalid number"),
        (_b64("othercampaign;098344484;Hello;1\n"), "somecampaign", "unknown campaign"),
        (_b64("somecampaign;098344484;Hello;high\n"), "somecampaign", "priority"),
        (_b64(SMS_SAMPLE), "nocampaign", "unknown campaign"),
        (_b64("\n\n"), "somecampaign", "no rows"),
    ],
)
async def test_bad_sms_files_answer_0_and_queue_nothing(
    uc: httpx.AsyncClient, sandbox: Sandbox, fileb64: str, campaign: str, reason: str
) -> None:
    form = {"filename": "bad.txt", "fileb64": fileb64, "campaign": campaign}
    response = await uc.post(f"{INTEGRA}/SMS/uploadbase", data=form)
    assert response.text == "0"
    state = _state(sandbox)
    assert state["sms_rows"] == []
    assert reason in state["rejected_uploads"][0]["reason"]


async def test_one_bad_line_refuses_the_whole_file(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    text = SMS_SAMPLE + "somecampaign;+59899123456;Hi;1\nsomecampaign;;Hi;1\n"
    form = {"filename": "f.txt", "fileb64": _b64(text), "campaign": "somecampaign"}
    assert (await uc.post(f"{INTEGRA}/SMS/uploadbase", data=form)).text == "0"
    assert _state(sandbox)["sms_rows"] == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"cant": "2"}, "cant"),
        ({"channel": "sms"}, "channel"),
        ({"dialer": "Nope"}, "dialer"),
        ({"fileb64": _b64("CampName;not-an-email;body;;;1\n")}, "invalid email"),
        ({"fileb64": _b64("CampName;a@b.com;body;;Var1=value;1\n")}, "variables"),
        ({"fileb64": _b64("CampName;a@b.com;body;1\n")}, "fields"),
    ],
)
async def test_bad_email_uploads_answer_0(
    uc: httpx.AsyncClient, sandbox: Sandbox, overrides: dict[str, str], reason: str
) -> None:
    form = {
        "channel": "email",
        "filename": "m.txt",
        "fileb64": _b64(EMAIL_SAMPLE),
        "dialer": "EmailDialer",
        "cant": "1",
    }
    response = await uc.post(f"{CHANNELS}/DialersResources/uploadDialerBase", data={**form, **overrides})
    assert response.text == "0"
    assert _state(sandbox)["email_rows"] == []
    assert reason in _state(sandbox)["rejected_uploads"][0]["reason"]


async def test_end_session_ends_the_token(uc: httpx.AsyncClient) -> None:
    assert (await uc.post(f"{INTEGRA}/auth/EndSession")).status_code == 200
    form = {"filename": "f.txt", "fileb64": _b64(SMS_SAMPLE), "campaign": "somecampaign"}
    assert (await uc.post(f"{INTEGRA}/SMS/uploadbase", data=form)).status_code == 401


async def test_token_expires_on_the_sandbox_clock(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.clock.advance(3601)
    assert (await uc.post(f"{INTEGRA}/SMS/SendSMS", data={})).status_code == 401


async def test_early_expiry_from_the_fault_profile(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.faults.configure({"vendors": {"ucontact": {"*/uploadbase": {"rate_expire": 1.0}}}})
    form = {"filename": "f.txt", "fileb64": _b64(SMS_SAMPLE), "campaign": "somecampaign"}
    assert (await uc.post(f"{INTEGRA}/SMS/uploadbase", data=form)).status_code == 401


async def test_send_sms_and_v2(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    form = {"destination": "098344484", "message": "Hi", "campaign": "Ventas->", "agent": "a", "source": "1"}
    assert (await uc.post(f"{INTEGRA}/SMS/SendSMS", data=form)).text == "OK"
    assert len((await uc.post(f"{INTEGRA}/SMS/SendSMSv2", data=form)).json()["id"]) == 32
    assert (await uc.post(f"{INTEGRA}/SMS/SendSMS", data={**form, "destination": "abc"})).text == "ERROR"
    assert len(_state(sandbox)["sms_sent"]) == 2


async def test_schedule_dialer_sms_documents_example(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sms = {
        "calldate": "2015-10-11 15:00:00",
        "campaign": "Ventas->",
        "destination": "098344484",
        "data": "Message",
    }
    assert (await uc.post(f"{INTEGRA}/SMS/ScheduleDialerSMS", data={"sms": json.dumps(sms)})).text == "1"
    assert _state(sandbox)["sms_scheduled"] == [sms]
    assert (await uc.post(f"{INTEGRA}/SMS/ScheduleDialerSMS", data={"sms": "{"})).text == "0"


async def test_send_email_documents_example(uc: httpx.AsyncClient) -> None:
    body = {
        "campaign": "Email", "to": "adress@ucontactcloud.com", "subject": "Subject",
        "body": "This is an email body can be HTML", "attachments": ["020212/file1.jpp", "020212/file2.jpg"],
        "template": "templateName", "variables": {"var1": "value", "var2": "value2"},
    }  # fmt: skip
    response = await uc.post(f"{CHANNELS}/Forms/sendEmail", json=body)
    assert len(response.json()["guid"]) == 36
    assert (await uc.post(f"{CHANNELS}/Forms/sendEmail", json={"campaign": "Email"})).status_code == 400


_text = st.text(
    st.characters(codec="utf-8", exclude_characters=";\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), min_size=1
)
_sms_rows = st.lists(
    st.tuples(
        st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True), _text.filter(str.strip), st.integers(0, 9999)
    ),
    min_size=1,
    max_size=50,
)


@settings(max_examples=25, deadline=None)
@given(rows=_sms_rows)
def test_every_uploaded_sms_row_is_queued_once_as_written(rows: list[tuple[str, str, int]]) -> None:
    text = "".join(f"somecampaign;{n};{t};{p}\n" for n, t, p in rows)

    async def upload() -> dict[str, Any]:
        app = build_app()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
            c.auth = httpx.BasicAuth("demo", await _token(c))
            form = {"filename": "p.txt", "fileb64": _b64(text), "campaign": "somecampaign"}
            assert (await c.post(f"{INTEGRA}/SMS/uploadbase", data=form)).text == "1"
        return _state(app.state.sandbox)

    state = asyncio.run(upload())
    assert [(r["number"], r["text"], r["priority"]) for r in state["sms_rows"]] == rows
