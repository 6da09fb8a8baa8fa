from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.applications import Starlette

from sandbox.app import build_app
from sandbox.faults import Faults
from sandbox.server import SandboxServer

OBI_AUTH = ("demo", "demo-secret")
CAMPAIGNS = "/obi/campaigns"


def _profile(
    rule: Mapping[str, object], endpoint: str = "/campaigns", vendor: str = "sinch_obi"
) -> dict[str, object]:
    return {"seed": 3, "vendors": {vendor: {endpoint: rule}}}


async def _client_for(faults: Faults) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(faults))
    return httpx.AsyncClient(transport=transport, base_url="http://sandbox", auth=OBI_AUTH)


def _outcomes(faults: Faults, n: int, path: str = "/campaigns") -> list[str | None]:
    return [(d[0] if (d := faults.decide("sinch_obi", "GET", path)) else None) for _ in range(n)]


def test_same_seed_faults_the_same_requests() -> None:
    rule = {"rate_429": 0.3, "rate_503": 0.2}
    assert _outcomes(Faults(_profile(rule)), 200) == _outcomes(Faults(_profile(rule)), 200)


def test_another_seed_faults_other_requests() -> None:
    rule = {"rate_429": 0.3, "rate_503": 0.2}
    assert _outcomes(Faults(_profile(rule), seed=1), 200) != _outcomes(Faults(_profile(rule), seed=2), 200)


def test_interleaving_other_endpoints_does_not_change_which_requests_fault() -> None:
    rule = {"rate_500": 0.5}
    alone = Faults(_profile(rule, endpoint="*"))
    mixed = Faults(_profile(rule, endpoint="*"))
    expected = _outcomes(alone, 50)
    got = []
    for _ in range(50):
        mixed.decide("sinch_obi", "GET", "/campaigns/other")
        got.extend(_outcomes(mixed, 1))
    assert got == expected


@settings(max_examples=25, deadline=None)
@given(share=st.floats(min_value=0.05, max_value=0.95), seed=st.integers(0, 10_000))
def test_share_of_faulted_requests_follows_the_profile(share: float, seed: int) -> None:
    faults = Faults(_profile({"rate_502": share}), seed=seed)
    hits = sum(o == "502" for o in _outcomes(faults, 2000))
    assert abs(hits / 2000 - share) < 0.05


def test_max_faults_stops_the_rule_after_that_many() -> None:
    faults = Faults(_profile({"rate_429": 1.0, "max_faults": 2}))
    assert _outcomes(faults, 5) == ["429", "429", None, None, None]


def test_rules_apply_to_matching_vendor_and_endpoint_only() -> None:
    faults = Faults(_profile({"rate_500": 1.0}, endpoint="/campaigns/*/customers/list"))
    assert faults.decide("sinch_obi", "POST", "/campaigns/1/customers/list") is not None
    assert faults.decide("sinch_obi", "GET", "/campaigns/1") is None
    assert faults.decide("maxcontact", "POST", "/campaigns/1/customers/list") is None


def test_star_vendor_applies_after_the_named_vendor() -> None:
    faults = Faults({"vendors": {"*": {"*": {"rate_503": 1.0}}, "onc": {"*": {"latency": 0.1}}}})
    assert faults.decide("engage", "POST", "/x") is not None
    assert faults.decide("onc", "POST", "/x") is None
    assert faults.latency("onc", "/x") == 0.1


def test_shares_adding_up_to_more_than_one_are_refused() -> None:
    with pytest.raises(ValidationError):
        Faults(_profile({"rate_429": 0.7, "rate_500": 0.5}))


def test_unknown_rule_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        Faults(_profile({"rate_418": 0.5}))


def test_profile_loads_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "faults.toml"
    toml.write_text('seed = 9\n[vendors.sinch_obi."/campaigns"]\nrate_429 = 1.0\nretry_after = 4\n')
    as_json = tmp_path / "faults.json"
    as_json.write_text(json.dumps(_profile({"rate_429": 1.0, "retry_after": 4})))
    for path in (toml, as_json):
        decided = Faults.from_file(path).decide("sinch_obi", "GET", "/campaigns")
        assert decided is not None
        assert decided[0] == "429"
        assert decided[1].retry_after == 4


def test_expire_session_follows_its_share_and_seed() -> None:
    faults = Faults(_profile({"rate_expire": 1.0}, endpoint="*", vendor="onc"))
    assert faults.expire_session("onc", "/Service.svc")
    assert not faults.expire_session("engage", "/Service.svc")
    assert not Faults().expire_session("onc", "/Service.svc")


async def test_429_carries_retry_after_through_asgi_transport() -> None:
    async with await _client_for(Faults(_profile({"rate_429": 1.0, "retry_after": 7}))) as client:
        response = await client.get(CAMPAIGNS)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_answered(status: int) -> None:
    async with await _client_for(Faults(_profile({f"rate_{status}": 1.0}))) as client:
        response = await client.get(CAMPAIGNS)
    assert response.status_code == status


