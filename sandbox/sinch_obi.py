"""Simulated Sinch Contact Center OBI v1 (sinch-obi-v1.txt): campaigns and their customers.

Base URL is the mount (``/obi``), standing for the document's ``http://localhost:8080/RI/obi``.
Every call needs HTTP Basic auth with the demo credentials (401 otherwise). Bodies are JSON or
XML by ``Content-Type``; answers are JSON or XML by ``Accept``, XML when neither is named (the
document says JSON *must* be asked for). Single POST answers 201, the new id as ``text/html`` and
in ``Location``; PUT and DELETE answer 204. ``POST /campaigns/{id}/customers/list`` refuses more
than ``LIMITS.max_customers_per_request`` entries with 400 and otherwise answers 200 with one item
per entry: 201 + id when created, 200 when valid but ``stopProcessIfInvalidEntriesFound=true`` held
the batch back because another entry failed, 400 + the document's error text when invalid.

Seed state (also in the dump): the document's two example campaigns, ``Test Campaign``
(8A7C98EAF1164F2FAA93B98EECB95D76, Passive, PREDICTIVE) and ``Test Preview Campaign``
(62718C7889CC44F7B944C1A6F6BE9B7F, Active, PREVIEW), plus ``Leadflow Demo``
(:data:`DEMO_CAMPAIGN_ID` = ``000...001``, Active, PREDICTIVE) for the importer; no customers.
Basic auth has no session, so this vendor never asks :meth:`Faults.expire_session`.

Speed (the dispatch benchmark runs against this server): each campaign keeps an index
externalId -> customer id, so uniqueness checks and exact ``externalId`` searches cost the same
however many customers the campaign holds; one request stamps its customers with one time and
draws their ids in one call; JSON is read and written with orjson.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.faults import Faults
from sandbox.obi_rules import (
    CAMPAIGN_DATES,
    CAMPAIGN_FIELDS,
    CUSTOMER_DATES,
    CUSTOMER_FIELDS,
    SearchError,
    matches,
    validate_entries,
)
from sandbox.xmlwire import XmlError, from_xml, to_xml, wants_xml

__all__ = ["DEMO_CAMPAIGN_ID", "LIMITS", "ObiLimits", "SinchObiSimulator"]

DEMO_CAMPAIGN_ID = "00000000000000000000000000000001"


# --- LIMITS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObiLimits:
    max_customers_per_request: int = 100
    """The document's "recommended maximum ... is 100"; the sandbox refuses more."""
    default_limit: int = 100


LIMITS = ObiLimits()


def _seed_campaigns() -> dict[str, dict[str, Any]]:
    common: dict[str, Any] = {
        "dialerName": "Queue Dialer",
        "dialerId": "88B8B41C99E6484A94F402EA5E465FC5",
        "dialer": "88B8B41C99E6484A94F402EA5E465FC5",
        "queueId": "63AA93F493A54C5A8597FCFA670B2382",
        "queueName": "Test Queue",
        "maxCalls": 0,
        "filtered": 0,
    }
    campaigns: list[dict[str, Any]] = [
        {**common, "id": "8A7C98EAF1164F2FAA93B98EECB95D76", "name": "Test Campaign",
         "registered": "2020-09-25T07:07:50.243Z", "startDate": "2020-12-20T22:00:00Z",
         "endDate": "2021-02-20T22:00:00Z", "dialerStatus": "PASSIVE", "dialingMode": "PREDICTIVE",
         "timeZone": "Europe/Berlin", "status": "Passive"},
        {**common, "id": "62718C7889CC44F7B944C1A6F6BE9B7F", "name": "Test Preview Campaign",
         "registered": "2019-09-25T07:07:50.243Z", "dialerStatus": "OPEN", "dialingMode": "PREVIEW",
         "status": "Active"},
        {**common, "id": DEMO_CAMPAIGN_ID, "name": "Leadflow Demo", "registered": "2024-01-01T00:00:00.000Z",
         "dialerStatus": "OPEN", "dialingMode": "PREDICTIVE", "timeZone": "UTC", "status": "Active"},
    ]  # fmt: skip
    return {c["id"]: c for c in campaigns}


# --- auth -----------------------------------------------------------------------------------------


def _check_basic(request: Request, username: str, password: str) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        given = base64.b64decode(token, validate=True).decode() if scheme.lower() == "basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    user, _, secret = given.partition(":")
    if not (secrets.compare_digest(user, username) and secrets.compare_digest(secret, password)):
        raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="OBI"'})


# --- routes/handlers ------------------------------------------------------------------------------


