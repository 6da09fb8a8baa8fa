"""Simulated MaxContact management API and lead import (maxcontact-management-api.txt, DESIGN.md).

Paths are the document's, below the mount (``/maxcontact``): ``/webservices/services/...``.
Login is ``GET .../apitoken/login/{login}`` with ``Authorization: base64(password)`` (no scheme);
it answers ``{"TokenKey": ...}``. Every other call needs ``Cookie: TokenKey=...``; an unknown or
expired token (``TOKEN_LIFETIME`` on the sandbox clock, or an early expiry from the fault
profile) answers 401. Answers are XML unless ``Accept`` asks for JSON, as the document says.

Everything else answers a ``ManagementActionResponse`` ``{Success, Data, ResponseCode,
ResponseDetail}`` with ResponseCode ``Success``, ``Error`` or ``Invalid Parameters``.
Assumptions where the document is silent: bad input answers HTTP 400 + ``Invalid Parameters``,
an unknown id HTTP 404 + ``Error``; field names are matched case-insensitively as ASP.NET does;
an unknown field is ``Invalid Parameters``; ``LeadManagement/addlead`` takes one lead object or an
array of them (``ListID`` must name an existing list; a lead needs a ``Name`` and a phone or an
email; ``PhoneNum`` is ``+`` optional then 7 to 15 digits) and answers ``Data: {"LeadIds": [...]}``;
a request body over ``LIMITS.max_request_bytes`` answers HTTP 413 + ``Invalid Parameters``.

Strict by default (the document does not describe ``addlead`` at all, so the stricter plausible
service is simulated; ``lenient = True`` restores the old tolerant behaviour):
- a lead field other than ``ListID``, ``Name``, ``email``, ``LeadPhones`` (or a phone field other
  than ``PhoneNum``) is ``Invalid Parameters`` ``Unknown Lead field: X``, as for the entities;
- a lead with a ``PhoneNum`` the list already holds (or an earlier lead of the same request holds)
  is refused: HTTP 409, ``Error``, ``Lead already exists in list L: PhoneNum P (LeadId N)``;
- associating a list with a campaign it is already associated with is refused: HTTP 409,
  ``Error``, ``ListId L is already associated with campaign C`` (lenient: succeeds again).

Seed state: campaign 1 ``Leadflow Demo`` (Predictive, Not Running, active), no lists, teams or
users: the importer creates and activates a list and associates it with the campaign.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.clock import Clock
from sandbox.faults import Faults, relative_path
from sandbox.maxcontact_entities import CAMPAIGN_STATUSES, CAMPAIGN_TYPES, ENTITIES, EntityError, coerce
from sandbox.xmlwire import to_xml, wants_xml

__all__ = ["LIMITS", "MaxContactLimits", "MaxContactSimulator"]

SERVICES = "/webservices/services"
MANAGEMENT = f"{SERVICES}/management"
PHONE = re.compile(r"\+?[0-9]{7,15}")
LEAD_FIELDS = frozenset({"listid", "name", "email", "leadphones"})
"""The lead fields DESIGN.md's wire notes name (compared case-insensitively, as ASP.NET binds)."""


# --- LIMITS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaxContactLimits:
    max_request_bytes: int = 512_000
    token_lifetime: float = 3600.0
    """Seconds a TokenKey lives (the document only says tokens expire)."""


LIMITS = MaxContactLimits()


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


# --- auth -----------------------------------------------------------------------------------------


