"""Prefect's telemetry off by default in Leadflow's processes, before Prefect reads its settings.

Why: Prefect's server (the ephemeral one ``leadflow import --prefect`` and ``leadflow watch``
start, and the local one ``leadflow serve`` starts) posts an anonymous heartbeat to Prefect's
telemetry host on start and every 10 minutes, and Prefect's client sends usage events. On a
machine with no route out (most machines that hold lead files) each attempt logs ``Failed to
send telemetry`` in the middle of an import's output, and lead imports have no business talking
to a third party anyway.

Prefect reads its settings once, when it is imported: :func:`telemetry_off_by_default` runs
when the ``flows`` package is imported, which every entry point does before it imports Prefect
(as with flows.allocator). A value already in the environment wins, so an operator who wants
to send Prefect the statistics sets ``PREFECT_SERVER_ANALYTICS_ENABLED=true`` (and unsets
``DO_NOT_TRACK``). Child processes (the ephemeral server, flow runs) inherit both.
"""

from __future__ import annotations

import os

__all__ = ["TELEMETRY_DEFAULTS", "telemetry_off_by_default"]

TELEMETRY_DEFAULTS: dict[str, str] = {
    # Prefect 3's server setting (server.analytics_enabled): the heartbeat service
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # the cross-tool opt-out Prefect's client-side analytics honour (prefect._internal.analytics)
    "DO_NOT_TRACK": "1",
}


def telemetry_off_by_default() -> dict[str, str]:
    """Set each telemetry opt-out the environment does not already decide; return those in force."""
    return {name: os.environ.setdefault(name, value) for name, value in TELEMETRY_DEFAULTS.items()}
