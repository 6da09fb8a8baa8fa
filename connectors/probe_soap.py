"""Connection tests of the SOAP vendors: Engage and ONC (connectors.probe).

- Engage (engage-campaign-methods.txt): ``showCampaign`` with the target's campaign reference
  and the WS-Security UsernameToken (the service keeps no session: the token accepted *is* the
  login; ``AUTHENTICATION_FAILURE``: refused), then ``listCampaigns(org)`` with the batch owner
  from the options, which both proves the owner Account exists and names the campaigns when the
  target's is unknown (``OBJECT_NOT_EXISTS``).
- ONC (onc-dynamic-notifications-api.txt): ``OpenAPISession``, ``GetCampaigns`` (the active
  campaigns; the target's Guid must be among them), ``CloseAPISession``. ``GetCampaign`` is not
  used: it answers null for an unknown campaign, which the session flow cannot tell from "session
  invalid" (connectors.onc). The answer's members must be in the target's ``data_namespace``:
  the connector writes contacts in it, and a WCF service drops members of another namespace.

Shapes are checked by pure functions (``*_problems``) on the parsed reply.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import NoReturn

import httpx

from connectors.engage import EngageConnector
from connectors.onc import REBUILD, OncConnector, OncOptions
from connectors.probe import EXPIRED_LOGOUT, Probe, ProbeFailed, VendorProbe
from connectors.soap import (
    CONTENT_TYPE,
    Fault,
    SoapParseError,
    add,
    add_nil,
    envelope,
    find,
    is_fault,
    local_name,
    read_reply,
    text,
    username_token,
)

__all__ = [
    "EngageProbe",
    "OncProbe",
    "engage_campaign_problems",
    "onc_campaigns_problems",
    "onc_login_problem",
]


def _reply(p: Probe, response: httpx.Response, expected: str) -> ET.Element | Fault:
    if response.status_code in (401, 403):
        p.login_refused(f"HTTP {response.status_code} from {response.request.url.path}")
    if (response.status_code >= 500 and not is_fault(response)) or response.status_code == 429:
        p.refused(response, expected)
    try:
        return read_reply(response.content)
    except SoapParseError:
        p.unexpected(response, expected)


# --- Engage ---------------------------------------------------------------------------------


def engage_campaign_problems(reply: ET.Element, operation: str) -> list[str]:
    """What keeps ``reply`` from being ``{operation}Response`` with Campaigns (internalId, externalId)."""
    if local_name(reply.tag) != f"{operation}Response":
        return [f"{operation}Response, not {local_name(reply.tag)}"]
    campaigns = [c for c in reply if local_name(c.tag) == "return"]
    if operation == "showCampaign" and len(campaigns) != 1:
        return ["one return element"]
    for campaign in campaigns:
        if not (text(campaign, "internalId") and text(campaign, "externalId") is not None):
            return ["each Campaign with internalId and externalId"]
    return []


class EngageProbe(VendorProbe):
    async def check(self, p: Probe) -> None:
        connector = p.connector
        assert isinstance(connector, EngageConnector)
        options = connector.options
        call = ET.Element(f"{{{options.namespace}}}showCampaign")
        ref = add(call, "arg1")
        add(ref, options.campaign_ref, p.target.campaign)
        self._owner(add(ref, "owner"), connector)
        response, reply = await self._call(p, call, "showCampaignResponse")
        if isinstance(reply, Fault):
            if "OBJECT_NOT_EXISTS" not in reply.codes:
                self._fault(p, reply, "showCampaign")
            p.ok("login")
            p.unknown_campaign(await self._campaigns(p, connector))
        p.ok("login")
        problems = engage_campaign_problems(reply, "showCampaign")
        if problems:
            p.unexpected(response, f"showCampaignResponse: {', '.join(problems)}")
        campaign = find(reply, "return")
        internal_id, name = text(campaign, "internalId"), text(campaign, "name")
        p.ok(f"campaign {p.target.campaign} found (internalId {internal_id}, {name!r})")
        listed = await self._campaigns(p, connector)
        owner = options.account_id or options.account_external_id
        p.ok(f"owner account {owner} lists {len(listed)} campaign{'s' if len(listed) != 1 else ''}")

    async def logout(self, p: Probe) -> str | None:
        return "no session to close (the UsernameToken travels in every call)"

    def _owner(self, node: ET.Element, connector: EngageConnector) -> None:
        if connector.options.account_id is not None:
            add(node, "internalId", connector.options.account_id)
        else:
            add(node, "externalId", connector.options.account_external_id)
        add(node, "type", "Account")

    async def _call(
        self, p: Probe, call: ET.Element, expected: str
    ) -> tuple[httpx.Response, ET.Element | Fault]:
        connector = p.connector
        assert isinstance(connector, EngageConnector)
        secrets = connector.secrets
        body = envelope(call, [username_token(secrets["username"], secrets["password"])])
        response = await p.client.post(
            f"{p.target.base_url}{connector.options.service_path}",
            content=body,
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": f'"{connector.options.soap_action}"'},
        )
        return response, _reply(p, response, f"a SOAP 1.1 envelope with {expected}")

    def _fault(self, p: Probe, fault: Fault, operation: str) -> NoReturn:
        said = (
            "; ".join(f"{e.code}: {e.message}" for e in fault.errors)
            or f"{fault.faultcode} {fault.faultstring}"
        )
        connector = p.connector
        assert isinstance(connector, EngageConnector)
        refused_login = connector.options.auth_fault_codes  # declared: WS-Security's codes and Engage's
        if fault.code in refused_login or any(code in refused_login for code in fault.codes):
            p.login_refused(f"{operation}: {said}")
        raise ProbeFailed(
            f"{operation} refused: {said}",
            "check the target's campaign, options.account_id/account_external_id and options.namespace",
        )

    async def _campaigns(self, p: Probe, connector: EngageConnector) -> list[str]:
        """``listCampaigns(org, nil, nil)``: every campaign of the owner, as ``externalId (name)``."""
        call = ET.Element(f"{{{connector.options.namespace}}}listCampaigns")
        self._owner(add(call, "arg1"), connector)
        add_nil(call, "arg2")
        add_nil(call, "arg3")
        response, reply = await self._call(p, call, "listCampaignsResponse")
        if isinstance(reply, Fault):
            if "OBJECT_NOT_EXISTS" in reply.codes:
                owner = connector.options.account_id or connector.options.account_external_id
                raise ProbeFailed(
                    f"owner account {owner} not found (listCampaigns: OBJECT_NOT_EXISTS)",
                    "set options.account_id (or account_external_id) to the Account that owns the campaign",
                )
            self._fault(p, reply, "listCampaigns")
        problems = engage_campaign_problems(reply, "listCampaigns")
        if problems:
            p.unexpected(response, f"listCampaignsResponse: {', '.join(problems)}")
        key = connector.options.campaign_ref
        return [f"{text(c, key)} ({text(c, 'name')!r})" for c in reply if local_name(c.tag) == "return"]


# --- ONC ------------------------------------------------------------------------------------


def onc_campaigns_problems(reply: ET.Element, options: OncOptions) -> list[str]:
    """What keeps ``reply`` from being a GetCampaignsResponse as the connector's options expect
    it: the result in the service namespace, each campaign's members in the data namespace."""
    ns, data_ns = options.namespace, options.data_namespace
    if reply.tag != f"{{{ns}}}GetCampaignsResponse":
        return [f"GetCampaignsResponse in namespace {ns} (options.namespace), not {reply.tag}"]
    name = _result(options, "GetCampaigns")
    result = find(reply, name)
    if result is None or result.tag != f"{{{ns}}}{name}":
        return [f"a {name} in namespace {ns} (options.result_element)"]
    for campaign in result:
        members = {child.tag for child in campaign}
        if f"{{{data_ns}}}ID" not in members or f"{{{data_ns}}}ShortName" not in members:
            found = sorted({child.tag.partition("}")[0].lstrip("{") for child in campaign}) or ["none"]
            return [
                f"each campaign with ID and ShortName in namespace {data_ns} (options.data_namespace); "
                f"its members are in {', '.join(found)}"
            ]
    return []


