"""Connection tests of the REST vendors: Sinch OBI, MaxContact and uContact (connectors.probe).

Each reads only what its document offers, and checks the fields the connector relies on, or
the document marks required, with a pure function per answer (``*_problems``: the answer in,
what is missing out) so that the shape rules are tested without a server.

- OBI (sinch-obi-v1.txt): ``GET /campaigns/{id}`` (401: login refused; 404: the campaign list
  ``GET /campaigns`` names the ones there are), then the customer search the resume relies on,
  ``GET /campaigns/{id}/customers?externalId=...`` (a JSON array). HTTP Basic: no session.
- MaxContact (maxcontact-management-api.txt): the token login, ``Get Campaign`` (unknown: ``Get
  Campaigns``), ``Get Lists`` (the list a run reuses or creates, by name). No logout is documented;
  the token expires.
- uContact (ucontact-integra-api.txt): ``getUserToken`` and ``EndSession``. The Integra document
  offers no read of a campaign or a dialer base, so the campaign is reported unchecked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from connectors.auth import TokenAuth
from connectors.maxcontact import MaxContactConnector, management_answer
from connectors.probe import EXPIRED_LOGOUT, Probe, VendorProbe
from connectors.ucontact import UContactOptions, is_web_page

__all__ = [
    "MaxContactProbe",
    "ObiProbe",
    "UContactProbe",
    "maxcontact_campaign_problems",
    "maxcontact_lists_problems",
    "maxcontact_login_problem",
    "obi_campaign_problems",
    "ucontact_login_problem",
]

_JSON = {"Accept": "application/json"}
_PROBE_ID = "leadflow-connection-test"
"""An externalId searched for (never created) to see the customer search answer."""
_OBI_REQUIRED = ("id", "name", "dialerId", "dialingMode", "queueId", "registered")
_OBI_STATUSES = {"Passive", "Active", "Handled", "Expired", "Invalid", "Deleted"}


# --- Sinch OBI ------------------------------------------------------------------------------


def obi_campaign_problems(data: Any) -> list[str]:
    """What keeps ``data`` from being the document's campaign object (required string fields)."""
    if not isinstance(data, dict):
        return [f"a JSON object, not {type(data).__name__}"]
    problems = [f"{key} (string)" for key in _OBI_REQUIRED if not isinstance(data.get(key), str)]
    if isinstance(data.get("id"), str) and len(data["id"]) != 32:
        problems.append("id of 32 characters")
    if "status" in data and data["status"] not in _OBI_STATUSES:
        problems.append(f"status one of {', '.join(sorted(_OBI_STATUSES))}")
    return problems


def _json(p: Probe, response: httpx.Response, expected: str) -> Any:
    try:
        return response.json()
    except ValueError:
        p.unexpected(response, expected)


class ObiProbe(VendorProbe):
    async def check(self, p: Probe) -> None:
        campaign = p.target.campaign
        path = f"/campaigns/{quote(campaign, safe='')}"
        response = await p.client.get(path, headers=_JSON)
        if response.status_code in (401, 403):
            p.login_refused(f"HTTP {response.status_code} from GET {response.request.url.path}")
        if response.status_code == 404:
            p.ok("login")
            p.unknown_campaign(await self._campaigns(p))
        if response.status_code != 200:
            p.refused(response, "HTTP 200 with the campaign")
        p.ok("login")
        expected = "the campaign as a JSON object with " + ", ".join(_OBI_REQUIRED)
        data = _json(p, response, expected)
        problems = obi_campaign_problems(data)
        if problems:
            p.unexpected(response, f"{expected}; missing or wrong: {', '.join(problems)}")
        said = ", ".join(str(data[k]) for k in ("status", "dialingMode") if data.get(k))
        p.ok(f"campaign {campaign} found ({data['name']!r}{', ' + said if said else ''})")
        search = await p.client.get(
            f"{path}/customers", params={"externalId": _PROBE_ID, "limit": 1}, headers=_JSON
        )
        if search.status_code != 200:
            p.refused(search, "HTTP 200 with a JSON array of customers (the customer search)")
        if not isinstance(_json(p, search, "a JSON array of customers"), list):
            p.unexpected(search, "a JSON array of customers (the customer search resuming relies on)")
        p.ok("customer search answers")

    async def logout(self, p: Probe) -> str | None:
        return "no session to close (HTTP Basic)"

    async def _campaigns(self, p: Probe) -> list[str]:
        """The campaigns the vendor lists, as ``id (name)``; a base_url that lists none is wrong."""
        response = await p.client.get("/campaigns", headers=_JSON)
        items = _json(p, response, "a JSON array of campaigns") if response.status_code == 200 else None
        if not isinstance(items, list):
            p.refused(
                response, "GET /campaigns to answer a JSON array of campaigns (is base_url the OBI API?)"
            )
        return [f"{c.get('id')} ({c.get('name')!r})" for c in items if isinstance(c, dict)]


# --- MaxContact -----------------------------------------------------------------------------

_MANAGEMENT = "webservices/services/management"
_MC_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def maxcontact_login_problem(response: httpx.Response) -> str | None:
    """A 200 login answer that is not the token service's JSON object with ``TokenKey``."""
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and any(key.lower() == "tokenkey" for key in body):
        return None
    return "the token service to answer a JSON object with TokenKey"


