"""Every undocumented guess of connectors/engage.py is what the tests test.

For each entry of ``ASSUMPTIONS`` a test changes the guess on the client side only (the
target's ``options``) and checks that the strict sandbox, which reads none of them, refuses
it: nothing stored, no row counted accepted. If the sandbox shared the client's guess, a
changed guess would pass here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.base import Lead, Phone
from connectors.config import TargetConfig
from connectors.engage import ASSUMPTIONS, EngageConnector, EngageOptions
from connectors.engine import RowResult, dispatch
from connectors.ledger import Ledger
from schemas.codes import Issue, Status

ROOT = Path(__file__).resolve().parents[2]


def _connector(
    password: str = "demo-secret", chunk_size: int | None = None, **options: Any
) -> EngageConnector:
    target = TargetConfig(
        name="engage-guess",
        kind="engage",
        base_url="http://sandbox/engage",
        campaign="LEADFLOW-DEMO",
        credentials={"username": "env:U", "password": "env:P"},
        retry={"attempts": 2, "backoff": 0.01, "max_backoff": 0.02},
        chunk_size=chunk_size,
        options={"account_id": "1001", **options},
    )
    return EngageConnector(target=target, secrets={"username": "demo", "password": password})


def _leads(phone: str = "+4915112000001") -> list[Lead]:
    return [
        Lead(
            i,
            f"G-{i}",
            first_name="Ana",
            last_name="Ruiz",
            phones=(Phone(phone[:-1] + str(i)),),
            email=f"ana{i}@example.com",
            attributes=(("plan", "gold"),),
        )
        for i in range(1, 4)
    ]


async def _run(
    app: Starlette, connector: EngageConnector, ledger: Ledger, run: str, **kw: Any
) -> list[RowResult]:
    transport = httpx.ASGITransport(app=app)
    return await dispatch(
        connector, _leads(**kw), ledger=ledger, run_id=run, transport=transport, resend=True
    )


def _stored(app: Starlette) -> int:
    count: int = app.state.sandbox.simulators["engage"].dump()["contact_count"]
    return count


FIELD_RENAMES = {
    "batch_external_id": "name",
    "campaign": "campaignRef",
    "owner": "account",
    "requested_start_time": "startTime",
    "max_duration": "duration",
    "contact_external_id": "id",
    "first_name": "givenName",
    "last_name": "surname",
    "custom_payload": "customData",
    "devices": "device",
    "device_value": "value",
    "device_type": "kind",
}

SEND_GUESSES: list[tuple[str, dict[str, Any]]] = [
    ("namespace", {"namespace": "http://www.soundbite.com/SOAPAPI2/100"}),
    ("service_path", {"service_path": "/SOAPAPI2/CampaignManagementService"}),
    ("soap_action", {"soap_action": "createContactBatch"}),
    ("first_argument", {"first_argument": 0}),
    ("qualified_members", {"qualified_members": True}),
    *[
        (f"field_names.{key}", {"field_names": {key: name}, "start_delay_minutes": 60})
        for key, name in FIELD_RENAMES.items()
    ],
    ("device_types.phone", {"device_types": {"phone": "PHONE"}}),
    ("device_types.email", {"device_types": {"email": "EmailAddress"}}),
    ("max_duration_unit", {"max_duration_unit": "seconds"}),
]


@pytest.mark.parametrize(("guess", "options"), SEND_GUESSES, ids=[g for g, _ in SEND_GUESSES])
async def test_a_changed_wire_guess_is_refused_by_the_strict_sandbox(
    app: Starlette, ledger: Ledger, guess: str, options: dict[str, Any]
) -> None:
    results = await _run(app, _connector(**options), ledger, "run-1")

    assert len(results) == 3
    assert Status.ACCEPTED not in {r.status for r in results}, guess
    assert _stored(app) == 0


async def test_the_declared_guesses_themselves_pass_the_strict_sandbox(
    app: Starlette, ledger: Ledger
) -> None:
    results = await _run(app, _connector(start_delay_minutes=60), ledger, "run-1")
    assert {r.status for r in results} == {Status.ACCEPTED}
    assert _stored(app) == 3


@pytest.mark.parametrize(
    ("guess", "options"),
    [
        ("error_templates", {"error_templates": {"OBJECT_EXISTS": "Object %s exists already"}}),
        ("verify_operation", {"verify_operation": "listContactAttempts"}),
        ("verify_window_days", {"verify_window_days": (0, 0)}),
    ],
)
async def test_a_changed_resend_guess_counts_no_earlier_send_as_ours(
    app: Starlette, ledger: Ledger, guess: str, options: dict[str, Any]
) -> None:
    first = await _run(app, _connector(), ledger, "run-1")
    assert {r.status for r in first} == {Status.ACCEPTED}

    again = await _run(app, _connector(**options), ledger, "run-2")

    assert Status.ACCEPTED not in {r.status for r in again}, guess
    assert _stored(app) == 3


async def test_a_changed_template_for_a_contact_error_does_not_settle_the_row(
    app: Starlette, ledger: Ledger
) -> None:
    templates = {"ATTRIBUTE_INVALID_FORMAT": "Attribute %s is badly formatted"}
    results = await _run(app, _connector(error_templates=templates), ledger, "run-1", phone="12345")
    assert {r.status for r in results} == {Status.FAILED}
    default = await _run(app, _connector(), ledger, "run-2", phone="12345")
    assert {(r.status, r.reasons) for r in default} == {(Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,))}


async def test_auth_fault_codes_decide_what_is_a_refused_login(app: Starlette, ledger: Ledger) -> None:
    declared = await _run(app, _connector(password="wrong"), ledger, "run-1")
    assert {r.reasons for r in declared} == {(Issue.AUTH_FAILED,)}
    changed = await _run(
        app, _connector(password="wrong", auth_fault_codes=["AUTHENTICATION_FAILURE"]), ledger, "run-2"
    )
    assert {r.status for r in changed} == {Status.FAILED}
    assert Issue.AUTH_FAILED not in {reason for r in changed for reason in r.reasons}


def test_every_assumption_is_an_option_and_listed_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("#### Engage declared assumptions") :]
    section = section[: section.index("\n## ", 1) if "\n## " in section[1:] else None]
    for key, assumption in ASSUMPTIONS.items():
        assert key in EngageOptions.model_fields, key
        assert EngageOptions.model_fields[key].default == assumption.default, key
        assert re.search(rf"`{key}`", section), f"README does not list {key}"
        assert assumption.document, key
    tested = {g.split(".")[0] for g, _ in SEND_GUESSES} | {
        "error_templates",
        "verify_operation",
        "verify_window_days",
        "verify_contact_operation",
        "auth_fault_codes",
        "extensions",  # tests/connectors/test_extensions.py: the sandbox refuses a device carrying one
    }
    assert tested == set(ASSUMPTIONS)


async def test_a_changed_contact_lookup_counts_no_known_contact_as_ours(
    app: Starlette, ledger: Ledger
) -> None:
    """Against a service that refuses a known contact on the synchronous call too."""
    sim = app.state.sandbox.simulators["engage"]
    sim.profile = replace(sim.profile, unique_contacts_sync=True)
    await _run(app, _connector(), ledger, "run-1")

    declared = await _run(app, _connector(chunk_size=2), ledger, "run-2")
    changed = await _run(
        app, _connector(chunk_size=2, verify_contact_operation="listContactAttemptz"), ledger, "run-3"
    )

    assert {(r.status, r.reasons) for r in declared} == {(Status.ACCEPTED, (Issue.VENDOR_DUPLICATE,))}
    assert {(r.status, r.reasons) for r in changed} == {(Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT,))}
    assert _stored(app) == 3
