"""Where the latency goes: per-message stages that sum to the end-to-end latency.

References: the stage definitions of docs/outputs.md (access up, backhaul up,
site queue, service, backhaul down, access down) — their sum is the latency
by construction of time stamps, checked message by message; the constant-delay
case is computed by hand in tests/test_engine.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import avzone
from avzone.engine import simulate
from avzone.metrics import STAGES

Variant = Any


def _stages(record: Any) -> dict[str, np.ndarray]:
    names = {"queue": "wait_s"}
    return {s: np.asarray(getattr(record, names.get(s, f"{s}_s"))) for s in STAGES}


@pytest.fixture
def busy_zone(grid_variant: Variant) -> Path:
    """Five vehicles, control at 10 Hz, lognormal service on one server, and a
    backhaul of 20 Mbit/s links behind one aggregation node: every stage varies."""
    return grid_variant(
        {
            "network.backhaul": {"aggregation": {"count": 1}, "rate_gbps": 0.02, "loss": 0.01},
            "cloud.sites.edge.servers": 1,
            "cloud.services.planning.time": {"dist": "lognormal", "mean_ms": 15, "cv": 1.0},
            "car.flows.control.size_bytes": 20000,
        }
    )


def test_stages_sum_to_the_latency_of_every_message(busy_zone: Path) -> None:
    world = avzone.build_world(busy_zone)
    record = simulate(world).flows["control"]
    stages = _stages(record)
    latency = np.asarray(record.latencies_s)
    assert latency.size > 2000
    assert all(v.size == latency.size for v in stages.values())
    assert np.abs(sum(stages.values()) - latency).max() < 1e-12
    assert (stages["queue"] > 0).mean() > 0.1  # the site queued
    # 20 kB at 20 Mbit/s: 8 ms per link; two links up, so ≥ 16 ms plus fibre, more when queued
    assert stages["backhaul_up"].min() >= 2 * 20000 * 8 / 20e6
    assert stages["backhaul_up"].max() > stages["backhaul_up"].min() + 1e-3  # links queued
    assert stages["backhaul_down"].min() >= 2 * 200 * 8 / 20e6
    assert np.all(stages["access_up"] == stages["access_up"][0])  # constant radio and core


def test_summary_breakdown_is_mean_and_p99_of_each_stage(busy_zone: Path) -> None:
    results = avzone.run(busy_zone, overrides={"engine": "event"})
    world = avzone.build_world(busy_zone)
    record = simulate(world).flows["control"]  # same seed and evaluator: the same messages
    breakdown = results.summary["flows"]["control"]["breakdown_ms"]
    assert list(breakdown) == list(STAGES)
    for stage, values in _stages(record).items():
        assert breakdown[stage]["mean"] == pytest.approx(values.mean() * 1000, abs=1e-6)
        assert breakdown[stage]["p99"] == pytest.approx(np.percentile(values, 99) * 1000, abs=1e-6)
    assert sum(b["mean"] for b in breakdown.values()) == pytest.approx(
        results.summary["flows"]["control"]["latency_ms"]["mean"], abs=1e-5
    )
    row = next(r for r in results.flows if r["flow"] == "control")
    assert row["backhaul_up_p99_ms"] == breakdown["backhaul_up"]["p99"]
    assert row["queue_mean_ms"] == breakdown["queue"]["mean"]


def test_one_hop_flows_are_all_access(grid_scenario: Path) -> None:
    """A BSM over PC5 ends at the RSU: its latency (2 ms + 300 B at 20 Mbit/s) is all access up."""
    summary = avzone.run(grid_scenario).summary
    breakdown = summary["flows"]["bsm"]["breakdown_ms"]
    assert breakdown["access_up"] == {"mean": pytest.approx(2.12), "p99": pytest.approx(2.12)}
    assert all(breakdown[s] == {"mean": 0.0, "p99": 0.0} for s in STAGES[1:])
