"""Radio access hops in bulk (avzone/engine/access_batch.py) against the per-message Access.

References: the event evaluator's :class:`avzone.engine.access.Access` (itself
validated in tests/test_radio_handover.py and tests/test_radio_link.py) driven
through the same edge entries and fed the same uniforms; the A3 rule of 3GPP
TS 38.331 §5.5.4.4 applied by hand to a straight road between two cells; and
the HARQ closed form P(lost) = p^N for N independent tries failing with
probability p.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tinyzone import grid_map, scenario_dict, straight_road_map, write_scenario

from avzone.engine.access import LOST, OUT_OF_COVERAGE, Access
from avzone.engine.access_batch import BatchAccess
from avzone.engine.world import World
from avzone.scenario import load_scenario
from avzone.vehicles.mobility import Vehicle

CELLS = [[x, y] for x in (0, 333, 667, 1000) for y in (0, 500, 1000)] + [[250, 250], [750, 750]]


def _grid_world(folder: Path, during: str, ttt_ms: float = 2000) -> World:
    """A 3 × 3 grid of 500 m roads, 14 cells and three RSUs with random LOS and shadowing
    (many handovers; radio link failures where the serving cell falls out of the 8 strongest),
    a 2 s time-to-trigger (long stays on a cell that is
    not the best), a 400 ms interruption and two HARQ tries (losses are frequent)."""
    data = scenario_dict(grid_map(folder))
    data["road"]["rsu"]["place"]["positions_m"] = [[500, 0], [500, 1000], [0, 500]]
    data["road"]["rsu"]["pc5"]["radio"] = {"model": "v2v_urban", "harq": {"max_tx": 2}}
    data["network"]["cells"] = {
        "place": {"rule": "list", "positions_m": CELLS},
        "radio": {"model": "uma", "load": 0.5, "harq": {"max_tx": 2}},
        "handover": {"ttt_ms": ttt_ms, "interruption_ms": 400, "during": during},
    }
    return World.build(load_scenario(write_scenario(folder, data)))


def _routes(world: World, n: int, edges: int, rng: np.random.Generator) -> list[list[Any]]:
    """Per vehicle, (edge, entry time) along a random walk, then (−1, leave time)."""
    after: dict[object, list[int]] = {}
    head: dict[int, object] = {}
    for (u, v, _), e in world.edge_index.items():
        after.setdefault(u, []).append(e)
        head[e] = v
    routes = []
    for _ in range(n):
        edge, t = int(rng.integers(len(head))), float(rng.uniform(0, 20))
        route: list[Any] = []
        for _ in range(edges):
            route.append((edge, t))
            t += float(world.edge_length_m[edge] / world.edge_speed_mps[edge])
            edge = after[head[edge]][int(rng.integers(len(after[head[edge]])))]
        routes.append([*route, (-1, t)])
    return routes


def _enter(world: World, vehicle: Vehicle, edge: int, t: float) -> None:
    """What the mobility process does as the vehicle begins an edge."""
    vehicle.edge = edge
    vehicle.edge_length_m = float(world.edge_length_m[edge])
    vehicle.speed_mps = float(world.edge_speed_mps[edge])
    vehicle.t_enter_s = t


def _sample(world: World, edge: int, t_enter: float, t: float) -> int:
    """The road sample at ``t`` on ``edge`` entered at ``t_enter`` (as Access._walk counts)."""
    step = float(world.samples.step_m[edge])
    k = int((t - t_enter) * float(world.edge_speed_mps[edge]) / step)
    return int(world.samples.start[edge]) + min(int(world.samples.count[edge]) - 1, k)


def _queries(
    world: World, routes: list[list[Any]], per_vehicle: int, rng: np.random.Generator
) -> list[tuple[float, int, int]]:
    """Random (time, vehicle, sample) inside each vehicle's drive, in time order."""
    out = []
    for ident, route in enumerate(routes):
        for t in rng.uniform(route[0][1], route[-1][1], per_vehicle):
            i = max(i for i, (_, te) in enumerate(route[:-1]) if te <= t)
            out.append((float(t), ident, _sample(world, route[i][0], route[i][1], float(t))))
    return sorted(out)


