"""Tests of avzone/roads: the GeoJSON loader, load_map, the graph queries and write_geojson.

Expected values are computed independently of the code under test: straight
lines in a projected CRS have their Euclidean length, lon/lat lengths come
from pyproj.Geod (geodesic on WGS84), counts are counted by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Geod

from avzone.errors import MapError
from avzone.roads import (
    ARTERIAL_CLASSES,
    ROAD_CLASS_DEFAULTS,
    bbox_m,
    largest_strongly_connected,
    load_geojson,
    load_map,
    map_info,
    to_lonlat,
    write_geojson,
)

UTM50 = {"type": "name", "properties": {"name": "EPSG:32650"}}
X0, Y0 = 450_000.0, 4_400_000.0  # a point in E-Town, UTM 50N metres


def line(coordinates: list[list[float]], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "LineString", "coordinates": coordinates},
    }


def point(x: float, y: float, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Point", "coordinates": [x, y]},
    }


def write(
    tmp_path: Path, features: list[dict[str, Any]], *, crs: Any = UTM50, name: str = "m.geojson"
) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = crs
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def edges_by_id(G: Any) -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    return {d["id"]: (u, v, d) for u, v, d in G.edges(data=True)}


# --- GeoJSON: geometry and lengths -------------------------------------------------------


def test_straight_line_in_projected_crs_is_1000_m(tmp_path: Path) -> None:
    """A 1 km line in a legacy projected CRS: two nodes, two directed edges of exactly 1000 m."""
    path = write(tmp_path, [line([[X0, Y0], [X0 + 600, Y0 + 800]], id="a", road_class="primary")])
    G = load_geojson(path)
    assert G.graph == {
        "name": "m",
        "source": str(path),
        "crs": "EPSG:32650",
        "offset_m": (0.0, 0.0),
    }
    assert G.number_of_nodes() == 2
    edges = edges_by_id(G)
    assert set(edges) == {"a", "-a"}
    u, v, a = edges["a"]
    assert (G.nodes[u]["x"], G.nodes[u]["y"], G.nodes[v]["x"]) == (X0, Y0, X0 + 600)
    assert a["length_m"] == 1000.0
    assert list(a["geometry"].coords) == [(X0, Y0), (X0 + 600, Y0 + 800)]
    back = edges["-a"]
    assert (back[0], back[1]) == (v, u)
    assert list(back[2]["geometry"].coords) == [(X0 + 600, Y0 + 800), (X0, Y0)]
    # class defaults (avzone/roads/classes.py): primary = 3 lanes per direction, 60 km/h
    assert (a["lanes"], a["speed_mps"], a["road_class"]) == (3, 60 / 3.6, "primary")


def test_lonlat_is_projected_to_utm_with_geodesic_length(tmp_path: Path) -> None:
    """0.01° of longitude at 39.8° N: the UTM length is the WGS84 geodesic (pyproj.Geod) ± 1 m.

    The geodesic is 856.4 m (the ellipsoid's prime-vertical radius, 6 386.9 km
    at 39.8°, × cos 39.8° × 0.01°); a sphere of 6 371 km would give 854.3 m.
    """
    path = write(tmp_path, [line([[116.50, 39.8], [116.51, 39.8]])], crs=None)
    G = load_geojson(path)
    expected_m = Geod(ellps="WGS84").line_length([116.50, 116.51], [39.8, 39.8])
    assert G.graph["crs"] == "EPSG:32650"  # 116.5° E lies in UTM zone 50 (114–120° E)
    lengths = [d["length_m"] for _, _, d in G.edges(data=True)]
    assert lengths == pytest.approx([expected_m, expected_m], abs=1.0)


def test_southern_hemisphere_uses_epsg_327xx(tmp_path: Path) -> None:
    """Sydney (151.2° E, 33.9° S) lies in UTM zone 56 south = EPSG:32756."""
    G = load_geojson(write(tmp_path, [line([[151.20, -33.9], [151.21, -33.9]])], crs=None))
    assert G.graph["crs"] == "EPSG:32756"


def test_to_lonlat_inverts_the_projection(tmp_path: Path) -> None:
    """Node coordinates converted back give the file's lon/lat (to the 1 cm rounding of nodes)."""
    lonlat = [[116.50, 39.80], [116.51, 39.81]]
    G = load_geojson(write(tmp_path, [line(lonlat)], crs=None))
    xy = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in G])
    assert to_lonlat(G, xy) == pytest.approx(np.array(lonlat), abs=2e-7)
    G.graph["crs"] = None
    assert to_lonlat(G, xy) is None


