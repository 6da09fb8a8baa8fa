"""Sinch Contact Center OBI v1 (vendor-docs/sinch-obi-v1.txt): customers into an outbound campaign.

Wire: REST JSON, HTTP Basic auth, ``POST {base}/campaigns/{campaign}/customers/list`` with a JSON
array of up to 100 customers (the document's "recommended maximum"), answered 200 with one item
per customer in request order: ``statusCode`` 201 + ``id`` (created), 200 (valid, but
``stopProcessIfInvalidEntriesFound=true`` held the request back because another entry failed),
anything else + ``error`` (refused).

Credentials (target ``credentials`` keys): ``username``, ``password``.

Options (target ``options``, see :class:`ObiOptions`): ``stop_process_if_invalid`` (default false,
the document's default), ``dialing_mode``, ``priority``, and the attribute names used for the
lead's name and email.

Mapping: ``externalId`` = the lead's deterministic external id; ``numbers`` = up to three E.164
numbers ``a;b;c`` in the lead's phone order (the first is dialled first); ``timeZone`` = the lead's
IANA zone; ``attributes`` = First Name / Last Name / Email, then the file's unmapped columns (a file
column named like one of ours, or Phone1..3 which ``numbers`` overrides, is dropped). The document's
field table says ``attributes`` is an array while every example wraps it as
``{"attribute": [...]}``; we send the wrapped form of the examples.

Outcomes: 201 -> accepted (vendor id); "Invalid externalId: <ours> : Value is not unique" ->
accepted with ``VENDOR_DUPLICATE`` (a resend after a crash), its id looked up by customer search;
other codes -> vendor_rejected with the vendor's code and text. With ``stop_process_if_invalid``
the valid entries of a request that also held an invalid one were not added: they are reported
``vendor_rejected`` (vendor_status ``200``, a message saying the request was held back), never
accepted; a rerun sends them again (the rows accepted meanwhile are skipped by the ledger).

Resume: ``reconcile`` searches ``GET /campaigns/{campaign}/customers?externalId=<id>`` for each
lead of a chunk left in flight; found -> accepted with the vendor id, missing -> failed (the run
sends it again). The search treats ``*`` and ``?`` as wildcards, so only exact matches count.

Speed: building bodies and reading answers is per lead, so both stay lean: one dict per customer
with the target's constant fields merged in once, orjson both ways, and a short path for the
common ``201`` item (docs/perf notes in bench/dispatch.py).
"""

from __future__ import annotations

import asyncio
import operator
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Channel, Chunk, Connector, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.errors import FatalTargetError, truncate
from schemas.codes import Issue, Status

__all__ = ["LIMITS", "ObiOptions", "SinchObiConnector"]

LIMITS = Limits(max_items=100, max_bytes=None, default_concurrency=4)

_JSON = "application/json"
_MAX_NUMBERS = 3
_NOT_UNIQUE = re.compile(r"^Invalid externalId: (?P<id>.*) : Value is not unique$")
_RESERVED = {"Phone1", "Phone2", "Phone3"}
_ACCEPTED = Status.ACCEPTED
_REJECTED = Status.VENDOR_REJECTED
_FAILED = Status.FAILED
_DUPLICATE = Issue.VENDOR_DUPLICATE.value
_REJECTED_REASONS = (Issue.VENDOR_REJECTED.value,)
_reasons_of = operator.attrgetter("reasons")
"""Created customers have no reasons: one C-level scan tells enrich there is nothing to look up."""
_make_outcome = RowOutcome._make
"""RowOutcome from all six fields (the created-customer path runs once per lead)."""
_HEADERS = httpx.Headers({"Content-Type": _JSON, "Accept": _JSON})


class ObiOptions(BaseModel):
    """Vendor-specific settings of a ``sinch_obi`` target (its ``options`` table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_process_if_invalid: bool = False
    """``stopProcessIfInvalidEntriesFound``: add none of a request's customers if one is invalid."""
    dialing_mode: Literal["PREVIEW", "PREDICTIVE"] | None = None
    priority: int | None = None
    first_name_attribute: str = "First Name"
    last_name_attribute: str = "Last Name"
    email_attribute: str | None = "Email"
    lookup_concurrency: int = Field(8, ge=1, le=64)
    """Parallel customer searches when reconciling or looking up duplicates' ids."""