SYSTEMS = ("pc5", "uu_up", "uu_down")


def _reference(
    world: World, routes: list[list[Any]], queries: list[Any], u: np.ndarray
) -> dict[str, Any]:
    """The event evaluator's Access: edge entries and messages in time order, each hop
    fed its message's two uniforms (HARQ, then slot)."""
    access = Access(world)
    vehicles = [Vehicle(i, np.zeros(1)) for i in range(len(routes))]
    events = sorted(
        [(t, 0, i, e) for i, r in enumerate(routes) for e, t in r]
        + [(t, 1, i, n) for n, (t, i, _) in enumerate(queries)]
    )
    serving, until = [], []
    hops: dict[str, list[tuple[int, float]]] = {s: [] for s in SYSTEMS}
    for t, kind, i, x in events:
        vehicle = vehicles[i]
        if kind == 0:
            if x < 0:
                access.leave(vehicle, t)
            else:
                _enter(world, vehicle, x, t)
                access.on_edge(vehicle, t)
            continue
        access.on_edge(vehicle, t)
        state = access.states[vehicle]
        serving.append(state.serving)
        until.append(state.interrupted_until_s)
        for s, system in enumerate(SYSTEMS):
            access.draw = iter(u[x, s].tolist()).__next__  # type: ignore[assignment]
            hops[system].append(access.hop(system, vehicle, queries[x][2], 1200, t))
    return {
        "serving": serving,
        "until": until,
        "hops": hops,
        "counts": (access.handovers, access.link_failures),
    }


def _batch(
    world: World, routes: list[list[Any]], queries: list[Any], u: np.ndarray
) -> dict[str, Any]:
    """BatchAccess as the batch evaluator drives it: edge entries as they happen, then per
    1-s window catch_up at its end, the window's messages in bulk, fold."""
    access = BatchAccess(world)
    vehicles = [Vehicle(i, np.zeros(1)) for i in range(len(routes))]
    entries = sorted((t, i, e) for i, r in enumerate(routes) for e, t in r)
    q_t = np.array([q[0] for q in queries])
    q_v = np.array([q[1] for q in queries], dtype=np.int64)
    q_s = np.array([q[2] for q in queries], dtype=np.int64)
    serving = np.empty(len(queries), dtype=np.int64)
    until = np.empty(len(queries))
    station = {s: np.empty(len(queries), dtype=np.int64) for s in SYSTEMS}
    delay = {s: np.empty(len(queries)) for s in SYSTEMS}
    active: dict[int, Vehicle] = {}
    n, biggest = 0, 0
    for end in np.arange(1.0, math.ceil(entries[-1][0]) + 1.0):
        while n < len(entries) and entries[n][0] < end:
            t, i, e = entries[n]
            n += 1
            if e < 0:
                access.leave(vehicles[i], t)
                del active[i]
            else:
                _enter(world, vehicles[i], e, t)
                access.on_edge(vehicles[i], t)
                active[i] = vehicles[i]
        access.catch_up(float(end))
        w = np.flatnonzero((q_t >= end - 1.0) & (q_t < end))
        serving[w], until[w] = access.state_at(q_v[w], q_t[w])
        for s, system in enumerate(SYSTEMS):
            station[system][w], delay[system][w] = access.hop(
                system, q_v[w], q_s[w], 1200, q_t[w], u[w, s, 0], u[w, s, 1]
            )
        access.fold(float(end))
        biggest = max(biggest, access.log_size - len(active))
    return {
        "serving": serving,
        "until": until,
        "station": station,
        "delay": delay,
        "counts": (access.handovers, access.link_failures),
        "biggest": biggest,
    }


