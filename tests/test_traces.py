"""Tests of avzone/vehicles/traces.py and sumo_run.py: trajectories (CSV, SUMO FCD) as mobility.

References outside the code: hand-made traces on the 1000 m straight road of
tests/tinyzone.py whose positions, distances and times are worked out by hand;
WGS84 ↔ UTM 50N by pyproj for the lon/lat form; SUMO 1.28 (eclipse-sumo, when
installed) writing FCD for the real E-Town net, whose x/y must lie on the lane
SUMO names (SOURCES.md §1 net).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from tinyzone import X0, Y0, scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.cli import main
from avzone.engine.world import SAMPLE_STEP_M
from avzone.errors import MapError
from avzone.network import sample_roads
from avzone.roads import load_map
from avzone.vehicles import sumo_run
from avzone.vehicles.traces import TraceVehicle, match_traces, read_trace

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="shared real data not found at ../shared/data/real"
)
needs_sumo = pytest.mark.skipif(
    sumo_run.sumo_binary() is None, reason="SUMO not installed (pip install 'avzone[sumo]')"
)


def _csv(
    folder: Path, rows: list[tuple[str, float, float, float]], header: str = "id,t,x,y"
) -> Path:
    path = folder / "trace.csv"
    path.write_text(header + "\n" + "".join(f"{i},{t},{x},{y}\n" for i, t, x, y in rows))
    return path


def _matched(tmp_path: Path, trace: Path):  # type: ignore[no-untyped-def]
    G = load_map(straight_road_map(tmp_path))
    samples = sample_roads(G, SAMPLE_STEP_M)
    return (
        G,
        samples,
        match_traces(G, read_trace(trace), samples, np.zeros(len(samples.xy), int), trace),
    )


def _position(G, samples, vehicle: TraceVehicle, t_s: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    geometry = G.edges[samples.edges[vehicle.edge]]["geometry"]
    point = geometry.interpolate(vehicle.s_m(t_s) / vehicle.edge_length_m, normalized=True)
    return point.x - X0, point.y - Y0


def test_positions_are_interpolated_between_samples(tmp_path: Path) -> None:
    """Samples at x = 100 m (t = 10 s) and x = 300 m (t = 20 s): at t = 15 s the car is at 200 m."""
    trace = _csv(tmp_path, [("a", 10, X0 + 100, Y0 + 1), ("a", 20, X0 + 300, Y0 + 1)])
    G, samples, traces = _matched(tmp_path, trace)
    assert traces.ident == ("a",)
    assert traces.odo_m.tolist() == [0.0, 200.0]
    vehicle = TraceVehicle(0, np.zeros(1))
    vehicle.edge = int(traces.edge[0])
    vehicle.edge_length_m = 1000.0
    vehicle.s0_m, vehicle.t0_s, vehicle.v_mps = float(traces.s_m[0]), 10.0, float(traces.v_mps[0])
    assert _position(G, samples, vehicle, 15.0) == pytest.approx((200.0, 0.0), abs=1e-6)
    assert _position(G, samples, vehicle, 10.0) == pytest.approx((100.0, 0.0), abs=1e-6)


def test_lonlat_csv_is_projected_with_the_map_crs(tmp_path: Path) -> None:
    """id,t,lon,lat: the lon/lat of (X0 + 250, Y0) in UTM 50N matches 250 m along the road."""
    lon, lat = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True).transform(
        [X0 + 250, X0 + 260], [Y0, Y0]
    )
    trace = _csv(tmp_path, [("b", 0, lon[0], lat[0]), ("b", 1, lon[1], lat[1])], "id,t,lon,lat")
    G, samples, traces = _matched(tmp_path, trace)
    geometry = G.edges[samples.edges[traces.edge[0]]]["geometry"]
    point = geometry.interpolate(traces.s_m[0] / 1000.0, normalized=True)
    assert (point.x - X0, point.y - Y0) == pytest.approx((250.0, 0.0), abs=1e-3)
    assert traces.odo_m[1] == pytest.approx(10.0, abs=1e-3)


def test_fcd_lane_puts_the_vehicle_on_that_edge(tmp_path: Path) -> None:
    """FCD lane="-r_0" pos="120": edge -r at 120 m, whatever edge is nearest to x/y."""
    fcd = tmp_path / "fcd.xml"
    fcd.write_text(
        f'<fcd-export><timestep time="0.00"><vehicle id="v" x="{X0 + 880}" y="{Y0}" lane="-r_0" pos="120"/>'
        f'</timestep><timestep time="1.00"><vehicle id="v" x="{X0 + 870}" y="{Y0}" lane="-r_0" pos="130"/>'
        "</timestep></fcd-export>"
    )
    G, samples, traces = _matched(tmp_path, fcd)
    assert G.edges[samples.edges[traces.edge[0]]]["id"] == "-r"
    assert traces.s_m.tolist() == [120.0, 130.0]
    assert traces.v_mps[0] == pytest.approx(10.0)


def _trace_scenario(tmp_path: Path, trace: Path, duration_s: float) -> Path:
    data = scenario_dict(straight_road_map(tmp_path), duration_s=duration_s)
    del data["car"]["fleet"]
    data["car"]["mobility"] = {"trace": trace.name}
    return write_scenario(tmp_path, data)


@pytest.mark.parametrize(("duration_s", "completed", "km"), [(15, 0, 0.1), (25, 1, 0.2)])
def test_traced_vehicle_appears_and_leaves_with_its_samples(
    tmp_path: Path, duration_s: float, completed: int, km: float
) -> None:
    """Samples at t = 10 s and 20 s, 200 m apart: at 15 s it has driven 100 m; after 20 s it is gone."""
    trace = _csv(tmp_path, [("a", 10, X0 + 100, Y0), ("a", 20, X0 + 300, Y0)])
    summary = avzone.run(_trace_scenario(tmp_path, trace, duration_s)).summary
    assert summary["vehicles"]["arrived"] == 1
    assert summary["vehicles"]["trips_completed"] == completed
    assert summary["vehicles"]["vehicle_km"] == pytest.approx(km, abs=1e-6)


def test_time_going_backwards_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vehicle whose second sample is earlier than its first: the run refuses, naming both times."""
    trace = _csv(tmp_path, [("a", 10, X0, Y0), ("car7", 3, X0, Y0), ("car7", 2.5, X0 + 5, Y0)])
    scenario = _trace_scenario(tmp_path, trace, 30)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "car.mobility.trace: " in err
    assert "vehicle 'car7': time goes backwards (t=2.5 s after t=3 s)" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("cut.xml", '<fcd-export><timestep time="0"><vehicle id="v" x="1" y="2"/>', "not well-formed XML"),
        ("empty.xml", "<fcd-export/>", "no <timestep><vehicle"),
        ("bad.csv", "vehicle,time\n", "expected a CSV header with id,t,x,y or id,t,lon,lat"),
        ("bad2.csv", "id,t,x,y\na,zero,1,2\n", "line 2: expected id,t,x,y with numbers"),
        ("trace.txt", "", "unknown trace format"),
    ],
)  # fmt: skip
def test_broken_trace_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    """Malformed traces give one-line MapErrors starting with the file name."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MapError) as info:
        read_trace(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_trace_and_fleet_together_are_refused(tmp_path: Path) -> None:
    """car.mobility.trace replaces the fleet: giving both is a scenario error."""
    trace = _csv(tmp_path, [("a", 0, X0, Y0), ("a", 1, X0 + 1, Y0)])
    data = scenario_dict(straight_road_map(tmp_path))
    data["car"]["mobility"] = {"trace": trace.name}
    with pytest.raises(
        avzone.ScenarioError, match=r"car\.fleet: the vehicles come from car\.mobility"
    ):
        avzone.load_scenario(write_scenario(tmp_path, data))


def test_sumo_run_without_sumo_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No SUMO binary: `avzone sumo run` prints one line naming avzone[sumo] and exits 2."""
    monkeypatch.setattr(sumo_run, "sumo_binary", lambda: None)
    assert main(["sumo", "run", "a.net.xml", "b.rou.xml", "-o", str(tmp_path / "f.xml")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'avzone[sumo]'" in err
    assert err.count("\n") == 1


@needs_real
@needs_sumo
def test_sumo_fcd_of_the_real_net_lies_on_its_lanes(tmp_path: Path) -> None:
    """SUMO's FCD for the first 30 s: at most the 61 vehicles that depart by then (SOURCES.md §2:
    one every 0.5 s), and each sample put on the edge SUMO names lies near SUMO's x/y: median
    within 12 m (lane offsets of up to 4 lanes), all within 40 m (the graph's edge shape runs
    from junction centre to junction centre, SUMO's lane position from the junction's border)."""
    fcd = tmp_path / "fcd.xml"
    net = REAL / "beijing_yizhuang.net.xml"
    assert (
        main(
            [
                "sumo",
                "run",
                str(net),
                str(REAL / "beijing_yizhuang_3600.rou.xml"),
                "-o",
                str(fcd),
                "--end",
                "30",
            ]
        )
        == 0
    )
    G = load_map(net)
    samples = sample_roads(G, SAMPLE_STEP_M)
    table = read_trace(fcd)
    traces = match_traces(G, table, samples, np.zeros(len(samples.xy), int), fcd)
    assert 50 <= len(traces) <= 61
    normal = {d for _, _, d in G.edges(data="id")}
    on_normal = np.array([e in normal for e in table.edge_id[traces.row]])
    assert on_normal.mean() > 0.8
    distance_m = []
    for r in np.flatnonzero(on_normal):
        data = G.edges[samples.edges[traces.edge[r]]]
        point = data["geometry"].interpolate(traces.s_m[r] / data["length_m"], normalized=True)
        row = traces.row[r]
        distance_m.append(np.hypot(point.x - table.x[row], point.y - table.y[row]))
    assert np.median(distance_m) < 12.0
    assert max(distance_m) < 40.0


def test_scenario_sumo_mobility_needs_sumo_and_a_sumo_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """car.mobility.sumo on a GeoJSON map names the map; without SUMO it names avzone[sumo]."""
    (tmp_path / "d.rou.xml").write_text(
        '<routes><vehicle id="a" depart="0"><route edges="r"/></vehicle></routes>'
    )
    data = scenario_dict(straight_road_map(tmp_path))
    del data["car"]["fleet"]
    data["car"]["mobility"] = {"sumo": {"routes_file": "d.rou.xml"}}
    scenario = write_scenario(tmp_path, data)
    with pytest.raises(
        avzone.ScenarioError, match=r"car\.mobility\.sumo: needs a SUMO network as map\.file"
    ):
        avzone.run(scenario)
    net = tmp_path / "one.net.xml"
    net.write_text(
        '<net><junction id="A" type="priority" x="0" y="0"/><junction id="B" type="priority" x="100" y="0"/>'
        '<edge id="r" from="A" to="B"><lane id="r_0" index="0" speed="10" length="100"/></edge>'
        '<edge id="-r" from="B" to="A"><lane id="-r_0" index="0" speed="10" length="100"/></edge></net>'
    )
    data["map"] = {"file": net.name}
    monkeypatch.setattr(sumo_run, "sumo_binary", lambda: None)
    with pytest.raises(
        avzone.ScenarioError, match=r"car\.mobility\.sumo: .*pip install 'avzone\[sumo\]'"
    ):
        avzone.run(write_scenario(tmp_path, data))


@needs_real
@needs_sumo
def test_yizhuang_real_sumo_scenario_follows_sumo() -> None:
    """The first 20 s of yizhuang-real-sumo: SUMO inserts the vehicles departing every 0.5 s
    (SOURCES.md §2: at most 40 by t = 20 s) and avzone's flows see them."""
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "yizhuang-real-sumo.yaml"
    summary = avzone.run(scenario, overrides={"duration_s": 20, "warmup_s": 5}).summary
    assert 30 <= summary["vehicles"]["arrived"] <= 40
    assert summary["flows"]["control"]["sent"] > 0
