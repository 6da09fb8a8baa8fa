"""'Processed, but the answer was lost': every vendor, duplicates counted from the sandbox's state.

The sandbox's ``rate_lost`` fault lets the vendor store a request and then drops the connection;
``rate_late`` lets it store the request and answers after the client's timeout. The engine
retries both. Vendors that refuse a known id (OBI, Engage, ONC) recognise the resend, so the
sandbox holds each lead once. uContact and MaxContact keep repeats and the documents offer no
way to ask what they hold, so the resend may store a lead twice: every such lead's row must say
``POSSIBLY_DUPLICATED``, and rows of requests that were never in doubt must not. (MaxContact
keeps repeats in its sandbox's lenient profile; the strict one refuses a phone its list holds,
and then the resend is an honest ``VENDOR_ID_CONFLICT``, never a second acceptance.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from connectors.auth import SessionExpired
from connectors.base import Connector, Lead, Phone
from connectors.chunking import plan_for
from connectors.config import RetryPolicy, TargetConfig
from connectors.engine import RowResult, dispatch, target_key
from connectors.errors import AnswerDeadlineError, AnswerTooLargeError, TransientError, VendorAnswerError
from connectors.ledger import Ledger
from connectors.onc import contact_guid
from connectors.registry import build_connector
from connectors.retry import outcome_unknown
from connectors.target_state import TargetState
from sandbox.app import Sandbox
from schemas.codes import Issue, Status

POSSIBLY = Issue.POSSIBLY_DUPLICATED.value
CREDENTIALS = {"username": "demo", "password": "demo-secret", "login": "demo", "account_id": "demo-account"}
ONC_CAMPAIGN = "6f1c1f1e-0000-4000-8000-000000000001"
RETRY = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.01, breaker_failures=20)


def _identity_by_id(lead: Lead) -> str:
    return lead.external_id


# kind -> sandbox vendor, faulted endpoint, target fields, stored identities, identity of a lead
Vendor = tuple[str, str, dict[str, Any], Callable[[dict[str, Any]], list[str]], Callable[[Lead], str]]
VENDORS: dict[str, Vendor] = {
    "sinch_obi": (
        "sinch_obi",
        "/campaigns/*/customers/list",
        {"campaign": "00000000000000000000000000000001", "chunk_size": 10},
        lambda d: [c["externalId"] for x in d["campaigns"].values() for c in x["customers"]],
        _identity_by_id,
    ),
    "engage": (
        "engage",
        "*",
        {"campaign": "LEADFLOW-DEMO", "chunk_size": 10, "options": {"account_id": "1001"}},
        lambda d: [c["externalId"] for x in d["campaigns"] for b in x["batches"] for c in b["contacts"]],
        _identity_by_id,
    ),
    "onc": (
        "onc",
        "*",
        {"campaign": ONC_CAMPAIGN},
        lambda d: [c["Id"] for x in d["campaigns"] for c in x["contacts"]],
        lambda lead: contact_guid(ONC_CAMPAIGN, lead.external_id),
    ),
    "ucontact_sms": (
        "ucontact",
        "/Integra/resources/SMS/uploadbase",
        {"campaign": "somecampaign", "chunk_size": 5, "options": {"template": "Hi {first_name}"}},
        lambda d: [r["number"] for r in d["sms_rows"]],
        lambda lead: lead.phones[0].e164,
    ),
    "ucontact_email": (
        "ucontact",
        "/IntegraChannels/resources/DialersResources/uploadDialerBase",
        {
            "campaign": "CampName",
            "chunk_size": 5,
            "options": {"template": "Dear {first_name}", "dialer": "EmailDialer"},
        },
        lambda d: [r["email"] for r in d["email_rows"]],
        lambda lead: str(lead.email),
    ),
    "maxcontact": (
        "maxcontact",
        "/webservices/services/LeadManagement/addlead",
        {"campaign": "1"},
        lambda d: [lead["email"] for x in d["lists"].values() for lead in x["leads"]],
        lambda lead: str(lead.email),
    ),
}
KEEPS_REPEATS = {"ucontact_sms", "ucontact_email", "maxcontact"}


def leads(n: int) -> list[Lead]:
    return [
        Lead(i, f"lost-{i:04d}", f"Ana{i}", "Ruiz", (Phone(f"+4477{i:08d}", "mobile"),), f"a{i}@example.org")
        for i in range(1, n + 1)
    ]


def connector(sandbox: Sandbox, kind: str, **overrides: Any) -> Connector:
    vendor, _, fields, _, _ = VENDORS[kind]
    if kind == "maxcontact":
        sandbox.simulators[vendor].lenient = True  # type: ignore[attr-defined]
    prefix = sandbox.simulators[vendor].prefix
    target = TargetConfig.model_validate(
        {"name": kind, "kind": kind, "base_url": f"http://sandbox{prefix}", "timeout": 0.3, "retry": RETRY}
        | fields
        | overrides
    )
    return build_connector(target, CREDENTIALS)


def copies(sandbox: Sandbox, kind: str) -> Counter[str]:
    vendor, _, _, stored, _ = VENDORS[kind]
    return Counter(stored(sandbox.simulators[vendor].dump()))


def identity(kind: str, lead: Lead) -> str:
    return VENDORS[kind][4](lead)


async def send(
    app: Starlette, sandbox: Sandbox, kind: str, batch: list[Lead], ledger: Ledger
) -> list[RowResult]:
    return await dispatch(
        connector(sandbox, kind), batch, ledger=ledger, run_id="run-1", transport=httpx.ASGITransport(app=app)
    )


@pytest.mark.parametrize("fault", ["lost", "late"])
@pytest.mark.parametrize("kind", list(VENDORS))
async def test_a_processed_request_whose_answer_is_lost_is_never_a_hidden_duplicate(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str, fault: str
) -> None:
    vendor, endpoint, *_ = VENDORS[kind]
    rule: dict[str, Any] = {f"rate_{fault}": 0.25, "late_seconds": 2.0}
    sandbox.faults.configure({"seed": 11, "vendors": {vendor: {endpoint: rule}}})
    batch = leads(60)

    results = await send(app, sandbox, kind, batch, ledger)

    held = copies(sandbox, kind)
    by_row = {r.source_row: r for r in results}
    duplicated = [lead for lead in batch if held[identity(kind, lead)] > 1]
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert all(held[identity(kind, lead)] >= 1 for lead in batch)
    assert max(r.attempts for r in results) > 1, "the fault never hit"
    if kind in KEEPS_REPEATS:
        assert duplicated, "a lost answer at a vendor that keeps repeats stores a lead twice"
        assert [
            lead.source_row for lead in duplicated if POSSIBLY not in by_row[lead.source_row].reasons
        ] == []
        assert all(POSSIBLY not in r.reasons for r in results if r.attempts == 1)
    else:
        assert duplicated == []
        assert all(POSSIBLY not in r.reasons for r in results)


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_a_request_whose_every_answer_was_lost_fails_and_its_resend_is_marked_too(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    vendor, endpoint, *_ = VENDORS[kind]
    sandbox.faults.configure({"seed": 1, "vendors": {vendor: {endpoint: {"rate_lost": 1.0}}}})
    policy = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, breaker_failures=20)
    results = await dispatch(
        connector(sandbox, kind, retry=policy),
        leads(3),
        ledger=ledger,
        run_id="run-1",
        transport=httpx.ASGITransport(app=app),
    )

    assert {(r.status, r.reasons) for r in results} == {
        (Status.FAILED, (Issue.TRANSPORT_FAILED.value, POSSIBLY))
    }
    assert set(copies(sandbox, kind).values()) == {2}

    sandbox.faults.configure({})
    rerun = await dispatch(
        connector(sandbox, kind),
        leads(3),
        ledger=ledger,
        run_id="run-2",
        transport=httpx.ASGITransport(app=app),
    )
    assert {(r.status, r.reasons) for r in rerun} == {
        (Status.ACCEPTED if kind == "maxcontact" else Status.SUBMITTED, (POSSIBLY,))
    }
    assert set(copies(sandbox, kind).values()) == {3}


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_answers_that_say_not_processed_do_not_mark_rows(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    vendor, endpoint, *_ = VENDORS[kind]
    rule = {"rate_503": 0.2, "rate_429": 0.1, "retry_after": 0}
    sandbox.faults.configure({"seed": 4, "vendors": {vendor: {endpoint: rule}}})
    results = await send(app, sandbox, kind, leads(30), ledger)

    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert max(r.attempts for r in results) > 1
    assert set(copies(sandbox, kind).values()) == {1}
    assert [r.source_row for r in results if POSSIBLY in r.reasons] == []


@pytest.mark.parametrize("fault", ["hang", "lost"])
@pytest.mark.parametrize("kind", ["ucontact_sms", "ucontact_email"])
async def test_a_login_whose_answer_never_came_marks_no_row_and_leaves_nothing_in_flight(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str, fault: str
) -> None:
    """uContact logs in on the first upload's behalf: the login timed out (or its connection
    broke) before the upload was sent, so the vendor cannot hold the rows; they fail unmarked,
    and the next run sends them unmarked."""
    rule = {f"rate_{fault}": 1.0, "hang_seconds": 5.0}
    sandbox.faults.configure({"vendors": {"ucontact": {"/Integra/resources/auth/getUserToken": rule}}})
    policy = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, breaker_failures=20)
    transport = httpx.ASGITransport(app=app)

    failed = await dispatch(
        connector(sandbox, kind, retry=policy), leads(3), ledger=ledger, run_id="run-1", transport=transport
    )
    sandbox.faults.configure({})
    rerun = await dispatch(
        connector(sandbox, kind), leads(3), ledger=ledger, run_id="run-2", transport=transport
    )

    assert {(r.status, r.reasons) for r in failed} == {(Status.FAILED, (Issue.TRANSPORT_FAILED.value,))}
    assert {r.status for r in rerun} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert [r.source_row for r in rerun if POSSIBLY in r.reasons] == []
    assert set(copies(sandbox, kind).values()) == {1}


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_a_chunk_a_crashed_run_left_in_flight_is_resent_marked_possibly_duplicated(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    batch = leads(12)
    made = connector(sandbox, kind)
    planned = await dispatch(
        made, batch, ledger=ledger, run_id="plan", dry_run=True, transport=httpx.ASGITransport(app=app)
    )
    first = [r for r in planned if r.batch_id == planned[0].batch_id]
    assert planned[0].batch_id is not None
    ledger.begin_chunk(target_key(made), planned[0].batch_id, [r.external_id for r in first], "crashed")

    results = await send(app, sandbox, kind, batch, ledger)

    marked = {r.external_id for r in results if POSSIBLY in r.reasons}
    assert marked == {r.external_id for r in first}
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_leads_an_earlier_versions_crashed_run_left_in_flight_are_marked_under_their_new_ids(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    """The crashed run named its leads by the ids an earlier version gave them
    (``legacy_external_id``): resent under those, they are marked as under their own."""
    before = leads(6)
    made = connector(sandbox, kind)
    [chunk, *_] = plan_for(made, before).chunks
    ledger.begin_chunk(target_key(made), chunk.batch_id, [x.external_id for x in chunk.leads], "crashed")
    upgraded = [
        replace(x, external_id=f"new-{x.source_row}", legacy_external_id=x.external_id) for x in before
    ]

    results = await send(app, sandbox, kind, upgraded, ledger)

    marked = {r.source_row for r in results if POSSIBLY in r.reasons}
    assert marked == {x.source_row for x in chunk.leads}
    assert {r.external_id for r in results if r.source_row in marked} == {x.external_id for x in chunk.leads}
    assert {r.status for r in results} <= {Status.ACCEPTED, Status.SUBMITTED}


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_an_earlier_versions_unsettled_leads_are_marked_in_a_later_batch_of_the_run(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    """The run's first batch settles the crashed run's chunk; its leads come in the second."""
    before, [unrelated] = leads(6), leads(7)[6:]
    made = connector(sandbox, kind)
    [chunk, *_] = plan_for(made, before).chunks
    ledger.begin_chunk(target_key(made), chunk.batch_id, [x.external_id for x in chunk.leads], "crashed")
    upgraded = [
        replace(x, external_id=f"new-{x.source_row}", legacy_external_id=x.external_id) for x in before
    ]
    state = TargetState.of(made)
    transport = httpx.ASGITransport(app=app)

    first = await dispatch(made, [unrelated], ledger=ledger, run_id="run-1", transport=transport, state=state)
    later = await dispatch(made, upgraded, ledger=ledger, run_id="run-1", transport=transport, state=state)

    assert [r.reasons for r in first] == [()]
    assert {r.source_row for r in later if POSSIBLY in r.reasons} == {x.source_row for x in chunk.leads}
    assert copies(sandbox, kind) == Counter(identity(kind, x) for x in [unrelated, *before])


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_a_crashed_runs_leads_another_run_settled_are_marked_by_the_run_that_sends_them(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    """A split import's partitions are runs of their own: the first to start settles the crashed
    run's chunk, and its leads may be in another's rows. The ledger tells that one."""
    batch, [unrelated] = leads(6), leads(7)[6:]
    made = connector(sandbox, kind)
    [chunk, *_] = plan_for(made, batch).chunks
    ledger.begin_chunk(target_key(made), chunk.batch_id, [x.external_id for x in chunk.leads], "crashed")
    transport = httpx.ASGITransport(app=app)

    settling = await dispatch(made, [unrelated], ledger=ledger, run_id="part-1", transport=transport)
    sending = await dispatch(made, batch, ledger=ledger, run_id="part-2", transport=transport)
    again = await dispatch(made, batch, ledger=ledger, run_id="part-3", transport=transport)

    assert [r.reasons for r in settling] == [()]
    assert {r.source_row for r in sending if POSSIBLY in r.reasons} == {x.source_row for x in chunk.leads}
    assert {r.status for r in again} == {Status.ALREADY_SENT}


@pytest.mark.parametrize("kind", sorted(KEEPS_REPEATS))
async def test_a_crashed_runs_lead_whose_resend_failed_is_still_marked_when_delivered_later(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    """A failed resend says nothing of the crashed run's copy, which the vendor may hold."""
    vendor, endpoint, *_ = VENDORS[kind]
    batch, [unrelated] = leads(6), leads(7)[6:]
    made = connector(sandbox, kind)
    [chunk, *_] = plan_for(made, batch).chunks
    ledger.begin_chunk(target_key(made), chunk.batch_id, [x.external_id for x in chunk.leads], "crashed")
    transport = httpx.ASGITransport(app=app)
    await dispatch(made, [unrelated], ledger=ledger, run_id="part-1", transport=transport)

    sandbox.faults.configure({"vendors": {vendor: {endpoint: {"rate_503": 1.0, "retry_after": 0}}}})
    refused = await dispatch(
        connector(sandbox, kind), batch, ledger=ledger, run_id="run-2", transport=transport
    )
    sandbox.faults.configure({})
    delivered = await dispatch(
        connector(sandbox, kind), batch, ledger=ledger, run_id="run-3", transport=transport
    )

    assert {r.status for r in refused} == {Status.FAILED}
    assert {r.status for r in delivered} <= {Status.ACCEPTED, Status.SUBMITTED}
    assert {r.source_row for r in delivered if POSSIBLY in r.reasons} == {x.source_row for x in chunk.leads}


