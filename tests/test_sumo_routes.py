"""Tests of avzone/vehicles/sumo_routes.py: SUMO route files as the demand of a run.

References outside the code: the real E-Town demand and net in
../shared/data/real (SOURCES.md §1–2: 3,600 vehicles departing 0.0–1799.5 s,
routes over the net's edge ids), read again with ElementTree; SUMO's flow
semantics (sumo.dlr.de "Definition of Vehicles, Vehicle Types, and Routes":
a flow's vehicles are ID.0, ID.1, … departing begin + k·period before end;
``number`` spreads them evenly over [begin, end)); free-flow travel time =
length / speed (DESIGN.md validation targets).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.cli import main
from avzone.errors import MapError
from avzone.roads import load_map
from avzone.vehicles.sumo_routes import plan_routes, read_routes

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="shared real data not found at ../shared/data/real"
)

ROUTES = """<routes>
    <vType id="car"/>
    <route id="east" edges="r"/>
    <vehicle id="ref" depart="3.5" route="east"/>
    <vehicle id="inline" depart="1"><route edges="-r"/></vehicle>
    <trip id="t" depart="2" from="r" to="-r"/>
    <flow id="f" begin="10" end="20" period="4" route="east"/>
    <flow id="n" begin="0" end="8" number="4"><route edges="r"/></flow>
    <flow id="h" begin="100" end="104" vehsPerHour="1800" from="-r" to="-r"/>
</routes>
"""


def _write(folder: Path, text: str, name: str = "demand.rou.xml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_vehicles_trips_and_flows_by_sumo_rules(tmp_path: Path) -> None:
    """Ids and departures follow SUMO's flow rules, sorted by departure (stable)."""
    vehicles = read_routes(_write(tmp_path, ROUTES))
    got = [(v.ident, v.depart_s, v.edges, v.trip) for v in vehicles]
    assert got == [
        ("n.0", 0.0, ("r",), False),
        ("inline", 1.0, ("-r",), False),
        ("t", 2.0, ("r", "-r"), True),
        ("n.1", 2.0, ("r",), False),
        ("ref", 3.5, ("r",), False),
        ("n.2", 4.0, ("r",), False),
        ("n.3", 6.0, ("r",), False),
        ("f.0", 10.0, ("r",), False),
        ("f.1", 14.0, ("r",), False),
        ("f.2", 18.0, ("r",), False),
        ("h.0", 100.0, ("-r", "-r"), True),
        ("h.1", 102.0, ("-r", "-r"), True),
    ]


def test_trip_is_routed_through_the_graph(tmp_path: Path) -> None:
    """A trip r → -r on one two-way road is exactly those two edges (U-turn at the end)."""
    G = load_map(straight_road_map(tmp_path))
    index = {e: i for i, e in enumerate(G.edges(keys=True))}
    vehicles = read_routes(_write(tmp_path, ROUTES))
    plan = plan_routes(G, vehicles, index, "demand.rou.xml")
    by_id = {d: index[(u, v, k)] for u, v, k, d in G.edges(keys=True, data="id")}
    assert plan.routes[plan.ident.index("t")] == (by_id["r"], by_id["-r"])
    assert plan.routes[plan.ident.index("h.0")] == (by_id["-r"],)  # from == to: that edge only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<routes><vehicle id="v7" depart="0"><route edges="r nope"/></vehicle></routes>',
         "vehicle 'v7': edge 'nope' is not in the map"),
        ('<routes><vehicle id="v8" depart="0"><route edges="r r"/></vehicle></routes>',
         "vehicle 'v8': route is not connected: edge 'r' ends at node"),
        ('<routes><vehicle id="v" depart="0"><route edges="r"/></vehicle>',
         "not well-formed XML (line 1"),
        ('<routes><vehicle id="v" depart="triggered" route="x"/></routes>',
         "vehicle 'v' depart='triggered': expected a time in seconds >= 0"),
        ('<routes><vehicle id="v" depart="0" route="x"/></routes>',
         "vehicle 'v' route='x' names no <route>"),
        ('<routes><flow id="p" begin="0" end="9" probability="0.1" route="x"/></routes>',
         "flow 'p': probability flows are random"),
        ("<net/>", "not a SUMO route file (root element is <net>"),
    ],
)  # fmt: skip
def test_bad_route_files_are_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    """Each broken input names the file and the vehicle (and the edge) in one line."""
    G = load_map(straight_road_map(tmp_path))
    index = {e: i for i, e in enumerate(G.edges(keys=True))}
    path = _write(tmp_path, text)
    with pytest.raises(MapError) as info:
        plan_routes(G, read_routes(path), index, path)
    assert expected in str(info.value)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def _route_scenario(tmp_path: Path, routes: str, duration_s: float) -> Path:
    data = scenario_dict(straight_road_map(tmp_path), duration_s=duration_s)
    data["car"]["fleet"] = {"arrivals": "routes", "routes_file": "demand.rou.xml"}
    _write(tmp_path, routes)
    return write_scenario(tmp_path, data)


