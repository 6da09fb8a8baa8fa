"""Each US state's zones, frozen from the ZIP code table (transforms.us_zones.state_zones).

The calling windows of a US lead with no known state take every state rule whose state shares a
zone with the lead (transforms.calling_windows.lead_rules). Loading the ZIP code table for that
took 2 s per run; a test keeps this copy equal to the table.
"""

from __future__ import annotations

from typing import Final

__all__ = ["STATE_ZONES"]

STATE_ZONES: Final[dict[str, frozenset[str]]] = {
    "AK": frozenset(
        {
            "America/Adak",
            "America/Anchorage",
            "America/Juneau",
            "America/Metlakatla",
            "America/Nome",
            "America/Sitka",
            "America/Yakutat",
        }
    ),
    "AL": frozenset({"America/Chicago"}),
    "AR": frozenset({"America/Chicago"}),
    "AS": frozenset({"Pacific/Pago_Pago"}),
    "AZ": frozenset({"America/Denver", "America/Phoenix"}),
    "CA": frozenset({"America/Los_Angeles"}),
    "CO": frozenset({"America/Denver"}),
    "CT": frozenset({"America/New_York"}),
    "DC": frozenset({"America/New_York"}),
    "DE": frozenset({"America/New_York"}),
    "FL": frozenset({"America/Chicago", "America/New_York"}),
    "FM": frozenset({"Pacific/Chuuk"}),
    "GA": frozenset({"America/New_York"}),
    "GU": frozenset({"Pacific/Guam"}),
    "HI": frozenset({"Pacific/Honolulu"}),
    "IA": frozenset({"America/Chicago"}),
    "ID": frozenset({"America/Boise", "America/Los_Angeles"}),
    "IL": frozenset({"America/Chicago"}),
    "IN": frozenset(
        {
            "America/Chicago",
            "America/Indiana/Indianapolis",
            "America/Indiana/Knox",
            "America/Indiana/Marengo",
            "America/Indiana/Petersburg",
            "America/Indiana/Tell_City",
            "America/Indiana/Vevay",
            "America/Indiana/Vincennes",
            "America/Indiana/Winamac",
            "America/Kentucky/Louisville",
            "America/New_York",
        }
    ),
    "KS": frozenset({"America/Chicago", "America/Denver"}),
    "KY": frozenset(
        {"America/Chicago", "America/Kentucky/Louisville", "America/Kentucky/Monticello", "America/New_York"}
    ),
    "LA": frozenset({"America/Chicago"}),
    "MA": frozenset({"America/New_York"}),
    "MD": frozenset({"America/New_York"}),
    "ME": frozenset({"America/New_York"}),
    "MH": frozenset({"Pacific/Majuro"}),
    "MI": frozenset({"America/Detroit", "America/Menominee"}),
    "MN": frozenset({"America/Chicago"}),
    "MO": frozenset({"America/Chicago"}),
    "MP": frozenset({"Pacific/Saipan"}),
    "MS": frozenset({"America/Chicago"}),
    "MT": frozenset({"America/Denver"}),
    "NC": frozenset({"America/New_York"}),
    "ND": frozenset(
        {
            "America/Chicago",
            "America/Denver",
            "America/North_Dakota/Beulah",
            "America/North_Dakota/Center",
            "America/North_Dakota/New_Salem",
        }
    ),
    "NE": frozenset({"America/Chicago", "America/Denver"}),
    "NH": frozenset({"America/New_York"}),
    "NJ": frozenset({"America/New_York"}),
    "NM": frozenset({"America/Denver"}),
    "NV": frozenset({"America/Los_Angeles"}),
    "NY": frozenset({"America/New_York"}),
    "OH": frozenset({"America/New_York"}),
    "OK": frozenset({"America/Chicago"}),
    "OR": frozenset({"America/Boise", "America/Los_Angeles"}),
    "PA": frozenset({"America/New_York"}),
    "PR": frozenset({"America/Puerto_Rico"}),
    "PW": frozenset({"Pacific/Palau"}),
    "RI": frozenset({"America/New_York"}),
    "SC": frozenset({"America/New_York"}),
    "SD": frozenset({"America/Chicago", "America/Denver"}),
    "TN": frozenset({"America/Chicago", "America/New_York"}),
    "TX": frozenset({"America/Chicago", "America/Denver"}),
    "UT": frozenset({"America/Denver"}),
    "VA": frozenset({"America/New_York"}),
    "VI": frozenset({"America/St_Thomas"}),
    "VT": frozenset({"America/New_York"}),
    "WA": frozenset({"America/Los_Angeles"}),
    "WI": frozenset({"America/Chicago"}),
    "WV": frozenset({"America/New_York"}),
    "WY": frozenset({"America/Denver"}),
}
"""USPS state code -> the IANA zones of its ZIP codes."""
