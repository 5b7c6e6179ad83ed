"""The ``batch`` flow evaluator: a window of messages at a time, as numpy arrays.

What changes in discrete steps still runs in SimPy, exactly as in the event
evaluator (it is the same class underneath): vehicle arrivals, driving edge by
edge, signal waits, handover state, HD-map changes and releases, site
outages. What does not is the messages. Each flow starts as in the event
evaluator (the same phase draw, at the same moment) and then only registers
its send times; every ``WINDOW_S`` (and at every outage start and end) a
window process takes all messages sent in the window and pushes them through
the same models:

1. send times per (sender, flow) by the same repeated addition of the period
   as SimPy's clock, vectorised over senders;
2. where each vehicle was: its edges are logged as it enters them
   (:class:`Trajectories`), and a message is placed on its road sample by
   vectorised interpolation — the same formula as the event evaluator's;
3. the access hop: the range disk's station and loss, or a SINR model's
   station, HARQ tries, slots and handover state
   (:class:`~avzone.engine.access_batch.BatchAccess`, from a log of each
   vehicle's serving-cell changes);
4. the nearest hosting site (falling back over sites down at send time), the
   backhaul's loss (a lost message still loads the links up to the one that
   loses it), then the backhaul links as FIFO transmitters
   (:class:`~avzone.engine.linkflow.BatchLinks`: every crossing that reaches
   its link before the window's end, links in topological order, a compiled
   loop);
5. each site's queue by :class:`~avzone.cloud.windowed.WindowedQueue`
   (Lindley in closed form for one FIFO server, an exact loop otherwise),
   fed the arrivals before the window's end in time order, its state carried
   to the next window; service times drawn from the same streams in the same
   order (arrival order per service);
6. replies of the services ended in the window: the backhaul's loss, the
   vehicle's coverage and radio where it is when the service ends, the links
   down, delivery with the six latency stages.

Every stage takes only what happens before the window's end and carries the
rest, so the results do not depend on ``WINDOW_S``. Sent counts and coverage
are those of the event evaluator to the message (same clock arithmetic, same
trajectories, same formula); with every loss probability 0 and the range-disk
radio the whole summary is the event evaluator's to the last digit; losses
and radio draws come in another order, so individual outcomes differ and
latency distributions agree statistically (tests/test_engine_batch.py).

Not modelled here (the scenario runs with ``engine: event``; ``auto`` picks
it): dispatch that depends on each site's state at each message
(``least_loaded``, ``deadline_aware``, queue limits with fallback), HD-map
detection uploads and fusion jobs, faults, and trajectory-driven vehicles.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from avzone.cloud.windowed import WindowedQueue
from avzone.engine.access import LOST, OUT_OF_COVERAGE
from avzone.engine.access_batch import BatchAccess
from avzone.engine.batch_tables import (
    _DONE,
    _DOWN,
    _LOST,
    _REFUSED,
    _STARTED,
    _TRANSIT,
    _WAITING,
    Trajectories,
    _Jobs,
    _Paths,
    _PlanArrays,
    _Sends,
    _SiteQueue,
    stable_argsort,
)
from avzone.engine.draws import run_seeds
from avzone.engine.event import RunRecord, _EventRun
from avzone.engine.linkflow import BatchLinks
from avzone.engine.plans import FlowPlan
from avzone.engine.steplog import StepLog
from avzone.engine.world import World
from avzone.errors import ScenarioError
from avzone.scenario import Flow
from avzone.vehicles.mobility import Vehicle

__all__ = [
    "WINDOW_S",
    "Trajectories",
    "batch_unsupported",
    "check_batch_supported",
    "resolve_engine",
    "simulate_batch",
]

WINDOW_S = 1.0
"""Length of a window of messages, s (results do not depend on it)."""

COMPACT_ROWS = 1 << 20
"""Rows of the job table past which finished jobs are handed to the sites and dropped."""

_RECORD_SLICE = 2**20
"""Jobs handed to a Site at a time (bounds the copies)."""


def check_batch_supported(world: World) -> None:
    """Raise ScenarioError when the scenario needs what the batch evaluator does not model yet."""
    reason = batch_unsupported(world)
    if reason is not None:
        key, why = reason
        raise ScenarioError(key, f"engine 'batch' {why}: use engine: event")


def resolve_engine(world: World) -> str:
    """The evaluator that runs ``world``: the scenario's ``engine``, and for ``auto`` the
    batch evaluator unless the scenario needs what only the event evaluator models."""
    engine = world.scenario.engine
    if engine != "auto":
        return engine
    return "batch" if batch_unsupported(world) is None else "event"


def batch_unsupported(world: World) -> tuple[str, str] | None:
    """``(key path, why)`` when the batch evaluator cannot run ``world``'s scenario, else None."""
    scenario = world.scenario
    cloud = scenario.cloud
    if cloud.dispatch != "nearest":
        return (
            "cloud.dispatch",
            f"supports 'nearest', got {cloud.dispatch!r} (the choice depends on each "
            "site's state at each message)",
        )
    if cloud.fallback and any(s.queue_limit is not None for s in world.sites):
        return (
            "cloud.fallback",
            "does not support queue limits with fallback (the choice depends on each "
            "queue at each message)",
        )
    if scenario.hdmap.detection is not None:
        return (
            "hdmap.detection",
            "does not yet queue HD-map fusion jobs with the messages' jobs",
        )
    if scenario.faults:
        return ("faults", "does not yet model faults")
    if scenario.mobility.traced:
        return ("car.mobility", "does not yet follow trajectories (trace or sumo)")
    if _shared_link_directions(world):
        return (
            "network.backhaul",
            "needs the requests' and the replies' routes apart (some cross the same link in "
            "the same direction, e.g. a fallback to a site that is not up the tree)",
        )
    return None


