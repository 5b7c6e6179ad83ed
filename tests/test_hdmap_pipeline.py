"""One change, one vehicle, deterministic parameters: every time of the HD-map pipeline by hand.

The zone (tests/tinyzone.py): a straight two-way road from x = 0 to 1000 m
along y = 0, one RSU and one cell at (500, 0), one edge site at (500, 400)
with one server; tiles of 400 m, so tile 0 holds x in [0, 400) = 0.4 km of
road. The fusion service takes a constant 5 ms. Every expected value below
is computed by hand from these numbers and the hop formulas of
docs/scenario.md (radio access = latency + bytes · 8 / rate; fibre = 5 ns/m
× straight line × detour 1.3 + bytes · 8 / 10 Gbit/s), which follow
REFERENCE.md's latency composition.
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
from avzone.cloud import Site
from avzone.engine import World
from avzone.hdmap.process import HdMap
from avzone.vehicles.mobility import Vehicle

UPLOAD_BYTES = 10_000
# uplink 4 ms + 10 kB at 50 Mbit/s + core 1 ms
UPLINK_S = 0.004 + UPLOAD_BYTES * 8 / 50e6 + 0.001
# cell (500, 0) → edge site (500, 400): 400 m × 1.3 of fibre at 5 ns/m, plus 10 kB at 10 Gbit/s
FIBRE_S = 400 * 1.3 * 5e-9 + UPLOAD_BYTES * 8 / 10e9
FUSION_S = 0.005
# tile 0: 1 MB + 1 MB per km × 0.4 km = 1.4 MB; downlink 4 ms + 1.4 MB at 200 Mbit/s
TILE_BYTES = 1_000_000 + 1_000_000 * 0.4
DOWNLOAD_S = 0.004 + TILE_BYTES * 8 / 200e6


def _data(tmp_path: Path, **detection: Any) -> dict[str, Any]:
    data = scenario_dict(straight_road_map(tmp_path))
    data["road"]["rsu"]["sensors"] = {"range_m": 300, "rate_hz": 0, "service": "fusion"}
    data["network"]["cells"].update(
        uplink_latency_ms=4,
        uplink_rate_mbps=50,
        downlink_latency_ms=4,
        downlink_rate_mbps=200,
        loss=0,
    )
    data["network"]["backhaul"] = {"fibre_detour": 1.3, "rate_gbps": 10, "loss": 0, "core_ms": 1}
    data["cloud"]["services"] = {
        "fusion": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 5}}
    }
    data["hdmap"] = {
        "tiles": {"size_m": 400, "size_bytes": 1_000_000, "bytes_per_km": 1_000_000},
        "changes": {"rate_per_tile_per_h": 0},
        "detection": {
            "service": "fusion",
            "vehicle_probability": 1,
            "upload_bytes": UPLOAD_BYTES,
            "confirm_count": 1,
            **detection,
        },
        "release": {"mode": "continuous", "delay_s": 60},
        "distribution": {"methods": ["push"]},
    }
    return data


def _hdmap(world: World) -> tuple[simpy.Environment, HdMap]:
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    hd.use_cloud([Site(env, s.name, s.tier, s.servers, s.speed) for s in world.sites])
    return env, hd


def _eastbound(world: World) -> int:
    (edge,) = [
        i
        for i, (u, v, _) in enumerate(world.samples.edges)
        if world.graph.nodes[u]["x"] < world.graph.nodes[v]["x"]
    ]
    return edge


def _drive(
    env: simpy.Environment, hd: HdMap, vehicle: Vehicle, edge: int, start_s: float = 0.0
) -> Generator[Any, Any, None]:
    """Enter the eastbound edge and tile 0 at ``start_s`` (as drive() does), then just move."""
    yield env.timeout(start_s)
    vehicle.edge, vehicle.edge_length_m, vehicle.t_enter_s = edge, 1000.0, env.now
    hd.edge_entered(vehicle, edge)
    vehicle.tile = 0
    hd.enter(vehicle, 0)


def test_every_time_of_one_change_seen_by_one_vehicle(tmp_path: Path) -> None:
    """Change at x = 205 m at t = 0; a vehicle at 2 m/s passes it at 102.5 s and detects it
    (probability 1); upload, fusion, confirmation (k = 1), continuous release 60 s later,
    push of the 1.4 MB tile to the vehicle, still in tile 0 (it leaves at 200 s)."""
    world = avzone.build_world(write_scenario(tmp_path, _data(tmp_path)))
    env, hd = _hdmap(world)
    edge = _eastbound(world)
    c = hd.change_at(int(world.samples.start[edge]) + 20)  # the sample 200–210 m
    assert c.s_m == 205.0
    vehicle = Vehicle(0, hd.released.copy())
    vehicle.speed_mps = 2.0
    env.process(_drive(env, hd, vehicle, edge))
    env.run(until=190)
    hd.finish()
    detected = 205.0 / 2.0
    confirmed = detected + UPLINK_S + FIBRE_S + FUSION_S
    released = confirmed + 60.0
    delivered = released + DOWNLOAD_S
    assert hd.detected_s == [detected]
    assert hd.confirmed_s == [pytest.approx(confirmed, abs=1e-12)]
    assert hd.update_lag_s == [pytest.approx(released, abs=1e-12)]
    assert hd.delivered_s == [pytest.approx(delivered, abs=1e-12)]
    assert vehicle.map_versions[0] == 1
    # stale from entering the changed tile at t = 0 until the push arrived
    assert hd.staleness_s == [pytest.approx(delivered, abs=1e-12)]
    assert hd.stale_km == [pytest.approx(delivered * 2.0 / 1000, abs=1e-12)]
    assert hd.tile_bytes[0] == TILE_BYTES
    assert (hd.bytes_up, hd.bytes_down) == (UPLOAD_BYTES, TILE_BYTES)


def test_rsu_perception_uploads_over_its_fibre(tmp_path: Path) -> None:
    """The RSU at (500, 0) sees x = 205 m (295 m < 300 m range) at its first sensing cycle,
    at a uniform phase in [0, 1 s); no vehicle. Its upload crosses only the 520 m fibre
    to the site: confirmed − detected = fibre + fusion, exactly."""
    data = _data(tmp_path, vehicle_probability=0, rsu_probability=1, rsu_period_s=1)
    world = avzone.build_world(write_scenario(tmp_path, data))
    env, hd = _hdmap(world)
    edge = _eastbound(world)
    hd.change_at(int(world.samples.start[edge]) + 20)
    env.run(until=100)
    (detected,) = hd.detected_s
    assert 0 <= detected < 1
    assert hd.confirmed_s == [pytest.approx(detected + FIBRE_S + FUSION_S, abs=1e-12)]
    assert hd.update_lag_s == [pytest.approx(detected + FIBRE_S + FUSION_S + 60, abs=1e-12)]


def test_confirmation_needs_k_detectors_or_the_timeout(tmp_path: Path) -> None:
    """confirm_count 2 with one vehicle: never two detectors, so the change is confirmed
    by the 30 s timeout after the first fused detection."""
    data = _data(tmp_path, confirm_count=2, confirm_timeout_s=30)
    world = avzone.build_world(write_scenario(tmp_path, data))
    env, hd = _hdmap(world)
    edge = _eastbound(world)
    hd.change_at(int(world.samples.start[edge]) + 20)
    vehicle = Vehicle(0, hd.released.copy())
    vehicle.speed_mps = 2.0
    env.process(_drive(env, hd, vehicle, edge))
    env.run(until=190)
    fused = 102.5 + UPLINK_S + FIBRE_S + FUSION_S
    assert hd.confirmed_s == [pytest.approx(fused + 30, abs=1e-12)]


def test_an_expiring_change_needs_a_second_update(tmp_path: Path) -> None:
    """Works of 50 s: at t = 50 the road changes back (kind ``expiry``), version 2 of tile 0.
    A vehicle at 1 m/s entering at t = 100 passes x = 205 m at 305 s: the works are gone,
    it detects the expiry (255 s after it), which is released and pushed: version 2."""
    world = avzone.build_world(write_scenario(tmp_path, _data(tmp_path)))
    env, hd = _hdmap(world)
    edge = _eastbound(world)
    hd.change_at(int(world.samples.start[edge]) + 20, duration_s=50)
    vehicle = Vehicle(0, hd.released.copy())
    vehicle.speed_mps = 1.0  # in tile 0 from 100 s to 500 s
    env.process(_drive(env, hd, vehicle, edge, start_s=100))
    env.run(until=499)
    assert [c.kind for c in hd.all_changes] == ["change", "expiry"]
    assert hd.world_version[0] == 2
    assert hd.detected_s == [255.0]
    released = 305.0 + UPLINK_S + FIBRE_S + FUSION_S + 60
    assert hd.update_lag_s == [pytest.approx(released - 50, abs=1e-12)]
    assert vehicle.map_versions[0] == 2
