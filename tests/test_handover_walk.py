"""The compiled handover walk (avzone/engine/handover_walk.py) against the Python one.

Reference: the event evaluator's walk, :meth:`avzone.engine.access.Access.on_edge`
over :class:`avzone.radio.handover.A3Tracker` in Python (itself validated by hand in
tests/test_radio_handover.py and tests/test_access_batch.py), driven by the same calls;
and the batch evaluator with that Python walk in place of the compiled one. Both must
give the same changes, change by change and to the last bit, and the same counts.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tinyzone import grid_map, scenario_dict, vehicle_flows, write_scenario

import avzone
from avzone.engine import batch
from avzone.engine.access import Access
from avzone.engine.access_batch import BatchAccess
from avzone.engine.handover_log import HandoverLog
from avzone.engine.handover_walk import FleetWalk
from avzone.engine.world import World
from avzone.scenario import load_scenario
from avzone.vehicles.mobility import Vehicle

CELLS = [[x, y] for x in (0, 400, 800, 1200) for y in (100, 500, 900, 1300)]
"""16 cells over the 4 × 4 grid of 400 m roads."""

ETOWN = Path(__file__).resolve().parents[1] / "scenarios" / "etown-peak.yaml"

Call = tuple[float, int, str, int, int]
"""(time, order, what, vehicle, edge): an edge entry ("enter"), a look-up on the same
edge ("look"), a departure ("leave"), or a window end ("window", vehicle and edge −1)."""


def _grid_world(folder: Path, ttt_ms: float) -> World:
    """A 4 × 4 grid of 400 m roads and 16 cells with random LOS and shadowing, loaded
    (many handovers; radio link failures where the serving cell falls out of the 8
    strongest)."""
    data = scenario_dict(grid_map(folder, n=4, spacing_m=400.0))
    data["network"]["cells"] = {
        "place": {"rule": "list", "positions_m": CELLS},
        "radio": {"model": "uma", "load": 0.5},
        "handover": {"ttt_ms": ttt_ms, "interruption_ms": 50},
    }
    return World.build(load_scenario(write_scenario(folder, data)))


def _calls(world: World, n_vehicles: int, n_edges: int, rng: np.random.Generator) -> list[Call]:
    """Vehicles on random routes (a wait of 0–20 s at half the edge ends, as at signals),
    some look-ups inside edges (a third of them exactly at a sample's entry time, where
    ``int((t − t_enter) · v / step)`` is on the edge of rounding), departures, and 1-s
    window ends, in time order."""
    after: dict[object, list[int]] = {}
    head: dict[int, object] = {}
    for (u, v, _), e in world.edge_index.items():
        after.setdefault(u, []).append(e)
        head[e] = v
    step, speed = world.samples.step_m, world.edge_speed_mps
    calls: list[Call] = []
    for ident in range(n_vehicles):
        edge, t = int(rng.integers(len(head))), float(rng.uniform(0, 30))
        for _ in range(n_edges):
            calls.append((t, len(calls), "enter", ident, edge))
            drive_s = float(world.edge_length_m[edge] / speed[edge])
            for _ in range(int(rng.integers(3))):
                if rng.random() < 1 / 3:
                    k = int(rng.integers(int(world.samples.count[edge])))
                    at = t + k * float(step[edge]) / float(speed[edge])
                else:
                    at = t + float(rng.uniform(0, drive_s))
                calls.append((at, len(calls), "look", ident, edge))
            t += drive_s + (float(rng.uniform(0, 20)) if rng.random() < 0.5 else 0.0)
            choices = after[head[edge]]
            edge = choices[int(rng.integers(len(choices)))]
        calls.append((t, len(calls), "leave", ident, -1))
    end = max(c[0] for c in calls)
    calls += [(float(w), len(calls) + w, "window", -1, -1) for w in range(1, math.ceil(end) + 2)]
    return sorted(calls)


def _python_walk(world: World, calls: list[Call]) -> tuple[list[Any], tuple[int, int]]:
    """The Python walk (Access.on_edge) driven by ``calls``: the changes
    (vehicle, time, serving, interrupted until) as A3Tracker.on_change reports them, and
    the (handovers, radio link failures)."""
    access = Access(world)
    tracker = access.tracker
    assert tracker is not None
    log: list[Any] = []
    tracker.on_change = lambda s, t: log.append((s.owner, t, s.serving, s.interrupted_until_s))
    vehicles: dict[int, Vehicle] = {}
    for t, _, what, ident, edge in calls:
        if what == "window":
            for vehicle in list(access.states):
                access.on_edge(vehicle, t)
            continue
        vehicle = vehicles.setdefault(ident, Vehicle(ident, np.zeros(1)))
        if what == "enter":
            _enter(world, vehicle, edge, t)
            if vehicle not in access.states:
                access.states[vehicle] = tracker.new_state()
                access.states[vehicle].owner = ident
            access.on_edge(vehicle, t)
        elif what == "look":
            access.on_edge(vehicle, t)
        else:
            access.leave(vehicle, t)
    return log, (tracker.handovers, tracker.failures)


def _compiled_walk(world: World, calls: list[Call]) -> tuple[list[Any], tuple[int, int]]:
    """FleetWalk driven by ``calls`` (window ends: catch_up); its log, unfolded."""
    table = world.uu_table
    assert table is not None
    log = HandoverLog()
    fleet = FleetWalk(table, world.samples, world.scenario.network.cells.handover, log)
    vehicles: dict[int, Vehicle] = {}
    for t, _, what, ident, edge in calls:
        if what == "window":
            fleet.catch_up(t)
            continue
        vehicle = vehicles.setdefault(ident, Vehicle(ident, np.zeros(1)))
        if what == "enter":
            _enter(world, vehicle, edge, t)
        call = fleet.leave if what == "leave" else fleet.on_edge
        call(ident, t, vehicle.edge, vehicle.t_enter_s, vehicle.speed_mps)
    fleet.apply()
    size = log.size
    changes = list(
        zip(
            log.who[:size].tolist(),
            log.when[:size].tolist(),
            log.serving[:size].tolist(),
            log.until[:size].tolist(),
            strict=True,
        )
    )
    return changes, (fleet.handovers, fleet.failures)


def _enter(world: World, vehicle: Vehicle, edge: int, t: float) -> None:
    """What the mobility process does as the vehicle begins an edge."""
    vehicle.edge = edge
    vehicle.edge_length_m = float(world.edge_length_m[edge])
    vehicle.speed_mps = float(world.edge_speed_mps[edge])
    vehicle.t_enter_s = t


def _by_vehicle(changes: list[Any]) -> dict[int, list[Any]]:
    """Each vehicle's changes in log order (the order within a vehicle is what counts)."""
    out: dict[int, list[Any]] = {}
    for change in changes:
        out.setdefault(change[0], []).append(change)
    return out