@dataclass
class SinchObiConnector(Connector):
    kind: ClassVar[str] = "sinch_obi"
    channel: ClassVar[Channel] = Channel.VOICE
    LIMITS: ClassVar[Limits] = LIMITS
    refuses_known_ids: ClassVar[bool] = True  # a known externalId is "Value is not unique"

    options: ObiOptions = field(init=False)
    _own_attributes: tuple[str, ...] = field(init=False, repr=False)
    _taken: frozenset[str] = field(init=False, repr=False)
    _constant: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.target.name
        for key in ("username", "password"):
            if not self.secrets.get(key):
                raise ConfigError(f"target {name!r}: credentials.{key} is required for sinch_obi")
        self.options = load_options(self.target, ObiOptions)
        self._customers = f"/campaigns/{self.target.campaign}/customers"
        own = (
            self.options.first_name_attribute,
            self.options.last_name_attribute,
            self.options.email_attribute,
        )
        self._own_attributes = tuple(name or "" for name in own)
        self._taken = frozenset(name for name in own if name) | _RESERVED
        self._constant = {}
        if self.options.dialing_mode:
            self._constant["dialingMode"] = self.options.dialing_mode
        if self.options.priority is not None:
            self._constant["priority"] = self.options.priority
        params = (
            {"stopProcessIfInvalidEntriesFound": "true"} if self.options.stop_process_if_invalid else None
        )
        self._list_url = httpx.URL(f"{self.target.base_url.rstrip('/')}{self._customers}/list", params=params)
        """Absolute, built once: a path relative to the client's base_url is parsed and merged anew
        by httpx on every request (about 1 us per lead at 100 customers a request)."""

    # --- auth ---------------------------------------------------------------------------
    def auth(self) -> httpx.Auth:
        return httpx.BasicAuth(self.secrets["username"], self.secrets["password"])

    # --- payload ------------------------------------------------------------------------
    def customer(self, lead: Lead) -> dict[str, Any]:
        """One entry of the customers/list body."""
        first, last, email = self._own_attributes
        attributes = []
        if lead.first_name and first:
            attributes.append({"name": first, "value": lead.first_name})
        if lead.last_name and last:
            attributes.append({"name": last, "value": lead.last_name})
        if lead.email and email:
            attributes.append({"name": email, "value": lead.email})
        if lead.attributes:
            taken = self._taken
            for name, value in lead.attributes:
                if name not in taken:
                    attributes.append({"name": name, "value": value})
        phones = lead.phones
        entry: dict[str, Any] = {
            "externalId": lead.external_id,
            "numbers": phones[0].e164
            if len(phones) == 1
            else ";".join([p.e164 for p in phones[:_MAX_NUMBERS]]),
        }
        if lead.timezone:
            entry["timeZone"] = lead.timezone
        if self._constant:
            entry.update(self._constant)
        if attributes:
            entry["attributes"] = {"attribute": attributes}
        return entry

    def item_size(self, lead: Lead) -> int:
        return len(orjson.dumps(self.customer(lead))) + 1

    def build_request(self, client: httpx.AsyncClient, chunk: Chunk) -> httpx.Request:
        customer = self.customer
        body = orjson.dumps([customer(lead) for lead in chunk.leads])
        return client.build_request("POST", self._list_url, content=body, headers=_HEADERS)

    # --- response -----------------------------------------------------------------------
    def classify(self, response: httpx.Response) -> None:
        super().classify(response)
        if response.status_code == 404:
            raise FatalTargetError(
                f"{self.target.name}: campaign {self.target.campaign!r} not found at "
                f"{self.target.base_url}: check the target's campaign id ({truncate(response.text)})",
                target=self.target.name,
                request=response.request,
                reason=Issue.TARGET_STOPPED.value,
            )

    def parse_response(self, chunk: Chunk, response: httpx.Response) -> list[RowOutcome]:
        if response.status_code == 400:
            message = truncate(response.text)
            return [
                RowOutcome(
                    lead.source_row,
                    Status.VENDOR_REJECTED,
                    (Issue.VENDOR_REJECTED.value,),
                    vendor_status="400",
                    vendor_message=f"request refused: {message}",
                )
                for lead in chunk.leads
            ]
        if response.status_code != 200:
            raise self.unexpected(response, "expected 200 with one item per customer")
        items = orjson.loads(response.content)
        if not isinstance(items, list) or len(items) != len(chunk):
            raise self.unexpected(response, f"expected a list of {len(chunk)} items")
        outcomes: list[RowOutcome] = []
        append = outcomes.append
        for lead, item in zip(chunk.leads, items, strict=True):
            if type(item) is dict and item.get("statusCode") == 201:
                append(_make_outcome((lead.source_row, _ACCEPTED, (), item.get("id"), "201", None)))
            else:
                append(self._outcome(lead, item))
        return outcomes

    def _outcome(self, lead: Lead, item: Any) -> RowOutcome:
        if not isinstance(item, dict):
            return RowOutcome(
                lead.source_row,
                Status.FAILED,
                (Issue.TRANSPORT_FAILED.value,),
                vendor_message=f"unreadable item: {truncate(str(item))}",
            )
        code = item.get("statusCode")
        error = item.get("error")
        vendor_id = item.get("id")
        if code == 201:
            return RowOutcome(lead.source_row, _ACCEPTED, (), vendor_id, "201")
        if code == 200:
            return RowOutcome(
                lead.source_row,
                _REJECTED,
                _REJECTED_REASONS,
                None,
                "200",
                "valid but not added: the vendor held the request back because another entry was "
                "invalid (stopProcessIfInvalidEntriesFound); a rerun sends it again",
            )
        match = _NOT_UNIQUE.match(str(error or ""))
        if match and match["id"] == lead.external_id:
            return RowOutcome(
                lead.source_row,
                _ACCEPTED,
                (_DUPLICATE,),
                vendor_id,
                str(code),
                str(error),
            )
        return RowOutcome(
            lead.source_row,
            _REJECTED,
            _REJECTED_REASONS,
            vendor_id,
            str(code),
            str(error) if error is not None else None,
        )

    async def enrich(
        self, client: httpx.AsyncClient, chunk: Chunk, outcomes: list[RowOutcome]
    ) -> list[RowOutcome]:
        """Duplicates come back without an id: find it by customer search (best effort)."""
        if not any(map(_reasons_of, outcomes)):
            return outcomes
        if not any(_DUPLICATE in o.reasons and not o.vendor_id for o in outcomes):
            return outcomes
        ids = {lead.source_row: lead.external_id for lead in chunk.leads}
        missing = {
            ids[o.source_row]
            for o in outcomes
            if _DUPLICATE in o.reasons and not o.vendor_id and o.source_row in ids
        }
        if not missing:
            return outcomes
        found = await self._find_ids(client, sorted(missing))
        return [
            o._replace(vendor_id=found.get(ids[o.source_row])) if ids.get(o.source_row) in missing else o
            for o in outcomes
        ]

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        found = await self._find_ids(client, [lead.external_id for lead in chunk.leads], strict=True)
        outcomes: list[RowOutcome] = []
        for lead in chunk.leads:
            vendor_id = found.get(lead.external_id)
            if vendor_id:
                outcomes.append(
                    RowOutcome(
                        lead.source_row,
                        Status.ACCEPTED,
                        (),
                        vendor_id,
                        None,
                        "found by customer search after an interrupted run",
                    )
                )
            else:
                outcomes.append(
                    RowOutcome(
                        lead.source_row,
                        Status.FAILED,
                        (Issue.TRANSPORT_FAILED.value,),
                        None,
                        None,
                        "not found at the vendor after an interrupted run",
                    )
                )
        return outcomes

    async def _find_ids(
        self, client: httpx.AsyncClient, external_ids: list[str], *, strict: bool = False
    ) -> dict[str, str]:
        """Vendor id per external id found; with ``strict`` a failed search raises (so the engine
        falls back to resending), otherwise it is skipped."""
        gate = asyncio.Semaphore(self.options.lookup_concurrency)

        async def one(external_id: str) -> tuple[str, str | None]:
            async with gate:
                try:
                    return external_id, await self._search(client, external_id)
                except (httpx.HTTPError, FatalTargetError, ValueError):
                    if strict:
                        raise
                    return external_id, None

        pairs = await asyncio.gather(*(one(eid) for eid in external_ids))
        return {eid: vid for eid, vid in pairs if vid}

    async def _search(self, client: httpx.AsyncClient, external_id: str) -> str | None:
        response = await client.get(
            self._customers, params={"externalId": external_id, "limit": 100}, headers={"Accept": _JSON}
        )
        self.classify(response)
        if response.status_code != 200:
            raise self.unexpected(response, "customer search failed")
        customers = response.json()
        if not isinstance(customers, list):
            raise self.unexpected(response, "customer search did not answer a list")
        for customer in customers:
            if (
                isinstance(customer, dict)
                and customer.get("externalId") == external_id
                and customer.get("id")
            ):
                return str(customer["id"])
        return None