@pytest.mark.parametrize("kind", ["ucontact_sms", "ucontact_email"])
async def test_ucontact_files_hold_100_rows_by_default_so_one_lost_answer_costs_at_most_100(
    app: Starlette, sandbox: Sandbox, ledger: Ledger, kind: str
) -> None:
    made = connector(sandbox, kind, chunk_size=None)
    results = await dispatch(
        made, leads(250), ledger=ledger, run_id="run-1", transport=httpx.ASGITransport(app=app)
    )

    uploads = sandbox.simulators["ucontact"].dump()["uploads"]
    assert [u["rows"] for u in uploads] == [100, 100, 50]
    assert {u["filename"] for u in uploads} == {f"{r.batch_id}.csv" for r in results}


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (TimeoutError(), True),
        (httpx.ReadTimeout("read"), True),
        (httpx.ReadError("reset"), True),
        (httpx.RemoteProtocolError("closed mid-answer"), True),
        (httpx.DecodingError("bad gzip"), True),
        (AnswerDeadlineError("no whole answer within the deadline"), True),
        (VendorAnswerError("an answer that is not JSON"), True),
        (AnswerTooLargeError("an answer over max_answer_bytes"), True),
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("connect"), False),
        (httpx.PoolTimeout("pool"), False),
        (httpx.WriteError("broken pipe"), False),
        (TransientError("HTTP 503", status_code=503), False),
        (SessionExpired("HTTP 401 right after a login", status_code=401), False),
    ],
)
def test_only_errors_after_the_request_went_out_leave_its_outcome_unknown(
    error: BaseException, unknown: bool
) -> None:
    assert outcome_unknown(error) is unknown


async def test_a_strict_maxcontact_refuses_the_resend_of_a_lost_answer_as_a_conflict_never_twice(
    app: Starlette, sandbox: Sandbox, ledger: Ledger
) -> None:
    vendor, endpoint, *_ = VENDORS["maxcontact"]
    sandbox.faults.configure(
        {"seed": 1, "vendors": {vendor: {endpoint: {"rate_lost": 1.0, "max_faults": 2}}}}
    )
    made = connector(sandbox, "maxcontact", concurrency=1)
    sandbox.simulators[vendor].lenient = False  # type: ignore[attr-defined]
    results = await dispatch(
        made, leads(4), ledger=ledger, run_id="run-1", transport=httpx.ASGITransport(app=app)
    )

    assert set(copies(sandbox, "maxcontact").values()) == {1}
    resent = [r for r in results if r.attempts > 1]
    assert resent, "the fault never hit"
    assert {(r.status, r.reasons[0]) for r in resent} == {
        (Status.VENDOR_REJECTED, Issue.VENDOR_ID_CONFLICT.value)
    }
    assert all(POSSIBLY in r.reasons for r in resent)
    assert {r.status for r in results if r.attempts == 1} == {Status.ACCEPTED}