@pytest.mark.parametrize("during", ["wait", "lose"])
def test_batch_hops_equal_the_event_evaluators(tmp_path: Path, during: str) -> None:
    """Reference: Access (the event evaluator's per-message hop) on the same drives.

    12 vehicles, 8 random 500 m edges each, 900 random message times per vehicle. The
    handover log's state at each time equals Access's state caught up to that time, and
    every PC5 / Uu-up / Uu-down hop gives the same station (or out of coverage / lost) and
    the same delay as Access.hop fed the same two uniforms. The drives exercise every
    branch (checked): radio link failures, HARQ losses, messages through a cell that is not
    the sample's best (during the time-to-trigger), messages inside a handover interruption
    (waiting or lost)."""
    world = _grid_world(tmp_path, during)
    rng = np.random.default_rng(3)
    routes = _routes(world, 12, 8, rng)
    queries = _queries(world, routes, 900, rng)
    u = rng.random((len(queries), len(SYSTEMS), 2))
    u[::97, :, 0] = 0.0  # u = 0 (ln u = −inf) takes 1e-300 in both
    ref = _reference(world, routes, queries, u)
    got = _batch(world, routes, queries, u)
    assert ref["counts"] == got["counts"]
    assert got["counts"][0] > 100
    assert got["counts"][1] > 5
    assert got["serving"].tolist() == ref["serving"]
    assert got["until"].tolist() == ref["until"]
    for system in SYSTEMS:
        stations = [s for s, _ in ref["hops"][system]]
        assert got["station"][system].tolist() == stations, system
        np.testing.assert_allclose(
            got["delay"][system], [d for _, d in ref["hops"][system]], rtol=1e-12, atol=0
        )
        assert LOST in stations
        assert OUT_OF_COVERAGE in stations
    table = world.uu_table
    assert table is not None
    q_t = np.array([q[0] for q in queries])
    q_s = np.array([q[2] for q in queries])
    through_other = (got["serving"] >= 0) & (got["serving"] != table.best[q_s])
    ok = got["station"]["uu_down"] >= 0
    assert (through_other & ok).sum() > 50
    interrupted = (got["until"] > q_t) & (table.sinr_db[q_s] >= table.radio.sinr_min_db)
    assert interrupted.sum() > 20
    if during == "lose":  # lost unless out of coverage anyway
        assert np.isin(got["station"]["uu_down"][interrupted], [LOST, OUT_OF_COVERAGE]).all()
        assert (got["station"]["uu_down"][interrupted] == LOST).sum() > 20
    else:
        assert (interrupted & ok).sum() > 20
        waited = got["delay"]["uu_down"][interrupted & ok]
        assert (waited > (got["until"] - q_t)[interrupted & ok]).all()
    # folded at every window end: the log holds little more than one entry per active vehicle
    assert got["biggest"] < 30


def _data_two_cells(folder: Path) -> dict[str, Any]:
    """A straight 1000 m road with a cell at each end, LOS, no shadowing (monotone powers)."""
    data = scenario_dict(straight_road_map(folder))
    data["network"]["cells"] = {
        "place": {"rule": "list", "positions_m": [[0, 0], [1000, 0]]},
        "radio": {"model": "uma", "los": "always", "shadowing": False, "load": 0.0},
        "handover": {"ttt_ms": 160, "interruption_ms": 30},
    }
    return data


def test_handover_at_the_a3_sample_plus_ttt_by_hand(tmp_path: Path) -> None:
    """Reference: the A3 rule by hand on a straight road between two cells (as in
    tests/test_radio_handover.py): attach to the stronger cell at t = 0, hand over at the
    first sample (1 s each) where the other cell is 3 dB stronger, + the 160 ms TTT; the
    state just before is the first cell without interruption, at and after it the other
    cell interrupted for 30 ms; nothing before the vehicle's first entry."""
    world = World.build(load_scenario(write_scenario(tmp_path, _data_two_cells(tmp_path))))
    table = world.uu_table
    assert table is not None
    access = BatchAccess(world)
    vehicle = Vehicle(7, np.zeros(1))
    _enter(world, vehicle, 0, 0.0)
    access.on_edge(vehicle, 0.0)
    access.catch_up(100.0)
    start = int(world.samples.start[0])
    first = int(table.best[start])
    other = 1 - first
    rx = [
        dict(zip(table.top[start + k].tolist(), table.top_rx_dbm[start + k].tolist(), strict=False))
        for k in range(100)
    ]
    k_switch = next(k for k in range(100) if rx[k][other] > rx[k][first] + 3.0)
    t_ho = k_switch + 0.16
    times = np.array([-1.0, 0.0, t_ho - 1e-9, t_ho, t_ho + 0.0299, 99.0])
    serving, until = access.state_at(np.full(times.size, 7), times)
    assert serving.tolist() == [-1, first, first, other, other, other]
    assert until.tolist() == [-1.0, -1.0, -1.0, t_ho + 0.03, t_ho + 0.03, t_ho + 0.03]
    assert access.handovers == 1
    assert access.log_size == 2  # the attach and the handover
    assert access.state_at(np.array([8]), np.array([50.0]))[0].tolist() == [-1]  # no such vehicle