@dataclass
class _Campaign:
    record: dict[str, Any]
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_external: dict[str, str] = field(default_factory=dict)
    """externalId -> customer id, for every stored customer (kept with ``customers``)."""

    def add(self, customer: dict[str, Any]) -> None:
        self.customers[customer["id"]] = customer
        self.by_external[customer["externalId"]] = customer["id"]

    def remove(self, uid: str) -> bool:
        customer = self.customers.pop(uid, None)
        if customer is None:
            return False
        if self.by_external.get(customer["externalId"]) == uid:
            del self.by_external[customer["externalId"]]
        return True

    def view(self) -> dict[str, Any]:
        handled = sum(1 for c in self.customers.values() if c.get("result"))
        total = len(self.customers)
        return {**self.record, "total": total, "handled": handled, "notHandled": total - handled}


class SinchObiSimulator:
    kind = "sinch_obi"
    prefix = "/obi"

    def __init__(self, clock: Clock, faults: Faults, *, limits: ObiLimits = LIMITS) -> None:
        self.clock = clock
        self.faults = faults
        self.limits = limits
        self.credentials = {"username": "demo", "password": "demo-secret"}
        self._lock = threading.Lock()
        self._campaigns: dict[str, _Campaign] = {}
        self.lenient = False
        """The old tolerant profile: ``attributes`` also as a bare array (sandbox.obi_rules)."""
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._campaigns = {cid: _Campaign(rec) for cid, rec in _seed_campaigns().items()}

    def app(self) -> ASGIApp:
        routes = [
            Route("/campaigns", self._list_campaigns, methods=["GET"]),
            Route("/campaigns/{cid}", self._get_campaign, methods=["GET"]),
            Route("/campaigns/{cid}/status", self._put_status, methods=["PUT"]),
            Route("/campaigns/{cid}/customers", self._list_customers, methods=["GET"]),
            Route("/campaigns/{cid}/customers", self._post_customer, methods=["POST"]),
            Route("/campaigns/{cid}/customers/list", self._post_list, methods=["POST"]),
            Route("/campaigns/{cid}/customers/{uid}", self._get_customer, methods=["GET"]),
            Route("/campaigns/{cid}/customers/{uid}", self._delete_customer, methods=["DELETE"]),
        ]
        return Starlette(routes=routes)

    def _now(self) -> str:
        return self.clock.utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _auth(self, request: Request) -> None:
        _check_basic(request, self.credentials["username"], self.credentials["password"])

    def _campaign(self, request: Request) -> _Campaign:
        self._auth(request)
        campaign = self._campaigns.get(request.path_params["cid"])
        if campaign is None:
            raise HTTPException(404, f"Campaign not found: {request.path_params['cid']}")
        return campaign

    async def _list_campaigns(self, request: Request) -> Response:
        self._auth(request)
        query = dict(request.query_params)
        try:
            found = [c.view() for c in self._campaigns.values()
                     if matches(c.view(), query, CAMPAIGN_FIELDS, CAMPAIGN_DATES)]  # fmt: skip
        except SearchError as exc:
            raise HTTPException(400, str(exc)) from exc
        return _answer(request, found, "campaigns", "campaign")

    async def _get_campaign(self, request: Request) -> Response:
        return _answer(request, self._campaign(request).view(), "campaign")

    async def _put_status(self, request: Request) -> Response:
        campaign = self._campaign(request)
        status = (await request.body()).decode("utf-8", "replace").strip().strip('"')
        if status not in {"Active", "Passive"}:
            raise HTTPException(400, f"Invalid status: {status} (one of Passive, Active)")
        campaign.record["status"] = status
        return Response(status_code=204)

    async def _list_customers(self, request: Request) -> Response:
        campaign = self._campaign(request)
        query = dict(request.query_params)
        query.pop("includeScript", None)
        try:
            offset = int(query.pop("offset", "0"))
            limit = int(query.pop("limit", str(self.limits.default_limit)))
        except ValueError as exc:
            raise HTTPException(400, "Invalid offset or limit") from exc
        attr_name, attr_value = query.pop("attributeName", None), query.pop("attributeValue", None)
        if attr_value is not None and attr_name is None:
            raise HTTPException(400, "attributeName is mandatory when attributeValue is given")
        exact = query.get("externalId")
        pool: Iterable[dict[str, Any]] = campaign.customers.values()
        if exact is not None and "*" not in exact and "?" not in exact:
            uid = campaign.by_external.get(exact)
            pool = () if uid is None else (campaign.customers[uid],)
        try:
            found = [c for c in pool
                     if matches(c, query, CUSTOMER_FIELDS, CUSTOMER_DATES)
                     and _has_attribute(c, attr_name, attr_value)]  # fmt: skip
        except SearchError as exc:
            raise HTTPException(400, str(exc)) from exc
        return _answer(
            request, found[max(offset, 0) : max(offset, 0) + max(limit, 0)], "customers", "customer"
        )

    async def _get_customer(self, request: Request) -> Response:
        customer = self._campaign(request).customers.get(request.path_params["uid"])
        if customer is None:
            raise HTTPException(404, f"Customer not found: {request.path_params['uid']}")
        return _answer(request, customer, "customer")

    async def _delete_customer(self, request: Request) -> Response:
        campaign = self._campaign(request)
        with self._lock:
            if not campaign.remove(request.path_params["uid"]):
                raise HTTPException(404, f"Customer not found: {request.path_params['uid']}")
        return Response(status_code=204)

    async def _post_customer(self, request: Request) -> Response:
        campaign = self._campaign(request)
        entry = await _read_body(request, as_list=False)
        with self._lock:
            outcome = validate_entries([entry], campaign.by_external, strict=not self.lenient)[0]
            if isinstance(outcome, str):
                raise HTTPException(400, outcome)
            new_id = _new_ids(1)[0]
            self._store(campaign, outcome, new_id, self._now())
        location = f"{request.url.path.rstrip('/')}/{new_id}"
        return Response(new_id, status_code=201, media_type="text/html", headers={"Location": location})

    async def _post_list(self, request: Request) -> Response:
        campaign = self._campaign(request)
        entries = await _read_body(request, as_list=True)
        if not isinstance(entries, list):
            raise HTTPException(400, "Body must be an array of customers")
        if len(entries) > self.limits.max_customers_per_request:
            raise HTTPException(
                400, f"Too many customers: {len(entries)} (maximum {self.limits.max_customers_per_request})"
            )
        stop = request.query_params.get("stopProcessIfInvalidEntriesFound", "false").lower() == "true"
        with self._lock:
            outcomes = validate_entries(entries, campaign.by_external, strict=not self.lenient)
            hold = stop and any(isinstance(o, str) for o in outcomes)
            valid = 0 if hold else sum(1 for o in outcomes if not isinstance(o, str))
            new_ids = iter(_new_ids(valid))
            now = self._now() if valid else ""
            items: list[dict[str, Any]] = []
            for outcome in outcomes:
                if isinstance(outcome, str):
                    items.append({"statusCode": 400, "error": outcome})
                elif hold:
                    items.append({"statusCode": 200})
                else:
                    new_id = next(new_ids)
                    self._store(campaign, outcome, new_id, now)
                    items.append({"statusCode": 201, "id": new_id})
        return _answer(request, items, "items", "item")

    def _store(self, campaign: _Campaign, fields: dict[str, Any], new_id: str, now: str) -> None:
        campaign.add(
            {
                "id": new_id,
                **fields,
                "externalId": fields.get("externalId") or new_id,
                "callCount": 0,
                "lastBNumber": 0,
                "modificationDate": now,
            }
        )

    # --- state dump -------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """``campaigns`` by id, each with its fields and ``customers`` (id, externalId, numbers, ...)."""
        with self._lock:
            return {
                "campaigns": {
                    cid: {**c.view(), "customers": [dict(x) for x in c.customers.values()]}
                    for cid, c in self._campaigns.items()
                },
                "demo_campaign_id": DEMO_CAMPAIGN_ID,
            }


