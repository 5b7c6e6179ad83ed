"""HD-map staleness on a hand-checkable case (the model of avzone/hdmap/process.py).

Straight 1000 m road, 400 m tiles: tile 0 is x in [0, 400). A vehicle at
10 m/s is in tile 0 from t = 0 to 40 s. The download time is the Uu downlink
latency plus the tile size at the downlink rate: 4 ms + 2 MB · 8 / 200 Mbit/s
= 0.084 s. Every expected value is computed from these by hand.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.engine import World
from avzone.hdmap.process import HdMap, release_time_s
from avzone.vehicles.mobility import Vehicle

DOWNLOAD_S = 0.004 + 2_000_000 * 8 / 200e6


@pytest.fixture
def world(tmp_path: Path) -> World:
    data = scenario_dict(straight_road_map(tmp_path))
    data["hdmap"] = {
        "tiles": {"size_m": 400, "size_bytes": 2_000_000},
        "changes": {"rate_per_tile_per_h": 0},
        "release": {"mode": "continuous", "delay_s": 60},
    }
    data["network"]["cells"].update(downlink_latency_ms=4, downlink_rate_mbps=200)
    return avzone.build_world(write_scenario(tmp_path, data))


def _vehicle_on_road(world: World, hd: HdMap, speed_mps: float) -> Vehicle:
    vehicle = Vehicle(0, hd.released.copy())
    (edge,) = [
        i
        for i, (u, v, _) in enumerate(world.samples.edges)
        if world.graph.nodes[u]["x"] < world.graph.nodes[v]["x"]
    ]
    vehicle.edge, vehicle.edge_length_m, vehicle.speed_mps = edge, 1000.0, speed_mps
    return vehicle


def _script(
    env: simpy.Environment, hd: HdMap, vehicle: Vehicle, leave_at_s: float | None
) -> Generator[Any, Any, None]:
    vehicle.tile = 0  # as drive() does: the vehicle's tile, then the listener
    hd.enter(vehicle, 0)
    yield env.timeout(10)
    hd.change(0)
    if leave_at_s is not None:
        yield env.timeout(leave_at_s - 10)
        hd.leave(vehicle, 0)


def test_vehicle_leaving_before_the_release_is_stale_until_it_leaves(world: World) -> None:
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    vehicle = _vehicle_on_road(world, hd, 10.0)
    env.process(_script(env, hd, vehicle, leave_at_s=40.0))
    env.run(until=200)
    hd.finish()
    assert hd.staleness_s == [30.0]  # changed at 10 s, left tile 0 at 40 s
    assert hd.stale_km == [pytest.approx(0.3)]  # 30 s at 10 m/s
    assert hd.update_lag_s == [60.0]  # continuous release 60 s after the change
    assert hd.deliveries == 0  # nobody was in the tile at the release


def test_vehicle_in_the_tile_gets_the_push_after_the_download(world: World) -> None:
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    vehicle = _vehicle_on_road(world, hd, 1.0)  # 1 m/s: in tile 0 for 400 s
    env.process(_script(env, hd, vehicle, leave_at_s=None))
    env.run(until=200)
    hd.finish()
    assert hd.staleness_s == [pytest.approx(60.0 + DOWNLOAD_S)]
    assert hd.deliveries == 1
    assert vehicle.map_versions[0] == 1


def test_a_vehicle_entering_later_pulls_the_released_version(world: World) -> None:
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    hd.change(1)
    env.run(until=100)  # released at 60 s
    vehicle = _vehicle_on_road(world, hd, 10.0)
    vehicle.map_versions[:] = 0  # an old map
    vehicle.t_enter_s = 60.0  # at x = 400 m at t = 100 s
    vehicle.tile = 1
    hd.enter(vehicle, 1)
    env.run(until=150)
    hd.finish()
    assert hd.staleness_s == [pytest.approx(DOWNLOAD_S)]


@pytest.mark.parametrize(
    ("change_s", "mode", "expected_s"),
    [
        (100.0, "continuous", 160.0),
        (100.0, "batch", 600.0),
        (540.0, "batch", 600.0),
        (541.0, "batch", 1200.0),
    ],
)
def test_release_time(change_s: float, mode: str, expected_s: float) -> None:
    """Batch releases happen at multiples of the interval (600 s) after the delay (60 s)."""
    assert release_time_s(change_s, mode, 60.0, 600.0) == expected_s
