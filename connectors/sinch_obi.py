"""Sinch Contact Center OBI v1 (vendor-docs/sinch-obi-v1.txt): customers into an outbound campaign.

Wire: REST JSON, HTTP Basic auth, ``POST {base}/campaigns/{campaign}/customers/list`` with a JSON
array of up to 100 customers (the document's "recommended maximum"), answered 200 with one item
per customer in request order: ``statusCode`` 201 + ``id`` (created), 200 (valid, but
``stopProcessIfInvalidEntriesFound=true`` held the request back because another entry failed),
anything else + ``error`` (refused).

Credentials (target ``credentials`` keys): ``username``, ``password``.

Options (target ``options``, see :class:`ObiOptions`): ``stop_process_if_invalid`` (default false,
the document's default), ``dialing_mode``, ``priority``, the attribute names used for the
lead's name and email, ``attributes_form``, ``duplicate_match``, ``extensions`` and
``extension_attribute`` (declared assumptions).

Mapping: ``externalId`` = the lead's deterministic external id; ``numbers`` = up to three E.164
numbers ``a;b;c`` in the lead's phone order (the first is dialled first); ``timeZone`` = the lead's
IANA zone; ``attributes`` = First Name / Last Name / Email, then the file's unmapped columns (a file
column named like one of ours, or Phone1..3 which ``numbers`` overrides, is dropped). The document's
field table says ``attributes`` is an array while every example wraps it as
``{"attribute": [...]}``; we send the wrapped form of the examples (``attributes_form``).

Extensions: the document has no extension field, and ``numbers`` takes digits only (its invalid
example is ``'+number;'``), so a number is dialled without its extension. OBI campaigns are
agent campaigns (PREVIEW/PREDICTIVE), so the extension goes where the agent sees it: a customer
attribute per number, ``Phone1 Extension`` for the first of ``numbers`` (``extension_attribute``,
``{n}`` the number's position); ``extensions = "drop"`` leaves it out.

Outcomes: 201 -> accepted (vendor id); other codes -> vendor_rejected with the vendor's code and
text. "Invalid externalId: <ours> : Value is not unique" is honest only after a look: the
customer search by externalId finds the vendor's record, and only when it matches what we sent
(``duplicate_match``: numbers, our attributes, time zone) is the row accepted with
``VENDOR_DUPLICATE`` (a resend after a crash) and the vendor's id. A record with other data, no
record (the id was repeated within the request: the vendor refuses every occurrence and stores
none), or a second row of the request with the same id is ``vendor_rejected``
``VENDOR_ID_CONFLICT``, its message naming the vendor's record. A search that still fails after
the target's retries (it is idempotent) leaves the row ``failed`` (``TRANSPORT_FAILED``): the
record may be ours, so the next run sends it and looks again. So two rows with one id in one
request are never both accepted. With ``stop_process_if_invalid``
the valid entries of a request that also held an invalid one were not added: they are reported
``vendor_rejected`` (vendor_status ``200``, a message saying the request was held back), never
accepted; a rerun sends them again (the rows accepted meanwhile are skipped by the ledger).

Resume: ``reconcile`` searches ``GET /campaigns/{campaign}/customers?externalId=<id>`` for each
lead of a chunk left in flight; found and matching -> accepted with the vendor id, found with
other data -> ``VENDOR_ID_CONFLICT``, missing -> failed (the run sends it again). The search
treats ``*`` and ``?`` as wildcards, so only exact matches count.

Declared assumptions (:data:`ASSUMPTIONS`, each overridable in the target's ``options``).

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

from connectors.assumptions import Assumption
from connectors.base import Channel, Chunk, Connector, Lead, Limits, RowOutcome
from connectors.config import ConfigError, load_options
from connectors.errors import ConnectorError, FatalTargetError, truncate
from connectors.retry import call_with_retries
from schemas.codes import Issue, Status

__all__ = ["ASSUMPTIONS", "LIMITS", "ObiOptions", "SinchObiConnector"]

ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "attributes_form",
        "wrapped",
        "post customers/list: the field table says 'attributes: (array of object)' while every "
        'example sends {"attribute": [...]}; we send the examples\' wrapped form',
    ),
    Assumption(
        "first_name_attribute",
        "First Name",
        "not documented as a field; the examples' attribute name ('First Name')",
    ),
    Assumption(
        "last_name_attribute",
        "Last Name",
        "not documented as a field; the examples' attribute name ('Last Name')",
    ),
    Assumption("email_attribute", "Email", "not documented: no example carries an email"),
    Assumption(
        "extensions",
        "attribute",
        "not documented: no customer field takes an extension and 'numbers' are digits; the number "
        "is dialled without it, the extension sent as an attribute the agent sees ('drop': not sent)",
    ),
    Assumption(
        "extension_attribute",
        "Phone{n} Extension",
        "not documented: the attribute's name; {n} is the number's position in 'numbers', as the "
        "document's Phone1..Phone3 attributes",
    ),
    Assumption(
        "schedules_by_zone",
        True,
        "not documented: a customer's 'timeZone: (string)' is listed without its meaning (example "
        "'Europe/Helsinki'); assumed to be the zone OBI applies the campaign's calling hours in, so "
        "a lead of one zone outside its window is loaded and OBI waits (false: held with "
        "OUTSIDE_CALLING_WINDOW). The campaign's hours are set in OBI, not through this API: they "
        "must be at least as strict as the target's compliance profile",
    ),
    Assumption(
        "duplicate_match",
        ("numbers", "attributes", "timeZone"),
        "not documented: which of the vendor's stored fields must equal ours for 'Value is not "
        "unique' to count as our earlier send (customer search, get /campaigns/{id}/customers)",
    ),
)
"""Every guess this connector makes where the document is silent (README lists them)."""

LIMITS = Limits(max_items=100, max_bytes=None, default_concurrency=4)

_JSON = "application/json"
_MAX_NUMBERS = 3
_NOT_UNIQUE = re.compile(r"^Invalid externalId: (?P<id>.*) : Value is not unique$")
_RESERVED = {"Phone1", "Phone2", "Phone3"}
_ACCEPTED = Status.ACCEPTED
_REJECTED = Status.VENDOR_REJECTED
_FAILED = Status.FAILED
_DUPLICATE = Issue.VENDOR_DUPLICATE.value
_CONFLICT = Issue.VENDOR_ID_CONFLICT.value
_CONFLICT_REASONS = (_CONFLICT,)
_UNCHECKED = "the vendor says this externalId is taken; its record was not compared with ours"
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
    attributes_form: Literal["wrapped", "array"] = "wrapped"
    """``{"attribute": [...]}`` as every example, or the bare array of the field table."""
    duplicate_match: tuple[Literal["numbers", "attributes", "timeZone"], ...] = (
        "numbers",
        "attributes",
        "timeZone",
    )
    """What must be equal for the vendor's record to count as our earlier send."""
    extensions: Literal["attribute", "drop"] = "attribute"
    """A number's extension: an attribute the agent sees, or not sent (the number is dialled alone)."""
    extension_attribute: str = Field("Phone{n} Extension", pattern=r"\{n\}")
    """The attribute's name; ``{n}`` is the number's position in ``numbers`` (1..3)."""
    schedules_by_zone: bool = True
    """OBI dials each customer within the campaign's hours in its ``timeZone`` (an assumption)."""


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
    _wrapped: bool = field(init=False, repr=False)
    _extension_names: tuple[str, ...] = field(init=False, repr=False)
    """The extension attribute of each position in ``numbers``; empty with ``extensions = "drop"``."""

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
        self._extension_names = (
            tuple(self.options.extension_attribute.replace("{n}", str(n)) for n in range(1, _MAX_NUMBERS + 1))
            if self.options.extensions == "attribute"
            else ()
        )
        self._taken = frozenset(name for name in own if name) | _RESERVED | frozenset(self._extension_names)
        self._wrapped = self.options.attributes_form == "wrapped"
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

    def schedules_by_zone(self) -> bool:
        return self.options.schedules_by_zone

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
        phones = lead.phones
        if self._extension_names:
            for phone in phones:  # most leads have none: a plain scan costs least
                if phone.ext:
                    attributes += self._extension_attributes(lead)
                    break
        if lead.attributes:
            taken = self._taken
            for name, value in lead.attributes:
                if name not in taken:
                    attributes.append({"name": name, "value": value})
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
            entry["attributes"] = {"attribute": attributes} if self._wrapped else attributes
        return entry

    def _extension_attributes(self, lead: Lead) -> list[dict[str, str]]:
        """``Phone<n> Extension`` for each of the first three numbers that has an extension."""
        pairs = zip(self._extension_names, lead.phones, strict=False)
        return [{"name": name, "value": phone.ext} for name, phone in pairs if phone.ext]

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
                reason=Issue.TARGET_MISCONFIGURED.value,
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
            # Provisional: enrich() compares the vendor's record with ours before any acceptance.
            return RowOutcome(
                lead.source_row,
                _REJECTED,
                _CONFLICT_REASONS,
                vendor_id,
                str(code),
                f"{error}: {_UNCHECKED}",
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
        """ "Value is not unique" rows: look at the vendor's record (customer search) and accept
        only the first row of the request whose data it matches; the others stay conflicts."""
        if not any(map(_reasons_of, outcomes)):
            return outcomes
        conflicts = {o.source_row for o in outcomes if _CONFLICT in o.reasons}
        if not conflicts:
            return outcomes
        leads = {lead.source_row: lead for lead in chunk.leads}
        rows_of: dict[str, list[int]] = {}
        for lead in chunk.leads:
            rows_of.setdefault(lead.external_id, []).append(lead.source_row)
        wanted = sorted({leads[row].external_id for row in conflicts if row in leads})
        found = await self._find_customers(client, wanted)
        verdicts: dict[int, RowOutcome] = {}
        for external_id in wanted:
            rows = rows_of[external_id]
            record = found.get(external_id)
            repeated = len(rows) > 1
            taken = False
            for row in rows:
                outcome = next(o for o in outcomes if o.source_row == row)
                if row not in conflicts:
                    continue
                verdicts[row] = self._verdict(leads[row], outcome, record, rows if repeated else None, taken)
                taken = taken or verdicts[row].status == _ACCEPTED
        return [verdicts.get(o.source_row, o) for o in outcomes]

    def _verdict(
        self,
        lead: Lead,
        outcome: RowOutcome,
        record: dict[str, Any] | Exception | None,
        repeated: list[int] | None,
        taken: bool,
    ) -> RowOutcome:
        """One "not unique" row judged against the vendor's record for its externalId."""
        error = outcome.vendor_message.split(": " + _UNCHECKED)[0] if outcome.vendor_message else ""
        if isinstance(record, Exception):
            # not a refusal: the record may be ours (a request whose answer was lost), and only a
            # search that answers can tell; the row fails, so the next run sends it and looks again
            why = (
                f"the customer search failed ({truncate(str(record), 120)}), so whether its record is "
                "ours is not known; run again to check"
            )
            return outcome._replace(
                status=Status.FAILED,
                reasons=(Issue.TRANSPORT_FAILED.value,),
                vendor_message=truncate(f"{error}: {why}"),
            )
        if record is None:
            why = "the vendor holds no customer with this externalId" + (
                f" (it is repeated in this request, rows {', '.join(map(str, repeated))}: none was stored)"
                if repeated
                else ""
            )
        else:
            vendor_id = str(record.get("id") or "")
            differences = self._differences(lead, record)
            if not differences and not taken:
                return outcome._replace(
                    status=_ACCEPTED,
                    reasons=(_DUPLICATE,),
                    vendor_id=vendor_id or None,
                    vendor_message=f"{error}: the vendor's customer {vendor_id} holds what we sent",
                )
            if differences:
                why = f"the vendor's customer {vendor_id} holds other data ({'; '.join(differences)})"
            else:
                why = (
                    f"the vendor's customer {vendor_id} matches, but another row of this request "
                    "with the same externalId was counted as it"
                )
            return outcome._replace(vendor_id=vendor_id or None, vendor_message=truncate(f"{error}: {why}"))
        return outcome._replace(vendor_message=truncate(f"{error}: {why}"))

    def _differences(self, lead: Lead, record: dict[str, Any]) -> list[str]:
        """What differs between the vendor's record and the customer we sent (``duplicate_match``)."""
        sent = self.customer(lead)
        differences: list[str] = []
        match = self.options.duplicate_match
        if "numbers" in match and str(record.get("numbers") or "") != sent["numbers"]:
            differences.append(f"numbers {record.get('numbers')!r}, ours {sent['numbers']!r}")
        if "timeZone" in match and sent.get("timeZone") and record.get("timeZone") != sent["timeZone"]:
            differences.append(f"timeZone {record.get('timeZone')!r}, ours {sent['timeZone']!r}")
        if "attributes" in match:
            theirs = _attribute_pairs(record.get("attributes"))
            ours = _attribute_pairs(sent.get("attributes"))
            for name, value in ours.items():
                if theirs.get(name) != value:
                    differences.append(f"attribute {name!r} {theirs.get(name)!r}, ours {value!r}")
        return differences

    # --- resume -------------------------------------------------------------------------
    async def reconcile(self, client: httpx.AsyncClient, chunk: Chunk) -> list[RowOutcome] | None:
        found = await self._find_customers(client, [lead.external_id for lead in chunk.leads], strict=True)
        outcomes: list[RowOutcome] = []
        for lead in chunk.leads:
            record = found.get(lead.external_id)
            vendor_id = str(record["id"]) if isinstance(record, dict) else None
            differences = self._differences(lead, record) if isinstance(record, dict) else []
            if vendor_id and differences:
                outcomes.append(
                    RowOutcome(
                        lead.source_row,
                        _REJECTED,
                        _CONFLICT_REASONS,
                        vendor_id,
                        None,
                        truncate(
                            f"after an interrupted run the vendor's customer {vendor_id} holds this "
                            f"externalId with other data ({'; '.join(differences)})"
                        ),
                    )
                )
            elif vendor_id:
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

    async def _find_customers(
        self, client: httpx.AsyncClient, external_ids: list[str], *, strict: bool = False
    ) -> dict[str, dict[str, Any] | Exception | None]:
        """The vendor's record per external id (None: not found); with ``strict`` a failed search
        raises (so the engine falls back to resending), otherwise the error is its value."""
        gate = asyncio.Semaphore(self.options.lookup_concurrency)

        async def one(external_id: str) -> tuple[str, dict[str, Any] | Exception | None]:
            async with gate:
                try:
                    # a search is idempotent: a 429/5xx or a dropped connection is tried again
                    return external_id, await call_with_retries(
                        lambda: self._search(client, external_id),
                        self.target.retry,
                        what=f"{self.target.name}: customer search",
                    )
                except (httpx.HTTPError, ConnectorError, ValueError) as exc:
                    if strict:
                        raise
                    return external_id, exc

        return dict(await asyncio.gather(*(one(eid) for eid in external_ids)))

    async def _search(self, client: httpx.AsyncClient, external_id: str) -> dict[str, Any] | None:
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
                return customer
        return None


def _attribute_pairs(raw: Any) -> dict[str, str]:
    """Attributes by name, from the wrapped (``{"attribute": [...]}``) or bare form."""
    if isinstance(raw, dict):
        raw = raw.get("attribute", [])
        raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        return {}
    return {str(a["name"]): str(a.get("value", "")) for a in raw if isinstance(a, dict) and "name" in a}
