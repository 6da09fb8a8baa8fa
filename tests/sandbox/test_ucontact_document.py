"""The examples of ucontact-integra-api.txt not replayed in test_ucontact.py (SendSMS, SendSMSv2,
ScheduleDialerSMS, the two upload sample lines, sendEmail without a schedule are there)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.app import Sandbox
from tests.sandbox.test_ucontact import CHANNELS, INTEGRA, _state, _token

DOC_SEND_EMAIL = """{
"campaign": "Email",
"to": "adress@ucontactcloud.com",
"subject": "Subject",
"body": "This is an email body can be HTML",
"attachments": [
"020212/file1.jpp",
"020212/file2.jpg"
],
"schedule": {
"title": "Date title",
"organizer": "Myself",
"from": "2018-08-24 00:00:00",
"to": "2018-08-24 01:00:00"
}
"template": "templateName",
"variables": {
"var1":"value",
"var2":"value2"
}
}"""
"""Forms/sendEmail's request example verbatim: it lacks the comma after ``schedule``'s object."""


@pytest.fixture
async def uc(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.auth = httpx.BasicAuth("demo", await _token(client))
    return client


async def test_send_email_example_with_its_schedule_answers_a_guid(uc: httpx.AsyncClient) -> None:
    fixed = DOC_SEND_EMAIL.replace('}\n"template"', '},\n"template"')
    response = await uc.post(
        f"{CHANNELS}/Forms/sendEmail", content=fixed, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert len(response.json()["guid"]) == len("23e5a082-adeb-4e51-9e39-9e8efee7aacc")


async def test_send_email_example_verbatim_is_not_json_so_400_wrong_parameters(uc: httpx.AsyncClient) -> None:
    response = await uc.post(
        f"{CHANNELS}/Forms/sendEmail", content=DOC_SEND_EMAIL, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.text) == (400, "Wrong parameters")


async def test_receive_url_sms_answers_ok_or_error(uc: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ok = await uc.get(f"{INTEGRA}/InboundSMS/ReceiveURLSMS", params={"phone": "098344484", "message": "Hola"})
    bad = await uc.get(f"{INTEGRA}/InboundSMS/ReceiveURLSMS", params={"phone": "098344484"})
    assert (ok.text, bad.text) == ("OK", "ERROR")
    assert _state(sandbox)["sms_received"] == [{"phone": "098344484", "message": "Hola"}]


async def test_send_sms_with_a_missing_message_is_error(uc: httpx.AsyncClient) -> None:
    form = {"destination": "098344484", "campaign": "Ventas->", "agent": "a", "source": "1"}
    assert (await uc.post(f"{INTEGRA}/SMS/SendSMS", data=form)).text == "ERROR"


async def test_the_documents_bad_session_answer_is_a_switch_401_by_default(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    client.auth = httpx.BasicAuth("demo", "not-a-token")
    upload = f"{INTEGRA}/SMS/uploadbase"
    assert (await client.post(upload, data={"filename": "f.csv"})).status_code == 401
    sandbox.simulators["ucontact"].expired_answer = "ERROR"  # type: ignore[attr-defined]
    answer = await client.post(upload, data={"filename": "f.csv"})
    assert (answer.status_code, answer.text) == (200, "ERROR")