def _assert_same_walk(world: World, calls: list[Call]) -> tuple[list[Any], tuple[int, int]]:
    ref, ref_counts = _python_walk(world, calls)
    got, got_counts = _compiled_walk(world, calls)
    assert got_counts == ref_counts
    assert len(got) == len(ref)
    assert _by_vehicle(got) == _by_vehicle(ref)
    return ref, ref_counts


@pytest.mark.parametrize("ttt_ms", [0, 160, 2000])
def test_compiled_walk_logs_the_python_walks_changes(tmp_path: Path, ttt_ms: float) -> None:
    """300 vehicles, 10 random edges each on the grid, with waits at edge ends, look-ups
    inside edges (some exactly at sample entry times), departures and 1-s windows: every
    vehicle's changes (time, serving cell, interrupted until), in order, and the
    handover and radio link failure counts are those of the Python walk, with no
    time-to-trigger, the default 160 ms and a long 2 s one. The drives cover attaches,
    handovers and radio link failures (checked)."""
    world = _grid_world(tmp_path, ttt_ms)
    calls = _calls(world, 300, 10, np.random.default_rng(int(ttt_ms) + 1))
    ref, (handovers, failures) = _assert_same_walk(world, calls)
    assert handovers > 1000
    assert failures > 20
    attaches = len(ref) - handovers - failures
    assert attaches >= 300


