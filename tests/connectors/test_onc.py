"""ONC end to end through the dispatch engine against the simulated ONC service over HTTP.

The sandbox's state dump is the witness: one contact per lead under our deterministic Guid, on
the configured channel, whatever faults, session expiries and resends happened on the way.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from connectors.base import Channel, Chunk, Lead, Phone
from connectors.chunking import plan_for
from connectors.config import ConfigError, TargetConfig
from connectors.engine import RowResult, dispatch, target_key
from connectors.ledger import Ledger
from connectors.onc import ASSUMPTIONS, OncConnector, OncOptions, contact_guid
from sandbox.app import build_app
from schemas.codes import Issue, Status
from tests.connectors.conftest import Recorder

CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"
SECRETS = {"account_id": "demo-account", "username": "demo", "password": "demo-secret"}


def _target(campaign: str = CAMPAIGN, attempts: int = 8, **options: Any) -> TargetConfig:
    return TargetConfig(
        name="onc-demo",
        kind="onc",
        base_url="http://sandbox/onc",
        campaign=campaign,
        credentials={k: f"env:ONC_{k.upper()}" for k in SECRETS},
        timeout=0.5,
        retry={"attempts": attempts, "backoff": 0.01, "max_backoff": 0.05},
        options=options,
    )


def _connector(
    campaign: str = CAMPAIGN, secrets: dict[str, str] | None = None, **options: Any
) -> OncConnector:
    return OncConnector(target=_target(campaign, **options), secrets=secrets or dict(SECRETS))


def _leads(n: int, start: int = 1) -> list[Lead]:
    return [
        Lead(i, f"L-{i:04d}", "Ana", "Ruiz", (Phone(f"+3465{i:07d}", "mobile"),), f"ana{i}@example.com")
        for i in range(start, start + n)
    ]


async def _run(app: Starlette, connector: OncConnector, leads: list[Lead], ledger: Ledger,
               run_id: str = "run-1", **kwargs: Any) -> list[RowResult]:  # fmt: skip
    return await dispatch(
        connector, leads, ledger=ledger, run_id=run_id, transport=httpx.ASGITransport(app=app), **kwargs
    )


def _state(app: Starlette) -> dict[str, Any]:
    state: dict[str, Any] = app.state.sandbox.simulators["onc"].dump()
    return state


def _contacts(app: Starlette) -> list[dict[str, Any]]:
    campaign = next(c for c in _state(app)["campaigns"] if c["ID"] == CAMPAIGN)
    contacts: list[dict[str, Any]] = campaign["contacts"]
    return contacts


def _stored(app: Starlette) -> Counter[str]:
    return Counter(c["Id"] for c in _contacts(app))


def _guids(leads: list[Lead]) -> Counter[str]:
    return Counter(contact_guid(CAMPAIGN, lead.external_id) for lead in leads)


async def test_every_lead_arrives_once_under_its_guid_and_the_session_is_closed(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(40)
    results = await _run(app, _connector(), leads, ledger)

    assert [r.source_row for r in results] == [lead.source_row for lead in leads]
    assert {r.status for r in results} == {Status.ACCEPTED}
    assert _stored(app) == _guids(leads)
    assert {r.vendor_id for r in results} == set(_guids(leads))
    contact = next(c for c in _contacts(app) if c["Id"] == contact_guid(CAMPAIGN, "L-0003"))
    assert contact["VoiceCommInfo"]["Destination"] == "+34650000003"
    assert contact["SMSCommInfo"] is None
    assert contact["EmailCommInfo"] is None
    assert _state(app)["open_sessions"] == 0


@pytest.mark.parametrize(
    ("channel", "comm_info", "destination"),
    [("sms", "SMSCommInfo", "+34650000001"), ("email", "EmailCommInfo", "ana1@example.com")],
)
async def test_the_configured_channel_carries_the_destination_and_message(
    app: Starlette, ledger: Ledger, channel: str, comm_info: str, destination: str
) -> None:
    connector = _connector(channel=channel, message="Your appointment is tomorrow", retry_count=3)
    assert connector.channel is Channel(channel)
    await _run(app, connector, _leads(1), ledger)

    (contact,) = _contacts(app)
    info = contact[comm_info]
    assert info["Destination"] == destination
    assert info["TextToSendOverwrite"] == "Your appointment is tomorrow"
    assert info["RetryCount"] == 3
    assert contact["VoiceCommInfo"] is None


async def test_per_contact_error_codes_land_on_their_rows(app: Starlette, ledger: Ledger) -> None:
    leads = _leads(6)
    leads[2] = Lead(3, "L-0003", phones=(Phone("12"),))
    leads[4] = Lead(5, "L-0005", email="only@example.com")
    results = await _run(app, _connector(), leads, ledger)

    assert (results[2].status, results[2].vendor_status) == (Status.VENDOR_REJECTED, "7")
    assert results[2].reasons == (Issue.VENDOR_REJECTED,)
    assert (results[4].status, results[4].reasons) == (Status.INELIGIBLE, (Issue.NEEDS_PHONE,))
    assert [results[i].status for i in (0, 1, 3, 5)] == [Status.ACCEPTED] * 4
    assert _stored(app) == _guids([leads[i] for i in (0, 1, 3, 5)])


async def test_a_resend_counts_already_exists_as_accepted_and_stores_nothing_twice(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(10)
    await _run(app, _connector(), leads, ledger, "run-1")
    again = await _run(app, _connector(), leads, ledger, "run-2", resend=True)

    assert {(r.status, r.reasons, r.vendor_status) for r in again} == {
        (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,), "6")
    }
    assert _stored(app) == _guids(leads)


@pytest.mark.parametrize("vendor_got_it", [True, False], ids=["stored-before-crash", "never-arrived"])
async def test_contacts_left_in_flight_by_a_crashed_run_are_settled_once(
    app: Starlette, ledger: Ledger, vendor_got_it: bool
) -> None:
    leads = _leads(12)
    connector = _connector()
    in_flight = plan_for(connector, leads).chunks[:4]
    for chunk in in_flight:
        ledger.begin_chunk(target_key(connector), chunk.batch_id, [chunk.leads[0].external_id], "crashed")
    if vendor_got_it:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), auth=connector.auth()) as client:
            for chunk in in_flight:
                response = await client.send(connector.build_request(client, chunk))
                assert connector.parse_response(chunk, response)[0].status is Status.ACCEPTED

    results = await _run(app, _connector(), leads, ledger, "run-2")

    expected = Status.ALREADY_SENT if vendor_got_it else Status.ACCEPTED
    assert {r.status for r in results[:4]} == {expected}
    assert {r.status for r in results[4:]} == {Status.ACCEPTED}
    assert _stored(app) == _guids(leads)


async def test_an_expired_session_is_reopened_and_the_call_replayed(app: Starlette) -> None:
    connector = _connector()
    auth = connector.auth()
    lead = _leads(1)
    chunk = plan_for(connector, lead).chunks[0]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), auth=auth) as client:
        assert await connector.reconcile(client, chunk) is None
        first_session = connector._auth.token if connector._auth else None
        app.state.sandbox.clock.advance(21 * 60)
        response = await client.send(connector.build_request(client, chunk))
        second_session = connector._auth.token if connector._auth else None
        outcome = connector.parse_response(chunk, response)[0]
        await connector.close(client)

    assert outcome.status is Status.ACCEPTED
    assert first_session and second_session and first_session != second_session
    assert second_session.encode() in response.request.content
    assert _stored(app) == _guids(lead)
    assert _state(app)["open_sessions"] == 0


async def test_faults_and_sessions_dying_mid_run_lose_no_row_and_send_none_twice(
    app: Starlette, ledger: Ledger
) -> None:
    profile = {
        "seed": 5,
        "vendors": {
            "onc": {
                "*": {
                    "rate_429": 0.1,
                    "retry_after": 1,
                    "rate_500": 0.05,
                    "rate_503": 0.05,
                    "rate_drop": 0.05,
                    "rate_hang": 0.05,
                    "hang_seconds": 5,
                    "rate_expire": 0.15,
                },
            }
        },
    }
    app.state.sandbox.faults.configure(profile)
    leads = _leads(150)
    # about 37% of tries fail here, and the order in which 150 concurrent calls draw their
    # faults varies: with 8 tries a contact failed for good in about one run in twenty
    # (0.37^8 per contact); 20 tries put that beyond reach (0.37^20 ~ 2e-9)
    results = await _run(app, _connector(attempts=20), leads, ledger)

    assert {r.status for r in results} == {Status.ACCEPTED}
    assert max(r.attempts for r in results) > 1
    assert _stored(app) == _guids(leads)


async def test_an_unknown_campaign_stops_the_target_as_misconfigured(app: Starlette, ledger: Ledger) -> None:
    results = await _run(app, _connector(campaign=str(uuid.uuid4())), _leads(20), ledger)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert not _stored(app)


async def test_a_wrong_namespace_is_fatal_not_retried(app: Starlette, ledger: Ledger) -> None:
    results = await _run(app, _connector(namespace="http://example.com/other/"), _leads(3), ledger)

    assert {r.status for r in results} == {Status.FAILED}
    assert results[0].attempts == 1
    assert "namespace" in (results[0].vendor_message or "")


async def test_credentials_and_session_ids_never_appear_in_logs_or_results(
    app: Starlette, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app.state.sandbox.faults.configure(
        {"seed": 4, "vendors": {"onc": {"*": {"rate_503": 0.2, "rate_expire": 0.2}}}}
    )
    wrong = {**SECRETS, "password": "wr0ng-Passw0rd"}
    refused = await _run(app, _connector(secrets=wrong), _leads(3), ledger, "run-1")
    connector = _connector()
    sessions: set[str] = set()

    def note_session(done: int, total: int) -> None:
        if connector._auth is not None and connector._auth.token:
            sessions.add(connector._auth.token)

    accepted = await _run(app, connector, _leads(20, start=4), ledger, "run-2", progress=note_session)

    assert {r.reasons for r in refused} == {(Issue.AUTH_FAILED,)}
    assert {r.status for r in accepted} == {Status.ACCEPTED}
    seen = caplog.text + repr(refused) + repr(accepted) + repr(connector)
    assert sessions
    for secret in ("wr0ng-Passw0rd", SECRETS["password"], *sessions):
        assert secret not in seen


@pytest.mark.parametrize(
    ("campaign", "options", "secrets", "key"),
    [
        (CAMPAIGN, {"channel": "fax"}, SECRETS, "options.channel"),
        (CAMPAIGN, {"retry_count": 256}, SECRETS, "options.retry_count"),
        (CAMPAIGN, {"soap_action": "{namespace}{method}"}, SECRETS, "options.soap_action"),
        ("LEADFLOW-DEMO", {}, SECRETS, "campaign"),
        (CAMPAIGN, {}, {"username": "demo", "password": "x"}, "credentials.account_id"),
    ],
)
def test_bad_configuration_is_refused_naming_target_and_key(
    campaign: str, options: dict[str, Any], secrets: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError, match="onc-demo") as caught:
        _connector(campaign, secrets, **options)
    assert key in str(caught.value)


def test_account_id_may_come_from_options_instead_of_credentials() -> None:
    connector = _connector(secrets={"username": "demo", "password": "x"}, account_id="demo-account")
    assert connector.options.account_id == "demo-account"


# --- declared assumptions: each guess changed on our side only, the strict sandbox shows it ---


def _failed_before_any_contact(app: Starlette, results: list[RowResult], needle: str) -> None:
    assert {r.status for r in results} == {Status.FAILED}
    assert needle in (results[0].vendor_message or "")
    assert not _stored(app)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"service_path": "/NotificationsService.svc"}, "OpenAPISession answer unreadable"),
        ({"namespace": "http://example.com/other/"}, "ActionNotSupported"),
        ({"contract": "INotificationsService"}, "ActionNotSupported"),
        ({"soap_action": "{namespace}{operation}"}, "ActionNotSupported"),
        ({"result_element": "{operation}Return"}, "result_element"),
    ],
    ids=["service_path", "namespace", "contract", "soap_action", "result_element"],
)
async def test_a_wrong_wire_guess_is_refused_by_the_strict_sandbox_at_login(
    app: Starlette, ledger: Ledger, options: dict[str, Any], needle: str
) -> None:
    results = await _run(app, _connector(**options), _leads(3), ledger)

    _failed_before_any_contact(app, results, needle)
    assert _state(app)["open_sessions"] == (1 if "result_element" in options else 0)


@pytest.mark.parametrize("strict", [True, False], ids=["wcf-dispatcher-fault", "soap-client-fault"])
async def test_a_soap_fault_refusing_the_login_stops_the_target_as_misconfigured_not_transient(
    app: Starlette, ledger: Ledger, strict: bool
) -> None:
    app.state.sandbox.simulators["onc"].strict = strict
    results = await _run(app, _connector(namespace="http://example.com/other/"), _leads(3), ledger)

    # a contract refusal meets the same answer on every try: a person fixes the target's options
    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert results[0].attempts == 1


async def test_a_soap_client_fault_refusing_a_contact_stops_the_target_as_misconfigured(
    app: Starlette, ledger: Ledger
) -> None:
    # the login passes; every AddCampaignContact is over the service's request size (soap:Client)
    oversized = "x" * (16 * 1024 * 1024)
    results = await _run(app, _connector(message=oversized), _leads(2), ledger)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert "Client" in (results[0].vendor_message or "")
    assert not _stored(app)


@pytest.mark.parametrize(
    ("options", "dropped"),
    [
        (
            {"data_namespace": "http://schemas.datacontract.org/2004/07/Other"},
            "contact/CampaignId {http://schemas.datacontract.org/2004/07/Other}",
        ),
        (
            {"member_order": "documented"},
            "contact/CampaignId {http://schemas.datacontract.org/2004/07/DynamicNotifications}",
        ),
    ],
    ids=["data_namespace", "member_order"],
)
async def test_a_wrong_data_contract_guess_is_dropped_by_the_strict_sandbox(
    app: Starlette, ledger: Ledger, options: dict[str, Any], dropped: str
) -> None:
    results = await _run(app, _connector(**options), _leads(3), ledger)

    # without its CampaignId, the contact names Guid.Empty: ONC's "unknown campaign" stops the
    # target, a setting to fix (the option) like a wrong campaign
    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert not _stored(app)
    assert f"AddCampaignContact/{dropped}" in _state(app)["ignored_members"]


@pytest.mark.parametrize("guessed", [frozenset({2}), frozenset({99})], ids=["default", "wrong"])
async def test_session_error_codes_decide_whether_an_expired_session_is_renewed(
    app: Starlette, ledger: Ledger, guessed: frozenset[int]
) -> None:
    app.state.sandbox.faults.configure({"vendors": {"onc": {"*": {"rate_expire": 1.0, "max_faults": 1}}}})
    results = await _run(app, _connector(session_error_codes=sorted(guessed)), _leads(1), ledger)

    if guessed == frozenset({2}):
        assert results[0].status is Status.ACCEPTED
        assert _stored(app) == _guids(_leads(1))
    else:
        # the vendor's "session expired" is read as this contact's refusal
        assert (results[0].status, results[0].vendor_status) == (Status.VENDOR_REJECTED, "2")
        assert not _stored(app)


@pytest.mark.parametrize("guessed", [[4], [99]], ids=["default", "wrong"])
async def test_campaign_error_codes_decide_whether_an_unknown_campaign_stops_the_target(
    app: Starlette, ledger: Ledger, guessed: list[int]
) -> None:
    results = await _run(
        app, _connector(campaign=str(uuid.uuid4()), campaign_error_codes=guessed), _leads(3), ledger
    )

    if guessed == [4]:
        assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
        assert "options.campaign_error_codes" in (results[0].vendor_message or "")
    else:
        assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "4")}


async def test_contact_id_vendor_sends_no_id_so_a_resend_is_stored_twice_and_marked(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(2)
    first = await _run(app, _connector(contact_id="vendor"), leads, ledger, "run-1")
    again = await _run(app, _connector(contact_id="vendor"), leads, ledger, "run-2", resend=True)

    assert {(r.status, r.vendor_id) for r in first + again} == {(Status.ACCEPTED, None)}
    assert not set(_stored(app)) & set(_guids(leads))
    assert len(_contacts(app)) == 4
    assert _connector(contact_id="vendor").refuses_known_ids is False


@pytest.mark.parametrize(("fmt", "stored"), [("e164", "+34650000001"), ("digits", "34650000001")])
async def test_destination_format_is_what_the_vendor_stores(
    app: Starlette, ledger: Ledger, fmt: str, stored: str
) -> None:
    await _run(app, _connector(destination_format=fmt), _leads(1), ledger)

    (contact,) = _contacts(app)
    assert contact["VoiceCommInfo"]["Destination"] == stored


@pytest.mark.parametrize(("retry_count", "stored"), [(None, 0), (5, 5)])
async def test_an_absent_retry_count_is_stored_as_zero_attempts_left(
    app: Starlette, ledger: Ledger, retry_count: int | None, stored: int
) -> None:
    await _run(app, _connector(retry_count=retry_count), _leads(1), ledger)

    (contact,) = _contacts(app)
    assert contact["VoiceCommInfo"]["RetryCount"] == stored


def test_every_assumption_is_an_option_with_its_declared_default_and_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### ONC declared assumptions") :]
    defaults = OncOptions()
    for name, assumption in ASSUMPTIONS.items():
        assert assumption.name == name
        assert getattr(defaults, name) == assumption.value
        assert assumption.source.startswith("not documented") or "(" in assumption.source
        assert f"`{name}`" in section


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"namespace": "tempuri"}, "options.namespace"),
        ({"data_namespace": ""}, "options.data_namespace"),
        ({"service_path": "Service.svc"}, "options.service_path"),
        ({"result_element": "Result"}, "options.result_element"),
        ({"member_order": "random"}, "options.member_order"),
        ({"session_error_codes": [0]}, "options.session_error_codes"),
        ({"session_error_codes": [4]}, "both session and campaign"),
        ({"contact_id": "external"}, "options.contact_id"),
        ({"destination_format": "national"}, "options.destination_format"),
    ],
)
def test_bad_assumption_options_are_refused_naming_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match="onc-demo") as caught:
        _connector(**options)
    assert key in str(caught.value)


# --- honest duplicates: "already exists" is ours only when ONC's record is what we send --------


async def test_an_external_id_reused_for_other_data_is_a_vendor_id_conflict(
    app: Starlette, ledger: Ledger
) -> None:
    await _run(app, _connector(), _leads(2), ledger, "run-1")
    reused = [Lead(1, "L-0001", phones=(Phone("+34659999999"),)), *_leads(1, start=2)]
    again = await _run(app, _connector(), reused, ledger, "run-2", resend=True)

    guid = contact_guid(CAMPAIGN, "L-0001")
    assert (again[0].status, again[0].reasons, again[0].vendor_id) == (
        Status.VENDOR_REJECTED,
        (Issue.VENDOR_ID_CONFLICT,),
        None,
    )
    assert guid in (again[0].vendor_message or "")
    assert "+34650000001" in (again[0].vendor_message or "")
    assert (again[1].status, again[1].reasons) == (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,))
    stored = next(c for c in _contacts(app) if c["Id"] == guid)
    assert stored["VoiceCommInfo"]["Destination"] == "+34650000001"


async def test_the_same_lead_sent_earlier_on_another_channel_is_a_conflict(
    app: Starlette, ledger: Ledger
) -> None:
    await _run(app, _connector(channel="sms"), _leads(1), ledger, "run-1")
    again = await _run(app, _connector(), _leads(1), ledger, "run-2", resend=True)

    assert again[0].reasons == (Issue.VENDOR_ID_CONFLICT,)
    assert "VoiceCommInfo/Destination ''" in (again[0].vendor_message or "")


async def test_a_crashed_runs_contact_holding_other_data_is_settled_as_a_conflict(
    app: Starlette, ledger: Ledger
) -> None:
    leads = _leads(2)
    connector = _connector(message="old text")
    in_flight = plan_for(connector, leads).chunks[0]
    ledger.begin_chunk(target_key(connector), in_flight.batch_id, [leads[0].external_id], "crashed")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), auth=connector.auth()) as client:
        response = await client.send(connector.build_request(client, in_flight))
        assert connector.parse_response(in_flight, response)[0].status is Status.ACCEPTED

    results = await _run(app, _connector(message="new text"), leads, ledger, "run-2")

    # not counted as delivered: the crashed run's contact holds another text; resent, refused again
    assert (results[0].status, results[0].reasons) == (Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT,))
    assert "TextToSendOverwrite 'old text' (we send 'new text')" in (results[0].vendor_message or "")
    assert results[1].status is Status.ACCEPTED


async def test_a_resent_file_is_judged_by_onc_records_read_once_not_once_per_contact(
    app: Starlette, ledger: Ledger, recorder: Recorder
) -> None:
    leads = _leads(40)
    await _run(app, _connector(), leads, ledger, "run-1")
    again = await dispatch(
        _connector(), leads, ledger=ledger, run_id="run-2", resend=True, transport=recorder
    )

    assert {r.reasons for r in again} == {(Issue.VENDOR_DUPLICATE,)}
    calls = Counter(
        request.headers["SOAPAction"].strip('"').rpartition("/")[2] for request, _, _ in recorder.exchanges
    )
    assert calls["AddCampaignContact"] == 40
    assert 1 <= calls["GetCampaignContactsListing"] <= 2
    assert 1 <= calls["GetCampaignContacts"] <= 2


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(message=st.text(max_size=30), destination=st.sampled_from(["voice", "email"]))
def test_a_resend_with_any_message_text_is_recognised_as_our_earlier_send(
    message: str, destination: str
) -> None:
    app = build_app()

    async def scenario() -> list[RowResult]:
        with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "ledger.sqlite") as ledger:
            options = {"message": message, "channel": destination}
            await _run(app, _connector(**options), _leads(1), ledger, "run-1")
            return await _run(app, _connector(**options), _leads(1), ledger, "run-2", resend=True)

    (again,) = asyncio.run(scenario())
    assert (again.status, again.reasons) == (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,)), again.vendor_message
    assert "as we send it" in (again.vendor_message or "")  # judged by ONC's record, not by a code


class _ChunkCounter(httpx.AsyncBaseTransport):
    """The sandbox's transport, counting the live Chunk objects at every 25th request."""

    def __init__(self, app: Starlette) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.requests = 0
        self.live: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests % 25 == 0:
            self.live.append(sum(isinstance(o, Chunk) for o in gc.get_objects()))
        return await self.inner.handle_async_request(request)


async def test_chunks_are_made_as_they_are_sent_not_all_before_the_first_request(
    app: Starlette, ledger: Ledger
) -> None:
    # issue 17: ONC sends one lead a request, and a plan made up front held a Chunk, a tuple and
    # a batch id per lead for the whole call (~29 MB per 100k-lead batch of a dry run)
    connector, leads = _connector(), _leads(300)
    counter = _ChunkCounter(app)
    results = await dispatch(connector, leads, ledger=ledger, run_id="run-1", transport=counter)
    assert [r.status for r in results] == [Status.ACCEPTED] * 300
    assert _stored(app) == _guids(leads)
    assert len(counter.live) >= 10
    assert max(counter.live) <= 4 * (connector.target.concurrency or connector.LIMITS.default_concurrency)
