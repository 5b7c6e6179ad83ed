"""The HD map's random parts against their distributions (scipy.stats, fixed seeds).

- Detection with probability q per pass, passes every T s: the number of
  passes until the first detection is geometric on {1, 2, …} with mean 1/q
  (so time to detection ≈ (N − 1)·T + time to the spot).
- Batch release every N s of changes arriving as a Poisson process: the wait
  from confirmation to release is uniform on [0, N] (a Poisson arrival's
  position within a fixed interval is uniform).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from scipy import stats
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.cloud import Site
from avzone.hdmap.process import HdMap
from avzone.vehicles.mobility import Vehicle

Q = 0.3
PERIOD_S = 10.0
CHANGES = 2000


def test_time_to_detection_is_geometric(tmp_path: Path) -> None:
    """2000 independent changes at x = 205 m; one vehicle at 1000 m/s drives the road every
    10 s (it passes the spot 0.205 s into each pass) and detects each change with q = 0.3
    per pass; its map never updates (distribution by pull, it never re-enters a tile).
    Passes to detection N: every time lies on the pass lattice; mean 1/q within 3 standard
    errors (sd √(1 − q)/q / √2000 ≈ 0.042); chi-square over N = 1 … 8 and ≥ 9 against the
    geometric pmf: p > 0.01. Seed: HdMap rng default_rng(7)."""
    data = scenario_dict(straight_road_map(tmp_path))
    data["cloud"]["services"] = {
        "fusion": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 1}}
    }
    data["cloud"]["sites"]["edge"]["servers"] = 4
    data["hdmap"] = {
        "tiles": {"size_m": 400},
        "changes": {"rate_per_tile_per_h": 0},
        "detection": {"service": "fusion", "vehicle_probability": Q, "confirm_count": 1},
        "distribution": {"methods": ["pull"]},
    }
    world = avzone.build_world(write_scenario(tmp_path, data))
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(7))
    hd.use_cloud([Site(env, s.name, s.tier, s.servers) for s in world.sites])
    (edge,) = [
        i
        for i, (u, v, _) in enumerate(world.samples.edges)
        if world.graph.nodes[u]["x"] < world.graph.nodes[v]["x"]
    ]
    for _ in range(CHANGES):
        hd.change_at(int(world.samples.start[edge]) + 20)
    vehicle = Vehicle(0, hd.released.copy())
    vehicle.speed_mps = 1000.0

    def passes() -> Generator[Any, Any, None]:
        vehicle.edge, vehicle.edge_length_m = edge, 1000.0
        while True:
            vehicle.t_enter_s = env.now
            hd.edge_entered(vehicle, edge)
            yield env.timeout(PERIOD_S)

    env.process(passes())
    env.run(until=60 * PERIOD_S * 2)
    times = np.array(hd.detected_s)
    assert times.size == CHANGES  # (1 − 0.3)^120 ≈ 3e-19: all detected
    n = (times - 0.205) / PERIOD_S + 1
    assert np.allclose(n, np.round(n), atol=1e-9)
    n = np.round(n).astype(int)
    se = np.sqrt(1 - Q) / Q / np.sqrt(CHANGES)
    assert abs(n.mean() - 1 / Q) < 3 * se
    k = np.arange(1, 9)
    pmf = (1 - Q) ** (k - 1) * Q
    expected = np.append(pmf, (1 - Q) ** 8) * CHANGES
    observed = np.append([(n == j).sum() for j in k], (n >= 9).sum())
    assert stats.chisquare(observed, expected).pvalue > 0.01


def test_batch_release_delay_is_uniform(tmp_path: Path) -> None:
    """Poisson changes (no detection: confirmed at once), batch release every N = 600 s with
    delay_s 0 over 10 h: the waits from confirmation to release, / N, pass a KS test against
    U[0, 1] (p > 0.01) and lie in [0, N]. Seed: HdMap rng default_rng(3)."""
    data = scenario_dict(straight_road_map(tmp_path))
    data["hdmap"] = {
        "tiles": {"size_m": 400},
        "changes": {"rate_per_tile_per_h": 40},
        "release": {"mode": "batch", "delay_s": 0, "interval_s": 600},
    }
    world = avzone.build_world(write_scenario(tmp_path, data))
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(3))
    env.process(hd.run_changes())
    env.run(until=36_000)
    waits = np.array(hd.release_wait_s)
    assert waits.size > 1000  # 3 tiles × 40 per h × 10 h ≈ 1200
    assert waits.min() >= 0
    assert waits.max() <= 600
    assert stats.kstest(waits / 600, "uniform").pvalue > 0.01
