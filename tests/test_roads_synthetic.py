"""Tests of avzone/roads/synthetic.py and the checked-in maps/etown.geojson.

Reference figures (REFERENCE.md §6, data/real/SOURCES.md §1): the E-Town
core is about 8.8 km × 7.5 km between lon 116.44–116.55 and lat 39.75–39.83
and has about 257–329 signalised intersections.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from avzone.roads import (
    ARTERIAL_CLASSES,
    ROAD_CLASS_DEFAULTS,
    bbox_m,
    etown_synthetic,
    largest_strongly_connected,
    load_map,
    map_info,
    to_lonlat,
)
from avzone.roads.__main__ import main

ETOWN_GEOJSON = Path(__file__).resolve().parents[1] / "maps" / "etown.geojson"


@pytest.fixture(scope="module")
def etown() -> nx.MultiDiGraph:
    return etown_synthetic()


def test_size_and_place_imitate_the_etown_core(etown: nx.MultiDiGraph) -> None:
    """≈ 8.8 km × 7.5 km, inside lon 116.44–116.55 / lat 39.75–39.83, UTM 50N."""
    xmin, ymin, xmax, ymax = bbox_m(etown)
    assert xmax - xmin == pytest.approx(8800, rel=0.03)
    assert ymax - ymin == pytest.approx(7500, rel=0.03)
    assert etown.graph["crs"] == "EPSG:32650"
    lon, lat = to_lonlat(etown, np.array([[xmin, ymin], [xmax, ymax]])).T
    assert 116.44 <= lon[0] < lon[1] <= 116.55
    assert 39.75 <= lat[0] < lat[1] <= 39.83


def test_signalised_intersections_are_the_arterial_crossings(etown: nx.MultiDiGraph) -> None:
    """250–330 signals, each where arterials cross (≥ 3 arterial neighbours); none elsewhere."""
    info = map_info(etown)
    assert 250 <= info["signalized"] <= 330
    for node, signalized in etown.nodes(data="signalized"):
        arterial = {
            v for _, v, d in etown.out_edges(node, data=True) if d["road_class"] in ARTERIAL_CLASSES
        }
        assert signalized == (len(arterial) >= 3 or etown.out_degree(node) == 2), node


def test_roads_are_two_way_with_class_defaults(etown: nx.MultiDiGraph) -> None:
    """Each edge eN has a twin -eN with reversed geometry; lanes and speeds from the class table."""
    edges = {d["id"]: (u, v, d) for u, v, d in etown.edges(data=True)}
    for edge_id, (u, v, d) in edges.items():
        twin_id = edge_id[1:] if edge_id.startswith("-") else "-" + edge_id
        tu, tv, twin = edges[twin_id]
        assert (tu, tv) == (v, u)
        assert list(twin["geometry"].coords) == list(d["geometry"].coords)[::-1]
        defaults = ROAD_CLASS_DEFAULTS[d["road_class"]]
        assert (d["lanes"], d["speed_mps"]) == (defaults.lanes, defaults.speed_kph / 3.6)
    classes = Counter(d["road_class"] for _, _, d in edges.values())
    assert set(classes) == {"primary", "secondary", "tertiary", "residential"}
    assert (ROAD_CLASS_DEFAULTS["primary"].lanes, ROAD_CLASS_DEFAULTS["primary"].speed_kph) == (
        3,
        60,
    )
    assert (ROAD_CLASS_DEFAULTS["secondary"].lanes, ROAD_CLASS_DEFAULTS["secondary"].speed_kph) == (
        2,
        50,
    )
    assert largest_strongly_connected(etown).number_of_nodes() == etown.number_of_nodes()


def test_layout_is_not_a_perfect_checkerboard(etown: nx.MultiDiGraph) -> None:
    """Arterials are shifted and tilted, blocks vary: many distinct edge lengths and headings."""
    lengths = {round(d["length_m"]) for _, _, d in etown.edges(data=True)}
    assert len(lengths) > 200
    degrees = Counter(dict(etown.out_degree()).values())
    assert min(degrees[1], degrees[3], degrees[4]) > 0  # dead ends, T and X junctions


def test_same_graph_every_call(etown: nx.MultiDiGraph) -> None:
    """Deterministic: a second call gives identical nodes, edges and attributes."""
    again = etown_synthetic()
    assert dict(again.nodes(data=True)) == dict(etown.nodes(data=True))
    old = [
        (u, v, d["id"], d["length_m"], list(d["geometry"].coords))
        for u, v, d in etown.edges(data=True)
    ]
    new = [
        (u, v, d["id"], d["length_m"], list(d["geometry"].coords))
        for u, v, d in again.edges(data=True)
    ]
    assert new == old


def test_checked_in_geojson_matches_the_generator(etown: nx.MultiDiGraph) -> None:
    """maps/etown.geojson loads to the same nodes, edges and signals (length within 0.1 %)."""
    assert ETOWN_GEOJSON.stat().st_size < 1_500_000
    loaded = load_map(ETOWN_GEOJSON)
    got, want = map_info(loaded), map_info(etown)
    assert (got["nodes"], got["edges"], got["signalized"]) == (
        want["nodes"],
        want["edges"],
        want["signalized"],
    )
    assert got["length_km"] == pytest.approx(want["length_km"], rel=1e-3)
    assert {d["id"] for _, _, d in loaded.edges(data=True)} == {
        d["id"] for _, _, d in etown.edges(data=True)
    }


def test_command_line_writes_the_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m avzone.roads etown OUT` rewrites the checked-in file (coordinates to 1e-7°)."""
    out = tmp_path / "etown.geojson"
    assert main(["etown", str(out)]) == 0
    written, checked_in = (json.loads(p.read_text()) for p in (out, ETOWN_GEOJSON))
    assert [f["properties"] for f in written["features"]] == [
        f["properties"] for f in checked_in["features"]
    ]
    for new, old in zip(written["features"], checked_in["features"], strict=True):
        coordinates = (np.array(f["geometry"]["coordinates"]) for f in (new, old))
        assert np.allclose(*coordinates, rtol=0, atol=2e-7)
    assert main(["info", str(tmp_path / "missing.geojson")]) == 2
    assert "missing.geojson: file not found" in capsys.readouterr().err