async def test_a_web_page_answers_200_in_place_of_the_vendor() -> None:
    async with await _client_for(Faults(_profile({"rate_html": 1.0}))) as client:
        response = await client.get(CAMPAIGNS, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_the_web_page_band_comes_after_the_others_so_existing_profiles_fault_the_same() -> None:
    rule = {"rate_429": 0.3, "rate_503": 0.2}
    with_pages = {**rule, "rate_html": 0.2}
    before, after = _outcomes(Faults(_profile(rule)), 300), _outcomes(Faults(_profile(with_pages)), 300)
    assert [b for b, a in zip(before, after, strict=True) if b is not None] == [
        a for b, a in zip(before, after, strict=True) if b is not None
    ]
    assert "html" in after and all(b is None for b, a in zip(before, after, strict=True) if a == "html")


async def test_faulted_request_does_not_reach_the_vendor() -> None:
    faults = Faults(_profile({"rate_503": 1.0}, endpoint="/campaigns/*/customers/list"))
    app = build_app(faults)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox", auth=OBI_AUTH
    ) as client:
        response = await client.post(
            f"{CAMPAIGNS}/00000000000000000000000000000001/customers/list", json=[{"numbers": "+4930123456"}]
        )
    assert response.status_code == 503
    customers = app.state.sandbox.simulators["sinch_obi"].dump()["campaigns"]
    assert all(not c["customers"] for c in customers.values())


async def test_latency_delays_the_answer() -> None:
    async with await _client_for(Faults(_profile({"latency": 0.3}))) as client:
        started = time.monotonic()
        response = await client.get(CAMPAIGNS, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_dropped_connection_is_a_protocol_error_through_asgi_transport() -> None:
    async with await _client_for(Faults(_profile({"rate_drop": 1.0}))) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(CAMPAIGNS)


async def test_hang_ends_with_503_after_hang_seconds_in_process() -> None:
    async with await _client_for(Faults(_profile({"rate_hang": 1.0, "hang_seconds": 0.2}))) as client:
        response = await client.get(CAMPAIGNS)
    assert response.status_code == 503


async def test_dropped_connection_is_a_transport_error_through_uvicorn(live: SandboxServer) -> None:
    live.sandbox.faults.configure(_profile({"rate_drop": 1.0}))
    async with httpx.AsyncClient(base_url=live.base_url, auth=OBI_AUTH) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.get(CAMPAIGNS)


async def test_hang_outlasts_the_client_timeout_through_uvicorn(live: SandboxServer) -> None:
    live.sandbox.faults.configure(_profile({"rate_hang": 1.0, "hang_seconds": 5}))
    async with httpx.AsyncClient(base_url=live.base_url, auth=OBI_AUTH, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.get(CAMPAIGNS)
    assert time.monotonic() - started < 2


async def test_429_and_5xx_through_uvicorn(live: SandboxServer) -> None:
    live.sandbox.faults.configure(_profile({"rate_429": 1.0, "retry_after": 2, "max_faults": 1}))
    async with httpx.AsyncClient(base_url=live.base_url, auth=OBI_AUTH) as client:
        first = await client.get(CAMPAIGNS, headers={"Accept": "application/json"})
        second = await client.get(CAMPAIGNS, headers={"Accept": "application/json"})
    assert (first.status_code, first.headers.get("retry-after")) == (429, "2")
    assert second.status_code == 200


LIST_PATH = f"{CAMPAIGNS}/00000000000000000000000000000001/customers/list"


def _stored(app: Starlette) -> int:
    campaigns = app.state.sandbox.simulators["sinch_obi"].dump()["campaigns"]
    return sum(len(c["customers"]) for c in campaigns.values())


async def test_a_lost_answer_comes_after_the_vendor_stored_the_request() -> None:
    app = build_app(Faults(_profile({"rate_lost": 1.0}, endpoint="/campaigns/*/customers/list")))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox", auth=OBI_AUTH
    ) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(LIST_PATH, json=[{"numbers": "+4930123456", "externalId": "a-1"}])
    assert _stored(app) == 1


async def test_a_late_answer_outlasts_the_client_timeout_after_the_vendor_stored_it(
    live: SandboxServer,
) -> None:
    rule = {"rate_late": 1.0, "late_seconds": 5}
    live.sandbox.faults.configure(_profile(rule, endpoint="/campaigns/*/customers/list"))
    async with httpx.AsyncClient(base_url=live.base_url, auth=OBI_AUTH, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.post(LIST_PATH, json=[{"numbers": "+4930123456", "externalId": "a-1"}])
    assert time.monotonic() - started < 2
    assert _stored(live.app) == 1


async def test_a_late_answer_arrives_after_late_seconds_in_process() -> None:
    app = build_app(Faults(_profile({"rate_late": 1.0, "late_seconds": 0.2})))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox", auth=OBI_AUTH
    ) as c:
        started = time.monotonic()
        response = await c.get(CAMPAIGNS, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_a_lost_answer_is_a_transport_error_through_uvicorn(live: SandboxServer) -> None:
    live.sandbox.faults.configure(_profile({"rate_lost": 1.0}, endpoint="/campaigns/*/customers/list"))
    async with httpx.AsyncClient(base_url=live.base_url, auth=OBI_AUTH) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post(LIST_PATH, json=[{"numbers": "+4930123456", "externalId": "a-1"}])
    assert _stored(live.app) == 1