def test_to_lonlat_subtracts_the_offset() -> None:
    """projected = graph coordinate − offset_m; UTM 50N easting 500 000 m is 117° E."""
    import networkx as nx

    G = nx.MultiDiGraph(crs="EPSG:32650", offset_m=(-400_000.0, 10.0))
    assert to_lonlat(G, np.array([[100_000.0, 10.0]])) == pytest.approx(np.array([[117.0, 0.0]]))


def test_nodes_where_ends_meet_and_lines_cross_at_a_vertex(tmp_path: Path) -> None:
    """T-junction at coinciding ends; lines are split where another ends or crosses at a vertex."""
    features = [
        line([[X0, Y0], [X0 + 100, Y0]], id="w"),
        line([[X0 + 100, Y0], [X0 + 200, Y0]], id="e"),
        line([[X0 + 100, Y0], [X0 + 100, Y0 + 100]], id="n"),  # T at (100, 0)
        # passes through the end of "n" at (100, 100) and crosses "x2" at (300, 50)
        line([[X0, Y0 + 100], [X0 + 100, Y0 + 100], [X0 + 300, Y0 + 50], [X0 + 400, Y0]], id="x1"),
        line([[X0 + 300, Y0], [X0 + 300, Y0 + 50], [X0 + 300, Y0 + 100]], id="x2", oneway=True),
    ]
    G = load_geojson(write(tmp_path, features))
    # nodes: (0,0) (100,0) (200,0) (100,100) (0,100) (300,50) (400,0) (300,0) (300,100)
    assert G.number_of_nodes() == 9
    ids = set(edges_by_id(G))
    assert ids == {
        "w", "-w", "e", "-e", "n", "-n",
        "x1#0", "-x1#0", "x1#1", "-x1#1", "x1#2", "-x1#2",
        "x2#0", "x2#1",
    }  # fmt: skip
    assert G.degree(next(n for n in G if (G.nodes[n]["x"], G.nodes[n]["y"]) == (X0 + 100, Y0))) == 6


def test_same_road_drawn_once_per_direction_is_not_split(tmp_path: Path) -> None:
    """Two one-way lines between the same ends sharing vertices are one road, not crossings."""
    there = [[X0, Y0], [X0 + 50, Y0 + 10], [X0 + 100, Y0]]
    features = [line(there, id="a", oneway=True), line(there[::-1], id="b", oneway=True)]
    G = load_geojson(write(tmp_path, features))
    assert (G.number_of_nodes(), set(edges_by_id(G))) == (2, {"a", "b"})


@pytest.mark.parametrize(
    ("oneway", "expected"),
    [
        (None, {"r": "fwd", "-r": "back"}),
        (False, {"r": "fwd", "-r": "back"}),
        ("no", {"r": "fwd", "-r": "back"}),
        (True, {"r": "fwd"}),
        ("yes", {"r": "fwd"}),
        (1, {"r": "fwd"}),
        ("-1", {"r": "back"}),
    ],
)
def test_oneway(tmp_path: Path, oneway: object, expected: dict[str, str]) -> None:
    """oneway absent/false → ids r and -r; true/yes → r along the drawing; -1 → r against it."""
    properties: dict[str, Any] = {"id": "r"} if oneway is None else {"id": "r", "oneway": oneway}
    G = load_geojson(write(tmp_path, [line([[X0, Y0], [X0 + 10, Y0]], **properties)]))
    start = next(n for n in G if G.nodes[n]["x"] == X0)
    found = {d["id"]: "fwd" if u == start else "back" for u, _, d in G.edges(data=True)}
    assert found == expected


