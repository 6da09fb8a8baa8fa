"""MaxContact's entities (Campaign, List, Team, User) and appendix tables, as the document lists them.

Bodies are checked field by field against these declarations: names case-insensitively (ASP.NET
model binding), types strictly, unknown names refused, so a connector that misspells a field
hears about it. ``Active`` is carried on every entity although only Campaign declares it: lists,
teams and users have activity-status methods, so the server must keep it somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CAMPAIGN_STATUSES", "CAMPAIGN_TYPES", "ENTITIES", "Entity", "EntityError", "coerce"]

CAMPAIGN_TYPES = dict(
    enumerate(
        ["Predictive", "Progressive", "Preview", "IVR", "Bridge", "Ping", "Inbound", "Coach", "Interaction"]
    )
)
CAMPAIGN_STATUSES = dict(enumerate(["Not Running", "Running", "Paused", "Flushed"]))
LIST_TYPES = dict(enumerate(["Follow Campaign", "Preview", "Acd"]))


class EntityError(ValueError):
    """A body the API answers with ``Invalid Parameters``."""


@dataclass(frozen=True)
class Entity:
    label: str
    fields: dict[str, type | tuple[type, ...]]
    required: tuple[str, ...]
    hidden: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = (("Active", True),)

    def public(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in self.hidden}


_NUM = (int, float)
ENTITIES: dict[str, Entity] = {
    "campaigns": Entity(
        "Campaign",
        {
            "Id": int,
            "CampaignName": str,
            "Active": bool,
            "Description": str,
            "CallerId": str,
            "Type": int,
            "MaxLines": int,
            "DegradeToProgressive": bool,
            "ProgressiveThreshold": int,
            "TargetDropPercent": _NUM,
            "IsBlended": bool,
            "AutoRecord": bool,
            "DefaultListId": int,
            "HoursPerWorkingDay": _NUM,
            "DefaultPhoneType": int,
            "TeleParamPlanId": int,
            "SchedulePlanId": int,
            "ZipTone": int,
            "ZipToneBeep": int,
            "ZipToneWav": str,
            "NotReadyWaitTime": int,
            "Status": int,
        },
        ("CampaignName",),
    ),
    "lists": Entity(
        "List",
        {
            "Id": int,
            "ListName": str,
            "Description": str,
            "ListType": int,
            "CallerIdEnabled": bool,
            "CallerId": str,
            "MaxCallbackDays": int,
            "UseMaxCallbackDays": bool,
            "MaxCallbackDate": str,
            "FetchWeight": int,
            "AlertsEnabled": bool,
            "ScriptingEnabled": bool,
            "ScriptProvider": int,
            "ScriptId": int,
            "Script": str,
            "RecallPlanId": int,
            "CallingTimePlanId": int,
            "ResultCodePlanId": int,
            "IvrPlanId": int,
            "AnswerMachinePlanId": int,
            "DoNotCallPlanId": int,
            "SchedulePlanId": int,
            "Active": bool,
        },
        ("ListName",),
        defaults=(("Active", False), ("UseMaxCallbackDays", False)),
    ),
    "teams": Entity(
        "Team",
        {
            "Id": int,
            "TenantId": int,
            "TeamName": str,
            "PrimarySupervisorId": int,
            "MaxCallbacksPerDay": int,
            "ServiceTime": int,
            "HoursPerWorkingDay": _NUM,
            "WellBeingDeckId": int,
            "Active": bool,
        },
        ("TeamName",),
    ),
    "users": Entity(
        "User",
        {
            "Id": int,
            "FirstName": str,
            "LastName": str,
            "Login": str,
            "RolePlanId": int,
            "UseRTC": bool,
            "Extension": str,
            "AutoLogon": int,
            "TeamId": int,
            "AgentCapacityPlanId": int,
            "SSOActive": bool,
            "Password": str,
            "Active": bool,
        },
        ("Login", "Password"),
        hidden=("Password",),
    ),
}
"""Lists start inactive (the importer activates them); the rest start active."""


def coerce(entity: str, body: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The body's fields under their canonical names, type-checked; ``Id`` is never taken from it."""
    spec = ENTITIES[entity]
    canonical = {name.lower(): name for name in spec.fields}
    result: dict[str, Any] = {} if partial else dict(spec.defaults)
    for key, value in body.items():
        name = canonical.get(key.lower())
        if name is None:
            raise EntityError(f"Unknown {spec.label} field: {key}")
        if name == "Id" or value is None:
            continue
        expected = spec.fields[name]
        if isinstance(value, bool) and expected is not bool:
            raise EntityError(f"{name} must be {_describe(expected)}")
        if not isinstance(value, expected):
            raise EntityError(f"{name} must be {_describe(expected)}")
        result[name] = value
    missing = [name for name in spec.required if not partial and not result.get(name)]
    if missing:
        raise EntityError(f"{spec.label} needs {', '.join(missing)}")
    if entity == "campaigns" and result.get("Type", 0) not in CAMPAIGN_TYPES:
        raise EntityError(f"Invalid campaign Type: {result['Type']}")
    if entity == "campaigns" and result.get("Status", 0) not in CAMPAIGN_STATUSES:
        raise EntityError(f"Invalid campaign Status: {result['Status']}")
    if entity == "lists" and result.get("ListType", 0) not in LIST_TYPES:
        raise EntityError(f"Invalid ListType: {result['ListType']}")
    return result


def _describe(expected: type | tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", str: "a string"}
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)
