"""End-to-end runs of tiny zones against hand-computed numbers.

Validation source: the hop models of docs/scenario.md with the constants of
REFERENCE.md §7 (fibre 5 µs/km); every expected value below is computed by
hand from the scenario's parameters, not by the code under test.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.metrics import dumps_summary


@pytest.fixture
def constant_scenario(tmp_path: Path) -> Path:
    """One vehicle, every delay constant, no loss: one latency per flow."""
    data = scenario_dict(straight_road_map(tmp_path))
    data["car"]["flows"]["control"] = {
        "rate_hz": 10,
        "size_bytes": 1200,
        "via": "uu",
        "service": "planning",
        "reply_bytes": 200,
        "deadline_ms": 15,
    }
    data["cloud"]["services"] = {
        "planning": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 5}}
    }
    data["network"]["cells"].update(
        uplink_latency_ms=4, uplink_rate_mbps=50, downlink_latency_ms=4, downlink_rate_mbps=200
    )
    data["network"]["backhaul"] = {"fibre_detour": 1.3, "rate_gbps": 10, "loss": 0, "core_ms": 1}
    return write_scenario(tmp_path, data)


def test_constant_delays_give_the_hand_computed_latency(constant_scenario: Path) -> None:
    summary = avzone.run(constant_scenario).summary
    # control: uplink 4 ms + 1200 B at 50 Mbit/s; core 1 ms; fibre cell→edge site
    # 400 m × 1.3 detour at 5 µs/km, plus 1200 B at 10 Gbit/s; service 5 ms;
    # back: the same fibre with 200 B; core 1 ms; downlink 4 ms + 200 B at 200 Mbit/s.
    fibre_s = 400 * 1.3 * 5e-9
    expected_s = (
        0.004
        + 1200 * 8 / 50e6
        + 0.001
        + fibre_s
        + 1200 * 8 / 10e9
        + 0.005
        + fibre_s
        + 200 * 8 / 10e9
        + 0.001
        + 0.004
        + 200 * 8 / 200e6
    )
    control = summary["flows"]["control"]["latency_ms"]
    assert control["p50"] == pytest.approx(expected_s * 1000, abs=1e-6)
    assert control["max"] == pytest.approx(expected_s * 1000, abs=1e-6)
    assert control["mean"] == pytest.approx(expected_s * 1000, abs=1e-6)
    # each stage by hand (docs/outputs.md breakdown_ms), summing to the latency
    stages_ms = {
        "access_up": 4 + 1200 * 8 / 50e6 * 1000 + 1,  # uplink radio + core
        "backhaul_up": (fibre_s + 1200 * 8 / 10e9) * 1000,
        "queue": 0.0,
        "service": 5.0,
        "backhaul_down": (fibre_s + 200 * 8 / 10e9) * 1000,
        "access_down": 1 + 4 + 200 * 8 / 200e6 * 1000,  # core + downlink radio
    }
    breakdown = summary["flows"]["control"]["breakdown_ms"]
    for stage, ms in stages_ms.items():
        assert breakdown[stage] == {
            "mean": pytest.approx(ms, abs=1e-6),
            "p99": pytest.approx(ms, abs=1e-6),
        }
    assert sum(stages_ms.values()) == pytest.approx(expected_s * 1000, abs=1e-9)
    # 15.206 ms > the 15 ms deadline: every message is late
    assert summary["flows"]["control"]["deadline_miss_ratio"] == 1.0
    # bsm: PC5 2 ms + 300 B at 20 Mbit/s, but only where the RSU reaches
    bsm = summary["flows"]["bsm"]
    assert bsm["latency_ms"]["max"] == pytest.approx(2.0 + 300 * 8 / 20e6 * 1000, abs=1e-9)
    assert bsm["lost"] == bsm["failures"]["out_of_coverage"]


def test_counts_coverage_and_site_of_the_straight_road(constant_scenario: Path) -> None:
    summary = avzone.run(constant_scenario).summary
    # 1 vehicle from t = 0, 10 Hz, 60 s, no warm-up: 600 messages per flow
    assert summary["flows"]["bsm"]["sent"] == 600
    assert summary["flows"]["control"]["sent"] == 600
    assert summary["flows"]["control"]["delivered"] == 600
    # RSU at x = 500 m, range 300 m: samples with midpoints 205 … 795 m, 600 of 1000 m
    assert summary["coverage"]["pc5"]["road_fraction"] == pytest.approx(0.6)
    assert summary["coverage"]["uu"]["road_fraction"] == 1.0
    assert summary["coverage"]["dual_radio"]["road_fraction"] == pytest.approx(0.6)
    assert summary["coverage"]["perception"]["road_fraction"] == 0.0
    # 600 jobs of 5 ms on one server over 60 s: utilisation 0.05, never a queue
    edge = summary["cloud"]["edge"]
    assert edge["served"] == 600
    assert edge["utilization"] == pytest.approx(600 * 0.005 / 60, rel=1e-9)
    assert edge["mean_wait_ms"] == 0.0


def test_vehicle_drives_at_free_flow(constant_scenario: Path) -> None:
    """1000 m at 10 m/s: one trip takes 100 s; in 60 s the vehicle covers 600 m."""
    summary = avzone.run(constant_scenario).summary
    assert summary["vehicles"]["vehicle_km"] == pytest.approx(0.6, abs=1e-9)
    longer = dataclasses.replace(avzone.load_scenario(constant_scenario), duration_s=250.0)
    again = avzone.run(longer).summary
    # there and back (200 s) and 50 s more
    assert again["vehicles"]["trips_completed"] == 2
    assert again["vehicles"]["vehicle_km"] == pytest.approx(2.5, abs=1e-9)


def test_same_seed_same_bytes_other_seed_other_numbers(tmp_path: Path) -> None:
    from tinyzone import grid_map

    data = scenario_dict(grid_map(tmp_path))
    data["car"]["fleet"] = {"arrivals": "poisson", "rate_per_h": 600, "max_vehicles": 50}
    data["road"]["rsu"]["pc5"]["loss"] = 0.05
    path = write_scenario(tmp_path, data)
    first = dumps_summary(avzone.run(path).summary)
    second = dumps_summary(avzone.run(path).summary)
    other = dumps_summary(avzone.run(path, seed=2).summary)
    assert first == second
    assert first != other
    assert json.loads(other)["seed"] == 2


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real data not found at ../shared/data/real")
def test_five_systems_on_the_real_yizhuang_sumo_net(tmp_path: Path) -> None:
    """The whole stack on the real E-Town SUMO net (SOURCES.md §1): one RSU per
    traffic-light junction (177), vehicles routed on its 644 edges, every flow served."""
    data = scenario_dict(REAL / "beijing_yizhuang.net.xml")
    data["road"]["rsu"]["place"] = {"rule": "signalized_intersections"}
    data["car"]["fleet"] = {"arrivals": "fixed", "count": 20, "start_window_s": 10}
    data["car"]["flows"]["control"] = {
        "rate_hz": 10,
        "size_bytes": 1200,
        "via": "uu",
        "service": "planning",
        "reply_bytes": 200,
        "deadline_ms": 50,
    }
    data["network"]["cells"] = {"place": {"rule": "hex", "spacing_m": 800}, "range_m": 600}
    data["cloud"] = {
        "sites": {
            "edge": {"tier": "edge", "count": 2, "servers": 4, "place": {"rule": "kmeans_rsus"}}
        },
        "services": {
            "planning": {"sites": ["edge"], "time": {"dist": "exponential", "mean_ms": 5}}
        },
    }
    summary = avzone.run(write_scenario(tmp_path, data)).summary
    assert summary["map"]["edges"] == 644
    assert summary["infrastructure"]["rsus"] == 177
    assert summary["vehicles"]["arrived"] == 20
    assert summary["vehicles"]["vehicle_km"] > 5  # 20 vehicles at 80–100 km/h for ~55 s
    assert 0.5 < summary["coverage"]["pc5"]["road_fraction"] <= 1.0
    control = summary["flows"]["control"]
    assert control["delivered"] > 0.9 * control["sent"] > 0
    served = summary["cloud"]["edge-1"]["served"] + summary["cloud"]["edge-2"]["served"]
    # every delivered request was served; some served ones lost their reply or are in flight
    assert (
        control["delivered"]
        <= served
        <= control["delivered"] + control["lost"] + control["in_flight"]
    )


def test_initial_vehicles_start_under_way(tmp_path: Path) -> None:
    """Trips across the 3 × 3 grid, corner to corner: 4 blocks of 500 m at 10 m/s, 200 s.
    Fresh vehicles finish none in 60 s; vehicles joined at a point uniform in their
    trip's time (from the start of that block) finish the ones that joined the last block."""
    from tinyzone import grid_map

    data = scenario_dict(grid_map(tmp_path), duration_s=60)
    data["car"]["demand"] = {
        "zones": {
            "sw": {"at_m": [0, 0], "radius_m": 10},
            "ne": {"at_m": [1000, 1000], "radius_m": 10},
        },
        "od": [{"from": "sw", "to": "ne"}],
    }
    data["car"]["fleet"] = {"arrivals": "poisson", "rate_per_h": 0.001, "initial_vehicles": 20}
    summary = avzone.run(write_scenario(tmp_path, data)).summary
    assert summary["vehicles"]["arrived"] == 20
    assert 1 <= summary["vehicles"]["trips_completed"] <= 15  # about a quarter
    fresh = dict(
        data, car={**data["car"], "fleet": {"arrivals": "fixed", "count": 20, "start_window_s": 0}}
    )
    assert (
        avzone.run(write_scenario(tmp_path, fresh, "fresh.yaml")).summary["vehicles"][
            "trips_completed"
        ]
        == 0
    )
