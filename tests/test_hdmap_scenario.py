"""The ``hdmap`` scenario section, change rates and tiles, and whole runs with the HD map.

Hand-computed references: tile ids and road km of the straight road of
tests/tinyzone.py; change rates per road class = rate × km of road (a
two-way road counted once); scheduled changes snapped to the road sample
under the given point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from tinyzone import road, scenario_dict, straight_road_map, write_map, write_scenario

import avzone
from avzone.errors import ScenarioError
from avzone.hdmap.process import HdMap
from avzone.scenario.schema import ScheduledChange


def _load(tmp_path: Path, hdmap: dict[str, Any], **extra: Any) -> avzone.Scenario:
    data = scenario_dict(straight_road_map(tmp_path), hdmap=hdmap, **extra)
    return avzone.load_scenario(write_scenario(tmp_path, data))


def test_defaults_keep_the_first_model(tmp_path: Path) -> None:
    h = _load(tmp_path, {}).hdmap
    assert (h.tiles_by, h.detection, h.distribution.methods) == ("grid", None, ("push", "pull"))
    assert h.scheduled == ()


def test_every_new_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "works.csv").write_text(
        "time_s,x_m,y_m,kind,duration_s\n10,200,0,lane_closure,60\n20,700,3,,\n"
    )
    data = scenario_dict(straight_road_map(tmp_path))
    data["cloud"]["services"] = {
        "fusion": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 5}}
    }
    data["hdmap"] = {
        "tiles": {"by": "edge", "size_bytes": 1000, "bytes_per_km": 5000},
        "changes": {
            "rate_per_km_per_h": {"primary": 0.5, "other": 0.1},
            "duration_s": 300,
            "file": "works.csv",
        },
        "detection": {
            "service": "fusion",
            "vehicle_probability": 0.4,
            "rsu_probability": 0.9,
            "rsu_period_s": 2,
            "upload_bytes": 3000,
            "confirm_count": 2,
            "confirm_timeout_s": 90,
            "retry_s": 3,
            "priority": 1,
        },
        "distribution": {
            "methods": ["prefetch", "pull"],
            "push_radius_m": 50,
            "prefetch_ahead_m": 2000,
            "retry_s": 2,
            "loss": 0.1,
        },
        "control_flows": ["bsm"],
    }
    h = avzone.load_scenario(write_scenario(tmp_path, data)).hdmap
    assert h.tiles_by == "edge"
    assert h.tile_bytes_per_km == 5000
    assert h.change_rate_per_km_per_h == (("primary", 0.5), ("other", 0.1))
    assert h.scheduled == (
        ScheduledChange(10.0, "lane_closure", 60.0, xy_m=(200.0, 0.0)),
        ScheduledChange(20.0, "change", 0.0, xy_m=(700.0, 3.0)),
    )
    assert h.detection is not None
    assert (h.detection.confirm_count, h.detection.confirm_timeout_s) == (2, 90.0)
    assert h.distribution.methods == ("prefetch", "pull")
    assert h.control_flows == ("bsm",)


def test_a_yaml_change_file_with_edge_and_lonlat(tmp_path: Path) -> None:
    (tmp_path / "works.yaml").write_text(
        "- {time_s: 5, edge: r, kind: works}\n- {time_s: 6, lon: 116.5, lat: 39.7}\n"
    )
    h = _load(tmp_path, {"changes": {"file": "works.yaml"}}).hdmap
    assert h.scheduled == (
        ScheduledChange(5.0, "works", edge="r"),
        ScheduledChange(6.0, lonlat=(116.5, 39.7)),
    )


@pytest.mark.parametrize(
    ("hdmap", "message"),
    [
        ({"tiles": {"by": "road"}}, "hdmap.tiles.by: expected one of grid, edge, got 'road'"),
        (
            {"changes": {"rate_per_km_per_h": {"highway": 1}}},
            "hdmap.changes.rate_per_km_per_h.highway: expected one of motorway",
        ),
        (
            {"detection": {"service": "fusion"}},
            "hdmap.detection.service: expected a service of cloud.services (none defined), "
            "got 'fusion'",
        ),
        (
            {"distribution": {"methods": ["push", "broadcast"]}},
            "hdmap.distribution.methods[1]: expected distinct methods among push, pull, "
            "prefetch, got 'broadcast'",
        ),
        ({"distribution": {"loss": 1}}, "hdmap.distribution.loss: expected a probability"),
        (
            {"control_flows": ["planning"]},
            "hdmap.control_flows[0]: expected a vehicle flow of car.flows (bsm), got 'planning'",
        ),
        ({"changes": {"file": "missing.csv"}}, "hdmap.changes.file: cannot read the change file"),
        ({"release": {"period_s": 5}}, "hdmap.release.period_s: unknown key"),
    ],
)
def test_bad_hdmap_keys_name_the_key_path(
    tmp_path: Path, hdmap: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=None) as info:
        _load(tmp_path, hdmap)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("time_s,x_m\n5,1\n", "y_m: required column is missing"),
        ("time_s,x_m,y_m,colour\n5,1,2,red\n", "unknown column 'colour'"),
        ("time_s,x_m,y_m\n-5,1,2\n", "time_s: expected a number >= 0, got '-5'"),
        ("time_s,edge,x_m,y_m\n5,r,1,2\n", "expected exactly one location"),
    ],
)
def test_bad_change_file_rows(tmp_path: Path, rows: str, message: str) -> None:
    (tmp_path / "works.csv").write_text(rows)
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, {"changes": {"file": "works.csv"}})
    assert "hdmap.changes.file (works.csv change 1)" in str(info.value)
    assert message in str(info.value)


def test_edge_tiles_and_bytes_per_km(tmp_path: Path) -> None:
    """tiles.by edge: the two directions of the 1 km road are one tile of 1 km of road:
    1000 + 5000 × 1 bytes."""
    data = scenario_dict(
        straight_road_map(tmp_path),
        hdmap={"tiles": {"by": "edge", "size_bytes": 1000, "bytes_per_km": 5000}},
    )
    world = avzone.build_world(write_scenario(tmp_path, data))
    assert np.unique(world.sample_tile).tolist() == [0]
    hd = HdMap(simpy.Environment(), world, np.random.default_rng(0))
    assert hd.tile_bytes.tolist() == [pytest.approx(6000.0)]


def test_change_rate_by_road_class(tmp_path: Path) -> None:
    """Two 1 km two-way roads, primary and residential; 0.5 per km per h on primary,
    0.1 on the others: total 0.6 per h; over 2000 h of changes the share on the primary
    road is 5/6 within 3 binomial standard errors."""
    path = write_map(
        tmp_path,
        [
            road("p", (0, 0), (1000, 0), road_class="primary"),
            road("q", (0, 500), (1000, 500), road_class="residential"),
        ],
    )
    rates = {"rate_per_tile_per_h": 0, "rate_per_km_per_h": {"primary": 0.5, "other": 0.1}}
    world = avzone.build_world(
        write_scenario(tmp_path, scenario_dict(path, hdmap={"changes": rates}))
    )
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(5))
    assert hd.spot_rate_per_s.sum() * 3600 == pytest.approx(0.6)
    env.process(hd.run_changes())
    env.run(until=2000 * 3600)
    n = len(hd.all_changes)
    on_primary = sum(world.samples.xy[c.sample, 1] < world.bbox_m[1] + 250 for c in hd.all_changes)
    assert abs(on_primary / n - 5 / 6) < 3 * np.sqrt(5 / 36 / n)


def test_scheduled_changes_happen_where_and_when_given(tmp_path: Path) -> None:
    (tmp_path / "works.csv").write_text("time_s,x_m,y_m,kind\n10,203,4,works\n")
    data = scenario_dict(
        straight_road_map(tmp_path),
        hdmap={"tiles": {"size_m": 400}, "changes": {"file": "works.csv"}},
    )
    world = avzone.build_world(write_scenario(tmp_path, data))
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    env.process(hd.run_changes())
    env.run(until=20)
    (c,) = hd.all_changes
    assert (c.time_s, c.kind, c.tile) == (10.0, "works", 0)
    assert world.samples.xy[c.sample, 0] - world.bbox_m[0] == pytest.approx(205.0)


def test_a_change_far_from_any_road_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "works.csv").write_text("time_s,x_m,y_m\n10,200,900\n")
    data = scenario_dict(straight_road_map(tmp_path), hdmap={"changes": {"file": "works.csv"}})
    with pytest.raises(ScenarioError, match="900 m from the nearest road"):
        avzone.run(write_scenario(tmp_path, data))


def _detecting(grid_variant: Callable[[dict[str, Any], str], Path], **extra: Any) -> Path:
    hdmap = {
        "tiles": {"size_m": 500},
        "changes": {"rate_per_tile_per_h": 120},
        "detection": {"service": "planning", "vehicle_probability": 0.8},
        "release": {"mode": "continuous", "delay_s": 5},
        **extra,
    }
    quiet = {"car.flows.bsm": ..., "car.flows.control.rate_hz": 1, "checks": []}
    return grid_variant(
        {"hdmap": hdmap, "duration_s": 300, "car.fleet.count": 20, **quiet}, "hd.yaml"
    )


def test_a_run_fills_the_hdmap_summary_and_repeats_exactly(
    grid_variant: Callable[[dict[str, Any], str], Path],
) -> None:
    """The summary's hdmap block on the grid scenario with detection; same seed, same numbers."""
    path = _detecting(grid_variant)
    a = avzone.run(path).summary["hdmap"]
    assert avzone.run(path).summary["hdmap"] == a
    stages = a["change_to_s"]
    assert stages["detected"]["count"] > 0
    assert stages["detected"]["p50"] <= stages["confirmed"]["p50"] <= stages["released"]["p50"]
    # no RSU detection here: detections / passes estimates vehicle_probability 0.8
    passes = a["detection_passes"]
    assert passes > 20
    assert abs(a["detections"] / passes - 0.8) < 4 * np.sqrt(0.8 * 0.2 / passes)
    assert a["control_messages"] > 0
    assert 0 <= a["control_stale_share"] <= 1
    assert a["map_bytes_per_h"] == pytest.approx(
        a["download_bytes_per_h"] + a["upload_bytes_per_h"]
    )


