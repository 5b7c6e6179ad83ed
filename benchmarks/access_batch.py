"""Radio access hops in bulk (avzone/engine/access_batch.py): hops per second, tracker cost.

    python -m benchmarks.access_batch [scenario.yaml] [--vehicles N] [--edges N]

Builds the scenario's world (default etown-baseline: 10 m samples, PC5
``v2v_urban`` and Uu ``uma`` tables), drives N vehicles along random routes of
``--edges`` edges each through the A3 tracker (``on_edge`` at every edge entry,
as the mobility process does), first with the per-sample ``enter`` loop the
event evaluator used before, then with ``A3Tracker.walk`` (checked to give the
same handovers and failures), and prints the walking cost per vehicle-km. Then
it evaluates random (vehicle, time) messages inside the drives with
``BatchAccess.hop`` for PC5, Uu up and Uu down and prints hops per second, and
the cost of one 1-s window's ``state_at`` with the log folded to the window.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from avzone.engine.access import Access
from avzone.engine.access_batch import BatchAccess
from avzone.engine.world import World
from avzone.radio import LinkState
from avzone.scenario import load_scenario
from avzone.vehicles.mobility import Vehicle

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "etown-baseline.yaml"


class _PerSample(Access):
    """The walk as it was: ``A3Tracker.enter`` on every sample (the reference)."""

    def _walk(self, state: LinkState, upto_s: float) -> None:
        assert self.tracker is not None
        edge = state.edge
        step, count = self._step[edge], self._count[edge]
        if upto_s == math.inf:
            k_now = count - 1
        else:
            k_now = min(count - 1, int((upto_s - state.t_enter_s) * state.speed_mps / step))
        start = self._start[edge]
        for k in range(state.k + 1, k_now + 1):
            self.tracker.enter(state, start + k, state.t_enter_s + k * step / state.speed_mps)
        state.k = max(state.k, k_now)
        if upto_s != math.inf:
            self.tracker.advance(state, upto_s)


def _routes(
    world: World, n_vehicles: int, n_edges: int, rng: np.random.Generator
) -> list[list[tuple[int, float]]]:
    """Per vehicle, (edge, entry time) along a random walk on the road graph."""
    ends: dict[object, list[int]] = {}
    heads: list[object] = [None] * len(world.edge_index)
    for (u, v, _), e in world.edge_index.items():
        ends.setdefault(u, []).append(e)
        heads[e] = v
    routes = []
    for _ in range(n_vehicles):
        edge = int(rng.integers(len(heads)))
        t = float(rng.uniform(0.0, 10.0))
        route = []
        for _ in range(n_edges):
            route.append((edge, t))
            t += float(world.edge_length_m[edge] / world.edge_speed_mps[edge])
            nxt = ends.get(heads[edge])
            if not nxt:
                break
            edge = nxt[int(rng.integers(len(nxt)))]
        route.append((-1, t))  # leaves
        routes.append(route)
    return routes


def _drive(access: Access, world: World, routes: list[list[tuple[int, float]]]) -> float:
    """Every vehicle through its route (on_edge at each entry, leave at the end): seconds."""
    t0 = time.perf_counter()
    for ident, route in enumerate(routes):
        vehicle = Vehicle(ident, np.zeros(1))
        for edge, t in route[:-1]:
            vehicle.edge = edge
            vehicle.edge_length_m = float(world.edge_length_m[edge])
            vehicle.speed_mps = float(world.edge_speed_mps[edge])
            vehicle.t_enter_s = t
            access.on_edge(vehicle, t)
        access.leave(vehicle, route[-1][1])
    return time.perf_counter() - t0


def _messages(
    world: World, routes: list[list[tuple[int, float]]], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random (vehicle, time, sample) inside the drives."""
    vehicle = rng.integers(len(routes), size=n)
    t_start = np.array([r[0][1] for r in routes])
    t_end = np.array([r[-1][1] for r in routes])
    t = t_start[vehicle] + rng.random(n) * (t_end - t_start)[vehicle]
    sample = np.empty(n, dtype=np.int64)
    starts, counts, steps = world.samples.start, world.samples.count, world.samples.step_m
    for v in np.unique(vehicle):
        mine = np.flatnonzero(vehicle == v)
        entries = np.array([x[1] for x in routes[v]])
        edges = np.array([x[0] for x in routes[v][:-1]])
        leg = np.searchsorted(entries, t[mine], side="right") - 1
        edge = edges[np.minimum(leg, edges.size - 1)]
        k = ((t[mine] - entries[leg]) * world.edge_speed_mps[edge] / steps[edge]).astype(np.int64)
        sample[mine] = starts[edge] + np.minimum(k, counts[edge] - 1)
    return vehicle.astype(np.int64), t, sample


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", default=str(SCENARIO))
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=10)
    parser.add_argument("--hops", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    world = World.build(load_scenario(args.scenario))
    print(f"world: {len(world.samples.xy):,} samples in {time.perf_counter() - t0:.1f} s")
    routes = _routes(world, args.vehicles, args.edges, rng)
    km = sum(float(world.edge_length_m[e].sum()) for e in ([x[0] for x in r[:-1]] for r in routes))
    km /= 1000
    old = _PerSample(world)
    old_s = _drive(old, world, routes)
    new = BatchAccess(world)
    new_s = _drive(new, world, routes)
    assert (old.handovers, old.link_failures) == (new.handovers, new.link_failures)
    print(
        f"tracker: {args.vehicles} vehicles, {km:,.0f} vehicle-km, {new.handovers:,} handovers,"
        f" {new.link_failures:,} link failures, {new.log_size:,} log entries"
    )
    print(
        f"  per-sample enter: {old_s:.2f} s = {old_s / km * 1e6:,.0f} µs per vehicle-km;"
        f" A3Tracker.walk: {new_s:.2f} s = {new_s / km * 1e6:,.0f} µs per vehicle-km"
        f" ({old_s / new_s:.1f}×)"
    )
    vehicle, t, sample = _messages(world, routes, args.hops, rng)
    u_harq, u_slot = rng.random(args.hops), rng.random(args.hops)
    for system in ("pc5", "uu_up", "uu_down"):
        if not new.has(system):
            continue
        new.hop(system, vehicle[:1000], sample[:1000], 300, t[:1000], u_harq[:1000], u_slot[:1000])
        t1 = time.perf_counter()
        station, _ = new.hop(system, vehicle, sample, 300, t, u_harq, u_slot)
        wall = time.perf_counter() - t1
        shares = {x: float(np.mean(station == x)) for x in (-1, -2)}
        print(
            f"hop {system}: {args.hops:,} hops of 300 B in {wall:.2f} s ="
            f" {args.hops / wall / 1e6:.2f} M hops/s (out of coverage {shares[-1]:.3f},"
            f" lost {shares[-2]:.4f})"
        )
    # one 1-s window in the middle, the log folded to its start: what state_at costs
    mid = float(np.median(t))
    new.fold(mid)
    window = (t >= mid) & (t < mid + 1.0)
    n_window = int(window.sum())
    reps = max(1, 1_000_000 // max(1, n_window))
    t1 = time.perf_counter()
    for _ in range(reps):
        new.state_at(vehicle[window], t[window])
    wall = (time.perf_counter() - t1) / reps
    print(
        f"state_at: {n_window:,} queries of one 1-s window against {new.log_size:,} log entries"
        f" (folded) in {wall * 1e3:.2f} ms = {n_window / wall / 1e6:.2f} M look-ups/s"
    )


if __name__ == "__main__":
    main()
