"""Fault injection (avzone/faults): parsing, failover and impact against hand-computed cases.

The zone: tests/tinyzone.py's straight 1000 m road, one vehicle driving it back and forth at
10 m/s, one RSU and one cell at x = 500 m, an edge site 400 m off the road and a regional site
25 km away; no loss, constant service time, so every latency is a sum of constants (fibre
5 µs/km, REFERENCE.md §7) and every count follows from the 10 Hz message period.
"""

# The table of expected one-line error messages reads best unwrapped:
# ruff: noqa: E501

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from tinyzone import scenario_dict, straight_road_map, write_scenario

import avzone
from avzone import ScenarioError
from avzone.engine import World, simulate
from avzone.engine.event import RunRecord
from avzone.faults import FaultState, ranked_within, resolve_faults
from avzone.faults.state import backhaul_graph
from avzone.network.backhaul import CORE
from avzone.scenario import parse_scenario

FIBRE_S_PER_M = 5e-9  # 5 µs/km, REFERENCE.md §7


@pytest.fixture
def base(tmp_path: Path) -> dict[str, Any]:
    data = scenario_dict(straight_road_map(tmp_path))
    data["road"]["rsu"]["pc5"]["range_m"] = 2000  # the RSU covers the whole road
    data["car"]["flows"]["control"] = {
        "rate_hz": 10,
        "size_bytes": 1200,
        "via": "uu",
        "service": "planning",
        "reply_bytes": 200,
        "deadline_ms": 50,
    }
    data["cloud"]["sites"]["regional"] = {"tier": "regional", "servers": 4, "distance_km": 25}
    data["cloud"]["services"] = {
        "planning": {"sites": ["edge", "regional"], "time": {"dist": "constant", "mean_ms": 2}}
    }
    data["network"]["backhaul"] = {"loss": 0}
    return data


def _run(data: dict[str, Any], tmp_path: Path) -> tuple[World, RunRecord]:
    world = avzone.build_world(write_scenario(tmp_path, data, "f.yaml"))
    return world, simulate(world)


