"""MaxContact against the strict sandbox (issue 15): honest duplicates, re-association, and every
declared assumption changed on the client side only, refused by the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.assumptions import check_defaults
from connectors.base import Lead, Phone
from connectors.ledger import Ledger
from connectors.maxcontact import ASSUMPTIONS, MaxContactOptions
from sandbox.app import Sandbox
from schemas.codes import Issue, Status
from tests.connectors.conftest import Recorder
from tests.connectors.test_maxcontact import ADD_LEAD, connector, leads, send, stored, target

ASSOCIATE = "/webservices/services/management/campaigns/1/lists"


def with_options(**options: Any) -> Any:
    """Concurrency 1, so which of two leads with one phone reaches the vendor first is known."""
    return connector(target(concurrency=1, options={"source": "leads.csv", **options}))


def test_the_assumptions_table_is_what_the_options_default_to() -> None:
    assert check_defaults(ASSUMPTIONS, MaxContactOptions) == []
    assert all(a.source for a in ASSUMPTIONS)


async def test_a_lead_the_vendor_already_holds_is_a_conflict_naming_its_record_never_accepted(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    first, second = leads(2)
    same_phone = Lead(3, "src-3", "Bo", "Other", phones=first.phones[:1], email="bo@example.org")
    results = await send(with_options(), [first, same_phone, second], ledger, recorder)

    assert [r.status for r in results] == [Status.ACCEPTED, Status.VENDOR_REJECTED, Status.ACCEPTED]
    conflict = results[1]
    assert conflict.reasons == (Issue.VENDOR_ID_CONFLICT,)
    assert "LeadId 1" in (conflict.vendor_message or "")
    assert "no lead lookup" in (conflict.vendor_message or "")
    assert len(stored(sandbox)) == 2


async def test_a_rerun_reusing_its_list_goes_on_when_re_association_is_refused(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    await send(with_options(), leads(2), ledger, recorder)
    results = await send(with_options(), leads(2, start=3), ledger, recorder, run_id="run-2")

    associations = recorder.to(ASSOCIATE)
    assert [status for _, status, _ in associations] == [200, 409]
    assert [r.status for r in results] == [Status.ACCEPTED] * 2
    assert len(stored(sandbox)) == 4


async def test_a_re_association_refusal_in_unexpected_words_stops_the_target(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    await send(with_options(), leads(1), ledger, recorder)
    mc = with_options(already_associated_pattern="is linked already")
    results = await send(mc, leads(2, start=3), ledger, recorder, run_id="run-2")

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.TARGET_MISCONFIGURED,))}
    assert "already associated" in (results[0].vendor_message or "")


# --- each declared guess changed on the client side only: the strict sandbox refuses it ----------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("list_id_field", "ListIdentifier"),
        ("name_field", "FullName"),
        ("email_field", "EmailAddress"),
        ("phones_field", "Phones"),
        ("phone_number_field", "Number"),
    ],
)
async def test_a_wrong_lead_field_guess_is_refused_per_row(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder, option: str, value: str
) -> None:
    results = await send(with_options(**{option: value}), leads(2), ledger, recorder)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "Invalid Parameters")}
    assert stored(sandbox) == []


async def test_a_wrong_addlead_path_guess_is_refused(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    mc = with_options(add_lead_path="webservices/services/LeadManagement/AddLeads")
    results = await send(mc, leads(2), ledger, recorder)

    assert {(r.status, r.vendor_status) for r in results} == {(Status.VENDOR_REJECTED, "HTTP 404")}
    assert recorder.to(ADD_LEAD) == []


async def test_a_wrong_auth_scheme_guess_is_refused_at_login(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(with_options(auth_scheme="Basic"), leads(2), ledger, recorder)

    assert {(r.status, r.reasons) for r in results} == {(Status.FAILED, (Issue.AUTH_FAILED,))}


async def test_a_wrong_token_cookie_guess_is_refused(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(with_options(token_cookie="Token"), leads(1), ledger, recorder)

    assert {r.status for r in results} == {Status.FAILED}
    assert stored(sandbox) == []


async def test_a_wrong_lead_id_guess_leaves_accepted_rows_without_a_vendor_id(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    results = await send(with_options(lead_id_field="Ids"), leads(2), ledger, recorder)

    assert [(r.status, r.vendor_id) for r in results] == [(Status.ACCEPTED, None)] * 2


async def test_a_wrong_duplicate_wording_guess_leaves_the_refusal_a_plain_rejection(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    first = leads(1)[0]
    twin = Lead(2, "src-2", "Bo", phones=first.phones[:1], email="bo@example.org")
    results = await send(with_options(duplicate_pattern="duplicate lead"), [first, twin], ledger, recorder)

    assert (results[1].status, results[1].reasons) == (Status.VENDOR_REJECTED, (Issue.VENDOR_REJECTED,))


async def test_the_lenient_sandbox_takes_what_the_strict_one_refuses(
    sandbox: Sandbox, ledger: Ledger, recorder: Recorder
) -> None:
    sandbox.simulators["maxcontact"].lenient = True  # type: ignore[attr-defined]
    first = leads(1)[0]
    twin = Lead(2, "src-2", "Bo", phones=(Phone(first.phones[0].e164),), email="bo@example.org")
    results = await send(with_options(), [first, twin], ledger, recorder)

    assert [r.status for r in results] == [Status.ACCEPTED] * 2