def test_properties_and_class_defaults(tmp_path: Path) -> None:
    """Explicit lanes/speed win; OSM highway/maxspeed (mph) work; unknown class → unclassified."""
    features = [
        line([[X0, Y0], [X0 + 10, Y0]], id="a", road_class="secondary", lanes=4, speed_kph=70),
        line([[X0, Y0 + 50], [X0 + 10, Y0 + 50]], id="b", highway="residential", maxspeed="20 mph"),
        line([[X0, Y0 + 90], [X0 + 10, Y0 + 90]], id="c", highway="busway", lanes="2"),
        line([[X0, Y0 + 99], [X0 + 10, Y0 + 99]], id="d"),
    ]
    edges = edges_by_id(load_geojson(write(tmp_path, features)))
    a, b, c, d = (edges[k][2] for k in "abcd")
    assert (a["lanes"], a["speed_mps"], a["road_class"]) == (
        4,
        pytest.approx(70 / 3.6),
        "secondary",
    )
    assert (b["lanes"], b["speed_mps"], b["road_class"]) == (
        1,
        pytest.approx(20 * 0.44704),
        "residential",
    )
    unclassified = ROAD_CLASS_DEFAULTS["unclassified"]
    assert (c["lanes"], c["speed_mps"], c["road_class"]) == (
        2,
        unclassified.speed_kph / 3.6,
        "busway",
    )
    assert (d["lanes"], d["road_class"]) == (unclassified.lanes, "unclassified")
    assert {"motorway", "trunk", "primary", "secondary"} == ARTERIAL_CLASSES


def test_signal_points_snap_to_nodes_within_2_m(tmp_path: Path) -> None:
    """A signal 1.5 m from a node marks it, one 5 m away does not; highway=traffic_signals works."""
    features = [
        line([[X0, Y0], [X0 + 100, Y0], [X0 + 200, Y0]], id="a"),
        line([[X0 + 100, Y0], [X0 + 100, Y0 + 100]], id="b"),
        point(X0 + 101.5, Y0, signalized=True),
        point(X0 + 100, Y0 + 95, signalized=True),
        point(X0 + 200, Y0, highway="traffic_signals"),
        point(X0, Y0, signalized=False),
    ]
    G = load_geojson(write(tmp_path, features))
    signalized = sorted(
        (G.nodes[n]["x"] - X0, G.nodes[n]["y"] - Y0) for n in G if G.nodes[n]["signalized"]
    )
    assert signalized == [(100.0, 0.0), (200.0, 0.0)]


def test_multilinestring_parts_are_numbered(tmp_path: Path) -> None:
    """Each part of a MultiLineString is a piece: ids m#0, m#1 (and -m#0, -m#1 back)."""
    feature = {
        "type": "Feature",
        "id": "m",
        "properties": {"oneway": "yes"},
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [[[X0, Y0], [X0 + 10, Y0]], [[X0, Y0 + 10], [X0 + 10, Y0 + 10]]],
        },
    }
    G = load_geojson(write(tmp_path, [feature]))
    assert set(edges_by_id(G)) == {"m#0", "m#1"}


# --- summary figures and helpers ---------------------------------------------------------


def test_map_info_and_bbox(tmp_path: Path) -> None:
    """Hand-counted figures of a 1 km two-way road plus a 500 m one-way road with a signal."""
    features = [
        line([[X0, Y0], [X0 + 1000, Y0]], id="a"),
        line([[X0 + 1000, Y0], [X0 + 1000, Y0 + 500]], id="b", oneway=True),
        point(X0 + 1000, Y0, signalized=True),
    ]
    G = load_geojson(write(tmp_path, features))
    info = map_info(G)
    assert list(info) == ["nodes", "edges", "length_km", "signalized", "bbox"]
    assert info == {
        "nodes": 3,
        "edges": 3,
        "length_km": 2.5,
        "signalized": 1,
        "bbox": [X0, Y0, X0 + 1000, Y0 + 500],
    }
    assert bbox_m(G) == (X0, Y0, X0 + 1000, Y0 + 500)
    # the one-way spur is not strongly connected: the largest part is the two-way road
    core = largest_strongly_connected(G)
    assert (core.number_of_nodes(), core.number_of_edges()) == (2, 2)
    assert core.graph == G.graph
    assert all("geometry" in d for _, _, d in core.edges(data=True))