def _times(record: RunRecord, flow: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rec: Any = record.flows[flow]
    return (
        np.asarray(rec.t_s, dtype=float),
        np.asarray(rec.outcome, dtype=int),
        np.asarray(rec.latency_s, dtype=float),
    )


# -- sites -----------------------------------------------------------------------------------


def test_site_down_with_fallback_sends_the_window_to_the_regional_site(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """Edge down for [20, 30) s with fallback: every request sent in the window is served by the
    regional site; its latency is the edge latency plus, each way, the fibre edge → core → 25 km
    (5 µs/km) and the serialisation of the two extra links (8 · bytes / 10 Gb/s)."""
    base["faults"] = {"edge-fails": {"kind": "site_down", "target": {"sites": ["edge"]},
                                     "start_s": 20, "duration_s": 10}}  # fmt: skip
    world, record = _run(base, tmp_path)
    edge_xy = np.array(world.sites[0].xy)
    box = world.bbox_m
    core_xy = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    extra_m = float(np.hypot(*(edge_xy - core_xy))) * 1.3 + 25_000
    rate = 10e9
    extra_s = 2 * extra_m * FIBRE_S_PER_M + 2 * 8 * (1200 + 200) / rate
    t, outcome, lat = _times(record, "control")
    edge_s = lat[(t < 19.9) & (outcome == 0)]
    assert np.allclose(edge_s, edge_s[0], rtol=0, atol=1e-12)  # constant latency at the edge
    window = (t >= 20.0) & (t < 29.99)
    assert window.sum() == 100
    assert (outcome[window] == 0).all()
    assert np.allclose(lat[window], edge_s[0] + extra_s, rtol=0, atol=1e-9)
    assert record.flows["control"].site_down <= 1  # one request may be in service at 20 s
    summary = avzone.run(write_scenario(tmp_path, base, "f.yaml")).summary
    block = summary["faults"]["edge-fails"]
    assert block["targets"] == ["edge"]
    assert block["windows_s"] == [[20.0, 30.0]]
    assert block["flows"]["control"]["recovery_s"] == 0.0
    assert summary["cloud"]["regional"]["served"] == pytest.approx(100, abs=1)


def test_site_down_without_fallback_loses_the_window_as_site_down(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """No fallback: each of the 100 requests that reaches the edge site in [20, 30) s is refused
    (site_down); a request in service at 20 s may be lost too (101)."""
    base["cloud"]["fallback"] = False
    base["faults"] = {"edge-fails": {"kind": "site_down", "target": {"sites": ["edge"]},
                                     "start_s": 20, "duration_s": 10}}  # fmt: skip
    summary = avzone.run(write_scenario(tmp_path, base, "f.yaml")).summary
    lost = summary["flows"]["control"]["failures"]["site_down"]
    assert 100 <= lost <= 101
    block = summary["faults"]["edge-fails"]["flows"]["control"]
    assert block["affected"] == lost
    assert block["pre_miss_ratio"] == 0
    assert block["extra_missed_during"] == lost
    assert block["extra_missed_after"] == 0
    assert summary["cloud"]["regional"]["served"] == 0


# -- stations --------------------------------------------------------------------------------


def test_rsu_down_fails_over_to_the_next_rsu_in_range_or_loses_coverage(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """RSU 0 down for [20, 40): with a second RSU covering the road every BSM still arrives; with
    none, each of the 200 BSMs sent in the window (10 Hz × 20 s) is out of coverage."""
    base["faults"] = {"rsu": {"kind": "rsu_down", "target": {"ids": [0]}, "start_s": 20,
                              "duration_s": 20}}  # fmt: skip
    alone = avzone.run(write_scenario(tmp_path, base, "a.yaml")).summary
    assert alone["flows"]["bsm"]["failures"]["out_of_coverage"] == 200
    assert alone["faults"]["rsu"]["flows"]["bsm"]["affected"] == 200
    two = copy.deepcopy(base)
    two["road"]["rsu"]["place"]["positions_m"] = [[500, 0], [900, 0]]
    both = avzone.run(write_scenario(tmp_path, two, "b.yaml")).summary
    assert both["flows"]["bsm"]["failures"]["out_of_coverage"] == 0
    assert both["flows"]["bsm"]["latency_ms"]["max"] == alone["flows"]["bsm"]["latency_ms"]["max"]


def test_ranked_stations_within_range() -> None:
    """Nearest first, -1 beyond the range (distances by hand: 10, 20 and 35 m)."""
    points = np.array([[0.0, 0.0], [100.0, 0.0]])
    stations = np.array([[20.0, 0.0], [-10.0, 0.0], [0.0, 35.0]])
    assert ranked_within(points, stations, 30.0).tolist() == [[1, 0, -1], [-1, -1, -1]]


def test_gnss_error_far_beyond_the_road_loses_every_message_of_the_window(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """An RSU at 500 m reaching 300 m covers [200, 800] m of the road. With a 1000 km position
    error the reported position is clamped to an end of the road (0 or 1000 m), where no RSU
    is found: all 100 BSMs of [30, 40) s are lost (out of coverage); with a 1 µm error, none."""
    base["road"]["rsu"]["pc5"]["range_m"] = 300
    base["car"]["fleet"]["start_window_s"] = 0
    base["faults"] = {"gnss": {"kind": "gnss_degraded", "error_m": 1e6, "start_s": 30,
                               "duration_s": 10}}  # fmt: skip
    _, record = _run(base, tmp_path)
    t, outcome, _ = _times(record, "bsm")
    window = (t >= 30) & (t < 40)
    assert window.sum() == 100
    assert (outcome[window] == 2).all()
    base["faults"]["gnss"]["error_m"] = 1e-6
    quiet = copy.deepcopy(base)
    del quiet["faults"]
    small = avzone.run(write_scenario(tmp_path, base, "s.yaml")).summary
    none = avzone.run(write_scenario(tmp_path, quiet, "q.yaml")).summary
    assert small["flows"] == none["flows"]


# -- backhaul links --------------------------------------------------------------------------


def test_a_degraded_link_adds_its_extra_delay_each_way(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """5 ms extra on the cell's fibre to the edge site for [20, 30): every request of the window
    takes exactly 10 ms longer (the link is crossed up and down)."""
    base["faults"] = {"slow": {"kind": "link_degraded", "target": {"links": [["cell-0", "edge"]]},
                               "extra_delay_ms": 5, "start_s": 20, "duration_s": 10}}  # fmt: skip
    _, record = _run(base, tmp_path)
    t, outcome, lat = _times(record, "control")
    normal = lat[(t < 19.9) & (outcome == 0)][0]
    window = (t >= 20.0) & (t < 29.98)
    assert np.allclose(lat[window], normal + 0.010, rtol=0, atol=1e-9)
    after = t >= 30.0
    assert np.allclose(lat[after & (outcome == 0)], normal, rtol=0, atol=1e-12)


def test_a_cut_link_without_another_path_loses_the_requests(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """The first backhaul model is a tree: cutting the cell's only fibre leaves no path to any
    site, so the 100 requests of [20, 30) are lost on the backhaul."""
    base["faults"] = {"cut": {"kind": "link_cut", "target": {"links": [["edge", "cell-0"]]},
                              "start_s": 20, "duration_s": 10}}  # fmt: skip
    summary = avzone.run(write_scenario(tmp_path, base, "f.yaml")).summary
    assert summary["flows"]["control"]["failures"]["backhaul"] == 100
    assert summary["faults"]["cut"]["targets"] == ["cell-0–edge"]


def test_a_cut_link_with_an_alternate_path_adds_exactly_the_path_difference(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """A protection fibre of 3 km from the cell straight to the core: with the cell–edge link cut
    the route to the regional site becomes cell → core → regional, and the delay changes by
    exactly (3000 − (d(cell, edge) + d(edge, core)) · 1.3) · 5 µs/m, one link fewer to serialise."""
    base["faults"] = {"cut": {"kind": "link_cut", "target": {"links": [["cell-0", "edge"]]},
                              "start_s": 0}}  # fmt: skip
    world = avzone.build_world(write_scenario(tmp_path, base, "f.yaml"))
    state = FaultState(world, simpy.Environment())
    graph = backhaul_graph(world)
    ap = world.cell_ap(0)
    graph.add_edge(("ap", ap), CORE, length_m=3000.0, delay_s=3000 * FIBRE_S_PER_M,
                   rate_bps=10e9, loss=0.0, index=graph.number_of_edges(), name="protection",
                   tier="access", a=("ap", ap), b=CORE)  # fmt: skip
    state._graph = graph
    (occ,) = state.occurrences
    state._link(occ.element, occ.fault, True)
    regional = [s.name for s in world.sites].index("regional")
    up_s, _, loss = state.route(ap, regional, 1200, 200)
    cell, edge = world.cell_xy[0], np.array(world.sites[0].xy)
    box = world.bbox_m
    core = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    old_m = (np.hypot(*(cell - edge)) + np.hypot(*(edge - core))) * 1.3
    expected = world.routes.delay_s(ap, regional, 1200) + (3000 - old_m) * FIBRE_S_PER_M
    expected -= 8 * 1200 / 10e9  # two links (cell–core–regional) instead of three: one fewer
    assert up_s == pytest.approx(expected, abs=1e-12)
    assert loss == 0
    assert state.reachable(ap, 0)  # the edge site too, through the core


# -- random faults, streams --------------------------------------------------------------------


def test_mtbf_mttr_down_share_matches_the_alternating_renewal_formula(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """Each of 40 RSUs alternates up Exp(MTBF = 90 s) and down Exp(MTTR = 10 s) for 20,000 s:
    the long-run down share is MTTR / (MTBF + MTTR) = 0.1 (alternating renewal process); with
    ~8000 cycles the measured share is within 0.01 of it."""
    base["duration_s"] = 20000
    base["road"]["rsu"]["place"]["positions_m"] = [[25 * i, 0] for i in range(40)]
    base["faults"] = {"flaky": {"kind": "rsu_down", "random": {"mtbf_s": 90, "mttr_s": 10}}}
    world = avzone.build_world(write_scenario(tmp_path, base, "f.yaml"))
    occs = resolve_faults(world)
    down = sum(o.end_s - o.start_s for o in occs) / (40 * 20000)
    assert down == pytest.approx(0.1, abs=0.01)
    assert len({o.element for o in occs}) == 40


def test_a_new_fault_changes_no_other_draw(base: dict[str, Any], tmp_path: Path) -> None:
    """The faults' streams are their own (spawn key (1000, crc32(name))): adding a second
    fault leaves the first one's occurrences unchanged; a fault after the end of the run leaves
    every other figure of the summary unchanged."""
    base["faults"] = {"a": {"kind": "cell_down", "random": {"mtbf_s": 5, "mttr_s": 1}}}
    one = resolve_faults(avzone.build_world(write_scenario(tmp_path, base, "1.yaml")))
    base["faults"]["b"] = {
        "kind": "rsu_down",
        "target": {"share": 1},
        "random": {"mtbf_s": 3, "mttr_s": 1},
    }
    two = resolve_faults(avzone.build_world(write_scenario(tmp_path, base, "2.yaml")))
    assert [o for o in two if o.fault.name == "a"] == one
    late = copy.deepcopy(base)
    late["faults"] = {"later": {"kind": "site_down", "start_s": 1000}}
    clean = copy.deepcopy(base)
    del clean["faults"]
    clean["engine"] = "event"  # as the run with a fault (engine auto picks event for faults)
    with_fault = avzone.run(write_scenario(tmp_path, late, "l.yaml")).summary
    without = avzone.run(write_scenario(tmp_path, clean, "c.yaml")).summary
    assert with_fault.pop("faults")["later"]["occurrences"] == 0
    with_fault.pop("fault_timeline")
    assert with_fault == without


# -- the map service ---------------------------------------------------------------------------


def test_map_service_down_holds_releases_until_it_is_back(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """Releases are 60 s after a change; with the service down for [0, 300) s every release of a
    change in the first 240 s waits to 300 s, so its update lag is 300 − change time."""
    base["duration_s"] = 400
    base["hdmap"] = {"changes": {"rate_per_tile_per_h": 60}, "release": {"delay_s": 60}}
    base["faults"] = {"map": {"kind": "map_service_down", "start_s": 0, "duration_s": 300}}
    _, record = _run(base, tmp_path)
    hd = record.hdmap
    assert hd.releases > 0
    lags = np.array(hd.update_lag_s)
    assert (lags >= 60 - 1e-9).all()
    assert (lags > 60 + 1e-9).any()  # some were held
    clean = copy.deepcopy(base)
    del clean["faults"]
    _, free = _run(clean, tmp_path)
    assert np.allclose(free.hdmap.update_lag_s, 60)


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "rsu_broken"}, "faults.x.kind: expected one of rsu_down, cell_down"),
        ({"kind": "site_down", "target": {"sites": ["nowhere"]}}, "faults.x.target.sites[0]: unknown site 'nowhere'"),
        ({"kind": "rsu_down", "target": {"ids": [7]}}, "faults.x.target.ids[0]: expected an index below 1 (the RSUs), got 7"),
        ({"kind": "link_cut", "target": {"links": [["rsu-0", "core"]]}}, "faults.x.target.links[0]: no backhaul link rsu-0–core (rsu-0 links to edge)"),
        ({"kind": "link_degraded", "target": {"links": [["rsu-0", "edge"]]}}, "faults.x: a link_degraded fault needs extra_delay_ms or loss > 0"),
        ({"kind": "rsu_down", "duration_s": -1}, "faults.x.duration_s: expected a number > 0, got -1"),
        ({"kind": "map_service_down", "target": {"share": 0.5}}, "faults.x.target: a map_service_down fault has no target"),
        ({"kind": "cell_down", "target": {"share": 0.5, "ids": [0]}}, "faults.x.target: give one of"),
        ({"kind": "gnss_degraded"}, "faults.x.error_m: required key is missing"),
        ({"kind": "rsu_down", "when": 3}, "faults.x.when: unknown key"),
        ({"kind": "rsu_down", "target": {"area": [[0, 0], [1, 1]]}}, "faults.x.target.area: expected a polygon of at least 3 points, got 2"),
        ({"kind": "rsu_down", "target": {"area": [[0, 100], [10, 100], [10, 110]]}}, "faults.x.target.area: no rsu element inside the area"),
    ],
)  # fmt: skip
def test_bad_faults_are_one_line_errors(
    base: dict[str, Any], tmp_path: Path, fault: dict[str, Any], message: str
) -> None:
    base["faults"] = {"x": fault}
    path = write_scenario(tmp_path, base, "f.yaml")
    with pytest.raises(ScenarioError) as info:
        avzone.build_world(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_area_targets_pick_the_elements_inside(base: dict[str, Any], tmp_path: Path) -> None:
    """Two RSUs at x = 100 and 900 m; a square around x = 900 targets RSU 1 only."""
    base["road"]["rsu"]["place"]["positions_m"] = [[100, 0], [900, 0]]
    base["faults"] = {"east": {"kind": "rsu_down", "target": {"area": [[800, -50], [1000, -50],
                                                                       [1000, 50], [800, 50]]}}}  # fmt: skip
    data = copy.deepcopy(base)
    world = avzone.build_world(write_scenario(tmp_path, data, "f.yaml"))
    assert [o.element for o in resolve_faults(world)] == [1]
    scenario = parse_scenario(data, base_dir=tmp_path)
    assert scenario.faults[0].target.area[0] == (800.0, -50.0)


# -- the timeline plot -------------------------------------------------------------------------


def test_timeline_plot_and_report_section(base: dict[str, Any], tmp_path: Path) -> None:
    """The timeline's bins add up to the flow's totals; the plot shades the fault's window and
    the report shows it."""
    import matplotlib

    matplotlib.use("Agg")
    from avzone.plots import plot_fault_timeline, save_figure
    from avzone.report import write_report
    from avzone.rundir import load_run

    base["faults"] = {"edge-fails": {"kind": "site_down", "start_s": 20, "duration_s": 10}}
    base["cloud"]["fallback"] = False
    results = avzone.run(write_scenario(tmp_path, base, "f.yaml"))
    results.write(tmp_path / "run")
    run = load_run(tmp_path / "run")
    timeline = run.summary["fault_timeline"]
    control = run.summary["flows"]["control"]
    assert sum(timeline["flows"]["control"]["sent"]) == control["delivered"] + control["lost"]
    assert sum(timeline["flows"]["control"]["missed"]) == control["lost"] + control["late"]
    fig, ax = plot_fault_timeline(run)
    spans = [p for p in ax.patches if p.get_label() == "edge-fails (site_down)"]
    assert len(spans) == 1
    assert save_figure(fig, tmp_path / "timeline.png").stat().st_size > 1000
    html = write_report(tmp_path / "run", tmp_path / "report.html")
    assert "fault timeline" in Path(html).read_text(encoding="utf-8")


def test_checks_can_name_every_fault_figure_before_the_run(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """``avzone validate`` resolves check paths on an unmeasured summary: per-fault and per-flow
    figures are there (null) before anything ran."""
    base["faults"] = {"x": {"kind": "site_down", "start_s": 10, "duration_s": 5}}
    base["checks"] = [
        "faults.x.flows.control.recovery_s <= 30",
        "faults.x.extra_missed_during <= 5",
    ]
    avzone.build_world(write_scenario(tmp_path, base, "f.yaml"))


def test_gnss_in_an_area_hits_only_vehicles_inside(base: dict[str, Any], tmp_path: Path) -> None:
    """With the 1000 km error, a vehicle is lost to the RSU while (and only while) it is inside
    the area: the area x < 400 m loses some of the BSMs the whole-road fault loses, not all.
    The vehicle drives the road end to end at 10 m/s, so it is inside about 40 % of the time."""
    base["road"]["rsu"]["pc5"]["range_m"] = 300
    everywhere = {"kind": "gnss_degraded", "error_m": 1e6}
    base["faults"] = {"gnss": everywhere}
    all_lost = avzone.run(write_scenario(tmp_path, base, "a.yaml")).summary
    base["faults"] = {
        "gnss": everywhere | {"target": {"area": [[-10, -50], [400, -50], [400, 50], [-10, 50]]}}
    }
    area_lost = avzone.run(write_scenario(tmp_path, base, "b.yaml")).summary
    n_all = all_lost["flows"]["bsm"]["failures"]["out_of_coverage"]
    n_area = area_lost["flows"]["bsm"]["failures"]["out_of_coverage"]
    assert n_all == all_lost["flows"]["bsm"]["sent"]
    assert 0.25 * n_all < n_area < 0.6 * n_all