@pytest.mark.parametrize(("duration_s", "completed", "km"), [(104.9, 0, 0.999), (105.1, 1, 1.0)])
def test_listed_route_takes_length_over_speed(
    tmp_path: Path, duration_s: float, completed: int, km: float
) -> None:
    """Departing at 5 s over the 1000 m road at 10 m/s, the vehicle arrives at 105 s (L / v)."""
    routes = '<routes><vehicle id="a" depart="5"><route edges="r"/></vehicle></routes>'
    summary = avzone.run(_route_scenario(tmp_path, routes, duration_s)).summary
    assert summary["vehicles"]["arrived"] == 1
    assert summary["vehicles"]["trips_completed"] == completed
    assert summary["vehicles"]["vehicle_km"] == pytest.approx(km, abs=1e-6)


def test_unknown_edge_in_a_run_is_exit_2_naming_vehicle_and_edge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`avzone run` on a route over a missing edge: one line with the key path, vehicle, edge."""
    routes = '<routes><vehicle id="bus9" depart="0"><route edges="r x1"/></vehicle></routes>'
    scenario = _route_scenario(tmp_path, routes, 10)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "car.fleet.routes_file: " in err
    assert "vehicle 'bus9': edge 'x1' is not in the map" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@needs_real
def test_yizhuang_demand_gives_3600_vehicles_with_their_exact_routes() -> None:
    """SOURCES.md §2: 3,600 vehicles, departures 0.0–1799.5 s; routes equal the file's edge lists
    (ElementTree) and every route is connected on the imported Yizhuang net."""
    path = REAL / "beijing_yizhuang_3600.rou.xml"
    G = load_map(REAL / "beijing_yizhuang.net.xml")
    index = {e: i for i, e in enumerate(G.edges(keys=True))}
    plan = plan_routes(G, read_routes(path), index, path)
    assert len(plan) == 3600
    assert (plan.depart_s.min(), plan.depart_s.max()) == (0.0, 1799.5)
    edges = list(G.edges(keys=True, data="id"))
    expected = {
        v.get("id"): v.find("route").get("edges").split()  # type: ignore[union-attr]
        for v in ET.parse(path).getroot().iter("vehicle")
    }
    for ident, route in zip(plan.ident, plan.routes, strict=True):
        assert [edges[i][3] for i in route] == expected[ident]


SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("name", ["yizhuang-real", "yizhuang-real-sumo", "yizhuang-real-1800"])
def test_real_scenario_without_the_files_is_one_line(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Copied where ../../shared/data/real does not exist, the scenario names the missing file."""
    copy = tmp_path / "a" / f"{name}.yaml"
    copy.parent.mkdir()
    copy.write_text((SCENARIOS / f"{name}.yaml").read_text())
    assert main(["validate", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "file not found: ../../shared/data/real/beijing_yizhuang" in err
    assert err.count("\n") == 1


@needs_real
def test_yizhuang_real_runs_sumo_departures(tmp_path: Path) -> None:
    """The first 20 s of yizhuang-real: SOURCES.md §2 departures every 0.5 s from 0.0 give 40
    vehicles (SimPy stops before events at the end time), every system measured."""
    results = avzone.run(
        SCENARIOS / "yizhuang-real.yaml", overrides={"duration_s": 20, "warmup_s": 5}
    )
    summary = results.summary
    assert summary["vehicles"]["arrived"] == 40
    assert summary["flows"]["control"]["sent"] > 0
    assert summary["flows"]["rsm"]["sent"] > 0


def test_same_seed_same_summary_with_listed_routes(tmp_path: Path) -> None:
    """Route-file demand with signal waits and flows: two runs of one seed give identical summaries."""
    routes = '<routes><flow id="f" begin="0" end="30" period="3"><route edges="r"/></flow></routes>'
    scenario = _route_scenario(tmp_path, routes, 60)
    first = avzone.run(scenario).summary
    assert first["vehicles"]["arrived"] == 10
    assert avzone.run(scenario).summary == first
