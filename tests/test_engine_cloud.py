"""The real-time cloud inside a run: dispatch, fallback, admission, outages, breakdown.

Deterministic tiny zones (tests/tinyzone.py) where the expected counts follow
by hand from the scenario: messages every 100 ms per vehicle, constant delays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tinyzone import grid_map, scenario_dict, straight_road_map, write_scenario

import avzone


def _control_zone(tmp_path: Path, **cloud: Any) -> dict[str, Any]:
    """One vehicle on a 1000 m road, a control loop at 10 Hz to a planning service;
    edge-1 is 100 m from the only cell, edge-2 600 m, a regional site 25 km away."""
    data = scenario_dict(straight_road_map(tmp_path), duration_s=30)
    data["car"]["flows"] = {
        "control": {
            "rate_hz": 10,
            "size_bytes": 1200,
            "via": "uu",
            "service": "planning",
            "reply_bytes": 200,
            "deadline_ms": 50,
        }
    }
    data["network"]["backhaul"] = {"loss": 0}
    data["cloud"] = {
        "sites": {
            "edge": {
                "tier": "edge",
                "count": 2,
                "servers": 1,
                "place": {"rule": "list", "positions_m": [[500, 100], [500, 600]]},
            },
            "regional": {"tier": "regional", "servers": 8, "distance_km": 25},
        },
        "services": {
            "planning": {"sites": ["edge", "regional"], "time": {"dist": "constant", "mean_ms": 5}}
        },
        **cloud,
    }
    return data


def _run(tmp_path: Path, data: dict[str, Any]) -> dict[str, Any]:
    return avzone.run(write_scenario(tmp_path, data)).summary


def test_breakdown_splits_network_wait_and_service(tmp_path: Path) -> None:
    """Constant delays: service 5 ms, no wait, the rest is access and backhaul (both ways)."""
    summary = _run(tmp_path, _control_zone(tmp_path))
    control = summary["flows"]["control"]
    breakdown = control["breakdown_ms"]
    assert breakdown["service"] == {"mean": pytest.approx(5.0), "p99": pytest.approx(5.0)}
    assert breakdown["queue"] == {"mean": 0.0, "p99": 0.0}
    network_ms = control["latency_ms"]["mean"] - 5.0
    network = ("access_up", "backhaul_up", "backhaul_down", "access_down")
    assert sum(breakdown[s]["mean"] for s in network) == pytest.approx(network_ms, abs=1e-5)
    assert control["failures"] == {
        "out_of_coverage": 0, "radio": 0, "backhaul": 0, "rejected": 0, "site_down": 0, "deadline_missed": 0,
    }  # fmt: skip
    assert summary["cloud"]["edge-1"]["served_by_service"] == {"planning": 300}


def test_outage_with_fallback_moves_the_load_up_and_loses_nothing_new(tmp_path: Path) -> None:
    """edge-1 is down for [10, 20) s: the 100 requests sent then go to edge-2 (the
    next candidate: same tier, farther). At most the one request in service at
    10 s is lost."""
    data = _control_zone(tmp_path, outages=[{"site": "edge-1", "start_s": 10, "end_s": 20}])
    summary = _run(tmp_path, data)
    control = summary["flows"]["control"]
    assert control["sent"] == 300
    assert control["failures"]["site_down"] <= 1
    assert 99 <= summary["cloud"]["edge-2"]["served"] <= 100
    assert (
        summary["cloud"]["edge-1"]["served"] + summary["cloud"]["edge-2"]["served"]
        == control["delivered"]
    )


def test_outage_without_fallback_loses_the_requests(tmp_path: Path) -> None:
    data = _control_zone(
        tmp_path, fallback=False, outages=[{"site": "edge-1", "start_s": 10, "end_s": 20}]
    )
    summary = _run(tmp_path, data)
    control = summary["flows"]["control"]
    assert 100 <= control["failures"]["site_down"] <= 101
    assert control["failures"]["site_down"] == summary["cloud"]["edge-1"]["site_down"]
    assert summary["cloud"]["edge-2"]["served"] == 0


def test_admission_control_rejects_while_the_server_is_busy(tmp_path: Path) -> None:
    """150 ms jobs every 100 ms on one server with no queue (limit 0): every other
    request finds the server busy and is rejected — 150 of 300."""
    data = _control_zone(tmp_path)
    data["cloud"]["sites"] = {"edge": {"tier": "edge", "servers": 1, "queue_limit": 0}}
    data["cloud"]["services"]["planning"] = {
        "sites": ["edge"],
        "time": {"dist": "constant", "mean_ms": 150},
    }
    data["car"]["flows"]["control"]["deadline_ms"] = 500
    summary = _run(tmp_path, data)
    control = summary["flows"]["control"]
    assert control["failures"]["rejected"] == 150
    assert summary["cloud"]["edge"]["rejected"] == 150
    assert summary["cloud"]["edge"]["max_queue"] == 0


def _busy_grid(tmp_path: Path, dispatch: str) -> dict[str, Any]:
    """10 vehicles × 10 Hz = 100 requests/s of 15 ms: 1.5 servers' worth on two
    one-server edge sites; the regional site is 25 km (0.25 ms) farther."""
    data = scenario_dict(grid_map(tmp_path), duration_s=40, warmup_s=10)
    data["car"]["fleet"] = {"arrivals": "fixed", "count": 10, "start_window_s": 1}
    data["car"]["flows"] = {
        "control": {
            "rate_hz": 10,
            "size_bytes": 1200,
            "via": "uu",
            "service": "planning",
            "reply_bytes": 200,
            "deadline_ms": 100,
        }
    }
    data["cloud"] = {
        "sites": {
            "edge": {
                "tier": "edge",
                "count": 2,
                "servers": 1,
                "place": {"rule": "list", "positions_m": [[500, 100], [900, 900]]},
            },
            "regional": {"tier": "regional", "servers": 8, "distance_km": 25},
        },
        "services": {
            "planning": {
                "sites": ["edge", "regional"],
                "time": {"dist": "exponential", "mean_ms": 15},
            }
        },
        "dispatch": dispatch,
    }
    return data


def test_dispatch_policies_change_where_the_load_goes(tmp_path: Path) -> None:
    nearest = _run(tmp_path, _busy_grid(tmp_path, "nearest"))
    least = _run(tmp_path, _busy_grid(tmp_path, "least_loaded"))
    aware = _run(tmp_path, _busy_grid(tmp_path, "deadline_aware"))
    # nearest: everything to edge-1 (the only cell is nearest to it), overloaded
    assert nearest["cloud"]["edge-2"]["served"] == 0
    assert nearest["cloud"]["edge-1"]["utilization"] > 0.99
    # least loaded: the tier's two sites share the load
    assert least["cloud"]["edge-2"]["served"] > 0.3 * least["flows"]["control"]["delivered"]
    assert least["cloud"]["regional"]["served"] == 0
    # deadline aware: a queue at the edge is worth 0.5 ms of extra fibre to the regional site
    assert aware["cloud"]["regional"]["served"] > 0
    for better in (least, aware):
        assert (
            better["flows"]["control"]["latency_ms"]["p99"]
            < nearest["flows"]["control"]["latency_ms"]["p99"] / 10
        )


def test_empirical_service_times_from_a_csv(tmp_path: Path) -> None:
    """Samples that are all 5 ms give exactly the constant-5-ms latency."""
    constant = _run(tmp_path, _control_zone(tmp_path))
    (tmp_path / "planning.csv").write_text("service_ms\n5\n5.0\n# measured on the bench\n5\n")
    data = _control_zone(tmp_path)
    data["cloud"]["services"]["planning"]["time"] = {"dist": "empirical", "file": "planning.csv"}
    empirical = _run(tmp_path, data)
    assert empirical["flows"]["control"]["latency_ms"] == constant["flows"]["control"]["latency_ms"]