def test_pc5_loss_share_is_p_to_the_max_tx(tmp_path: Path) -> None:
    """Reference: HARQ with N = 3 independent tries failing with p = 0.2 loses p³ = 0.008
    (within 3 binomial standard errors of 1 M hops), and the delivered hops take
    1 ms + U(0, 1 ms slot) + F × 4 ms with E[F | delivered] = (p(1−p) + 2p²(1−p)) / (1 − p³)
    (as tests/test_radio_handover.py's per-message check)."""
    data = scenario_dict(straight_road_map(tmp_path))
    data["road"]["rsu"]["pc5"]["radio"] = {"model": "v2v_urban", "harq": {"max_tx": 3, "rtt_ms": 4}}
    world = World.build(load_scenario(write_scenario(tmp_path, data)))
    access = BatchAccess(world)
    n_samples = len(world.samples.xy)
    leg = access._leg("pc5", 300)
    access._legs[("pc5", 300)] = type(leg)(
        [0] * n_samples, [0.001] * n_samples, [math.log(0.2)] * n_samples, 3, 0.004, 0.001, -99.0
    )
    rng = np.random.default_rng(11)
    n = 1_000_000
    sample = rng.integers(n_samples, size=n)
    station, delay = access.hop(
        "pc5", np.zeros(n, np.int64), sample, 300, rng.random(n), rng.random(n), rng.random(n)
    )
    p = 0.2
    lost = float(np.mean(station == LOST))
    assert lost == pytest.approx(p**3, abs=3 * math.sqrt(p**3 * (1 - p**3) / n))
    assert set(np.unique(station).tolist()) == {LOST, 0}
    retries = (p * (1 - p) + 2 * p**2 * (1 - p)) / (1 - p**3)
    mean = 0.001 + 0.0005 + 0.004 * retries
    delivered = delay[station == 0]
    assert float(delivered.mean()) == pytest.approx(mean, abs=3 * delivered.std() / math.sqrt(n))


@pytest.mark.parametrize("ttt_ms", [0, 2000])
def test_tracker_walk_equals_entering_every_sample(tmp_path: Path, ttt_ms: float) -> None:
    """Reference: A3Tracker.enter on every sample (the walk before A3Tracker.walk skipped
    the samples where nothing can change), with and without time-to-trigger. Along random
    routes on the grid with random LOS, the changes (time, serving, interrupted until) and
    the handover and failure counts are identical."""
    world = _grid_world(tmp_path, "wait", ttt_ms)
    routes = _routes(world, 30, 8, np.random.default_rng(5))
    logs = []
    for walk in (False, True):
        access = Access(world)
        tracker = access.tracker
        assert tracker is not None
        log: list[tuple[float, int, float]] = []
        tracker.on_change = lambda s, t, log=log: log.append((t, s.serving, s.interrupted_until_s))
        for route in routes:
            state = tracker.new_state()
            for edge, t0 in route[:-1]:
                start, count = int(world.samples.start[edge]), int(world.samples.count[edge])
                step, speed = float(world.samples.step_m[edge]), float(world.edge_speed_mps[edge])
                if walk:
                    tracker.walk(state, start, 0, count - 1, t0, step, speed)
                else:
                    for k in range(count):
                        tracker.enter(state, start + k, t0 + k * step / speed)
                assert state.sample == start + count - 1
        logs.append((log, tracker.handovers, tracker.failures))
    assert logs[0] == logs[1]
    assert logs[0][1] > 50
    assert logs[0][2] > 0