def test_scheduled_changes_by_lonlat_and_by_road_id(tmp_path: Path) -> None:
    """The map is in EPSG:32650: the lon/lat of (X0 + 703, Y0) snaps to the sample centred
    at 705 m; road ``r`` (the whole 1000 m road) to its middle sample, 495 or 505 m."""
    from pyproj import Transformer
    from tinyzone import X0, Y0

    lon, lat = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True).transform(
        X0 + 703, Y0
    )
    (tmp_path / "works.yaml").write_text(
        f"- {{time_s: 1, lon: {lon!r}, lat: {lat!r}}}\n- {{time_s: 2, edge: r}}\n"
    )
    data = scenario_dict(straight_road_map(tmp_path), hdmap={"changes": {"file": "works.yaml"}})
    world = avzone.build_world(write_scenario(tmp_path, data))
    env = simpy.Environment()
    hd = HdMap(env, world, np.random.default_rng(0))
    env.process(hd.run_changes())
    env.run(until=5)
    x = [float(world.samples.xy[c.sample, 0] - world.bbox_m[0]) for c in hd.all_changes]
    assert x[0] == pytest.approx(705.0)
    assert round(x[1]) in (495, 505)


def test_an_unknown_road_id_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "works.csv").write_text("time_s,edge\n1,nope\n")
    data = scenario_dict(straight_road_map(tmp_path), hdmap={"changes": {"file": "works.csv"}})
    with pytest.raises(ScenarioError, match="expected a road id of the map for 'edge', got 'nope'"):
        avzone.run(write_scenario(tmp_path, data))