class MaxContactSimulator:
    kind = "maxcontact"
    prefix = "/maxcontact"

    def __init__(self, clock: Clock, faults: Faults, *, limits: MaxContactLimits = LIMITS) -> None:
        self.clock = clock
        self.faults = faults
        self.limits = limits
        self.credentials = {"login": "demo", "password": "demo-secret"}
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._logins = 0
        """Tokens issued since the last reset (the document has no logout: a token expires)."""
        self._store: dict[str, dict[int, dict[str, Any]]] = {}
        self._links: dict[str, set[tuple[int, int]]] = {}
        self._leads: dict[int, list[dict[str, Any]]] = {}
        self._held: dict[tuple[int, str], int] = {}
        """(list id, phone) -> the LeadId holding it: the duplicate check's index (a scan of every
        stored lead per request made a run of 50k leads quadratic)."""
        self._next_id: dict[str, int] = {}
        self._emergency = False
        self.lenient = False
        """The old tolerant profile: unknown lead fields, duplicate leads and re-association pass."""
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._logins = 0
            self._store = {name: {} for name in ENTITIES}
            self._links = {
                "campaign_lists": set(),
                "campaign_teams": set(),
                "team_users": set(),
                "skills": set(),
            }
            self._leads = {}
            self._held = {}
            self._next_id = dict.fromkeys(ENTITIES, 1)
            self._emergency = False
            self._add(
                "campaigns", coerce("campaigns", {"CampaignName": "Leadflow Demo", "Type": 0, "Status": 0})
            )

    async def _login(self, request: Request) -> Response:
        given = request.headers.get("authorization", "")
        try:
            password = base64.b64decode(given, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            password = ""
        login_ok = secrets.compare_digest(request.path_params["login"], self.credentials["login"])
        if not (login_ok and secrets.compare_digest(password, self.credentials["password"])):
            return _respond(request, _envelope(False, None, "Error", "Invalid login or password"), 401)
        token = secrets.token_hex(20)
        with self._lock:
            self._tokens[token] = self.clock.now() + self.limits.token_lifetime
            self._logins += 1
        return _respond(request, {"TokenKey": token})

    def _check_token(self, request: Request) -> None:
        token = request.cookies.get("TokenKey", "")
        with self._lock:
            expires = self._tokens.get(token)
            if expires is not None and (
                expires <= self.clock.now()
                or self.faults.expire_session(self.kind, relative_path(request.scope))
            ):
                del self._tokens[token]
                expires = None
        if expires is None:
            raise _Refused(401, "Error", "Authorization has been denied for this request.")

    # --- routes/handlers --------------------------------------------------------------------------

    def app(self) -> ASGIApp:
        m = MANAGEMENT
        routes = [Route(f"{SERVICES}/apitoken/login/{{login}}", self._login, methods=["GET"])]
        handlers: list[tuple[str, Any, list[str]]] = [
            (f"{SERVICES}/LeadManagement/addlead", self._add_lead, ["POST"]),
            (f"{m}/globalemergency/{{action}}", self._emergency_mode, ["POST"]),
            (f"{m}/users/skills", self._skills, ["PUT", "DELETE"]),
            (f"{m}/campaigns/{{id:int}}/activityStatus", self._activity, ["PATCH"]),
            (f"{m}/lists/{{id:int}}/activitystatus", self._activity, ["PUT"]),
            (f"{m}/teams/{{id:int}}/activitystatus", self._activity, ["PUT"]),
            (f"{m}/users/{{id:int}}/activitystatus", self._activity, ["PATCH"]),
            (f"{m}/campaigns/{{id:int}}/status", self._campaign_status, ["PATCH"]),
            (f"{m}/campaigns/{{id:int}}/type", self._campaign_type, ["PATCH"]),
            (f"{m}/campaigns/{{id:int}}/lists", self._link, ["PUT", "DELETE"]),
            (f"{m}/campaigns/{{id:int}}/teams", self._link, ["PUT", "DELETE"]),
            (f"{m}/teams/{{id:int}}/users", self._link, ["PUT", "DELETE"]),
            (f"{m}/{{entity}}", self._collection, ["GET", "POST"]),
            (f"{m}/{{entity}}/{{id:int}}", self._item, ["GET", "PUT"]),
        ]
        routes += [
            Route(path, self._guarded(handler), methods=methods) for path, handler, methods in handlers
        ]
        return Starlette(routes=routes)

    def _guarded(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                self._check_token(request)
                body = await request.body()
                if len(body) > self.limits.max_request_bytes:
                    raise _Refused(
                        413, "Invalid Parameters", f"Request exceeds {self.limits.max_request_bytes} bytes"
                    )
                data = _parse(body) if body else None
                with self._lock:
                    result: Any = handler(request, data)
            except _Refused as refused:
                return _respond(request, _envelope(False, None, refused.code, refused.detail), refused.status)
            except EntityError as exc:
                return _respond(request, _envelope(False, None, "Invalid Parameters", str(exc)), 400)
            return _respond(request, _envelope(True, result, "Success", ""))

        return endpoint

    def _entity(self, request: Request) -> str:
        entity = str(
            request.path_params.get("entity") or request.url.path.split("/management/")[1].split("/")[0]
        )
        if entity not in ENTITIES:
            raise _Refused(404, "Error", f"Unknown resource: {entity}")
        return entity

    def _get(self, entity: str, item_id: int) -> dict[str, Any]:
        item = self._store[entity].get(item_id)
        if item is None:
            raise _Refused(404, "Error", f"{ENTITIES[entity].label} {item_id} does not exist")
        return item

    def _add(self, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
        item_id = self._next_id[entity]
        self._next_id[entity] += 1
        item = {"Id": item_id, **fields}
        self._store[entity][item_id] = item
        return item

    def _collection(self, request: Request, data: Any) -> Any:
        entity = self._entity(request)
        if request.method == "GET":
            return [ENTITIES[entity].public(x) for x in self._store[entity].values()]
        return ENTITIES[entity].public(self._add(entity, coerce(entity, _object(data))))

    def _item(self, request: Request, data: Any) -> Any:
        entity = self._entity(request)
        item = self._get(entity, request.path_params["id"])
        if request.method == "PUT":
            item.update(coerce(entity, _object(data), partial=True))
        return ENTITIES[entity].public(item)

    def _activity(self, request: Request, data: Any) -> Any:
        entity = self._entity(request)
        item = self._get(entity, request.path_params["id"])
        active = _field(_object(data), "Active")
        if not isinstance(active, bool):
            raise EntityError("Active must be true or false")
        item["Active"] = active
        return ENTITIES[entity].public(item) if entity in {"campaigns", "users"} else {"Active": active}

    def _campaign_status(self, request: Request, data: Any) -> Any:
        item = self._get("campaigns", request.path_params["id"])
        item["Status"] = _lookup(CAMPAIGN_STATUSES, _field(_object(data), "CampaignStatus"), "CampaignStatus")
        return CAMPAIGN_STATUSES[item["Status"]]

    def _campaign_type(self, request: Request, data: Any) -> Any:
        item = self._get("campaigns", request.path_params["id"])
        item["Type"] = _lookup(CAMPAIGN_TYPES, _field(_object(data), "CampaignType"), "CampaignType")
        return CAMPAIGN_TYPES[item["Type"]]

    def _link(self, request: Request, data: Any) -> Any:
        owner_entity = self._entity(request)
        child = request.url.path.rstrip("/").rsplit("/", 1)[1]
        link, key, child_entity = {
            ("campaigns", "lists"): ("campaign_lists", "ListId", "lists"),
            ("campaigns", "teams"): ("campaign_teams", "TeamId", "teams"),
            ("teams", "users"): ("team_users", "UserId", "users"),
        }[(owner_entity, child)]
        owner = self._get(owner_entity, request.path_params["id"])["Id"]
        child_id = _field(_object(data), key)
        if not isinstance(child_id, int) or isinstance(child_id, bool):
            raise EntityError(f"{key} must be an integer")
        self._get(child_entity, child_id)
        pair = (owner, child_id)
        if request.method == "PUT":
            if pair in self._links[link] and not self.lenient:
                raise _Refused(
                    409, "Error", f"{key} {child_id} is already associated with {owner_entity[:-1]} {owner}"
                )
            self._links[link].add(pair)
        elif pair in self._links[link]:
            self._links[link].discard(pair)
        else:
            raise _Refused(
                404, "Error", f"{key} {child_id} is not associated with {owner_entity[:-1]} {owner}"
            )
        return None

    def _skills(self, request: Request, data: Any) -> Any:
        body = _object(data)
        skill, users = _field(body, "SkillId"), _field(body, "UserIds")
        proficiency = _field(body, "Proficiency")
        if not isinstance(skill, int) or not isinstance(users, list) or not users:
            raise EntityError("SkillId and UserIds are required")
        if request.method == "PUT" and not (isinstance(proficiency, int) and 1 <= proficiency <= 10):
            raise EntityError("Proficiency must be between 1 and 10")
        for user in users:
            self._get("users", user)
            (self._links["skills"].add if request.method == "PUT" else self._links["skills"].discard)(
                (skill, user)
            )
        return None

    def _emergency_mode(self, request: Request, data: Any) -> Any:
        action = request.path_params["action"]
        if action not in {"enable", "disable"}:
            raise _Refused(404, "Error", f"Unknown action: {action}")
        self._emergency = action == "enable"
        if self._emergency:
            for campaign in self._store["campaigns"].values():
                campaign["Status"] = 0
        return None

    def _add_lead(self, request: Request, data: Any) -> Any:
        leads = data if isinstance(data, list) else [_object(data)]
        checked = [self._check_lead(lead) for lead in leads]
        if not self.lenient:
            self._refuse_duplicates(checked)
        ids = []
        for list_id, lead in checked:
            lead_id = sum(len(v) for v in self._leads.values()) + 1
            self._leads.setdefault(list_id, []).append({"LeadId": lead_id, **lead})
            for phone in _phones(lead):
                self._held.setdefault((list_id, phone), lead_id)
            ids.append(lead_id)
        return {"LeadIds": ids}

    def _refuse_duplicates(self, checked: list[tuple[int, dict[str, Any]]]) -> None:
        """A lead whose phone its list (or an earlier lead of the request) holds is refused."""
        seen: dict[tuple[int, str], int] = {}  # this request's own leads
        for n, (list_id, lead) in enumerate(checked):
            for phone in _phones(lead):
                held = seen.get((list_id, phone), self._held.get((list_id, phone)))
                if held is not None:
                    record = f"LeadId {held}" if held > 0 else f"lead {-held} of this request"
                    raise _Refused(
                        409, "Error", f"Lead already exists in list {list_id}: PhoneNum {phone} ({record})"
                    )
            for phone in _phones(lead):
                seen[(list_id, phone)] = -(n + 1)

    def _check_lead(self, lead: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(lead, dict):
            raise EntityError("A lead is an object")
        if not self.lenient:
            unknown = [k for k in lead if k.lower() not in LEAD_FIELDS]
            unknown += [
                k
                for p in _field(lead, "LeadPhones") or []
                if isinstance(p, dict)
                for k in p
                if k.lower() != "phonenum"
            ]
            if unknown:
                raise EntityError(f"Unknown Lead field: {unknown[0]}")
        list_id = _field(lead, "ListID")
        if not isinstance(list_id, int) or isinstance(list_id, bool) or list_id not in self._store["lists"]:
            raise EntityError(f"ListID {list_id} does not exist")
        name, email = _field(lead, "Name"), _field(lead, "email")
        phones = [
            _field(p, "PhoneNum") if isinstance(p, dict) else p for p in _field(lead, "LeadPhones") or []
        ]
        if not isinstance(name, str) or not name.strip():
            raise EntityError("Name is required")
        bad = [p for p in phones if not isinstance(p, str) or not PHONE.fullmatch(p)]
        if bad:
            raise EntityError(f"Invalid PhoneNum: {bad[0]}")
        if not phones and not (isinstance(email, str) and "@" in email):
            raise EntityError("A lead needs a phone number or an email")
        return list_id, {**lead, "ListID": list_id}

    # --- state dump -------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Campaigns (with their list/team ids), lists with their ``leads``, teams, users, tokens."""
        with self._lock:
            return {
                "campaigns": {
                    cid: {
                        **c,
                        "ListIds": sorted(x for o, x in self._links["campaign_lists"] if o == cid),
                        "TeamIds": sorted(x for o, x in self._links["campaign_teams"] if o == cid),
                    }
                    for cid, c in self._store["campaigns"].items()
                },
                "lists": {
                    lid: {**x, "leads": list(self._leads.get(lid, []))}
                    for lid, x in self._store["lists"].items()
                },
                "teams": {
                    tid: {**t, "UserIds": sorted(u for o, u in self._links["team_users"] if o == tid)}
                    for tid, t in self._store["teams"].items()
                },
                "users": {uid: ENTITIES["users"].public(u) for uid, u in self._store["users"].items()},
                "active_tokens": sum(1 for t in self._tokens.values() if t > self.clock.now()),
                "logins": self._logins,
                "global_emergency": self._emergency,
            }


def _envelope(success: bool, data: Any, code: str, detail: str) -> dict[str, Any]:
    return {"Success": success, "Data": data, "ResponseCode": code, "ResponseDetail": detail}


def _respond(request: Request, value: dict[str, Any], status: int = 200) -> Response:
    if wants_xml(request.headers.get("accept"), default_xml=True):
        root = "TokenResponse" if "TokenKey" in value else "ManagementActionResponse"
        return Response(to_xml(value, root), status_code=status, media_type="application/xml")
    return JSONResponse(value, status_code=status)


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise EntityError(f"Malformed JSON body: {exc}") from exc


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise EntityError("The body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str) -> Any:
    return next((v for k, v in data.items() if k.lower() == name.lower()), None)


def _phones(lead: dict[str, Any]) -> list[str]:
    raw = _field(lead, "LeadPhones") or []
    return [str(_field(p, "PhoneNum") if isinstance(p, dict) else p) for p in raw]


def _lookup(table: dict[int, str], value: Any, name: str) -> int:
    for key, label in table.items():
        if str(value).strip().lower() in {str(key), label.lower()}:
            return key
    raise EntityError(f"Invalid {name}: {value}")