def _result(options: OncOptions, operation: str) -> str:
    """The element WCF wraps ``operation``'s return value in: a declared guess (result_element)."""
    return options.result_element.format(operation=operation)


def onc_login_problem(response: httpx.Response) -> str | None:
    """An OpenAPISession answer that is no SOAP envelope, or one without the documented fields
    (a 429 or a 5xx without an envelope is the vendor's trouble, left to the login flow)."""
    expected = "a SOAP 1.1 envelope with OpenAPISessionResponse (ErrorCode, Description, SessionId)"
    try:
        reply = read_reply(response.content)
    except SoapParseError:
        return None if response.status_code == 429 or response.status_code >= 500 else expected
    if isinstance(reply, Fault) or text(reply, "OpenAPISessionResult", "ErrorCode") is not None:
        return None
    return expected


_CHANNEL_INFO = {
    "voice": "OutboundVoiceNotificationInfo",
    "sms": "OutboundSMSNotificationInfo",
    "email": "OutboundEmailNotificationInfo",
}


class OncProbe(VendorProbe):
    async def check(self, p: Probe) -> None:
        connector = p.connector
        assert isinstance(connector, OncConnector)
        options = connector.options
        await p.login(onc_login_problem)
        p.ok("login")
        response = await p.client.send(self._request(p, connector, "GetCampaigns"))
        reply = _reply(p, response, "a SOAP 1.1 envelope with GetCampaignsResponse")
        if isinstance(reply, Fault):
            p.unexpected(
                response, "GetCampaignsResponse (it answered a Fault: check options.namespace/soap_action)"
            )
        problems = onc_campaigns_problems(reply, options)
        if problems:
            p.unexpected(response, ", ".join(problems))
        result = find(reply, _result(options, "GetCampaigns"))
        wanted = p.target.campaign.lower()
        campaigns = list(result) if result is not None else []
        found = [c for c in campaigns if (text(c, "ID") or "").lower() == wanted]
        if not found:
            p.unknown_campaign(
                [f"{text(c, 'ID')} ({text(c, 'ShortName')!r})" for c in campaigns], "active campaign"
            )
        campaign = found[0]
        enabled = text(campaign, _CHANNEL_INFO[options.channel], "Enabled")
        delivery = {"true": "enabled", "false": "disabled"}.get(enabled or "", "not stated")
        name = text(campaign, "ShortName")
        p.ok(f"campaign {p.target.campaign} found ({name!r}, {options.channel} delivery {delivery})")

    async def logout(self, p: Probe) -> str | None:
        connector, auth = p.connector, p.auth
        assert isinstance(connector, OncConnector)
        token = getattr(auth, "token", None)
        if not p.logged_in or token is None:
            return None
        request = auth.apply(self._request(p, connector, "CloseAPISession"), token)  # type: ignore[attr-defined]
        auth.forget()  # type: ignore[attr-defined]
        response = await p.client.send(request, auth=None)
        if auth.is_expired(response):  # type: ignore[attr-defined]
            return EXPIRED_LOGOUT
        reply = _reply(p, response, "a SOAP 1.1 envelope with CloseAPISessionResponse")
        result = _result(connector.options, "CloseAPISession")
        code = None if isinstance(reply, Fault) else text(reply, result, "ErrorCode")
        if code != "0":
            p.unexpected(response, "CloseAPISessionResponse with ErrorCode 0")
        return "logout"

    def _request(self, p: Probe, connector: OncConnector, operation: str) -> httpx.Request:
        """A call whose ``sessionId`` the connector's auth flow fills in (connectors.onc.REBUILD)."""
        options = connector.options
        ns = options.namespace

        def rebuild(session_id: str) -> bytes:
            call = ET.Element(f"{{{ns}}}{operation}")
            add(call, f"{{{ns}}}sessionId", session_id)
            return envelope(call)

        build: Callable[[str], bytes] = rebuild
        action = options.soap_action.format(namespace=ns, contract=options.contract, operation=operation)
        return p.client.build_request(
            "POST",
            f"{p.target.base_url}{options.service_path}",
            content=build(""),
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": f'"{action}"'},
            extensions={REBUILD: build},
        )