def _shared_link_directions(world: World) -> bool:
    """Whether a request's route and a reply's route may cross one link in one direction.

    The batch evaluator computes the links of requests and of replies in two
    passes per window (a reply exists only once its request has been served),
    exact when no directed link carries both. The routes that may be used:
    each access point's first candidate site, and every candidate when sites
    can fail over (``cloud.fallback`` with outages).
    """
    scenario = world.scenario
    every = scenario.cloud.fallback and bool(scenario.cloud.outages)
    up: set[int] = set()
    for ranked in world.candidates.values():
        for ap, row in enumerate(ranked.tolist()):
            for site in row if every else row[:1]:
                path = world.routes.paths[ap][site]
                if path is not None:
                    up.update(path)
    return any(d ^ 1 in up for d in up)


def simulate_batch(world: World, progress: Callable[[float], None] | None = None) -> RunRecord:
    """Run the scenario of ``world`` with the batch evaluator (see the module text)."""
    check_batch_supported(world)
    return _BatchRun(world).run(progress)


class _BatchRun(_EventRun):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.trajectories = Trajectories()
        self._on_edge = self.trajectories.enter
        if self.access is not None:  # the SINR models: handover states logged, hops in bulk
            self.access = BatchAccess(world)
        self.radio = self.access
        self._leave_s = np.full(1024, math.inf)  # per vehicle id; inf while under way
        # Losses come from their own generator, derived from the losses stream's seed.
        self.loss_rng = np.random.default_rng(run_seeds(world.scenario.seed)[3].spawn(1)[0])
        scenario = world.scenario
        self.sends = {
            f.name: _Sends(f, self.plans[f.name], 1.0 / f.rate_hz) for f in scenario.flows
        }
        self.tables = {f.name: _PlanArrays.of(self.plans[f.name]) for f in scenario.flows}
        self.flow_list = list(scenario.flows)
        self.flow_index = {f.name: i for i, f in enumerate(scenario.flows)}
        self.service_index = {name: i for i, name in enumerate(self.service_time)}
        self._service_of = np.array(
            [self.service_index.get(f.service or "", -1) for f in scenario.flows], dtype=np.int64
        )
        self._priorities = np.array([f.priority for f in scenario.flows], dtype=np.int64)
        self._speed = np.array([s.speed for s in world.sites])
        samples = world.samples
        self._sample_layout = (
            np.ascontiguousarray(samples.start, dtype=np.int64),
            np.ascontiguousarray(samples.step_m, dtype=np.float64),
            np.ascontiguousarray(samples.count, dtype=np.int64),
        )
        self.queues = [_SiteQueue(WindowedQueue(s.servers, s.queue_limit)) for s in world.sites]
        self.jobs = _Jobs()
        self.replies = np.empty(0, dtype=np.int64)  # rows in service, reply not yet sent
        self.to_sites = np.empty(0, dtype=np.int64)  # rows off the links, not yet at the site
        loss = world.routes.links.loss
        self.up_paths = _Paths(self._up, loss)
        self.down_paths = _Paths(self._down, loss)
        self.up_links = BatchLinks(self.links)
        self.down_links = BatchLinks(self.links)
        self.stale_log = StepLog(stale="b")
        self._log_staleness()
        self.down: list[list[tuple[float, float]]] = [[] for _ in world.sites]
        index = {s.name: i for i, s in enumerate(world.sites)}
        for outage in scenario.cloud.outages:
            self.down[index[outage.site]].append((outage.start_s, outage.end_s))

    def _log_staleness(self) -> None:
        """Log when each vehicle's map turns stale and fresh again: control messages are
        counted on a stale map by the state at their send time, as the event evaluator does."""
        hdmap = self.hdmap
        begin, end = hdmap._stale_begin, hdmap._stale_end

        def stale_begin(vehicle: Vehicle) -> None:
            was = vehicle.stale_since_s
            begin(vehicle)
            if was is None and vehicle.stale_since_s is not None:
                self._log_state(vehicle, 1)

        def stale_end(vehicle: Vehicle) -> None:
            was = vehicle.stale_since_s
            end(vehicle)
            if was is not None and vehicle.stale_since_s is None:
                self._log_state(vehicle, 0)

        hdmap._stale_begin = stale_begin  # type: ignore[method-assign]
        hdmap._stale_end = stale_end  # type: ignore[method-assign]

    def _log_state(self, vehicle: Vehicle, stale: int) -> None:
        self.stale_log.append(vehicle.ident, self.env.now, stale=stale)

    def _stale_at(self, vehicle: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Whether each vehicle's map of the tile it is in was stale at each time."""
        found = self.stale_log.find(vehicle, t_s)
        out = np.zeros(vehicle.size, dtype=bool)
        logged = found >= 0
        out[logged] = self.stale_log["stale"][found[logged]] == 1
        return out

    # -- the event evaluator's flow processes, reduced to registrations -------------

    def _vehicle_flow(self, flow: Flow, vehicle: Vehicle) -> Generator[Any, Any, None]:
        sends = self.sends[flow.name]
        sends.new_who.append(vehicle.ident)
        sends.new_next_s.append(self.env.now + self.phase() * sends.period_s)
        return
        yield  # a generator, started like the event evaluator's (same phase draws)

    def _rsu_flow(self, flow: Flow, rsu: int) -> Generator[Any, Any, None]:
        sends = self.sends[flow.name]
        sends.new_who.append(rsu)
        sends.new_next_s.append(self.env.now + self.phase() * sends.period_s)
        return
        yield

    def _leave(self, vehicle: Vehicle) -> None:
        super()._leave(vehicle)
        if vehicle.ident >= self._leave_s.size:
            grown = np.full(2 * vehicle.ident + 1, math.inf)
            grown[: self._leave_s.size] = self._leave_s
            self._leave_s = grown
        self._leave_s[vehicle.ident] = self.env.now

    def leave_s(self, vehicle: np.ndarray) -> np.ndarray:
        """When each vehicle left (inf: still under way)."""
        inside = vehicle < self._leave_s.size
        out = np.full(vehicle.size, math.inf)
        out[inside] = self._leave_s[vehicle[inside]]
        return out

    def run(self, progress: Callable[[float], None] | None = None) -> RunRecord:
        duration_s = self.world.scenario.duration_s
        self.env.process(self._windows(duration_s))
        record = super().run(progress)
        self._record_sites(duration_s)
        return record

    def _clock_stopped(self) -> None:
        # SimPy stops before the events due at ``duration_s``: the last window runs here,
        # while the vehicles are still under way (their handover states still kept).
        self._window(self.world.scenario.duration_s)

    # -- windows -------------------------------------------------------------------

    def _windows(self, duration_s: float) -> Generator[Any, Any, None]:
        times = {k * WINDOW_S for k in range(1, math.ceil(duration_s / WINDOW_S))}
        fails: dict[float, list[int]] = {}
        for site, intervals in enumerate(self.down):
            for start, end in intervals:
                times.update((start, end))
                fails.setdefault(start, []).append(site)
        for end_s in sorted(t for t in times if 0 < t < duration_s):
            yield self.env.timeout(end_s - self.env.now)
            self._window(end_s)
            for site in fails.get(end_s, ()):
                self._fail(site, end_s)

    def _window(self, end_s: float) -> None:
        """Every message sent before ``end_s`` and every hop it reaches before ``end_s``."""
        warmup_s = self.world.scenario.warmup_s
        if isinstance(self.radio, BatchAccess):
            self.radio.catch_up(end_s)
        for sends in self.sends.values():
            who, t0 = self._due(sends, end_s)
            keep = t0 >= warmup_s
            who, t0 = who[keep], t0[keep]
            if who.size == 0:
                continue
            self.flows[sends.flow.name].sent += who.size
            if sends.flow.name in self.hdmap.control_flows:
                self.hdmap.control_sent += who.size
                self.hdmap.control_stale += int(self._stale_at(who, t0).sum())
            if sends.flow.service is None:
                self._one_hop_batch(sends.plan, who, t0)
            else:
                self._requests(sends.plan, who, t0)
        rows, t_site = self.up_links.advance(end_s)
        known = rows >= 0  # not a lost message (they load the links up to their loss)
        self.jobs["arrival"][rows[known]] = t_site[known]
        self.to_sites = np.concatenate((self.to_sites, rows[known]))
        self._serve(end_s)
        self._replies(end_s)
        rows, t_out = self.down_links.advance(end_s)
        self._delivered(rows, t_out)
        self._compact(end_s)
        self.trajectories.advance()
        self.stale_log.advance()
        if isinstance(self.radio, BatchAccess):
            self.radio.fold(end_s)

    def _due(self, sends: _Sends, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Senders and send times before ``end_s``; advances each sender's next time.

        The times are the event evaluator's to the last bit: the first is
        ``start + phase·period`` and each next one adds the period to the
        previous, as SimPy's ``now + delay``.
        """
        empty = np.empty(0, np.int64), np.empty(0)
        who = np.concatenate((sends.who, np.frombuffer(sends.new_who, dtype=np.int64)))
        next_s = np.concatenate((sends.next_s, np.frombuffer(sends.new_next_s, dtype=np.float64)))
        sends.new_who, sends.new_next_s = array("q"), array("d")
        if who.size == 0:
            return empty
        vehicles = sends.flow.source == "vehicle"
        leave = self.leave_s(who) if vehicles else np.full(who.size, math.inf)
        out_who: list[np.ndarray] = []
        out_t: list[np.ndarray] = []
        due = next_s < end_s
        while due.any():
            alive = due & (next_s < leave)
            out_who.append(who[alive])
            out_t.append(next_s[alive])
            next_s[due] += sends.period_s
            due = next_s < end_s
        keep = next_s < leave  # a vehicle that left sends no more
        sends.who, sends.next_s = who[keep], next_s[keep]
        if not out_t:
            return empty
        return np.concatenate(out_who), np.concatenate(out_t)

    def _samples(self, vehicle: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """The road sample each vehicle is on at each time, as ``_sample`` finds it."""
        return self.trajectories.samples(vehicle, t_s, *self._sample_layout)

    def _access(
        self,
        plan: FlowPlan,
        system: str,
        vehicle: np.ndarray,
        t_s: np.ndarray,
        size_bytes: int,
        loss: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The access hop of each message: (station or OUT_OF_COVERAGE / LOST, delay_s).

        A SINR model (``system`` set) as :meth:`Access.hop`; otherwise the range
        disk's station, lost with probability ``loss``, without delay of its own.
        """
        sample = self._samples(vehicle, t_s)
        if system and isinstance(self.radio, BatchAccess):
            u = self.loss_rng.random((2, vehicle.size))
            return self.radio.hop(system, vehicle, sample, size_bytes, t_s, u[0], u[1])
        station = self.tables[plan.flow.name].station[sample].copy()
        covered = np.flatnonzero(station >= 0)
        lost = self.loss_rng.random(covered.size) < loss
        station[covered[lost]] = LOST
        return station, np.zeros(vehicle.size)

    def _count_failed(self, plan: FlowPlan, station: np.ndarray) -> None:
        record = self.flows[plan.flow.name]
        record.out_of_coverage += int((station == OUT_OF_COVERAGE).sum())
        record.radio += int((station == LOST).sum())

    def _one_hop_batch(self, plan: FlowPlan, vehicle: np.ndarray, t0: np.ndarray) -> None:
        station, delay_s = self._access(
            plan, plan.radio_up, vehicle, t0, plan.flow.size_bytes, plan.first_loss
        )
        self._count_failed(plan, station)
        ok = station >= 0
        self.flows[plan.flow.name].latencies_s.extend(plan.first_s + delay_s[ok])

    def _requests(self, plan: FlowPlan, who: np.ndarray, t0: np.ndarray) -> None:
        """Requests sent: the access hop up, the site, the backhaul's loss, onto the links."""
        record = self.flows[plan.flow.name]
        flow = plan.flow
        if flow.source == "vehicle":
            station, radio_s = self._access(
                plan, plan.radio_up, who, t0, flow.size_bytes, plan.first_loss
            )
            self._count_failed(plan, station)
            ok = station >= 0
            vehicle, t0, ap = who[ok], t0[ok], station[ok] + self._n_rsus
            access_up_s = plan.first_s + radio_s[ok]
        else:
            vehicle, ap = np.full(who.size, -1, dtype=np.int64), who
            access_up_s = np.full(who.size, plan.first_s)
        k = self._nearest(plan, ap, t0)
        table = self.tables[plan.flow.name]
        site = table.site[ap, k]
        t_in = t0 + access_up_s
        u = self.loss_rng.random(ap.size)
        lost = u < table.route_loss[ap, k]
        record.backhaul += int(lost.sum())
        if lost.any():  # a lost message loads the links up to the one that loses it
            paths = self.up_paths.truncated(ap[lost], site[lost], u[lost])
            ids = np.full(paths.shape[0], -1, dtype=np.int64)
            self.up_links.submit(ids, paths, t_in[lost], np.full(ids.size, flow.size_bytes))
        keep = ~lost
        rows = self.jobs.add(
            flow=np.full(int(keep.sum()), self.flow_index[flow.name]),
            vehicle=vehicle[keep],
            ap=ap[keep],
            k=k[keep],
            site=site[keep],
            t0=t0[keep],
            t_in=t_in[keep],
        )
        paths = self.up_paths.of(ap[keep], site[keep])
        self.up_links.submit(rows, paths, t_in[keep], np.full(rows.size, flow.size_bytes))

    def _nearest(self, plan: FlowPlan, ap: np.ndarray, t0: np.ndarray) -> np.ndarray:
        """Index of the chosen candidate: the first, or with fallback the first up at send time."""
        k = np.zeros(ap.size, dtype=np.int64)
        if not self._fallback or not any(self.down):
            return k
        for i, (a, t) in enumerate(zip(ap.tolist(), t0.tolist(), strict=True)):
            ranked = plan.site[a]
            if self._is_down(ranked[0], t):
                k[i] = next((j for j, s in enumerate(ranked) if not self._is_down(s, t)), 0)
        return k

    def _is_down(self, site: int, t_s: float) -> bool:
        return any(start <= t_s < end for start, end in self.down[site])

    # -- the sites -------------------------------------------------------------------

    def _serve(self, end_s: float) -> None:
        """Queue the requests that reach their site before ``end_s``; schedule the started."""
        jobs = self.jobs
        arrival, status = jobs["arrival"], jobs["status"]
        due = arrival[self.to_sites] < end_s  # off the links; at the site before the end
        fresh, self.to_sites = self.to_sites[due], self.to_sites[~due]
        fresh = fresh[stable_argsort(arrival[fresh])]
        self._draw_work(fresh)
        hold, site_of, start = jobs["hold"], jobs["site"], jobs["start"]
        priorities = self._priorities
        started: list[np.ndarray] = [self.replies]
        # by site, arrival order kept within each
        fresh = fresh[np.argsort(site_of[fresh].astype(np.int16), kind="stable")]  # radix
        bounds = np.searchsorted(site_of[fresh], np.arange(len(self.queues) + 1)).tolist()
        for s, state in enumerate(self.queues):
            rows = fresh[bounds[s] : bounds[s + 1]]
            if rows.size == 0 and not state.queue.waiting:
                continue
            if self.down[s]:
                down = np.array([self._is_down(s, t) for t in arrival[rows].tolist()], dtype=bool)
                self._refuse(rows[down], "site_down")
                rows = rows[~down]
            first_id = state.queue.jobs
            result = state.queue.window(
                arrival[rows], hold[rows], end_s, priorities[jobs["flow"][rows]]
            )
            self._refuse(rows[result.rejected], "rejected")
            begun = np.isfinite(result.start_s)
            start[rows[begun]] = result.start_s[begun]
            status[rows[begun]] = _STARTED
            started.append(rows[begun])
            waiting = ~begun & ~result.rejected
            status[rows[waiting]] = _WAITING
            for offset in np.flatnonzero(waiting).tolist():
                state.waiting[first_id + offset] = int(rows[offset])
            if result.carried_started:
                carried = np.array([state.waiting.pop(j) for j, _ in result.carried_started])
                start[carried] = [at_s for _, at_s in result.carried_started]
                status[carried] = _STARTED
                started.append(carried)
        fresh_started = np.concatenate(started[1:]) if len(started) > 1 else started[0][:0]
        jobs["end"][fresh_started] = start[fresh_started] + hold[fresh_started]
        self.replies = np.concatenate(started)

    def _draw_work(self, rows: np.ndarray) -> None:
        """Service demand of each job, drawn in arrival order per service (as the event
        evaluator draws at arrival); held for demand / speed."""
        jobs = self.jobs
        service = self._service_of[jobs["flow"][rows]]
        for index, stream in enumerate(self.service_time.values()):
            mine = rows[service == index]
            if mine.size:
                jobs["hold"][mine] = stream.take(mine.size) / self._speed[jobs["site"][mine]]

    def _refuse(self, rows: np.ndarray, cause: str) -> None:
        """Jobs turned away on arrival: queue at its limit, or the site down."""
        jobs = self.jobs
        jobs["status"][rows] = _REFUSED
        jobs["end"][rows] = -1.0 if cause == "rejected" else -2.0  # the cause, for the records
        for f in jobs["flow"][rows].tolist():
            record = self.flows[self.flow_list[f].name]
            if cause == "rejected":
                record.rejected += 1
            else:
                record.site_down += 1

    def _fail(self, site: int, at_s: float) -> None:
        """The site fails at ``at_s``: the jobs waiting or in service there are lost."""
        jobs = self.jobs
        status, start, end = jobs["status"], jobs["start"], jobs["end"]
        here = jobs["site"] == site
        lost = np.flatnonzero(here & ((status == _WAITING) | ((status == _STARTED) & (end > at_s))))
        for row in lost.tolist():
            self.flows[self.flow_list[int(jobs["flow"][row])].name].site_down += 1
        status[lost] = _LOST
        start[lost] = np.minimum(np.nan_to_num(start[lost], nan=math.inf), at_s)
        end[lost] = at_s
        state = self.queues[site]
        spec = self.world.sites[site]
        state.queue = WindowedQueue(spec.servers, spec.queue_limit)
        state.waiting.clear()

    # -- replies ---------------------------------------------------------------------

    def _replies(self, end_s: float) -> None:
        """The services that ended before ``end_s``: their replies onto the links."""
        jobs = self.jobs
        pending = self.replies[jobs["status"][self.replies] == _STARTED]  # not lost meanwhile
        end = jobs["end"][pending]
        due = end < end_s
        self.replies = pending[~due]
        rows = pending[due][stable_argsort(end[due])]  # in time order, as SimPy
        if rows.size == 0:
            return
        jobs["status"][rows] = _DONE
        flow_of = jobs["flow"][rows]
        for f in np.unique(flow_of).tolist():
            self._reply(self.plans[self.flow_list[f].name], rows[flow_of == f])

    def _reply(self, plan: FlowPlan, rows: np.ndarray) -> None:
        """As the event evaluator's ``served``: the backhaul's loss, then (for a vehicle)
        its coverage and radio where it is when the service ends, then the links down."""
        jobs = self.jobs
        flow = plan.flow
        record = self.flows[flow.name]
        ended = jobs["end"][rows]
        if flow.reply_bytes == 0:
            jobs["last"][rows] = 0.0
            self._delivered(rows, ended)
            return
        ap, site = jobs["ap"][rows], jobs["site"][rows]
        table = self.tables[flow.name]
        u = self.loss_rng.random(rows.size)
        lost = u < table.route_loss[ap, jobs["k"][rows]]
        record.backhaul += int(lost.sum())
        if lost.any():
            paths = self.down_paths.truncated(ap[lost], site[lost], u[lost])
            ids = np.full(paths.shape[0], -1, dtype=np.int64)
            self.down_links.submit(ids, paths, ended[lost], np.full(ids.size, flow.reply_bytes))
        ok = ~lost
        last_s = np.full(rows.size, plan.last_s)
        if flow.source == "vehicle":
            vehicle = jobs["vehicle"][rows]
            active = ok & (ended < self.leave_s(vehicle))
            record.out_of_coverage += int((ok & ~active).sum())
            if active.any():
                station, radio_s = self._access(
                    plan,
                    plan.radio_down,
                    vehicle[active],
                    ended[active],
                    flow.reply_bytes,
                    plan.last_loss,
                )
                self._count_failed(plan, station)
                got = station >= 0
                last_s[active] += radio_s
                ok[np.flatnonzero(active)[~got]] = False
            ok &= active
        rows, ended = rows[ok], ended[ok]
        jobs["last"][rows] = last_s[ok]
        jobs["status"][rows] = _DOWN
        paths = self.down_paths.of(ap[ok], site[ok])
        self.down_links.submit(rows, paths, ended, np.full(rows.size, flow.reply_bytes))

    def _delivered(self, rows: np.ndarray, t_out: np.ndarray) -> None:
        """Replies out of the backhaul at ``t_out`` (or services ended, without a reply):
        recorded when they reach the vehicle before the end, with their six stages."""
        keep = rows >= 0
        rows, t_out = rows[keep], t_out[keep]
        if rows.size == 0:
            return
        jobs = self.jobs
        jobs["t_out"][rows] = t_out
        done_at = t_out + jobs["last"][rows]
        arrived = done_at < self.world.scenario.duration_s  # still in flight at the end otherwise
        rows, done_at, t_out = rows[arrived], done_at[arrived], t_out[arrived]
        order = stable_argsort(done_at)  # in time order, as SimPy records them
        rows, done_at, t_out = rows[order], done_at[order], t_out[order]
        flow_of = jobs["flow"][rows]
        for f in np.unique(flow_of).tolist():
            mine = flow_of == f
            r, done, out = rows[mine], done_at[mine], t_out[mine]
            record = self.flows[self.flow_list[f].name]
            t0, t_in, t_site = jobs["t0"][r], jobs["t_in"][r], jobs["arrival"][r]
            start, hold, ended = jobs["start"][r], jobs["hold"][r], jobs["end"][r]
            record.latencies_s.extend(done - t0)
            record.wait_s.extend(start - t_site)
            record.service_s.extend(hold)
            record.access_up_s.extend(t_in - t0)
            record.backhaul_up_s.extend(t_site - t_in)
            record.backhaul_down_s.extend(out - ended)
            record.access_down_s.extend(done - out)

    # -- the sites' records --------------------------------------------------------------

    def _compact(self, end_s: float) -> None:
        """Hand the finished jobs that arrived before every live one to the sites; drop them.

        Only once the table holds :data:`COMPACT_ROWS` rows and at least half of them
        can go, so a run of fewer jobs never compacts, and each row is copied a few
        times at most. The jobs go in arrival order (the sites' records need it): those
        that arrived before ``horizon``, the earliest a live or future job can arrive.
        The rows held elsewhere (replies due, requests bound for a site, jobs waiting in
        a queue, messages on the links) are renumbered.
        """
        jobs = self.jobs
        if jobs.size < COMPACT_ROWS:
            return
        live = jobs.live()
        arrival = jobs["arrival"]
        earliest = np.where(np.isnan(arrival), jobs["t_in"], arrival)[live]
        horizon = min(end_s, float(earliest.min())) if earliest.size else end_s
        gone = ~live & (arrival < horizon)
        if 2 * int(gone.sum()) < jobs.size:
            return
        self._record_sites(math.inf, rows=np.flatnonzero(gone), horizon_s=horizon)
        new_row = jobs.drop(gone)
        self.replies = new_row[self.replies]
        self.replies = self.replies[self.replies >= 0]  # jobs lost in an outage meanwhile
        self.to_sites = new_row[self.to_sites]  # requests off the links are live rows
        for state in self.queues:
            for job, row in state.waiting.items():
                state.waiting[job] = int(new_row[row])
        self.up_links.renumber(new_row)
        self.down_links.renumber(new_row)

    def _record_sites(
        self, duration_s: float, rows: np.ndarray | None = None, horizon_s: float | None = None
    ) -> None:
        """Hand each Site its jobs (``rows``, by default all: the run is over and the job
        table is dropped) in arrival order and in slices (a Site folds its records past a
        threshold), so its statistics are the event evaluator's; no job handed later
        arrives before ``horizon_s`` (by default: none is handed later)."""
        jobs = self.jobs
        every = np.arange(jobs.size) if rows is None else rows
        status, site_of, arrival = jobs["status"], jobs["site"], jobs["arrival"]
        arrived = every[np.isfinite(arrival[every]) & (arrival[every] < duration_s)]
        arrived = arrived[status[arrived] != _TRANSIT]
        services = [f.service or "" for f in self.flow_list]
        # by site, in arrival order within each (ties: row order)
        arrived = arrived[stable_argsort(arrival[arrived])]
        arrived = arrived[np.argsort(site_of[arrived].astype(np.int16), kind="stable")]
        bounds = np.searchsorted(site_of[arrived], np.arange(len(self.sites) + 1)).tolist()
        for s, site in enumerate(self.sites):
            mine = arrived[bounds[s] : bounds[s + 1]]
            refused = status[mine] == _REFUSED
            for cause, code in (("rejected", -1.0), ("site_down", -2.0)):
                picked = mine[refused & (jobs["end"][mine] == code)]
                site.record_refused(cause, jobs["arrival"][picked])
            mine = mine[~refused]
            for lo in range(0, max(mine.size, 1), _RECORD_SLICE):
                part = mine[lo : lo + _RECORD_SLICE]
                after = lo + _RECORD_SLICE
                start = np.nan_to_num(jobs["start"][part], nan=math.inf)
                end = np.nan_to_num(jobs["end"][part], nan=math.inf)
                start[start >= duration_s] = math.inf
                end[end >= duration_s] = math.inf
                site.record_jobs(
                    jobs["arrival"][part],
                    start,
                    end,
                    status[part] == _LOST,
                    jobs["flow"][part],
                    services,
                    horizon_s=float(jobs["arrival"][mine[after]])
                    if after < mine.size
                    else horizon_s,
                )
        if rows is None:
            # the run is over (the SimPy environment, still referenced by the sites, keeps
            # this evaluator alive until the cyclic garbage collector runs)
            self.jobs = _Jobs()