def _new_ids(count: int) -> list[str]:
    """``count`` customer ids: 32 upper-case hex characters each, as the document's examples."""
    drawn = os.urandom(16 * count).hex().upper()
    return [drawn[i : i + 32] for i in range(0, 32 * count, 32)]


def _has_attribute(customer: dict[str, Any], name: str | None, value: str | None) -> bool:
    if name is None:
        return True
    return any(a["name"] == name and (value is None or a["value"] == value) for a in customer["attributes"])


async def _read_body(request: Request, *, as_list: bool) -> Any:
    content_type = request.headers.get("content-type", "").lower()
    body = await request.body()
    try:
        if "json" in content_type:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                return json.loads(body)
        if "xml" in content_type:
            return from_xml(body, as_list=as_list, list_fields=frozenset({"attribute"}))
    except (ValueError, XmlError) as exc:
        raise HTTPException(400, f"Malformed body: {exc}") from exc
    raise HTTPException(415, "Content-Type must be application/json or application/xml")


def _answer(request: Request, value: Any, root: str, item_name: str = "item") -> Response:
    value = _wrap_attributes(value)
    if wants_xml(request.headers.get("accept"), default_xml=True):
        return Response(to_xml(value, root, item_name), media_type="application/xml")
    return Response(orjson.dumps(value), media_type="application/json")


def _wrap_attributes(value: Any) -> Any:
    """Customers carry attributes as ``{"attribute": [...]}``, as the document's examples show."""
    if isinstance(value, list):
        return [_wrap_attributes(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("attributes"), list):
        return {**value, "attributes": {"attribute": value["attributes"]}}
    return value
