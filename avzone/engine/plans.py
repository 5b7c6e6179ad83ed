"""Per-flow hop plans: every constant of a message's path, computed once per run.

A message's latency is a sum of hop delays that depend only on the flow
(sizes), the scenario (radio and core settings) and the route from the
access point to the serving site. They are composed here from the pure hop
models of :mod:`avzone.network.latency` and the backhaul route table, and
stored as plain Python lists so that the per-message path of the event
evaluator is list look-ups (a numpy scalar access costs ~10× more).
"""

from __future__ import annotations

from dataclasses import dataclass

from avzone.engine.world import World
from avzone.network.latency import access_s
from avzone.scenario import Flow

__all__ = ["FlowPlan", "plan_flow"]


@dataclass(frozen=True)
class FlowPlan:
    """The constant parts of one flow's path.

    ``first_s``: the first hop (PC5 or Uu uplink access, plus the core for Uu
    requests to a service; 0 for RSU flows on fibre); ``first_loss``: its
    loss probability; ``station``: per road sample, the serving RSU or cell
    (−1 out of coverage); for flows with a service, per access point and per
    candidate site in order of preference (lowest tier first, then nearest):
    ``site`` (site indices), ``up_s`` / ``down_s`` (backhaul request / reply
    delays) and ``route_loss``; ``last_s`` and ``last_loss``: the reply's core
    and downlink access; ``mean_work_s``: the service's mean demand.
    ``radio_up`` (``pc5`` / ``uu_up``) and ``radio_down`` (``uu_down``) name the
    access hops that a SINR model evaluates per message
    (:mod:`avzone.engine.access`); those hops are then not in ``first_s`` /
    ``last_s`` and their loss not in ``first_loss`` / ``last_loss``.
    """

    flow: Flow
    first_s: float
    first_loss: float
    station: list[int]
    site: list[list[int]]
    up_s: list[list[float]]
    down_s: list[list[float]]
    route_loss: list[list[float]]
    last_s: float
    last_loss: float
    mean_work_s: float
    radio_up: str = ""
    radio_down: str = ""


def plan_flow(world: World, flow: Flow) -> FlowPlan:
    """Compose the constant hop delays of ``flow`` in ``world``."""
    scenario = world.scenario
    cells = scenario.network.cells
    core_s = scenario.network.backhaul.core_ms / 1000
    if flow.via == "pc5":
        pc5 = scenario.road.pc5
        first_s = float(access_s(flow.size_bytes, pc5.latency_ms / 1000, pc5.rate_mbps * 1e6))
        first_loss, station = pc5.loss, world.pc5_rsu.tolist()
    elif flow.via == "uu":
        first_s = float(
            access_s(flow.size_bytes, cells.uplink_latency_ms / 1000, cells.uplink_rate_mbps * 1e6)
        )
        first_loss, station = cells.loss, world.uu_cell.tolist()
        if flow.service is not None:
            first_s += core_s
    else:  # an RSU's own wire
        first_s, first_loss, station = 0.0, 0.0, []
    site: list[list[int]] = []
    up_s: list[list[float]] = []
    down_s: list[list[float]] = []
    route_loss: list[list[float]] = []
    mean_work_s = 0.0
    if flow.service is not None:
        routes = world.routes
        site = world.candidates[flow.service].tolist()
        for ap, ranked in enumerate(site):
            up_s.append([routes.delay_s(ap, k, flow.size_bytes) for k in ranked])
            down_s.append([routes.delay_s(ap, k, flow.reply_bytes) for k in ranked])
            route_loss.append([float(routes.loss[ap, k]) for k in ranked])
        spec = next(s for s in scenario.cloud.services if s.name == flow.service)
        mean_work_s = spec.mean_ms / 1000
    last_s, last_loss = 0.0, 0.0
    if flow.source == "vehicle" and flow.reply_bytes > 0:
        last_s = core_s + float(
            access_s(
                flow.reply_bytes, cells.downlink_latency_ms / 1000, cells.downlink_rate_mbps * 1e6
            )
        )
        last_loss = cells.loss
    radio_up = radio_down = ""
    vehicle = flow.source == "vehicle"
    if vehicle and flow.via == "pc5" and scenario.road.pc5.radio.model != "disk":
        radio_up, first_s, first_loss = "pc5", 0.0, 0.0
    if vehicle and flow.via == "uu" and cells.radio.model != "disk":
        radio_up, first_s, first_loss = "uu_up", core_s if flow.service is not None else 0.0, 0.0
        if flow.reply_bytes > 0:
            radio_down, last_s, last_loss = "uu_down", core_s, 0.0
    return FlowPlan(
        flow,
        first_s,
        first_loss,
        station,
        site,
        up_s,
        down_s,
        route_loss,
        last_s,
        last_loss,
        mean_work_s,
        radio_up,
        radio_down,
    )
