"""A3 handover on a straight road between two cells, and the radio access per message.

Sources: the A3 entry condition of 3GPP TS 38.331 §5.5.4.4 (neighbour better
than serving by an offset, held for time-to-trigger); the geometry is hand-made:
a 1000 m road at 10 m/s with a cell at each end, no shadowing, LOS everywhere,
so the received powers are monotone along the road and a vehicle driving
from one end to the other must hand over exactly once. HARQ: independent
tries failing with probability p lose a message with probability p^N.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.engine.access import LOST, Access
from avzone.engine.world import World
from avzone.metrics import dumps_summary
from avzone.radio import A3Tracker
from avzone.scenario import load_scenario
from avzone.vehicles.mobility import Vehicle

TWO_CELLS = {"place": {"rule": "list", "positions_m": [[0, 0], [1000, 0]]}}
RADIO = {
    "model": "uma",
    "los": "always",
    "shadowing": False,
    "load": 0.0,
    "cutoff_m": 5000,
    "harq": {"max_tx": 8},
}


def _data(tmp_path: Path, handover: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    data = scenario_dict(straight_road_map(tmp_path))
    data["duration_s"] = 90
    data["network"]["cells"] = {**TWO_CELLS, "radio": RADIO, "handover": handover or {}}
    data.update(extra)
    return data


def _tracker(world: World, hysteresis_db: float = 3.0, ttt_s: float = 0.0) -> A3Tracker:
    table = world.uu_table
    assert table is not None
    return A3Tracker(
        table.top.tolist(),
        table.top_rx_dbm.tolist(),
        (table.serving >= 0).tolist(),
        hysteresis_db=hysteresis_db,
        ttt_s=ttt_s,
        interruption_s=0.03,
    )


def test_driving_between_two_cells_hands_over_once_where_a3_says(tmp_path: Path) -> None:
    """Along edge 0 (100 samples, 1 s each) one handover, at the first sample where the
    other cell is 3 dB stronger, plus the 0.16 s time-to-trigger."""
    world = World.build(load_scenario(write_scenario(tmp_path, _data(tmp_path))))
    table = world.uu_table
    assert table is not None
    tracker = _tracker(world, ttt_s=0.16)
    state = tracker.new_state()
    start, count = int(world.samples.start[0]), int(world.samples.count[0])
    for k in range(count):
        tracker.enter(state, start + k, float(k))
    tracker.advance(state, float(count))
    assert tracker.handovers == 1
    first = int(table.best[start])
    assert set(table.top[start + 50].tolist()) == {0, 1, -1}  # two cells, −1 padding
    other = 1 - first
    margin = [
        dict(zip(table.top[start + k].tolist(), table.top_rx_dbm[start + k].tolist(), strict=True))
        for k in range(count)
    ]
    k_switch = next(k for k in range(count) if margin[k][other] > margin[k][first] + 3.0)
    assert state.serving == other
    assert state.interrupted_until_s == pytest.approx(k_switch + 0.16 + 0.03)


def test_no_handover_without_movement_and_ping_pong_without_hysteresis(tmp_path: Path) -> None:
    """A vehicle standing still for an hour on any sample never hands over. Going back and
    forth across the cell border between two samples, 0 dB hysteresis hands over on every
    crossing, 3 dB hysteresis never (the border samples are within 3 dB of each other)."""
    world = World.build(load_scenario(write_scenario(tmp_path, _data(tmp_path))))
    for sample in range(0, len(world.samples.xy), 7):
        tracker = _tracker(world)
        state = tracker.new_state()
        tracker.enter(state, sample, 0.0)
        tracker.advance(state, 3600.0)
        assert tracker.handovers == 0
    table = world.uu_table
    assert table is not None
    start = int(world.samples.start[0])
    best = table.best[start : start + 100]
    k = int(np.flatnonzero(best != best[0])[0])  # the border between samples k − 1 and k
    for hysteresis_db, expected in ((0.0, 10), (3.0, 0)):
        tracker = _tracker(world, hysteresis_db)
        state = tracker.new_state()
        for t in range(11):
            tracker.enter(state, start + k - 1 + t % 2, float(t))
        assert tracker.handovers == expected


def test_a_run_counts_one_handover_per_crossing(tmp_path: Path) -> None:
    """One vehicle from one end at 10 m/s for 90 s: it crosses the border (≈ 578 m) once;
    handovers per vehicle-km = 1 / 0.9."""
    summary = avzone.run(write_scenario(tmp_path, _data(tmp_path))).summary
    assert summary["network"]["handovers"] == 1
    assert summary["network"]["handovers_per_vehicle_km"] == pytest.approx(1 / 0.9, rel=1e-6)
    again = avzone.run(write_scenario(tmp_path, _data(tmp_path))).summary
    assert dumps_summary(summary) == dumps_summary(again)


def _control(tmp_path: Path, during: str) -> dict[str, Any]:
    data = _data(tmp_path, {"interruption_ms": 500, "during": during})
    data["car"]["flows"] = {
        "control": {
            "rate_hz": 10,
            "size_bytes": 1200,
            "via": "uu",
            "service": "planning",
            "deadline_ms": 50,
        }
    }
    data["cloud"]["services"] = {
        "planning": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 1}}
    }
    return data


def test_handover_interruption_loses_or_delays_messages(tmp_path: Path) -> None:
    """A 500 ms interruption at 10 Hz: ``lose`` loses exactly 5 messages (HARQ with 8 tries
    at these SINRs loses none: BLER ≤ 0.06, 0.06⁸ < 1e-9); ``wait`` loses none and the
    first message after the handover waits 400–500 ms."""
    lose = avzone.run(write_scenario(tmp_path, _control(tmp_path, "lose"))).summary["flows"][
        "control"
    ]
    assert lose["failures"]["radio"] == 5
    wait = avzone.run(write_scenario(tmp_path, _control(tmp_path, "wait"))).summary["flows"][
        "control"
    ]
    assert wait["failures"]["radio"] == 0
    assert wait["latency_ms"]["max"] > 400


def test_harq_loss_through_the_access_hop(tmp_path: Path) -> None:
    """With every sample's BLER forced to p = 0.2 and max_tx = 3, the hop loses p³ = 0.008
    of 200 000 messages (tolerance 5 binomial standard errors) and the delivered ones take
    the fixed delay + U(0, 1 ms slot) + (tries − 1) × 4 ms: mean 1 + 0.5 + 4·E[tries − 1 | ok]."""
    data = _data(tmp_path)
    data["road"]["rsu"]["pc5"]["radio"] = {"model": "v2v_urban", "harq": {"max_tx": 3, "rtt_ms": 4}}
    world = World.build(load_scenario(write_scenario(tmp_path, data)))
    access = Access(world)
    n_samples = len(world.samples.xy)
    leg = access._leg("pc5", 300)  # then every sample: RSU 0, 1 ms fixed, BLER 0.2
    access._legs[("pc5", 300)] = dataclasses.replace(
        leg,
        station=[0] * n_samples,
        base_s=[0.001] * n_samples,
        log_bler=[math.log(0.2)] * n_samples,
    )
    vehicle = Vehicle(0, np.zeros(1))
    n = 200_000
    delays = []
    lost = 0
    for _ in range(n):
        station, delay_s = access.hop("pc5", vehicle, 0, 300, 0.0)
        if station == LOST:
            lost += 1
        else:
            delays.append(delay_s)
    p = 0.2
    assert lost / n == pytest.approx(p**3, abs=5 * math.sqrt(p**3 / n))
    retries = (p * (1 - p) + 2 * p**2 * (1 - p)) / (1 - p**3)
    assert float(np.mean(delays)) == pytest.approx(0.001 + 0.0005 + 0.004 * retries, abs=3e-5)
