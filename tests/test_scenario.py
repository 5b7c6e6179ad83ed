"""Scenario files (avzone/scenario/): parsing into dataclasses; one exact error per bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tinyzone import road, write_map

import avzone
from avzone.scenario import (
    Backhaul,
    Cells,
    CloudSection,
    Fleet,
    Flow,
    HdmapSection,
    MapSource,
    Mobility,
    NetworkSection,
    OdPair,
    Pc5,
    Placement,
    RoadSection,
    Scenario,
    Sensors,
    ServiceSpec,
    SiteSpec,
    Zone,
    parse_scenario,
)

REPO = Path(__file__).resolve().parents[1]

Variant = Callable[[dict[str, Any], str], Path]


# --- valid scenarios --------------------------------------------------------------------


def test_minimal_scenario_takes_every_default(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text("duration_s: 60\nmap: {builtin: etown}\n")

    assert avzone.load_scenario(path) == Scenario(
        name="mini",
        file=path,
        seed=0,
        duration_s=60.0,
        warmup_s=0.0,
        engine="auto",
        map=MapSource(builtin="etown"),
        road=RoadSection(Placement("signalized_intersections"), Pc5(), None),
        fleet=Fleet("poisson", rate_per_h=1800.0, max_vehicles=1000),
        zones=(),
        od=(),
        mobility=Mobility(speed_factor=1.0, signal_wait_max_s=0.0),
        flows=(),
        network=NetworkSection(Cells(), Backhaul()),
        cloud=CloudSection((), ()),
        hdmap=HdmapSection(),
        checks=(),
    )


def test_grid_scenario_values(grid_scenario: Path, tmp_path: Path) -> None:
    s = avzone.load_scenario(grid_scenario)

    assert (s.name, s.file, s.seed, s.duration_s, s.warmup_s) == (
        "grid",
        grid_scenario,
        1,
        60.0,
        0.0,
    )
    assert s.map == MapSource(file=(tmp_path / "tiny.geojson").resolve())
    assert s.road == RoadSection(Placement("list", 0.0, ((500.0, 500.0), (0.0, 0.0))), Pc5(), None)
    assert s.fleet == Fleet("fixed", count=5, start_window_s=10.0)
    assert s.flows == (
        Flow("bsm", rate_hz=10.0, size_bytes=300, via="pc5", deadline_ms=100.0),
        Flow(
            "control",
            rate_hz=10.0,
            size_bytes=1200,
            via="uu",
            deadline_ms=50.0,
            service="planning",
            reply_bytes=200,
        ),
    )
    assert s.network == NetworkSection(
        Cells(placement=Placement("list", positions_m=((500.0, 500.0),)), range_m=1000.0),
        Backhaul(),
    )
    assert s.cloud == CloudSection(
        (
            SiteSpec(
                "edge",
                "edge",
                servers=2,
                placement=Placement("list", positions_m=((500.0, 500.0),)),
            ),
        ),
        (ServiceSpec("planning", ("edge",), "constant", 2.0, 0.0),),
    )
    assert s.checks == ("vehicles.arrived == 5", "infrastructure.rsus >= 2")
    assert s.flow("control").service == "planning"


def test_every_optional_section_is_read(grid_variant: Variant) -> None:
    path = grid_variant(
        {
            "warmup_s": 12.5,
            "road.rsu.pc5": {"range_m": 250, "latency_ms": 1, "rate_mbps": 10, "loss": 0.02},
            "road.rsu.sensors": {
                "range_m": 120,
                "rate_hz": 5,
                "size_bytes": 3000,
                "service": "fusion",
            },
            "car.fleet": {"arrivals": "poisson", "rate_per_h": 600, "max_vehicles": 40},
            "car.demand": {
                "zones": {
                    "west": {"at_m": [0, 500], "radius_m": 10},
                    "east": {"at_m": [1000, 500], "radius_m": 10},
                },
                "od": [{"from": "west", "to": "east", "weight": 2}, {"from": "east", "to": "west"}],
            },
            "car.mobility": {"speed_factor": 0.5, "signal_wait_max_s": 30},
            "network.backhaul": {"fibre_detour": 1.5, "rate_gbps": 1, "loss": 0.001, "core_ms": 2},
            "cloud.sites.regional": {"tier": "regional", "servers": 16, "distance_km": 25},
            "cloud.services.fusion": {
                "sites": ["edge", "regional"],
                "time": {"dist": "lognormal", "mean_ms": 3, "cv": 0.5},
            },
            "hdmap": {
                "tiles": {"size_m": 500, "size_bytes": 1000},
                "changes": {"rate_per_tile_per_h": 0},
                "release": {"mode": "batch", "delay_s": 5, "interval_s": 300},
            },
        },
        "full.yaml",
    )
    s = avzone.load_scenario(path)

    assert s.warmup_s == 12.5
    assert s.road.pc5 == Pc5(range_m=250.0, latency_ms=1.0, rate_mbps=10.0, loss=0.02)
    assert s.road.sensors == Sensors(range_m=120.0, rate_hz=5.0, size_bytes=3000, service="fusion")
    assert s.fleet == Fleet("poisson", rate_per_h=600.0, max_vehicles=40)
    assert s.zones == (Zone("west", (0.0, 500.0), 10.0), Zone("east", (1000.0, 500.0), 10.0))
    assert s.od == (OdPair("west", "east", 2.0), OdPair("east", "west", 1.0))
    assert s.mobility == Mobility(speed_factor=0.5, signal_wait_max_s=30.0)
    assert s.network.backhaul == Backhaul(fibre_detour=1.5, rate_gbps=1.0, loss=0.001, core_ms=2.0)
    assert s.cloud.sites[1] == SiteSpec("regional", "regional", servers=16, distance_km=25.0)
    assert s.cloud.services[1] == ServiceSpec("fusion", ("edge", "regional"), "lognormal", 3.0, 0.5)
    assert s.hdmap == HdmapSection(
        tile_size_m=500.0,
        tile_size_bytes=1000,
        change_rate_per_tile_per_h=0.0,
        release_mode="batch",
        release_delay_s=5.0,
        release_interval_s=300.0,
    )
    # RSU perception uploads become the last flow, "rsm", sent over the RSU's fibre
    assert [f.name for f in s.flows] == ["bsm", "control", "rsm"]
    assert s.flows[-1] == Flow(
        "rsm", 5.0, 3000, via="fibre", deadline_ms=100.0, service="fusion", source="rsu"
    )


def test_sensors_with_zero_rate_add_no_flow(grid_variant: Variant) -> None:
    path = grid_variant({"road.rsu.sensors": {"rate_hz": 0, "service": "planning"}}, "quiet.yaml")
    s = avzone.load_scenario(path)

    assert [f.name for f in s.flows] == ["bsm", "control"]


REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.mark.parametrize(
    "path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda path: path.stem
)
def test_shipped_scenario_loads(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    if "shared/data/real" in path.read_text() and not REAL_DATA.is_dir():
        pytest.skip("shared real data not found at ../shared/data/real")

    s = avzone.load_scenario(path)

    assert (s.name, s.seed) == (raw.get("name", path.stem), raw.get("seed", 0))
    assert s.checks == tuple(raw.get("checks", ()))
    flows = list(raw.get("car", {}).get("flows", {}))
    assert [f.name for f in s.flows][: len(flows)] == flows


# --- bad input: one error naming the key path, the value and what was expected ---------

NAME_RULE = "expected a name of letters, digits, '_' or '-' starting with a letter"
CHECK_FORM = (
    "expected 'PATH OP NUMBER' with OP one of <= >= == != < > "
    "(e.g. 'flows.control.latency_ms.p99 <= 50')"
)
BSM = {"rate_hz": 10, "size_bytes": 300, "via": "pc5", "deadline_ms": 100}
WEST = {"west": {"at_m": [0, 0], "radius_m": 100}}

BAD_CHANGES = [
    pytest.param(
        {"car.fleet.count": -5},
        "car.fleet.count: expected an integer > 0, got -5",
        id="count-negative",
    ),
    pytest.param(
        {"car.fleet.count": 2.5},
        "car.fleet.count: expected an integer > 0, got 2.5",
        id="count-fraction",
    ),
    pytest.param(
        {"car.fleet.count": True},
        "car.fleet.count: expected an integer > 0, got true",
        id="count-boolean",
    ),
    pytest.param(
        {"car.flets": {"count": 5}},
        "car.flets: unknown key; did you mean 'fleet'?",
        id="unknown-key-hint",
    ),
    pytest.param(
        {"zzz": 1},
        "zzz: unknown key (known keys: car, checks, cloud, duration_s, engine, faults, hdmap, map, name, "
        "network, road, seed, warmup_s)",
        id="unknown-key-listed",
    ),
    pytest.param(
        {"duration_s": "abc"}, "duration_s: expected a number > 0, got 'abc'", id="duration-text"
    ),
    pytest.param({"duration_s": ...}, "duration_s: required key is missing", id="duration-missing"),
    pytest.param({"seed": -1}, "seed: expected an integer >= 0, got -1", id="seed-negative"),
    pytest.param(
        {"warmup_s": 60},
        "warmup_s: expected a warm-up shorter than duration_s (60), got 60",
        id="warmup-equals-duration",
    ),
    pytest.param(
        {"warmup_s": 90},
        "warmup_s: expected a warm-up shorter than duration_s (60), got 90",
        id="warmup-beyond-duration",
    ),
    pytest.param(
        {"car.flows.bsm.rate_hz": -1},
        "car.flows.bsm.rate_hz: expected a number > 0, got -1",
        id="rate-negative",
    ),
    pytest.param(
        {"network.cells.loss": 1},
        "network.cells.loss: expected a probability in [0, 1), got 1",
        id="probability-one",
    ),
    pytest.param(
        {"road.rsu.pc5.loss": 1.5},
        "road.rsu.pc5.loss: expected a probability in [0, 1), got 1.5",
        id="probability-above-one",
    ),
    pytest.param(
        {"car.flows.bsm.via": "pc6"},
        "car.flows.bsm.via: expected one of pc5, uu, got 'pc6'; did you mean 'pc5'?",
        id="via-unknown",
    ),
    pytest.param(
        {"car.flows.control.via": "pc5"},
        "car.flows.control.via: expected 'uu' for a flow with a service, got 'pc5'",
        id="via-with-service",
    ),
    pytest.param(
        {"car.flows.control.service": "plan"},
        "car.flows.control.service: unknown service 'plan' (defined: planning)",
        id="service-unknown",
    ),
    pytest.param(
        {"road.rsu.sensors": {"service": "fusion"}},
        "road.rsu.sensors.service: unknown service 'fusion' (defined: planning)",
        id="sensors-service-unknown",
    ),
    pytest.param(
        {"cloud.services.planning.sites": ["edge", "cloud"]},
        "cloud.services.planning.sites[1]: unknown site 'cloud' (defined: edge)",
        id="site-unknown",
    ),
    pytest.param(
        {"cloud.sites.edge.tier": "egde"},
        "cloud.sites.edge.tier: expected one of edge, regional, central, got 'egde'; "
        "did you mean 'edge'?",
        id="tier-typo",
    ),
    pytest.param(
        {"cloud.sites.edge.count": 2},
        "cloud.sites.edge.place.positions_m: expected 2 positions (count), got 1",
        id="site-positions-count",
    ),
    pytest.param(
        {"network.cells.place.positions_m": [[1, "a"]]},
        "network.cells.place.positions_m[0]: expected a pair [x_m, y_m], got [1, 'a']",
        id="position-not-a-pair",
    ),
    pytest.param(
        {"car.flows": ["bsm"]},
        "car.flows: expected a mapping of keys, got a list",
        id="flows-a-list",
    ),
    pytest.param({"car.flows.9x": BSM}, f"car.flows.9x: {NAME_RULE}, got '9x'", id="flow-name"),
    pytest.param(
        {"car.flows.rsm": BSM},
        "car.flows.rsm: 'rsm' is reserved for road.rsu.sensors uploads",
        id="flow-name-reserved",
    ),
    pytest.param(
        {"engine": "fast"},
        "engine: expected one of auto, batch, event, got 'fast'",
        id="engine-unknown",
    ),
    pytest.param(
        {"map.file": "nope.geojson"},
        "map.file: map file not found: nope.geojson (looked at <dir>/nope.geojson)",
        id="map-file-missing",
    ),
    pytest.param(
        {"map.builtin": "etown"},
        "map: give either 'file' or 'builtin', not both",
        id="map-file-and-builtin",
    ),
    pytest.param({"map": ...}, "map: expected 'file: PATH' or 'builtin: etown'", id="map-missing"),
    pytest.param(
        {"map": {"builtin": "etwon"}},
        "map.builtin: expected one of etown, got 'etwon'; did you mean 'etown'?",
        id="map-builtin-typo",
    ),
    pytest.param(
        {"car.demand": {"zones": WEST, "od": [{"from": "west", "to": "centre"}]}},
        "car.demand.od[0].to: expected one of west, got 'centre'",
        id="od-unknown-zone",
    ),
    pytest.param(
        {"car.demand": {"od": [{"from": "west", "to": "east"}]}},
        "car.demand.od: needs zones: define car.demand.zones first",
        id="od-without-zones",
    ),
    pytest.param(
        {"car.demand": {"zones": WEST}},
        "car.demand.od: required when zones are given: a list of {from, to}",
        id="zones-without-od",
    ),
    pytest.param(
        {"car.demand": {"zones": {"west": {"at_m": [0], "radius_m": 100}}, "od": []}},
        "car.demand.zones.west.at_m: expected a pair [x_m, y_m], got [0]",
        id="zone-at-not-a-pair",
    ),
    pytest.param(
        {"checks": ["flows.control.p99 < fast"]},
        f"checks[0]: {CHECK_FORM}, got 'flows.control.p99 < fast'",
        id="check-malformed",
    ),
    pytest.param(
        {"checks": [3]},
        "checks[0]: expected a check like 'flows.control.latency_ms.p99 <= 50', got 3",
        id="check-not-text",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD_CHANGES)
def test_bad_value_is_one_error(
    changes: dict[str, Any], message: str, grid_variant: Variant, tmp_path: Path
) -> None:
    path = grid_variant(changes, "bad.yaml")

    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.load_scenario(path)

    expected = message.replace("<dir>", str(tmp_path.resolve()))
    assert str(caught.value) == f"{path}: {expected}"
    assert caught.value.file == str(path)


BAD_FILES = [
    pytest.param(
        "duration_s: 60\nmap: {builtin: etown\nseed: 3\n",
        "malformed YAML at line 3, column 5: expected ',' or '}', but got ':'",
        id="yaml-syntax",
    ),
    pytest.param(
        "- duration_s: 60\n", "expected a mapping of keys, got a list", id="top-level-list"
    ),
    pytest.param("just text\n", "expected a mapping of keys, got 'just text'", id="top-level-text"),
    pytest.param(
        "duration_s: 60\nmap: {builtin: etown}\non: 3\n",
        "expected text keys, got true (YAML reads on/off/yes/no as booleans: quote the key)",
        id="yaml-boolean-key",
    ),
    pytest.param(
        "duration_s: 60\nmap: {builtin: etown}\ncar:\n  off: 1\n",
        "car: expected text keys, got false (YAML reads on/off/yes/no as booleans: quote the key)",
        id="yaml-boolean-nested-key",
    ),
    pytest.param("", "duration_s: required key is missing", id="empty-file"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_malformed_file_is_one_error(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)

    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.load_scenario(path)

    assert str(caught.value) == f"{path}: {message}"


def test_missing_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.load_scenario(path)

    assert str(caught.value) == f"{path}: scenario file not found"


def test_parse_scenario_reads_a_mapping_without_a_file(tmp_path: Path) -> None:
    data = yaml.safe_load("duration_s: 60\nmap: {builtin: etown}\ncar: {fleet: {count: 3}}\n")

    with pytest.raises(avzone.ScenarioError) as caught:
        parse_scenario(data, base_dir=tmp_path)

    # a poisson fleet has no count: the known keys are listed, no file is named
    assert str(caught.value) == (
        "car.fleet.count: unknown key (known keys: arrivals, initial_vehicles, max_vehicles, rate_per_h)"
    )


# --- bad input found when the world is built: map, demand, checks -----------------------


def build_error(path: Path) -> avzone.ScenarioError:
    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.build_world(path)
    return caught.value


def test_no_route_between_demand_zones(grid_variant: Variant, tmp_path: Path) -> None:
    # a 1000 m road of two pieces along y = 0, and a separate 500 m road along y = 1000
    split = write_map(
        tmp_path,
        [
            road("a", (0, 0), (500, 0)),
            road("b", (500, 0), (1000, 0)),
            road("c", (0, 1000), (500, 1000)),
        ],
        "split.geojson",
    )
    zones = {
        "south": {"at_m": [0, 0], "radius_m": 10},
        "north": {"at_m": [0, 1000], "radius_m": 10},
    }
    path = grid_variant(
        {
            "map.file": "split.geojson",
            "car.demand": {"zones": zones, "od": [{"from": "south", "to": "north"}]},
        },
        "bad.yaml",
    )

    error = build_error(path)

    assert error.path == "car.demand.od[0]"
    assert error.message == (
        f"no route from zone 'south' to zone 'north' on {split.resolve()} "
        "(their nodes are cut off from the rest of the road network)"
    )


def test_zone_without_road_node(grid_variant: Variant) -> None:
    zones = {**WEST, "middle": {"at_m": [250, 250], "radius_m": 100}}
    od = [{"from": "west", "to": "middle"}]

    error = build_error(grid_variant({"car.demand": {"zones": zones, "od": od}}, "bad.yaml"))

    assert error.file is not None
    assert error.file.endswith("bad.yaml")
    assert error.path == "car.demand.zones.middle"
    assert error.message == (
        "no road node within 100 m of at_m [250.0, 250.0] "
        "(offsets from the map's south-west corner; map is 1000 × 1000 m)"
    )


def test_check_naming_a_missing_flow(grid_variant: Variant) -> None:
    checks = ["vehicles.arrived >= 1", "flows.nope.latency_ms.p99 <= 50"]

    error = build_error(grid_variant({"checks": checks}, "bad.yaml"))

    assert error.file is not None
    assert error.file.endswith("bad.yaml")
    assert f"{error.path}: {error.message}" == (
        "checks[1]: flows.nope.latency_ms.p99: no 'nope' in flows (has: bsm, control)"
    )


def test_check_naming_a_block_not_a_number(grid_variant: Variant) -> None:
    error = build_error(grid_variant({"checks": ["flows.control.latency_ms <= 50"]}, "bad.yaml"))

    assert error.path == "checks[0]"
    assert error.message.startswith(
        "flows.control.latency_ms is not a number in the summary, got {"
    )


def test_broken_map_file_names_the_key_and_the_map(grid_variant: Variant, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [\n')
    path = grid_variant({"map.file": "broken.geojson"}, "bad.yaml")

    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.build_world(path)

    assert caught.value.file == str(path)
    assert caught.value.path == "map.file"
    assert caught.value.message.startswith(f"{broken.resolve()}: not valid JSON (line 2")
