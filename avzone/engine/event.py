"""The ``event`` flow evaluator: every message walks its hops in SimPy.

Messages that only cross one radio hop (BSM over PC5) are evaluated where
they are sent: their hop is a pure function and touches no shared resource.
Messages for a cloud service are chains of SimPy events: uplink and core,
the backhaul links (FIFO transmitters, computed segment by segment:
:mod:`avzone.engine.carry`), the site's server queue (jobs start and end on the
SimPy clock), then the reply's backhaul, core and downlink, with the
vehicle's coverage looked up again where it is when the reply leaves the site.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from avzone.cloud import Site, make_distribution
from avzone.engine.access import LOST, OUT_OF_COVERAGE, Access
from avzone.engine.carry import carry
from avzone.engine.draws import Stream, run_seeds
from avzone.engine.plans import FlowPlan, plan_flow
from avzone.engine.world import World
from avzone.faults.impact import TimedRecorder
from avzone.faults.state import FaultState
from avzone.hdmap.process import HdMap
from avzone.metrics.collect import FlowRecorder, VehicleCounts
from avzone.network.transport import (
    LinkState,
    Segments,
    candidate_pairs,
    lost_at,
    route_segments,
    truncate,
)
from avzone.scenario import Flow
from avzone.scenario.schema import TIERS
from avzone.vehicles.mobility import Vehicle, drive
from avzone.vehicles.routing import route_edges
from avzone.vehicles.sumo_routes import depart_in_order
from avzone.vehicles.traces import TraceVehicle, follow_trace

__all__ = ["RunRecord", "simulate"]


@dataclass
class RunRecord:
    """Everything measured in a run, handed to the summary writer."""

    world: World
    flows: dict[str, FlowRecorder]
    sites: list[Site]
    hdmap: HdMap
    vehicles: VehicleCounts
    links: LinkState | None = None
    faults: FaultState | None = None
    access: Access | None = None


def simulate(world: World, progress: Callable[[float], None] | None = None) -> RunRecord:
    """Run the scenario of ``world`` for its duration with the event evaluator.

    ``progress(simulated_s)`` is called every 1 % of the duration (for a
    progress bar); it does not change the results.
    """
    return _EventRun(world).run(progress)


def _report_progress(
    env: simpy.Environment, duration_s: float, progress: Callable[[float], None]
) -> Generator[Any, Any, None]:
    step_s = duration_s / 100
    while True:
        yield env.timeout(step_s)
        progress(env.now)


def _ignore(_t: float) -> None:
    """The end of a message that was lost on the way."""


def _call(action: Callable[[], None]) -> Callable[[simpy.Event], None]:
    """An event callback that runs ``action``."""
    return lambda _event: action()


class _EventRun:
    def __init__(self, world: World) -> None:
        scenario = world.scenario
        self.world = world
        self.env = simpy.Environment()
        seeds = run_seeds(scenario.seed)
        rng = [np.random.default_rng(s) for s in seeds]
        # seeds[0] is the world's placement stream (see World.build)
        self.rng_demand = rng[1]
        self.signal_wait = Stream(
            rng[2], lambda g, n: g.uniform(0.0, scenario.mobility.signal_wait_max_s, n)
        )
        self.uniform = Stream(rng[3], lambda g, n: g.random(n))
        self.phase = Stream(rng[4], lambda g, n: g.random(n))
        self.hdmap = HdMap(self.env, world, rng[5])
        service_seeds = seeds[6].spawn(max(1, len(scenario.cloud.services)))
        self.service_time: dict[str, Stream] = {}
        for spec, seed in zip(scenario.cloud.services, service_seeds, strict=False):
            samples_s = tuple(x / 1000 for x in spec.samples_ms) or None
            dist = make_distribution(spec.dist, spec.mean_ms / 1000, spec.cv, samples_s)
            self.service_time[spec.name] = Stream(np.random.default_rng(seed), dist.sample)
        self.sites = [
            Site(
                self.env,
                s.name,
                s.tier,
                s.servers,
                s.speed,
                measure_from_s=scenario.warmup_s,
                queue_limit=s.queue_limit,
            )
            for s in world.sites
        ]
        self.hdmap.use_cloud(self.sites)
        self._policy = scenario.cloud.dispatch
        self._fallback = scenario.cloud.fallback
        self._tier_of = [TIERS.index(s.tier) for s in world.sites]
        self.flows = {f.name: FlowRecorder(f.name, f.deadline_ms / 1000) for f in scenario.flows}
        self.faults = FaultState(world, self.env) if scenario.faults else None
        if self.faults is not None:  # timed records for the fault impact
            clock = lambda: self.env.now  # noqa: E731
            self.flows = {
                f.name: TimedRecorder(f.name, f.deadline_ms / 1000, clock) for f in scenario.flows
            }
        self.vehicles = VehicleCounts()
        self.active: dict[Vehicle, float] = {}  # vehicles under way → when they appeared
        self.plans = {f.name: plan_flow(world, f) for f in scenario.flows}
        radio = world.pc5_table is not None or world.uu_table is not None
        self.access = Access(world) if radio else None
        samples = world.samples
        self._start: list[int] = samples.start.tolist()
        self._count: list[int] = samples.count.tolist()
        self._step: list[float] = samples.step_m.tolist()
        self._n_rsus = world.n_rsus
        self.next_id = 0
        self._on_edge: Callable[[Vehicle], None] | None = None  # set by the batch evaluator
        backhaul = scenario.network.backhaul
        self.links = LinkState(
            world.routes.links, backhaul.queueing, scenario.warmup_s, scenario.duration_s
        )
        self._up, self._down = route_segments(
            world.routes, candidate_pairs(world.candidates), backhaul.queueing
        )
        # per access point, a lower bound of the access delay of every message that
        # enters the backhaul there (avzone/engine/carry.py): cells the least uplink
        # delay of the flows with a service, RSUs 0 (their uploads enter at once)
        to_cells = [p.first_s for p in self.plans.values() if p.flow.via == "uu" and p.site]
        self._lookahead_s = [0.0] * world.n_rsus + [min(to_cells, default=0.0)] * len(world.cell_xy)

    # -- the run -----------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> RunRecord:
        scenario = self.world.scenario
        env = self.env
        if progress is not None:
            env.process(_report_progress(env, scenario.duration_s, progress))
        if scenario.fleet.arrivals == "poisson":
            for _ in range(scenario.fleet.initial_vehicles):
                origin, destination = self.world.demand.draw(self.rng_demand)
                env.process(self._one_trip(origin, destination, under_way=True))
            env.process(self._poisson_arrivals())
        elif self.world.listed_routes is not None:
            listed = self.world.listed_routes
            env.process(
                depart_in_order(
                    env, listed.depart_s, lambda i: env.process(self._listed_trip(listed.routes[i]))
                )
            )
        elif self.world.traces is not None:
            times_s, order = self.world.traces.starts()
            env.process(
                depart_in_order(
                    env, times_s, lambda j: env.process(self._traced_vehicle(int(order[j])))
                )
            )
        else:
            for _ in range(scenario.fleet.count):
                start = self.phase() * scenario.fleet.start_window_s
                env.process(self._fixed_vehicle(start))
        for flow in scenario.flows:
            if flow.source == "rsu":
                for rsu in range(self.world.n_rsus):
                    env.process(self._rsu_flow(flow, rsu))
        env.process(self.hdmap.run_changes())
        index = {s.name: i for i, s in enumerate(self.world.sites)}
        for outage in scenario.cloud.outages:
            site = self.sites[index[outage.site]]
            env.timeout(outage.start_s).callbacks.append(_call(site.fail))
            env.timeout(outage.end_s).callbacks.append(_call(site.repair))
        if self.faults is not None:
            self.faults.schedule(self.sites, self.hdmap)
        env.run(until=scenario.duration_s)
        self._clock_stopped()
        self.hdmap.finish()
        for vehicle, since_s in self.active.items():
            self.vehicles.vehicle_km += vehicle.odometer_m(env.now) / 1000
            self.vehicles.vehicle_s += env.now - since_s
            if self.access is not None:  # handovers up to the end
                self.access.leave(vehicle, env.now)
        return RunRecord(
            self.world,
            self.flows,
            self.sites,
            self.hdmap,
            self.vehicles,
            self.links,
            self.faults,
            self.access,
        )

    def _clock_stopped(self) -> None:
        """The clock reached the end, before the vehicles still under way are counted out
        (the batch evaluator's last window)."""

    # -- vehicles ----------------------------------------------------------------

    def _new_vehicle(self, kind: type[Vehicle] = Vehicle) -> Vehicle:
        vehicle = kind(self.next_id, self.hdmap.released.copy())
        self.next_id += 1
        self.vehicles.arrived += 1
        self.active[vehicle] = self.env.now
        self.vehicles.peak_under_way = max(self.vehicles.peak_under_way, len(self.active))
        for flow in self.world.scenario.flows:
            if flow.source == "vehicle":
                self.env.process(self._vehicle_flow(flow, vehicle))
        return vehicle

    def _trip(
        self, vehicle: Vehicle, origin: object, destination: object, under_way: bool = False
    ) -> Generator[Any, Any, None]:
        """Drive from ``origin`` to ``destination``; ``under_way``: join the trip at a
        point uniform in its free-flow travel time (the start of that edge)."""
        world = self.world
        route = [world.edge_index[e] for e in route_edges(world.graph, origin, destination)]
        if under_way:
            times_s = world.edge_length_m[route] / world.edge_speed_mps[route]
            at_s = float(self.rng_demand.uniform(0.0, float(times_s.sum())))
            first = int(np.searchsorted(np.cumsum(times_s), at_s, side="right"))
            route = route[min(first, len(route) - 1) :]
        self.hdmap.route(vehicle, route)
        yield from drive(
            self.env,
            vehicle,
            route,
            length_m=world.edge_length_m,
            speed_mps=world.edge_speed_mps,
            signalized_end=world.edge_signalized_end,
            edge_tiles=world.edge_tiles,
            signal_wait_s=self.signal_wait,
            tiles=self.hdmap,
            on_edge=self._edge_entered,
        )
        self.vehicles.trips_completed += 1

    def _listed_trip(self, route: tuple[int, ...]) -> Generator[Any, Any, None]:
        """A vehicle of a route file: appears, drives its listed edges, leaves."""
        world = self.world
        vehicle = self._new_vehicle()
        self.hdmap.route(vehicle, list(route))
        yield from drive(
            self.env,
            vehicle,
            list(route),
            length_m=world.edge_length_m,
            speed_mps=world.edge_speed_mps,
            signalized_end=world.edge_signalized_end,
            edge_tiles=world.edge_tiles,
            signal_wait_s=self.signal_wait,
            tiles=self.hdmap,
            on_edge=self._edge_entered,
        )
        self.vehicles.trips_completed += 1
        self._leave(vehicle)

    def _traced_vehicle(self, i: int) -> Generator[Any, Any, None]:
        """A vehicle of the trace: appears at its first sample, leaves after its last."""
        traces = self.world.traces
        assert traces is not None
        vehicle = self._new_vehicle(TraceVehicle)
        assert isinstance(vehicle, TraceVehicle)
        self.hdmap.route(vehicle, traces.route(i))
        yield from follow_trace(
            self.env,
            vehicle,
            traces,
            i,
            self.world.edge_length_m,
            self.hdmap,
            on_edge=self._edge_entered,
        )
        self.vehicles.trips_completed += 1
        self._leave(vehicle)

    def _edge_entered(self, vehicle: Vehicle, edge: int) -> None:
        """A vehicle starts an edge: the HD map's detection and the radio's handover tracking."""
        self.hdmap.edge_entered(vehicle, edge)
        if self.access is not None and self.access.tracker is not None:
            self.access.on_edge(vehicle, self.env.now)
        if self._on_edge is not None:
            self._on_edge(vehicle)

    def _leave(self, vehicle: Vehicle) -> None:
        vehicle.active = False
        self.hdmap.leave(vehicle, vehicle.tile)
        if self.access is not None:
            self.access.leave(vehicle, self.env.now)
        self.vehicles.vehicle_km += vehicle.odometer_m(self.env.now) / 1000
        self.vehicles.vehicle_s += self.env.now - self.active.pop(vehicle)

    def _poisson_arrivals(self) -> Generator[Any, Any, None]:
        fleet = self.world.scenario.fleet
        mean_gap_s = 3600.0 / fleet.rate_per_h
        while True:
            yield self.env.timeout(float(self.rng_demand.exponential(mean_gap_s)))
            if len(self.active) >= fleet.max_vehicles:
                self.vehicles.turned_away += 1
                continue
            origin, destination = self.world.demand.draw(self.rng_demand)
            self.env.process(self._one_trip(origin, destination))

    def _one_trip(
        self, origin: object, destination: object, under_way: bool = False
    ) -> Generator[Any, Any, None]:
        vehicle = self._new_vehicle()
        yield from self._trip(vehicle, origin, destination, under_way)
        self._leave(vehicle)

    def _fixed_vehicle(self, start_s: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(start_s)
        vehicle = self._new_vehicle()
        origin, destination = self.world.demand.draw(self.rng_demand)
        while True:
            yield from self._trip(vehicle, origin, destination)
            origin = destination
            destination = self.world.demand.draw_destination(self.rng_demand, origin)

    # -- message flows -------------------------------------------------------------

    def _vehicle_flow(self, flow: Flow, vehicle: Vehicle) -> Generator[Any, Any, None]:
        plan = self.plans[flow.name]
        period_s = 1.0 / flow.rate_hz
        yield self.env.timeout(self.phase() * period_s)
        record = self.flows[flow.name]
        warmup_s = self.world.scenario.warmup_s
        one_hop = flow.service is None
        control = flow.name in self.hdmap.control_flows
        while vehicle.active:
            if self.env.now >= warmup_s:
                record.sent += 1
                if control:
                    self.hdmap.control_message(vehicle)
                if one_hop:
                    self._one_hop(plan, vehicle, record)
                else:
                    self._request(plan, record, vehicle, -1)
            yield self.env.timeout(period_s)

    def _rsu_flow(self, flow: Flow, rsu: int) -> Generator[Any, Any, None]:
        plan = self.plans[flow.name]
        period_s = 1.0 / flow.rate_hz
        yield self.env.timeout(self.phase() * period_s)
        record = self.flows[flow.name]
        warmup_s = self.world.scenario.warmup_s
        while True:
            if self.env.now >= warmup_s and (
                self.faults is None or self.faults.station_up("pc5", rsu)
            ):  # a down RSU senses and sends nothing
                record.sent += 1
                self._request(plan, record, None, rsu)
            yield self.env.timeout(period_s)

    def _sample(self, vehicle: Vehicle) -> int:
        """The road sample the vehicle is on now (list look-ups on the hot path)."""
        edge = vehicle.edge
        k = int(vehicle.s_m(self.env.now) / self._step[edge])
        count = self._count[edge]
        return self._start[edge] + (k if k < count else count - 1)

    def _station(self, plan: FlowPlan, vehicle: Vehicle) -> int:
        """The station (RSU or cell) serving the vehicle now, after faults and failover."""
        sample = self._sample(vehicle)
        station = plan.station[sample]
        faults = self.faults
        if faults is not None and faults.active:
            return faults.station(plan.flow.via, vehicle, sample, station)
        return station

    def _radio_hop(
        self, system: str, plan: FlowPlan, vehicle: Vehicle, size_bytes: int
    ) -> tuple[int, float]:
        """A SINR-model access hop (engine/access.py): (station, delay_s); the station is
        OUT_OF_COVERAGE or LOST when the message does not get through. A station that a
        fault has taken down is replaced by the fault state's failover (or none)."""
        assert self.access is not None
        sample = self._sample(vehicle)
        station, delay_s = self.access.hop(system, vehicle, sample, size_bytes, self.env.now)
        faults = self.faults
        if station >= 0 and faults is not None and faults.active:
            station = faults.station(plan.flow.via, vehicle, sample, station)
        return station, delay_s

    def _one_hop(self, plan: FlowPlan, vehicle: Vehicle, record: FlowRecorder) -> None:
        """A message that ends at the first station (RSU for PC5, cell for Uu)."""
        if plan.radio_up and self.access is not None:  # a SINR model (engine/access.py)
            station, access_s = self._radio_hop(plan.radio_up, plan, vehicle, plan.flow.size_bytes)
            if station == LOST:
                record.radio += 1
            elif station < 0:
                record.out_of_coverage += 1
            else:
                record.latencies_s.append(plan.first_s + access_s)
            return
        if self._station(plan, vehicle) < 0:
            record.out_of_coverage += 1
        elif self.uniform() < plan.first_loss:
            record.radio += 1
        else:
            record.latencies_s.append(plan.first_s)

    def _request(
        self, plan: FlowPlan, record: FlowRecorder, vehicle: Vehicle | None, rsu: int
    ) -> None:
        """A request to a cloud service and, when the flow has one, its reply.

        The site is chosen when the message enters the network, from the
        sites' state at that moment (:meth:`_dispatch`). The access hop
        (uplink and core), then the backhaul links (FIFO transmitters,
        :func:`~avzone.engine.carry.carry`), then the site's queue (which may
        turn the job away: queue at its limit, or site down); the reply's
        coverage is looked up where the vehicle is when its service ends, and
        it takes the links back and the access hop down. Each delivered
        message records its six latency stages. Chained callbacks, not a process.
        """
        env = self.env
        t0 = env.now
        radio_up_s = 0.0
        if vehicle is not None:
            if plan.radio_up and self.access is not None:  # a SINR model (engine/access.py)
                cell, radio_up_s = self._radio_hop(
                    plan.radio_up, plan, vehicle, plan.flow.size_bytes
                )
            else:
                cell = self._station(plan, vehicle)
                if cell >= 0 and self.uniform() < plan.first_loss:
                    cell = LOST
            if cell < 0:
                if cell == LOST:
                    record.radio += 1
                else:
                    record.out_of_coverage += 1
                return
            ap = self._n_rsus + cell
        else:
            ap = rsu
        k = self._dispatch(plan, ap)
        flow = plan.flow
        # the access hop's delay (radio up, and the core for Uu): the access_up stage. When it
        # varies per message, keep self._lookahead_s a lower bound of it (exact link FIFO)
        access_up_s = plan.first_s + radio_up_s  # plan.first_s alone is the lower bound
        t_in = t0 + access_up_s
        route_loss = plan.route_loss[ap][k]
        # While backhaul links are cut or degraded (faults), routes come from the fault state
        # as constant delays (up_s, down_s), without link queueing.
        rerouted: tuple[float, float] | None = None
        faults = self.faults
        if faults is not None and faults.routes is not None:
            if self._fallback and not faults.reachable(ap, plan.site[ap][k]):
                k = next(
                    (j for j, i in enumerate(plan.site[ap]) if faults.reachable(ap, i)
                     and self.sites[i].admits()),
                    k,
                )  # fmt: skip
            up_s, down_s, route_loss = faults.route(
                ap, plan.site[ap][k], flow.size_bytes, flow.reply_bytes
            )
            rerouted = (up_s, down_s)
        site_index = plan.site[ap][k]
        up = self._up[ap][site_index]
        assert up is not None  # candidate sites are reachable
        if route_loss and (u := self.uniform()) < route_loss:
            record.backhaul += 1
            if rerouted is None:
                self._carry_lost(up, t_in, flow.size_bytes, u)
            return
        site = self.sites[site_index]
        service = self.service_time[flow.service or ""]
        hold_s = 0.0
        t_site = t_in

        def delivered(wait_s: float, t_done: float, t_out: float) -> None:
            now = env.now
            record.latencies_s.append(now - t0)
            record.wait_s.append(wait_s)
            record.service_s.append(hold_s)
            record.access_up_s.append(access_up_s)
            record.backhaul_up_s.append(t_site - t_in)
            record.backhaul_down_s.append(t_out - t_done)
            record.access_down_s.append(now - t_out)

        def served(wait_s: float) -> None:
            t_done = env.now
            if flow.reply_bytes == 0:
                delivered(wait_s, t_done, t_done)
                return
            down = self._down[ap][site_index]
            assert down is not None
            if route_loss and (u := self.uniform()) < route_loss:
                record.backhaul += 1
                if rerouted is None:
                    self._carry_lost(down, t_done, flow.reply_bytes, u)
                return
            last_s = 0.0
            if vehicle is not None and plan.radio_down and self.access is not None:
                cell, down_s = OUT_OF_COVERAGE, 0.0  # unless the vehicle is still here
                if vehicle.active:
                    cell, down_s = self._radio_hop(plan.radio_down, plan, vehicle, flow.reply_bytes)
                if cell < 0:
                    if cell == LOST:
                        record.radio += 1
                    else:
                        record.out_of_coverage += 1
                    return
                last_s = plan.last_s + down_s  # the access hop down (core and radio)
            elif vehicle is not None:
                if not vehicle.active or self._station(plan, vehicle) < 0:
                    record.out_of_coverage += 1
                    return
                if self.uniform() < plan.last_loss:
                    record.radio += 1
                    return
                last_s = plan.last_s  # the access hop down (core and downlink radio)
            if rerouted is not None:
                t_out = t_done + rerouted[1]
                env.timeout(rerouted[1] + last_s).callbacks.append(
                    lambda _: delivered(wait_s, t_done, t_out)
                )
                return
            carry(
                env,
                self.links,
                down,
                t_done,
                flow.reply_bytes,
                last_s,
                lambda t_out: delivered(wait_s, t_done, t_out),
            )

        def refused(cause: str) -> None:
            if cause == "rejected":
                record.rejected += 1
            else:
                record.site_down += 1

        def at_site(_t_arrival: float) -> None:
            nonlocal hold_s, t_site
            t_site = env.now
            work_s = service()
            hold_s = work_s / site.speed
            site.submit(work_s, flow.priority, served, refused, flow.service or "")

        if rerouted is not None:
            env.timeout(access_up_s + rerouted[0]).callbacks.append(lambda _: at_site(env.now))
            return
        carry(self.env, self.links, up, t_in, flow.size_bytes, 0.0, at_site, self._lookahead_s[ap])

    def _carry_lost(self, segments: Segments, t: float, size_bytes: int, u: float) -> None:
        """A message the backhaul loses still loads the links up to the one that loses it."""
        position = lost_at(segments, self.world.routes.links.loss, u)
        carry(self.env, self.links, truncate(segments, position), t, size_bytes, 0.0, _ignore)

    def _dispatch(self, plan: FlowPlan, ap: int) -> int:
        """Which of the access point's candidate sites gets the request (an index into them).

        ``nearest``: the first candidate (lowest tier, least delay);
        ``least_loaded``: the fewest jobs per server within the lowest tier;
        ``deadline_aware``: the least predicted response over all candidates,
        network both ways plus expected wait plus mean service. With
        ``fallback``, candidates that are down or full are passed over, up the
        tiers; when every candidate refuses, the first one gets the request
        (and refuses it on arrival unless things changed).
        """
        ranked = plan.site[ap]
        sites = self.sites
        policy = self._policy
        if policy == "deadline_aware":
            best, best_s = 0, float("inf")
            for k, index in enumerate(ranked):
                site = sites[index]
                if not site.admits():
                    continue
                work_s = plan.mean_work_s / site.speed
                queued = site.in_service + site.waiting - site.servers + 1
                predicted_s = (
                    plan.up_s[ap][k]
                    + plan.down_s[ap][k]
                    + work_s * (1 + max(0, queued) / site.servers)
                )
                if predicted_s < best_s:
                    best, best_s = k, predicted_s
            return best
        if policy == "nearest":
            if not self._fallback or sites[ranked[0]].admits():
                return 0
            return next((k for k, index in enumerate(ranked) if sites[index].admits()), 0)
        # least_loaded: within the lowest tier that has a site taking jobs (the first tier without fallback)
        tiers = self._tier_of
        for tier in sorted({tiers[i] for i in ranked}):
            choices = [
                k
                for k, index in enumerate(ranked)
                if tiers[index] == tier and (sites[index].admits() or not self._fallback)
            ]
            if choices:
                return min(choices, key=lambda k: sites[ranked[k]].load)
            if not self._fallback:
                break
        return 0
