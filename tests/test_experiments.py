"""Sweeps (avzone/experiments): the grid, seeds, confidence intervals and the two tables.

The runs are of a tiny zone (3 × 3 grid of 500 m roads, 20 s, up to 3 vehicles, a lossy PC5
``bsm`` flow), a few hundredths of a second each.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tinyzone import grid_map, scenario_dict, write_scenario

from avzone import ScenarioError
from avzone.experiments import (
    build_points,
    confidence_interval,
    flatten_summary,
    parse_set,
    replication_seeds,
    split_values,
    sweep,
)

GRID = {"car.fleet.count": [2, 3], "road.rsu.pc5.loss": [0.1, 0.3]}


def tiny_sweep_scenario(folder: Path) -> Path:
    """3 vehicles starting in the first 10 s, one RSU covering the grid with 20 % PC5 loss."""
    data = scenario_dict(grid_map(folder), duration_s=20)
    data["car"]["fleet"] = {"arrivals": "fixed", "count": 3, "start_window_s": 10}
    data["road"]["rsu"]["place"]["positions_m"] = [[500, 500]]
    data["road"]["rsu"]["pc5"].update(loss=0.2, range_m=1000)
    return write_scenario(folder, data, "sweep.yaml")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- the grid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200,2400", ["1200", "2400"]),
        (" 1 , 2 ", ["1", "2"]),
        ("[edge],[edge,regional]", ["[edge]", "[edge,regional]"]),
        ("[[500, 500]],[[0, 0], [1, 1]]", ["[[500, 500]]", "[[0, 0], [1, 1]]"]),
        ("{a: 1, b: 2},{a: 3}", ["{a: 1, b: 2}", "{a: 3}"]),
        ("'a,b',\"c,[d\",e", ["'a,b'", '"c,[d"', "e"]),
        ("edge", ["edge"]),
    ],
)
def test_split_values_splits_on_top_level_commas(text: str, expected: list[str]) -> None:
    assert split_values(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,,2", "--set: empty value in '1,,2'"),
        ("1,", "--set: empty value in '1,'"),
        ("[edge,regional", "--set: missing ']' in '[edge,regional'"),
        ("edge],x", "--set: unbalanced ']' at position 4 in 'edge],x'"),
        ("[a},x", "--set: unbalanced '}' at position 2 in '[a},x'"),
        ("'a,b", "--set: unclosed quote ' in \"'a,b\""),
    ],
)
def test_split_values_rejects_malformed_lists(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        split_values(text)
    assert str(info.value).startswith(message)


def test_parse_set_reads_each_value_as_yaml() -> None:
    assert parse_set("car.fleet.count=100,200") == ("car.fleet.count", [100, 200])
    assert parse_set("a.b=0.5,true,edge,'7'") == ("a.b", [0.5, True, "edge", "7"])
    assert parse_set("cloud.services.planning.sites=[edge],[edge, regional]") == (
        "cloud.services.planning.sites",
        [["edge"], ["edge", "regional"]],
    )
    with pytest.raises(ScenarioError, match=r"^--set: expected KEY=V1,V2,\.\.\."):
        parse_set("car.fleet.count")


def test_points_are_the_cartesian_product_last_key_fastest() -> None:
    points = build_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert [(p["a"], p["b"]) for p in points] == [
        (1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z"),
    ]  # fmt: skip
    assert build_points({}) == [{}]


def test_zipped_points_pair_the_values_and_need_equal_lengths() -> None:
    assert build_points({"a": [1, 2], "b": [[3], [4]]}, zip=True) == [
        {"a": 1, "b": [3]},
        {"a": 2, "b": [4]},
    ]
    with pytest.raises(ScenarioError) as info:
        build_points({"a": [1, 2], "b": [1, 2, 3]}, zip=True)
    assert str(info.value) == (
        "--zip: expected the same number of values for every key, got a: 2, b: 3"
    )


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"a": [1, 1]}, '--set: grid points 1 and 2 are the same: {"a":1}'),
        ({"seed": [1, 2]}, "--set: seed cannot be swept"),
        ({"a..b": [1]}, "--set: expected a dotted key path"),
        ({"a": "12"}, "a: expected a list of values, got '12'"),
        ({"a": []}, "a: expected at least one value, got none"),
    ],
)
def test_bad_grids_are_one_line_errors(grid: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        build_points(grid)
    assert str(info.value).startswith(message)


# --- seeds -------------------------------------------------------------------------------


def test_replication_seeds_follow_the_seed_sequence() -> None:
    seeds = replication_seeds(42, 4)
    children = np.random.SeedSequence(42).spawn(4)
    assert seeds == [int(child.generate_state(1)[0]) for child in children]
    assert len(set(seeds)) == 4
    assert replication_seeds(42, 4) == seeds
    assert replication_seeds(42, 2) == seeds[:2]  # more replications later reuse the first runs
    assert replication_seeds(43, 4) != seeds
    with pytest.raises(ScenarioError, match=r"^--replications: expected an integer >= 1, got 0"):
        replication_seeds(42, 0)


def test_every_point_gets_the_same_seed_per_replication(tmp_path: Path) -> None:
    """Common random numbers: replication r runs with one seed at every point."""
    result = sweep(tiny_sweep_scenario(tmp_path), GRID, replications=3, executor="inprocess")
    seeds = replication_seeds(1, 3)  # the scenario's seed is 1
    assert [(row["replication"], row["seed"]) for row in result.runs] == 4 * list(enumerate(seeds))
    assert len(set(result.run_ids)) == 12
    # the same demand at each point: vehicle-km depends on the seed only
    km = {(row["replication"], row["vehicles.vehicle_km"]) for row in result.runs}
    assert len(km) == 3 * 2  # 3 replications × 2 fleet sizes


# --- statistics --------------------------------------------------------------------------


def test_confidence_interval_matches_a_hand_computation() -> None:
    """[1, 2, 3]: mean 2, s = 1, t(0.975, 2) = 4.302653 → 2 ± 4.302653/√3."""
    ci = confidence_interval([1, 2, 3])
    half = 4.302653 / math.sqrt(3)
    assert (ci.n, ci.mean, ci.std) == (3, 2.0, 1.0)
    assert ci.low == pytest.approx(2 - half, abs=1e-6)
    assert ci.high == pytest.approx(2 + half, abs=1e-6)
    ci90 = confidence_interval([1, 2, 3], level=0.90)  # t(0.95, 2) = 2.919986
    assert ci90.high == pytest.approx(2 + 2.919986 / math.sqrt(3), abs=1e-6)


def test_confidence_interval_of_one_value_is_undefined() -> None:
    one = confidence_interval([5.0])
    assert (one.n, one.mean) == (1, 5.0)
    assert all(math.isnan(x) for x in (one.std, one.low, one.high))
    assert confidence_interval([]).n == 0
    assert confidence_interval([4.0, 4.0])[1:] == (4.0, 0.0, 4.0, 4.0)


def test_flatten_summary_keeps_numeric_leaves_by_dotted_path() -> None:
    summary = {
        "schema_version": 1,
        "scenario": "tiny",
        "seed": 7,
        "coverage": {"pc5": {"road_fraction": 0.5}},
        "flows": {"bsm": {"sent": 3, "latency_ms": {"p99": None}}},
        "cloud": {"edge-1": {"tier": "edge", "utilization": 0.25, "up": True}},
        "checks": [{"check": "x", "value": 1.0}],
    }
    assert flatten_summary(summary) == {
        "coverage.pc5.road_fraction": 0.5,
        "flows.bsm.sent": 3,
        "flows.bsm.latency_ms.p99": None,
        "cloud.edge-1.utilization": 0.25,
        "cloud.edge-1.up": 1,
    }


# --- the tables --------------------------------------------------------------------------


def test_a_2x2_grid_with_2_replications_writes_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = sweep(
        tiny_sweep_scenario(tmp_path), GRID, replications=2, out=out, executor="inprocess"
    )
    assert (result.done, result.skipped) == (8, 0)
    runs = read_csv(out / "runs.csv")
    columns = list(runs[0])
    assert columns[:5] == ["run_id", "car.fleet.count", "road.rsu.pc5.loss", "replication", "seed"]
    assert "wall_s" not in columns
    assert {"seed", "schema_version", "scenario"}.isdisjoint(columns[5:])
    for name in (
        "coverage.pc5.road_fraction",
        "flows.bsm.latency_ms.p99",
        "cloud.edge.utilization",
    ):
        assert name in columns
    assert [(r["car.fleet.count"], r["road.rsu.pc5.loss"], r["replication"]) for r in runs] == [
        (count, loss, rep) for count in ("2", "3") for loss in ("0.1", "0.3") for rep in ("0", "1")
    ]
    assert [r["run_id"] for r in runs] == result.run_ids
    assert {r["hdmap.update_lag_s.mean"] for r in runs} == {""}  # null → empty cell
    assert [r["vehicles.arrived"] for r in runs] == ["2"] * 4 + ["3"] * 4

    summary = read_csv(out / "summary.csv")
    assert list(summary[0]) == [
        "car.fleet.count", "road.rsu.pc5.loss", "metric", "n", "mean", "std", "ci95_low", "ci95_high",
    ]  # fmt: skip
    metrics = columns[5:]
    assert [(r["car.fleet.count"], r["road.rsu.pc5.loss"], r["metric"]) for r in summary] == [
        (count, loss, m) for count in ("2", "3") for loss in ("0.1", "0.3") for m in metrics
    ]
    for point in range(4):
        lost = [float(r["flows.bsm.lost"]) for r in runs[2 * point : 2 * point + 2]]
        row = summary[point * len(metrics) + metrics.index("flows.bsm.lost")]
        ci = confidence_interval(lost)
        assert row["n"] == "2"
        assert [float(row[k]) for k in ("mean", "std", "ci95_low", "ci95_high")] == pytest.approx(
            [ci.mean, ci.std, ci.low, ci.high], abs=1e-6
        )
    empty = next(r for r in summary if r["metric"] == "hdmap.update_lag_s.mean")
    assert (empty["n"], empty["mean"], empty["ci95_low"]) == ("0", "", "")

    assert result.runs[0]["run_id"] == runs[0]["run_id"]
    assert len(result.summary) == len(summary)
    runs_df, summary_df = result.to_pandas()
    assert runs_df.shape == (8, len(columns))
    assert summary_df["metric"].tolist() == [r["metric"] for r in summary]


def test_one_replication_leaves_the_interval_empty(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep(tiny_sweep_scenario(tmp_path), {}, out=out, executor="inprocess")
    runs = read_csv(out / "runs.csv")
    assert list(runs[0])[:3] == ["run_id", "replication", "seed"]
    sent = next(r for r in read_csv(out / "summary.csv") if r["metric"] == "flows.bsm.sent")
    assert sent == {
        "metric": "flows.bsm.sent",
        "n": "1",
        "mean": f"{float(runs[0]['flows.bsm.sent'])}",
        "std": "",
        "ci95_low": "",
        "ci95_high": "",
    }


def test_without_out_nothing_is_written(tmp_path: Path) -> None:
    scenario = tiny_sweep_scenario(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = sweep(scenario, {"car.fleet.count": [1, 2]}, executor="inprocess")
    assert sorted(tmp_path.iterdir()) == before
    assert [row["car.fleet.count"] for row in result.runs] == [1, 2]
    assert result.out is None