def test_write_geojson_round_trip(tmp_path: Path) -> None:
    """Written and re-read: same counts, ids, classes, lanes, speeds, signals; lengths to 1 cm."""
    features = [
        line([[X0, Y0], [X0 + 1000, Y0]], id="a", road_class="primary"),
        line([[X0 + 1000, Y0], [X0 + 1000, Y0 + 500]], id="b", oneway=True, lanes=2, speed_kph=45),
        point(X0 + 1000, Y0, signalized=True),
    ]
    G = load_geojson(write(tmp_path, features))
    out = write_geojson(G, tmp_path / "out.geojson")
    doc = json.loads(out.read_text())
    assert [f["properties"].get("oneway") for f in doc["features"]] == [False, True, None]
    H = load_geojson(out)
    assert H.graph["crs"] == "EPSG:32650"
    assert map_info(H) == {**map_info(G), "length_km": pytest.approx(2.5, abs=1e-5)}
    old, new = edges_by_id(G), edges_by_id(H)
    assert set(old) == set(new)
    for key, (_, _, d) in old.items():
        e = new[key][2]
        assert (e["road_class"], e["lanes"], e["speed_mps"]) == (
            d["road_class"],
            d["lanes"],
            pytest.approx(d["speed_mps"]),
        )
        assert e["length_m"] == pytest.approx(d["length_m"], abs=0.01)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left


# --- bad input ---------------------------------------------------------------------------


def collection(*features: str, crs: str | None = "EPSG:32650") -> str:
    crs_member = f'"crs": {{"type": "name", "properties": {{"name": "{crs}"}}}}, ' if crs else ""
    return f'{{"type": "FeatureCollection", {crs_member}"features": [{", ".join(features)}]}}'


def road(
    properties: str = "{}", coordinates: str = "[[450000, 4400000], [450010, 4400000]]"
) -> str:
    geometry = f'{{"type": "LineString", "coordinates": {coordinates}}}'
    return f'{{"type": "Feature", "properties": {properties}, "geometry": {geometry}}}'


BAD_MAPS = [
    ("bad.geojson", "{not json", "not valid JSON (line 1, column 2"),
    ("bad.geojson", "[1, 2]", "expected a GeoJSON FeatureCollection, got 'list'"),
    ("bad.json", '{"type": "Feature"}', "expected a GeoJSON FeatureCollection, got 'Feature'"),
    ("bad.geojson", '{"type": "FeatureCollection"}', "'features': expected a list"),
    ("bad.geojson", collection("3"), "features[0]: expected a GeoJSON Feature object"),
    ("bad.geojson", collection(), "no road found"),
    ("bad.geojson", collection(road(coordinates="[[1, 2]]")), "expected a list of at least 2"),
    ("bad.geojson", collection(road(coordinates='[["a", 2], [3, 4]]')), "geometry.coordinates"),
    (
        "bad.geojson",
        collection(road('{"lanes": "many"}')),
        "features[0].properties.lanes: expected a whole number ≥ 1, got 'many'",
    ),
    ("bad.geojson", collection(road('{"lanes": 0}')), "properties.lanes"),
    ("bad.geojson", collection(road('{"speed_kph": -5}')), "speed_kph: expected a speed > 0"),
    ("bad.geojson", collection(road('{"oneway": "maybe"}')), "oneway: expected true, false"),
    ("bad.geojson", collection(road('{"road_class": 5}')), "properties.road_class"),
    (
        "bad.geojson",
        collection(road('{"id": "x"}'), road('{"id": "x"}')),
        "features[1]: road id 'x' is already used by features[0]",
    ),
    ("bad.geojson", collection(road(coordinates="[[4, 5], [4, 5]]")), "every road has zero length"),
    ("bad.geojson", collection(road(), crs=None), "coordinates are not lon/lat degrees"),
    ("bad.geojson", collection(road(), crs="EPSG:999999"), "crs: unknown CRS name 'EPSG:999999'"),
    ("bad.geojson", collection(road(), crs="EPSG:2263"), "expected a projected CRS in metres"),
    ("map.shp", "", "unknown map format; expected a file ending in .geojson, .json, .net.xml"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_MAPS)
def test_bad_input_is_one_line_map_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    """Bad map → MapError: one line, starting with the file name, saying what was expected."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MapError) as info:
        load_map(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing file and a directory are reported by name."""
    with pytest.raises(MapError, match=r"^maps/x\.geojson: file not found$"):
        load_map("maps/x.geojson")
    folder = tmp_path / "dir.geojson"
    folder.mkdir()
    with pytest.raises(MapError, match="expected a map file, found a directory"):
        load_map(folder)


def test_not_utf8(tmp_path: Path) -> None:
    """Binary junk in a .geojson is not UTF-8 JSON."""
    path = tmp_path / "x.geojson"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(MapError, match=r"x\.geojson: not (UTF-8 text|valid JSON)"):
        load_map(path)
