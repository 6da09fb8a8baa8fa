"""The OBI sandbox's externalId index: uniqueness and exact search stay right as customers come
and go, without the sandbox rescanning the campaign on every request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import build_app
from sandbox.obi_rules import validate_entries
from sandbox.sinch_obi import DEMO_CAMPAIGN_ID

AUTH = ("demo", "demo-secret")
JSON = {"Accept": "application/json"}
BASE = f"/obi/campaigns/{DEMO_CAMPAIGN_ID}"


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app())
    return httpx.AsyncClient(transport=transport, base_url="http://s", auth=AUTH, headers=JSON)


async def _post(client: httpx.AsyncClient, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post(f"{BASE}/customers/list", json=list(entries))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items


async def _search(client: httpx.AsyncClient, external_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/customers", params={"externalId": external_id})
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_deleted_customers_external_id_can_be_used_again() -> None:
    async with _client() as client:
        [first] = await _post(client, {"externalId": "X1", "numbers": "+4930111111"})
        assert (await client.delete(f"{BASE}/customers/{first['id']}")).status_code == 204
        assert await _search(client, "X1") == []
        [again] = await _post(client, {"externalId": "X1", "numbers": "+4930222222"})
        assert again["statusCode"] == 201
        [found] = await _search(client, "X1")
        assert (found["id"], found["numbers"]) == (again["id"], "+4930222222")


async def test_a_customer_without_external_id_is_found_and_guarded_by_its_id() -> None:
    async with _client() as client:
        [stored] = await _post(client, {"numbers": "+4930111111"})
        [found] = await _search(client, stored["id"])
        assert found["externalId"] == stored["id"]
        [clash] = await _post(client, {"externalId": stored["id"], "numbers": "+4930222222"})
        assert clash == {
            "statusCode": 400,
            "error": f"Invalid externalId: {stored['id']} : Value is not unique",
        }


async def test_exact_search_finds_one_and_wildcards_still_match_many() -> None:
    async with _client() as client:
        await _post(client, *({"externalId": f"lead-{i}", "numbers": f"+49301111{i:02d}"} for i in range(12)))
        assert [c["externalId"] for c in await _search(client, "lead-1")] == ["lead-1"]
        assert len(await _search(client, "lead-1*")) == 3
        assert len(await _search(client, "lead-?")) == 10
        assert await _search(client, "lead-99") == []


class _MembershipOnly:
    """A container that can answer ``in`` and nothing else."""

    def __init__(self, ids: set[str]) -> None:
        self._ids = ids

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("validate_entries walked every stored externalId")


def test_validation_only_asks_whether_an_external_id_is_taken() -> None:
    outcomes = validate_entries(
        [{"externalId": "taken", "numbers": "+4930111111"}, {"externalId": "new", "numbers": "+4930222222"}],
        _MembershipOnly({"taken"}),
    )
    assert outcomes[0] == "Invalid externalId: taken : Value is not unique"
    assert isinstance(outcomes[1], dict)
    assert outcomes[1]["externalId"] == "new"


_ids = st.sampled_from(["a", "b", "c", "d", "e"])
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(_ids, min_size=1, max_size=4)),
        st.tuples(st.just("delete"), _ids),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None)
@given(steps=_steps)
def test_uniqueness_follows_what_the_campaign_holds_through_posts_and_deletes(
    steps: list[tuple[str, Any]],
) -> None:
    async def play() -> None:
        held: dict[str, str] = {}
        async with _client() as client:
            for action, arg in steps:
                if action == "delete":
                    if arg in held:
                        response = await client.delete(f"{BASE}/customers/{held.pop(arg)}")
                        assert response.status_code == 204
                    continue
                items = await _post(client, *({"externalId": x, "numbers": "+4930123456"} for x in arg))
                for x, item in zip(arg, items, strict=True):
                    fresh = x not in held and arg.count(x) == 1
                    assert item["statusCode"] == (201 if fresh else 400), (x, held, arg)
                for x, item in zip(arg, items, strict=True):
                    if item["statusCode"] == 201:
                        held[x] = item["id"]
            for x in "abcde":
                found = await _search(client, x)
                assert [c["id"] for c in found] == ([held[x]] if x in held else [])

    asyncio.run(play())
