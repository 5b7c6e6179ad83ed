"""Delivery of tile versions (avzone/hdmap/delivery.py) on hand-checkable cases.

Straight road x = 0 … 1000 m (tests/tinyzone.py), 400 m tiles (tile 0: x < 400,
tile 1: 400–800, tile 2: 800–1000), a vehicle driving east at 10 m/s from x = 0
at t = 0. Default tile size 2 MB: download = 4 ms + 2 MB · 8 / 200 Mbit/s =
0.084 s; a pull request adds the 4 ms Uu uplink latency (docs/hdmap.md).
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
from avzone.hdmap.process import HdMap
from avzone.vehicles.mobility import Vehicle, drive

DOWNLOAD_S = 0.004 + 2_000_000 * 8 / 200e6
REQUEST_S = 0.004


def _world(tmp_path: Path, distribution: dict[str, Any], cell_range_m: float = 2000) -> World:
    data = scenario_dict(straight_road_map(tmp_path))
    data["hdmap"] = {
        "tiles": {"size_m": 400},
        "changes": {"rate_per_tile_per_h": 0},
        "release": {"mode": "continuous", "delay_s": 0},
        "distribution": distribution,
    }
    data["network"]["cells"].update(
        range_m=cell_range_m, downlink_latency_ms=4, downlink_rate_mbps=200, uplink_latency_ms=4
    )
    return avzone.build_world(write_scenario(tmp_path, data))


def _east(world: World) -> int:
    (edge,) = [
        i
        for i, (u, v, _) in enumerate(world.samples.edges)
        if world.graph.nodes[u]["x"] < world.graph.nodes[v]["x"]
    ]
    return edge


def _run(world: World, events: list[tuple[float, str, int]], until: float) -> tuple[HdMap, Vehicle]:
    """Drive the vehicle east with mobility.drive; at each (t, what, tile) the world changes
    (``change``) or the cloud releases the tile's current world version (``release``)."""
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    vehicle = Vehicle(0, hd.released.copy())
    edge = _east(world)
    hd.route(vehicle, [edge])
    env.process(
        drive(
            env,
            vehicle,
            [edge],
            length_m=world.edge_length_m,
            speed_mps=world.edge_speed_mps,
            signalized_end=world.edge_signalized_end,
            edge_tiles=world.edge_tiles,
            signal_wait_s=lambda: 0.0,
            tiles=hd,
            on_edge=hd.edge_entered,
        )
    )

    def script() -> Generator[Any, Any, None]:
        for t, what, tile in events:
            yield env.timeout(t - env.now)
            if what == "change":
                hd.world_version[tile] += 1
                hd.world_changed(tile)
            else:
                hd.release(tile, int(hd.world_version[tile]))

    env.process(script())
    env.run(until=until)
    hd.finish()
    return hd, vehicle


def test_pull_downloads_on_entry_after_the_request(tmp_path: Path) -> None:
    """Tile 1 changed and released at t = 1; the vehicle enters it at 40 s and pulls:
    stale from 40 s for request + download."""
    world = _world(tmp_path, {"methods": ["pull"]})
    hd, vehicle = _run(world, [(1, "change", 1), (1, "release", 1)], until=70)
    assert hd.staleness_s == [pytest.approx(REQUEST_S + DOWNLOAD_S)]
    assert vehicle.map_versions[1] == 1


def test_pull_alone_leaves_a_vehicle_stale_in_its_tile(tmp_path: Path) -> None:
    """Change and release of tile 0 at t = 10 while the vehicle is in it: pull does not
    reach it before it leaves at 40 s (30 s stale); push delivers after the download."""
    events = [(10, "change", 0), (10, "release", 0)]
    hd, _ = _run(_world(tmp_path, {"methods": ["pull"]}), events, until=70)
    assert hd.staleness_s == [pytest.approx(30.0)]
    hd, _ = _run(_world(tmp_path, {"methods": ["push"]}), events, until=70)
    assert hd.staleness_s == [pytest.approx(DOWNLOAD_S)]


def test_push_radius_reaches_the_next_tile_before_entry(tmp_path: Path) -> None:
    """Tile 1's road starts at the sample centred at 405 m. Released at t = 35 (vehicle at
    350 m, 55 m away): with push_radius_m 100 the vehicle has it before entering at 40 s:
    never stale; with radius 0 it gets it on entry (pushed when it enters)."""
    events = [(1, "change", 1), (35, "release", 1)]
    hd, vehicle = _run(_world(tmp_path, {"methods": ["push"], "push_radius_m": 100}), events, 70)
    assert hd.staleness_s == []
    assert vehicle.map_versions[1] == 1
    hd, _ = _run(_world(tmp_path, {"methods": ["push"]}), events, 70)
    assert hd.staleness_s == [pytest.approx(DOWNLOAD_S)]


def test_prefetch_fetches_the_tiles_ahead_on_the_route(tmp_path: Path) -> None:
    """Tiles 1 and 2 change and are released at t = 0, just after the vehicle set off:
    with prefetch_ahead_m 3000 the release reaches it for both (never stale); with 300 m
    neither starts close enough (400 m, 800 m ahead), and the vehicle fetches each tile as it
    enters it (the current tile is always wanted): request + download stale, twice."""
    events = [(0, "change", 1), (0, "change", 2), (0, "release", 1), (0, "release", 2)]
    far = _world(tmp_path, {"methods": ["prefetch"], "prefetch_ahead_m": 3000})
    hd, _ = _run(far, events, 99)
    assert hd.staleness_s == []
    assert hd.deliveries == 2
    near = _world(tmp_path, {"methods": ["prefetch"], "prefetch_ahead_m": 300})
    hd, _ = _run(near, events, 99)
    assert hd.staleness_s == [pytest.approx(REQUEST_S + DOWNLOAD_S)] * 2


def test_a_coverage_gap_delays_delivery_to_the_next_retry_in_coverage(tmp_path: Path) -> None:
    """Cell at x = 500 m with 200 m range: road samples centred 305 … 695 m are covered.
    Tile 0 changes and is released at t = 0.5 (vehicle at 5 m): no coverage; retries every
    5 s at 5.5, 10.5, …; at 30.5 s it is at 305 m, covered: delivered at 30.5 + download."""
    events = [(0.5, "change", 0), (0.5, "release", 0)]
    world = _world(tmp_path, {"methods": ["push"], "retry_s": 5}, cell_range_m=200)
    hd, vehicle = _run(world, events, until=39)
    assert hd.staleness_s == [pytest.approx(30.0 + DOWNLOAD_S)]
    assert vehicle.map_versions[0] == 1


def test_control_messages_on_a_stale_map_are_counted(tmp_path: Path) -> None:
    """control_message counts every call and those while the vehicle's tile is stale."""
    world = _world(tmp_path, {"methods": ["pull"]})
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    vehicle = Vehicle(0, hd.released.copy())
    hd.control_message(vehicle)
    vehicle.stale_since_s = 0.0
    hd.control_message(vehicle)
    assert (hd.control_sent, hd.control_stale) == (2, 1)
