"""Sinch OBI against the strict sandbox (issue 15): "Value is not unique" is accepted only when
the vendor's record is what we sent, two rows with one id are never both accepted, and each
declared assumption changed on the client side only is refused by the sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from connectors.assumptions import check_defaults
from connectors.base import Chunk, Lead, Phone
from connectors.sinch_obi import ASSUMPTIONS, ObiOptions
from sandbox.app import build_app
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID
from schemas.codes import Issue, Status
from tests.connectors.test_sinch_obi import client, connector, lead, post

__all__ = ["client"]  # the fixture, imported for pytest


def customers(app: Starlette) -> list[dict[str, Any]]:
    dump = app.state.sandbox.simulators["sinch_obi"].dump()
    stored: list[dict[str, Any]] = dump["campaigns"][DEMO_CAMPAIGN_ID]["customers"]
    return stored


def test_the_assumptions_table_is_what_the_options_default_to() -> None:
    assert check_defaults(ASSUMPTIONS, ObiOptions) == []


async def test_an_id_the_campaign_holds_with_other_numbers_is_a_conflict_naming_the_record(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [theirs] = await post(client, connector(), [lead(7, "+4930111111")])
    [ours] = await post(client, connector(), [lead(7, "+4930222222")])

    assert (ours.status, ours.reasons) == (Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT.value,))
    assert ours.vendor_id == theirs.vendor_id
    assert f"customer {theirs.vendor_id} holds other data" in (ours.vendor_message or "")
    assert "'+4930111111'" in (ours.vendor_message or "")
    assert [c["numbers"] for c in customers(app)] == ["+4930111111"]


async def test_an_id_the_campaign_holds_with_other_attributes_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    await post(client, connector(), [lead(7, first_name="Ana")])
    [ours] = await post(client, connector(), [lead(7, first_name="Bea")])

    assert ours.reasons == (Issue.VENDOR_ID_CONFLICT.value,)
    assert "'First Name' 'Ana', ours 'Bea'" in (ours.vendor_message or "")


async def test_our_earlier_send_still_counts_as_accepted(client: httpx.AsyncClient) -> None:
    [first] = await post(client, connector(), [lead(7, first_name="Ana", timezone="Europe/Berlin")])
    [again] = await post(client, connector(), [lead(7, first_name="Ana", timezone="Europe/Berlin")])

    assert (again.status, again.reasons, again.vendor_id) == (
        Status.ACCEPTED,
        (Issue.VENDOR_DUPLICATE.value,),
        first.vendor_id,
    )


async def test_two_rows_with_one_id_in_one_request_are_never_both_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    twins = [lead(1), Lead(2, "ext-1", phones=(Phone("+4930000009"),)), lead(3)]
    outcomes = await post(client, connector(), twins)

    assert [(o.status, o.reasons) for o in outcomes[:2]] == [
        (Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT.value,))
    ] * 2
    assert "repeated in this request, rows 1, 2: none was stored" in (outcomes[0].vendor_message or "")
    assert outcomes[2].status is Status.ACCEPTED
    assert [c["externalId"] for c in customers(app)] == ["ext-3"]


async def test_two_identical_rows_resent_with_one_id_count_once(client: httpx.AsyncClient) -> None:
    await post(client, connector(), [lead(1)])
    outcomes = await post(client, connector(), [lead(1), Lead(2, "ext-1", phones=(Phone("+49300000001"),))])

    assert [o.status for o in outcomes] == [Status.ACCEPTED, Status.VENDOR_REJECTED]
    assert "another row of this request" in (outcomes[1].vendor_message or "")


async def test_reconcile_does_not_take_another_record_for_ours(client: httpx.AsyncClient) -> None:
    obi = connector()
    [theirs] = await post(client, obi, [lead(10, "+4930111111")])
    outcomes = await obi.reconcile(client, Chunk("obi", "b", (lead(10, "+4930222222"),)))

    assert outcomes is not None
    assert [(o.status, o.reasons, o.vendor_id) for o in outcomes] == [
        (Status.VENDOR_REJECTED, (Issue.VENDOR_ID_CONFLICT.value,), theirs.vendor_id)
    ]


async def test_a_narrower_duplicate_match_is_a_client_side_choice(client: httpx.AsyncClient) -> None:
    await post(client, connector(), [lead(7, first_name="Ana")])
    [again] = await post(client, connector(duplicate_match=["numbers"]), [lead(7, first_name="Bea")])

    assert (again.status, again.reasons) == (Status.ACCEPTED, (Issue.VENDOR_DUPLICATE.value,))


# --- each declared guess changed on the client side only ----------------------------------------


async def test_the_bare_attribute_array_guess_is_refused_by_the_strict_sandbox(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    outcomes = await post(client, connector(attributes_form="array"), [lead(1, first_name="Ana")])

    assert [(o.status, o.vendor_message) for o in outcomes] == [
        (Status.VENDOR_REJECTED, "Invalid attributes")
    ]
    assert customers(app) == []


async def test_the_lenient_sandbox_takes_the_bare_attribute_array(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    app.state.sandbox.simulators["sinch_obi"].lenient = True
    outcomes = await post(client, connector(attributes_form="array"), [lead(1, first_name="Ana")])

    assert [o.status for o in outcomes] == [Status.ACCEPTED]


async def test_attribute_name_guesses_reach_the_vendor_as_configured(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    obi = connector(first_name_attribute="FirstName", email_attribute="E-mail")
    await post(client, obi, [lead(1, first_name="Ana", email="ana@example.org")])

    names = {a["name"] for a in customers(app)[0]["attributes"]}
    assert {"FirstName", "E-mail"} <= names
    assert "First Name" not in names


_rows = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(earlier=_rows, rows=_rows)
def test_no_id_is_accepted_twice_and_a_duplicate_is_accepted_only_when_the_vendor_holds_our_data(
    earlier: list[tuple[int, int]], rows: list[tuple[int, int]]
) -> None:
    """Any campaign state (an earlier request, repeats included) and any request of ids and
    numbers drawn from small pools, so that repeats and conflicts are common."""

    def batch(drawn: list[tuple[int, int]], start: int) -> list[Lead]:
        return [
            Lead(start + n, f"ext-{i}", phones=(Phone(f"+4930{p:07d}"),)) for n, (i, p) in enumerate(drawn)
        ]

    async def run() -> tuple[list[Any], list[Lead], list[dict[str, Any]]]:
        app = build_app()
        obi = connector()
        async with httpx.AsyncClient(
            base_url=obi.target.base_url, auth=obi.auth(), transport=httpx.ASGITransport(app=app)
        ) as opened:
            await post(opened, obi, batch(earlier, 1))
            sent = batch(rows, 100)
            outcomes = await post(opened, obi, sent)
        return outcomes, sent, customers(app)

    outcomes, sent, stored = asyncio.run(run())
    by_id = {c["externalId"]: c for c in stored}
    assert len(by_id) == len(stored), "the vendor holds each externalId once"
    accepted = [(row, o) for row, o in zip(sent, outcomes, strict=True) if o.status is Status.ACCEPTED]
    ids = [row.external_id for row, _ in accepted]
    assert len(ids) == len(set(ids)), "two rows with one id are never both accepted"
    for row, outcome in accepted:
        record = by_id[row.external_id]
        assert record["numbers"] == row.phones[0].e164
        assert outcome.vendor_id == record["id"]
    for outcome in outcomes:
        if outcome.status is not Status.ACCEPTED:
            assert outcome.reasons in ((Issue.VENDOR_ID_CONFLICT.value,), (Issue.VENDOR_REJECTED.value,))


def _quick_retries(obi: Any) -> Any:
    """The connector with short pauses between tries (the policy's shape, not its defaults)."""
    from connectors.config import RetryPolicy

    target = obi.target.model_copy(update={"retry": RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0)})
    return type(obi)(target=target, secrets=obi.secrets)


async def test_a_customer_search_that_keeps_failing_leaves_the_row_failed_not_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await post(client, connector(), [lead(7, first_name="Ana")])
    app.state.sandbox.faults.configure(
        {"vendors": {"sinch_obi": {"/campaigns/*/customers": {"rate_500": 1.0}}}}
    )

    [again] = await post(client, _quick_retries(connector()), [lead(7, first_name="Ana")])

    assert (again.status, again.reasons) == (Status.FAILED, (Issue.TRANSPORT_FAILED.value,))
    assert "the customer search failed" in (again.vendor_message or "")
    assert "run again to check" in (again.vendor_message or "")


async def test_a_customer_search_that_fails_once_is_tried_again_and_judges_the_row(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [first] = await post(client, connector(), [lead(7, first_name="Ana")])
    app.state.sandbox.faults.configure(
        {"vendors": {"sinch_obi": {"/campaigns/*/customers": {"rate_500": 1.0, "max_faults": 1}}}}
    )

    [again] = await post(client, _quick_retries(connector()), [lead(7, first_name="Ana")])

    assert (again.status, again.reasons, again.vendor_id) == (
        Status.ACCEPTED,
        (Issue.VENDOR_DUPLICATE.value,),
        first.vendor_id,
    )
