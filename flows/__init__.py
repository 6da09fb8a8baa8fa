"""Leadflow's flows, commands and what they share.

Importing the package first tunes polars' allocator (flows.allocator) and turns Prefect's
telemetry off unless the environment says otherwise (flows.telemetry): both libraries read
those settings once, as they load, and every entry point imports this package before them.
"""

from flows.allocator import tune_allocator
from flows.telemetry import telemetry_off_by_default

tune_allocator()
telemetry_off_by_default()
