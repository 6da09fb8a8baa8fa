"""The sandbox server: every simulated vendor under its own prefix, plus an inspection API.

One ASGI app holds all five vendors, so the demo, the connector tests and the flow tests start
one server (or one in-process ``httpx.ASGITransport``) and get every target. Each vendor's app is
wrapped in :class:`sandbox.faults.FaultMiddleware` keyed by the simulator's ``kind``.

Inspection API, for tests and the demo (JSON in, JSON out; never behind vendor auth)::

    GET       /_sandbox/vendors               kind, prefix and test credentials per vendor
    GET       /_sandbox/state                 clock, fault profile and every vendor's dump
    GET       /_sandbox/{kind}/state          one vendor's dump (404 for an unknown kind)
    POST      /_sandbox/reset                 all vendors forget their state; clock and fault counters restart
    POST      /_sandbox/{kind}/reset          one vendor forgets its state
    GET       /_sandbox/faults                the fault profile in force
    PUT|POST  /_sandbox/faults                replace it with the JSON profile in the body (400 if invalid)
    POST      /_sandbox/clock/advance         {"seconds": N}: move the vendors' clock forward
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from sandbox.base import VendorSimulator
from sandbox.clock import Clock
from sandbox.faults import FaultMiddleware, Faults

__all__ = ["VENDORS", "Sandbox", "build_app", "load_simulators"]

VENDORS: tuple[tuple[str, str], ...] = (
    ("sandbox.sinch_obi", "SinchObiSimulator"),
    ("sandbox.engage", "EngageSimulator"),
    ("sandbox.ucontact", "UContactSimulator"),
    ("sandbox.onc", "OncSimulator"),
    ("sandbox.maxcontact", "MaxContactSimulator"),
)
"""Module and class of each simulator, in the order ``leadflow sandbox`` prints them."""


def load_simulators(clock: Clock, faults: Faults) -> list[VendorSimulator]:
    """One simulator per vendor whose module exists (a vendor still being written is skipped)."""
    simulators: list[VendorSimulator] = []
    for module_name, class_name in VENDORS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        simulators.append(getattr(module, class_name)(clock, faults))
    return simulators


@dataclass
class Sandbox:
    """What one server shares: the clock, the fault profile and the simulators."""

    clock: Clock
    faults: Faults
    simulators: dict[str, VendorSimulator]

    def state(self) -> dict[str, Any]:
        return {
            "clock": self.clock.utcnow().isoformat(),
            "faults": self.faults.describe(),
            "vendors": {kind: sim.dump() for kind, sim in self.simulators.items()},
        }

    def reset(self) -> None:
        for sim in self.simulators.values():
            sim.reset()
        self.clock.reset()
        self.faults.configure(self.faults.describe())


def build_app(
    faults: Faults | None = None, clock: Clock | None = None, *, lenient: Collection[str] = ()
) -> Starlette:
    """The composite app; ``app.state.sandbox`` is the :class:`Sandbox` behind it.

    Simulators are strict where their document is silent; ``lenient`` names the vendors (by
    kind) to run with their ``lenient`` profile instead (ValueError for one that has none)."""
    sandbox = Sandbox(clock or Clock(), faults or Faults(), {})
    for sim in load_simulators(sandbox.clock, sandbox.faults):
        sandbox.simulators[sim.kind] = sim
    for kind in lenient:
        chosen = sandbox.simulators.get(kind)
        if chosen is None or not hasattr(chosen, "lenient"):
            known = sorted(k for k, s in sandbox.simulators.items() if hasattr(s, "lenient"))
            raise ValueError(f"no lenient profile for {kind!r} (vendors with one: {', '.join(known)})")
        chosen.lenient = True
    routes: list[BaseRoute] = [
        Route("/_sandbox/vendors", _vendors, methods=["GET"]),
        Route("/_sandbox/state", _state, methods=["GET"]),
        Route("/_sandbox/reset", _reset, methods=["POST"]),
        Route("/_sandbox/faults", _get_faults, methods=["GET"]),
        Route("/_sandbox/faults", _set_faults, methods=["PUT", "POST"]),
        Route("/_sandbox/clock/advance", _advance, methods=["POST"]),
        Route("/_sandbox/{kind}/state", _vendor_state, methods=["GET"]),
        Route("/_sandbox/{kind}/reset", _vendor_reset, methods=["POST"]),
    ]
    routes += [
        Mount(sim.prefix, app=FaultMiddleware(sim.app(), sandbox.faults, sim.kind))
        for sim in sandbox.simulators.values()
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        return None


async def _vendors(request: Request) -> JSONResponse:
    return JSONResponse(
        [
            {"kind": sim.kind, "prefix": sim.prefix, "credentials": sim.credentials}
            for sim in _sandbox(request).simulators.values()
        ]
    )


async def _state(request: Request) -> JSONResponse:
    return JSONResponse(_sandbox(request).state())


async def _vendor_state(request: Request) -> JSONResponse:
    sim = _sandbox(request).simulators.get(request.path_params["kind"])
    if sim is None:
        return _error(404, f"no simulated vendor {request.path_params['kind']!r}")
    return JSONResponse(sim.dump())


async def _reset(request: Request) -> JSONResponse:
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


async def _vendor_reset(request: Request) -> JSONResponse:
    sim = _sandbox(request).simulators.get(request.path_params["kind"])
    if sim is None:
        return _error(404, f"no simulated vendor {request.path_params['kind']!r}")
    sim.reset()
    return JSONResponse({"reset": True})


async def _get_faults(request: Request) -> JSONResponse:
    return JSONResponse(_sandbox(request).faults.describe())


async def _set_faults(request: Request) -> JSONResponse:
    profile = await _json_body(request)
    if not isinstance(profile, dict):
        return _error(400, "a fault profile is a JSON object with 'seed' and 'vendors'")
    faults = _sandbox(request).faults
    try:
        faults.configure(profile)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(400, f"invalid fault profile: {problems}")
    return JSONResponse(faults.describe())


async def _advance(request: Request) -> JSONResponse:
    body = await _json_body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return _error(400, 'send {"seconds": N} with N >= 0')
    clock = _sandbox(request).clock
    clock.advance(float(seconds))
    return JSONResponse({"now": clock.utcnow().isoformat()})