def maxcontact_campaign_problems(data: Any, campaign: int) -> list[str]:
    """What keeps a ``Get Campaign`` Data from being the document's Campaign for ``campaign``."""
    if not isinstance(data, dict):
        return [f"Data a Campaign object, not {type(data).__name__}"]
    fields = {key.lower(): value for key, value in data.items()}
    problems = []
    if fields.get("id") != campaign or isinstance(fields.get("id"), bool):
        problems.append(f"Id {campaign} (integer)")
    if not isinstance(fields.get("campaignname"), str):
        problems.append("CampaignName (string)")
    return problems


def maxcontact_lists_problems(data: Any) -> list[str]:
    """What keeps a ``Get Lists`` Data from being what ``open()`` reads: Lists with Id and ListName."""
    if not isinstance(data, list):
        return [f"Data an array of Lists, not {type(data).__name__}"]
    for item in data:
        fields = {key.lower(): value for key, value in item.items()} if isinstance(item, dict) else {}
        if not isinstance(fields.get("id"), int) or not isinstance(fields.get("listname"), str):
            return ["each List with Id (integer) and ListName (string)"]
    return []


class MaxContactProbe(VendorProbe):
    async def check(self, p: Probe) -> None:
        connector = p.connector
        assert isinstance(connector, MaxContactConnector)
        await p.login(maxcontact_login_problem)
        p.ok("login")
        campaign = int(p.target.campaign)
        response, data = await self._manage(p, f"campaigns/{campaign}", "Get Campaign")
        if data is None:
            p.unknown_campaign(await self._campaigns(p))
        problems = maxcontact_campaign_problems(data, campaign)
        if problems:
            p.unexpected(
                response, f"a ManagementActionResponse whose Data is the Campaign: {', '.join(problems)}"
            )
        fields = {key.lower(): value for key, value in data.items()}
        active = {"True": ", active", "False": ", inactive"}.get(str(fields.get("active")), "")
        p.ok(f"campaign {campaign} found ({fields['campaignname']!r}{active})")
        response, lists = await self._manage(p, "lists", "Get Lists")
        problems = maxcontact_lists_problems(lists)
        if problems:
            p.unexpected(response, f"a ManagementActionResponse whose Data is {', '.join(problems)}")
        name = connector.list_name
        ids = [
            item_id
            for item in lists
            for key, item_id in item.items()
            if key.lower() == "id" and any(k.lower() == "listname" and v == name for k, v in item.items())
        ]
        p.ok(
            f"list {name!r} exists (Id {ids[0]})"
            if ids
            else f"lists readable (the first import creates {name!r})"
        )

    async def logout(self, p: Probe) -> str | None:
        if not p.logged_in:
            return None
        assert isinstance(p.auth, TokenAuth)
        p.auth.forget()
        return "no logout documented (the token expires)"

    async def _manage(self, p: Probe, path: str, what: str) -> tuple[httpx.Response, Any]:
        """``(response, Data)``; Data None when MaxContact answered Success false with 404."""
        response = await p.client.get(f"{p.target.base_url}/{_MANAGEMENT}/{path}", headers=_MC_JSON)
        answer = management_answer(response)
        if answer is None:
            if response.status_code == 429 or response.status_code >= 500:
                p.refused(response, what)
            p.unexpected(response, f"{what} to answer a JSON ManagementActionResponse (Success, Data, ...)")
        success, data, code, detail = answer
        if not success:
            if response.status_code == 404:
                return response, None
            p.refused(response, f"{what} to succeed (it answered {code}: {detail})")
        return response, data

    async def _campaigns(self, p: Probe) -> list[str]:
        response, data = await self._manage(p, "campaigns", "Get Campaigns")
        if not isinstance(data, list):
            p.unexpected(response, "Get Campaigns to answer an array of Campaigns")
        named = []
        for item in data:
            fields = {key.lower(): value for key, value in item.items()} if isinstance(item, dict) else {}
            named.append(f"{fields.get('id')} ({fields.get('campaignname')!r})")
        return named


# --- uContact -------------------------------------------------------------------------------


def ucontact_login_problem(response: httpx.Response) -> str | None:
    """A 200 login answer that is a page or a document, not the token as plain text."""
    if is_web_page(response):
        return "getUserToken to answer the session token as plain text"
    return None


class UContactProbe(VendorProbe):
    async def check(self, p: Probe) -> None:
        await p.login(ucontact_login_problem)
        p.ok("login")
        p.ok(
            f"campaign {p.target.campaign!r} not checked (the Integra API documents no way to read "
            "campaigns or dialers)"
        )

    async def logout(self, p: Probe) -> str | None:
        auth = p.auth
        assert isinstance(auth, TokenAuth)
        token = auth.token
        if not p.logged_in or token is None:
            return None
        options = getattr(p.connector, "options", None)
        assert isinstance(options, UContactOptions)
        path = options.logout_path.strip("/")
        request = auth.apply(p.client.build_request("POST", f"{p.target.base_url}/{path}"), token)
        auth.forget()
        response = await p.client.send(request, auth=None)
        if auth.is_expired(response):
            return EXPIRED_LOGOUT
        if response.status_code != 200:
            p.refused(response, "EndSession to answer HTTP 200")
        return "logout"