def test_compiled_walk_on_etown() -> None:
    """The same on the synthetic E-Town (etown-peak's 121 cells, 78 418 samples of ≤ 10 m):
    400 vehicles, 12 random edges each (about 26 000 handovers, 4 800 radio link
    failures)."""
    world = World.build(load_scenario(ETOWN))
    calls = _calls(world, 400, 12, np.random.default_rng(8))
    _, (handovers, failures) = _assert_same_walk(world, calls)
    assert handovers > 20_000
    assert failures > 3_000


class _PythonWalkAccess(BatchAccess):
    """BatchAccess with the handover walk as it was before it was compiled: Access.on_edge
    (A3Tracker, in Python) for each vehicle at each call, each change logged as
    A3Tracker.on_change reports it, and catch_up walking every vehicle in the zone."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        tracker = self.tracker
        assert tracker is not None
        tracker.on_change = lambda s, t: self.log.append(
            s.owner, t, s.serving, s.interrupted_until_s
        )

    def on_edge(self, vehicle: Vehicle, now_s: float) -> None:
        assert self.tracker is not None
        if vehicle not in self.states:
            self.states[vehicle] = self.tracker.new_state()
            self.states[vehicle].owner = vehicle.ident
        Access.on_edge(self, vehicle, now_s)

    def leave(self, vehicle: Vehicle, now_s: float) -> None:
        Access.leave(self, vehicle, now_s)

    def catch_up(self, now_s: float) -> None:
        for vehicle in list(self.states):
            Access.on_edge(self, vehicle, now_s)

    def fold(self, before_s: float) -> None:
        size = self.log.size
        n = max([int(self.log.who[:size].max(initial=-1))] + [v.ident for v in self.states])
        alive = np.zeros(n + 1, dtype=bool)
        alive[[v.ident for v in self.states]] = True
        self.log.fold(before_s, alive)

    @property
    def handovers(self) -> int:
        assert self.tracker is not None
        return self.tracker.handovers

    @property
    def link_failures(self) -> int:
        assert self.tracker is not None
        return self.tracker.failures


def _radio_scenario(folder: Path) -> Path:
    """A 4 × 4 grid of 400 m roads, 40 vehicles and Poisson arrivals for 150 s, signal
    waits, PC5 and Uu SINR radio with handovers (16 UMi cells), a Uu control loop."""
    data = scenario_dict(grid_map(folder, n=4, spacing_m=400.0))
    data.update(
        {
            "engine": "batch",
            "duration_s": 150,
            "warmup_s": 20,
            "seed": 5,
        }
    )
    data["road"]["rsu"]["pc5"]["radio"] = {"model": "v2v_urban"}
    data["car"] = {
        "fleet": {"arrivals": "poisson", "rate_per_h": 900, "initial_vehicles": 40},
        "mobility": {"signal_wait_max_s": 20},
        "flows": vehicle_flows(),
    }
    data["network"]["cells"] = {
        "place": {"rule": "list", "positions_m": CELLS},
        "radio": {"model": "umi"},
    }
    data["cloud"]["services"] = {
        "planning": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 2}}
    }
    return write_scenario(folder, data, "radio.yaml")


def test_batch_run_with_the_python_walk_is_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole batch run (vehicles driving in SimPy, edge entries, signal waits,
    departures, a catch-up and a fold per window, every Uu hop looked up in the log) gives
    the same summary, to the last digit, with the Python walk in place of the compiled
    one; hundreds of handovers and some radio link failures happen."""
    path = _radio_scenario(tmp_path)
    compiled = avzone.run(path).summary
    monkeypatch.setattr(batch, "BatchAccess", _PythonWalkAccess)
    python = avzone.run(path).summary
    assert compiled["engine"] == python["engine"] == "batch"
    assert compiled == python
    assert compiled["network"]["handovers"] > 500
    assert compiled["network"]["radio_link_failures"] > 50
