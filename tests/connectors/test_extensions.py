"""Phone extensions at each vendor, through the dispatch engine against the strict sandbox over HTTP.

No vendor document has an extension field, and every sandbox refuses a number carrying one, so
a number is always sent alone; what each target does with the extension (README, "Phone
extensions at each vendor") is what these tests witness in the vendor's stored state:
OBI an attribute per number, Engage ``phone<n>_ext`` in the custom payload, ONC (unattended
voice) only phones without one, MaxContact the number alone, uContact SMS the number alone.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from starlette.applications import Starlette

from connectors.base import Lead, Phone
from connectors.config import TargetConfig
from connectors.engine import dispatch
from connectors.ledger import Ledger
from connectors.sinch_obi import SinchObiConnector
from sandbox.app import Sandbox
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Issue, Status
from tests.connectors import test_engage as engage
from tests.connectors import test_maxcontact as maxcontact
from tests.connectors import test_onc as onc
from tests.connectors import test_ucontact as ucontact
from tests.connectors.conftest import Recorder

OFFICE = Phone("+14155552671", "fixed_line", "204")
DESK = Phone("+14155550199", "fixed_line", "7")
MOBILE = Phone("+14155550123", "mobile")


def _lead(row: int, *phones: Phone) -> Lead:
    return Lead(row, f"X-{row}", "Ana", "Ruiz", phones, f"ana{row}@example.com")


# --- Sinch OBI: an attribute per number -----------------------------------------------------


def _obi(**options: Any) -> SinchObiConnector:
    target = TargetConfig(
        name="obi",
        kind="sinch_obi",
        base_url="http://sandbox/obi",
        campaign=DEMO_CAMPAIGN_ID,
        options=options,
    )
    return SinchObiConnector(target=target, secrets={"username": "demo", "password": "demo-secret"})


def _obi_customers(app: Starlette) -> dict[str, dict[str, Any]]:
    dump = app.state.sandbox.simulators["sinch_obi"].dump()
    return {c["externalId"]: c for c in dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]}


async def test_obi_dials_each_number_alone_and_shows_its_extension_as_that_numbers_attribute(
    app: Starlette, ledger: Ledger
) -> None:
    leads = [_lead(1, OFFICE, MOBILE, DESK), _lead(2, MOBILE)]
    results = await dispatch(
        _obi(), leads, ledger=ledger, run_id="r1", transport=httpx.ASGITransport(app=app)
    )

    assert [r.status for r in results] == [Status.ACCEPTED] * 2
    stored = _obi_customers(app)
    assert stored["X-1"]["numbers"] == "+14155552671;+14155550123;+14155550199"
    attributes = {a["name"]: a["value"] for a in stored["X-1"]["attributes"]}
    assert attributes["Phone1 Extension"] == "204" and attributes["Phone3 Extension"] == "7"
    assert "Phone2 Extension" not in attributes
    assert not any("Extension" in a["name"] for a in stored["X-2"]["attributes"])


async def test_obi_sends_no_extension_when_told_to_drop_it_and_names_the_attribute_as_configured(
    app: Starlette, ledger: Ledger
) -> None:
    transport = httpx.ASGITransport(app=app)
    await dispatch(
        _obi(extensions="drop"), [_lead(1, OFFICE)], ledger=ledger, run_id="r1", transport=transport
    )
    named = _obi(extension_attribute="Ext{n}")
    await dispatch(named, [_lead(2, DESK)], ledger=ledger, run_id="r2", transport=transport)

    stored = _obi_customers(app)
    assert stored["X-1"]["numbers"] == "+14155552671"
    assert not any("Ext" in a["name"] for a in stored["X-1"]["attributes"])
    assert {a["name"]: a["value"] for a in stored["X-2"]["attributes"]}["Ext1"] == "7"


async def test_obi_counts_a_resent_lead_with_an_extension_as_its_earlier_send(
    app: Starlette, ledger: Ledger
) -> None:
    transport = httpx.ASGITransport(app=app)
    await dispatch(_obi(), [_lead(1, OFFICE)], ledger=ledger, run_id="r1", transport=transport)
    [again] = await dispatch(
        _obi(), [_lead(1, OFFICE)], ledger=ledger, run_id="r2", transport=transport, resend=True
    )

    assert (again.status, again.reasons) == (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE.value,))


async def test_the_obi_sandbox_refuses_an_extension_in_numbers_and_an_attribute_value_that_is_no_string(
    app: Starlette,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox/obi",
        auth=("demo", "demo-secret"),
        headers={"Accept": "application/json"},
    ) as client:
        answer = await client.post(
            f"/campaigns/{DEMO_CAMPAIGN_ID}/customers/list",
            json=[
                {"externalId": "a", "numbers": "+14155552671;ext=204"},
                {"externalId": "b", "numbers": "+14155552671x204"},
                {
                    "externalId": "c",
                    "numbers": "+14155552671",
                    "attributes": {"attribute": [{"name": "Phone1 Extension", "value": 204}]},
                },
            ],
        )

    assert [item["statusCode"] for item in answer.json()] == [400, 400, 400]
    assert [item["error"] for item in answer.json()] == [
        "Invalid numbers: '+14155552671;ext=204'",
        "Invalid numbers: '+14155552671x204'",
        "Invalid attributes",
    ]


# --- Engage: phone<n>_ext in the custom payload, or held -------------------------------------


def _engage_contacts(app: Starlette) -> dict[str, dict[str, Any]]:
    return {c["externalId"]: c for b in engage._batches(app) for c in b["contacts"]}


async def test_engage_dials_e164_devices_and_carries_extensions_in_the_custom_payload(
    app: Starlette, ledger: Ledger
) -> None:
    lead = Lead(1, "X-1", "Ana", None, (OFFICE, MOBILE, DESK), attributes=(("plan", "gold"),))
    results = await engage._run(app, engage._connector(send_email_device=False), [lead], ledger)

    assert [r.status for r in results] == [Status.ACCEPTED]
    contact = _engage_contacts(app)["X-1"]
    assert [d["externalId"] for d in contact["devices"]] == [p.e164 for p in (OFFICE, MOBILE, DESK)]
    assert json.loads(contact["customPayload"]) == {"plan": "gold", "phone1_ext": "204", "phone3_ext": "7"}


async def test_engage_drops_extensions_when_told_and_sends_no_payload_for_them(
    app: Starlette, ledger: Ledger
) -> None:
    await engage._run(app, engage._connector(extensions="drop"), [_lead(1, OFFICE)], ledger)

    contact = _engage_contacts(app)["X-1"]
    assert [d["externalId"] for d in contact["devices"] if d["type"] == "Phone"] == [OFFICE.e164]
    assert not contact.get("customPayload")


async def test_engage_holding_extensions_dials_only_direct_numbers_and_holds_a_lead_without_one(
    app: Starlette, ledger: Ledger
) -> None:
    leads = [_lead(1, OFFICE, MOBILE), _lead(2, OFFICE, DESK)]
    results = await engage._run(
        app, engage._connector(extensions="hold", send_email_device=False), leads, ledger
    )

    assert [(r.status, r.reasons) for r in results] == [
        (Status.ACCEPTED, ()),
        (Status.INELIGIBLE, (Issue.EXTENSION_UNSUPPORTED,)),
    ]
    stored = _engage_contacts(app)
    assert [d["externalId"] for d in stored["X-1"]["devices"]] == [MOBILE.e164]
    assert "X-2" not in stored


async def test_the_engage_sandbox_refuses_a_device_carrying_an_extension(
    app: Starlette, ledger: Ledger
) -> None:
    glued = Phone("+14155552671;ext=204", "fixed_line")
    [result] = await engage._run(app, engage._connector(), [_lead(1, glued)], ledger)

    assert (result.status, result.vendor_status) == (Status.VENDOR_REJECTED, "ATTRIBUTE_INVALID_FORMAT")


# --- ONC: unattended voice, only phones without an extension ---------------------------------


def _onc_destinations(app: Starlette, channel: str = "VoiceCommInfo") -> dict[str, str]:
    return {c["Id"]: c[channel]["Destination"] for c in onc._contacts(app)}


async def test_onc_voice_calls_the_first_phone_without_an_extension_and_holds_a_lead_with_none(
    app: Starlette, ledger: Ledger
) -> None:
    leads = [_lead(1, OFFICE, MOBILE), _lead(2, OFFICE, DESK)]
    results = await onc._run(app, onc._connector(), leads, ledger)

    assert [(r.status, r.reasons) for r in results] == [
        (Status.ACCEPTED, ()),
        (Status.INELIGIBLE, (Issue.EXTENSION_UNSUPPORTED,)),
    ]
    assert _onc_destinations(app) == {onc.contact_guid(onc.CAMPAIGN, "X-1"): MOBILE.e164}


async def test_onc_dropping_extensions_calls_the_first_phone_alone(app: Starlette, ledger: Ledger) -> None:
    [result] = await onc._run(app, onc._connector(extensions="drop"), [_lead(1, OFFICE, MOBILE)], ledger)

    assert result.status is Status.ACCEPTED
    assert _onc_destinations(app) == {onc.contact_guid(onc.CAMPAIGN, "X-1"): OFFICE.e164}


async def test_onc_sms_texts_the_first_phone_whatever_the_extension_setting(
    app: Starlette, ledger: Ledger
) -> None:
    [result] = await onc._run(
        app, onc._connector(channel="sms"), [_lead(1, Phone("+14155550123", "mobile", "9"))], ledger
    )

    assert result.status is Status.ACCEPTED
    assert list(_onc_destinations(app, "SMSCommInfo").values()) == ["+14155550123"]


async def test_the_onc_sandbox_refuses_a_destination_carrying_an_extension(
    app: Starlette, ledger: Ledger
) -> None:
    glued = Phone("+14155552671;ext=204", "fixed_line")
    [result] = await onc._run(app, onc._connector(extensions="drop"), [_lead(1, glued)], ledger)

    assert result.status is Status.VENDOR_REJECTED
    assert onc._contacts(app) == []


# --- MaxContact: the number alone (agents ask the switchboard), or held ----------------------


async def test_maxcontact_sends_each_number_alone_by_default(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    [result] = await maxcontact.send(maxcontact.connector(), [_lead(1, OFFICE, MOBILE)], ledger, recorder)

    assert result.status is Status.ACCEPTED
    [stored] = maxcontact.stored(sandbox)
    assert stored["LeadPhones"] == [{"PhoneNum": OFFICE.e164}, {"PhoneNum": MOBILE.e164}]


async def test_maxcontact_holding_extensions_sends_only_direct_numbers_and_holds_a_lead_without_one(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    config = maxcontact.target(options={"source": "leads.csv", "extensions": "hold"})
    leads = [_lead(1, OFFICE, MOBILE), _lead(2, OFFICE, DESK)]
    results = await maxcontact.send(maxcontact.connector(config), leads, ledger, recorder)

    assert [(r.status, r.reasons) for r in results] == [
        (Status.ACCEPTED, ()),
        (Status.INELIGIBLE, (Issue.EXTENSION_UNSUPPORTED,)),
    ]
    assert [x["LeadPhones"] for x in maxcontact.stored(sandbox)] == [[{"PhoneNum": MOBILE.e164}]]
    assert len(recorder.to("addlead")) == 1


async def test_the_maxcontact_sandbox_takes_no_lead_extension_field_nor_an_extension_in_phonenum(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    await maxcontact.send(maxcontact.connector(), [_lead(1, MOBILE)], ledger, recorder)
    list_id = int(next(iter(maxcontact.state(sandbox)["lists"])))
    base = "http://sandbox/maxcontact/webservices/services"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        login = await client.get(
            f"{base}/apitoken/login/{maxcontact.LOGIN}",
            headers={
                "Authorization": base64.b64encode(maxcontact.PASSWORD.encode()).decode(),
                "Accept": "application/json",
            },
        )
        headers = {"Cookie": f"TokenKey={login.json()['TokenKey']}", "Accept": "application/json"}
        field = await client.post(
            f"{base}/LeadManagement/addlead",
            json={
                "ListID": list_id,
                "Name": "Ana",
                "LeadPhones": [{"PhoneNum": OFFICE.e164}],
                "Extension": "204",
            },
            headers=headers,
        )
        glued = await client.post(
            f"{base}/LeadManagement/addlead",
            json={"ListID": list_id, "Name": "Ana", "LeadPhones": [{"PhoneNum": "+14155552671x204"}]},
            headers=headers,
        )

    assert "Unknown Lead field: Extension" in field.text
    assert "Invalid PhoneNum" in glued.text
    assert len(maxcontact.stored(sandbox)) == 1


# --- uContact SMS: a text goes to the number itself ------------------------------------------


async def test_ucontact_sms_queues_the_number_without_its_extension(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    lead = Lead(
        1, "X-1", "Ana", None, (Phone("+447700900001", "mobile", "12"),), attributes=(("Plan", "gold"),)
    )
    [result] = await ucontact.send(ucontact.sms(), [lead], ledger, recorder)

    assert result.status is Status.SUBMITTED
    assert [row["number"] for row in ucontact.state(sandbox)["sms_rows"]] == ["+447700900001"]
