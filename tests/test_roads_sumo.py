"""Tests of avzone/roads/sumo.py against the real SUMO networks and a hand-written one.

Reference figures for the real files are those measured independently and
recorded in ../shared/data/real/SOURCES.md (Python ElementTree counts).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from avzone.errors import MapError
from avzone.roads import load_map, load_sumo, map_info, to_lonlat, write_geojson

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="shared real data not found at ../shared/data/real"
)

TINY_NET = """<?xml version="1.0" encoding="UTF-8"?>
<net version="1.20">
    <location netOffset="-100.00,-200.00" convBoundary="0,0,300,0"
              origBoundary="0,0,1,1" projParameter="!"/>
    <type id="highway.primary" numLanes="2" speed="16.67"/>
    <edge id=":B_0" function="internal">
        <lane id=":B_0_0" index="0" speed="8.00" length="9.00" shape="295,2 305,2"/>
    </edge>
    <edge id=":B_c0" function="crossing" crossingEdges="AB">
        <lane id=":B_c0_0" index="0" speed="1.00" length="4.00" shape="300,-2 300,2"/>
    </edge>
    <edge id="AB" from="A" to="B" priority="12" type="highway.primary" shape="0,0 150,10 300,0">
        <lane id="AB_0" index="0" speed="16.67" length="290.50" shape="0,-1.6 150,8.4 295,-1.6"/>
        <lane id="AB_1" index="1" speed="13.89" length="291.00" shape="0,-4.8 150,5.2 295,-4.8"/>
    </edge>
    <edge id="BA" from="B" to="A" priority="-1">
        <lane id="BA_0" index="0" speed="13.89" length="295.00" shape="300,1.6 5,1.6"/>
    </edge>
    <junction id="A" type="dead_end" x="0.00" y="0.00" incLanes="BA_0" intLanes="" shape="0,0"/>
    <junction id="B" type="traffic_light" x="300.00" y="0.00" incLanes="AB_0 AB_1"
              intLanes=":B_0_0" shape="300,0"/>
    <junction id=":B_w0" type="internal" x="301.00" y="1.00" incLanes="" intLanes=""/>
</net>
"""


@pytest.fixture
def tiny_net(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.net.xml"
    path.write_text(TINY_NET, encoding="utf-8")
    return path


@needs_real
def test_yizhuang_matches_sources_md() -> None:
    """SOURCES.md §1: 644 normal edges, 244.7 km, 208 non-internal junctions, 177 lights."""
    G = load_map(REAL / "beijing_yizhuang.net.xml")
    info = map_info(G)
    assert (info["edges"], info["nodes"], info["signalized"]) == (644, 208, 177)
    assert round(info["length_km"], 1) == 244.7
    assert sum(d["lanes"] for _, _, d in G.edges(data=True)) == 1580  # SOURCES.md: 1,580 lanes
    assert G.graph["crs"].startswith("+proj=utm +zone=50")
    assert G.graph["offset_m"] == (-452046.70, -4400376.70)


@needs_real
def test_yizhuang_lonlat_lies_in_orig_boundary() -> None:
    """Junctions mapped to lon/lat (netOffset, then UTM 50) fall inside SUMO's origBoundary.

    A wrong offset sign or zone would put them kilometres outside; the
    easternmost junction is the box's eastern edge (116.550523) to within 2 m.
    """
    G = load_sumo(REAL / "beijing_yizhuang.net.xml")
    lonlat = to_lonlat(G, np.array([[d["x"], d["y"]] for _, d in G.nodes(data=True)]))
    assert lonlat is not None
    assert (lonlat >= [116.440111, 39.752385]).all()
    assert (lonlat <= [116.550523, 39.827785]).all()
    assert lonlat[:, 0].max() == pytest.approx(116.550523, abs=2e-5)


@needs_real
def test_hangzhou_matches_sources_md() -> None:
    """SOURCES.md §3: 84 normal edges, 31.4 km, 47 non-internal junctions (19 traffic lights)."""
    info = map_info(load_map(REAL / "hangzhou.net.xml"))
    assert (info["edges"], info["nodes"], info["signalized"]) == (84, 47, 19)
    assert round(info["length_km"], 1) == 31.4


@needs_real
def test_hangzhou_survives_geojson_round_trip(tmp_path: Path) -> None:
    """SUMO → GeoJSON → graph keeps nodes, edge ids, lanes and signals (lines run node to node)."""
    G = load_sumo(REAL / "hangzhou.net.xml")
    H = load_map(write_geojson(G, tmp_path / "hangzhou.geojson"))
    assert (H.number_of_nodes(), H.number_of_edges()) == (47, 84)
    lanes = {d["id"]: d["lanes"] for _, _, d in G.edges(data=True)}
    assert {d["id"]: d["lanes"] for _, _, d in H.edges(data=True)} == lanes
    assert map_info(H)["signalized"] == 19


def test_tiny_network_drops_internal_edges_and_junctions(tiny_net: Path) -> None:
    """Hand-written net: internal/crossing edges and the internal junction are dropped."""
    G = load_sumo(tiny_net)
    assert sorted(G.nodes) == ["A", "B"]
    assert dict(G.nodes(data="signalized")) == {"A": False, "B": True}
    assert G.graph == {
        "name": "tiny",
        "source": str(tiny_net),
        "crs": None,
        "offset_m": (-100.0, -200.0),
        "tl_programs": {},
    }
    edges = {d["id"]: (u, v, d) for u, v, d in G.edges(data=True)}
    assert set(edges) == {"AB", "BA"}
    u, v, ab = edges["AB"]
    assert (u, v, ab["lanes"], ab["road_class"]) == ("A", "B", 2, "primary")
    assert (ab["length_m"], ab["speed_mps"]) == (290.50, 16.67)  # lane 0, not lane 1
    assert list(ab["geometry"].coords) == [(0, 0), (150, 10), (300, 0)]  # the edge shape
    u, v, ba = edges["BA"]
    assert (u, v, ba["lanes"], ba["road_class"], ba["length_m"]) == (
        "B",
        "A",
        1,
        "unclassified",
        295.0,
    )
    assert list(ba["geometry"].coords) == [(300, 1.6), (5, 1.6)]  # no edge shape: lane 0's
    assert to_lonlat(G, np.zeros((1, 2))) is None


def test_gzipped_network_loads_the_same(tiny_net: Path, tmp_path: Path) -> None:
    """.net.xml.gz is read through gzip and gives the same figures."""
    packed = tmp_path / "tiny.net.xml.gz"
    packed.write_bytes(gzip.compress(tiny_net.read_bytes()))
    assert map_info(load_map(packed)) == map_info(load_map(tiny_net))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<foo/>", "not a SUMO network (root element is <foo>, expected <net>)"),
        ("<net><edge", "not well-formed XML (line 1, column"),
        ('<net><edge id=":a" function="internal"/></net>', "has no normal <edge>"),
        ('<net><edge id="e" from="A" to="B"><lane index="0" speed="1" length="1"/></edge></net>',
         "edge 'e' from='A' names no <junction>"),
        ('<net><junction id="A" x="0" y="0"/><edge id="e" from="A" to="A"/></net>',
         "edge 'e' has no <lane>"),
        ('<net><junction id="A" x="zero" y="0"/></net>', "junction 'A' x='zero': expected"),
        ('<net><location netOffset="1;2"/></net>', "netOffset='1;2'>: expected 'dx,dy'"),
    ],
)  # fmt: skip
def test_bad_sumo_file_is_one_line_map_error(tmp_path: Path, text: str, expected: str) -> None:
    """Bad SUMO input → MapError: one line, starting with the file name, saying what's expected."""
    path = tmp_path / "bad.net.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MapError) as info:
        load_map(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_bad_gzip(tmp_path: Path) -> None:
    """A .net.xml.gz that is not gzip says so."""
    path = tmp_path / "bad.net.xml.gz"
    path.write_bytes(b"<net/>")
    with pytest.raises(MapError, match=r"bad\.net\.xml\.gz: not a valid gzip file"):
        load_map(path)


@needs_real
def test_yizhuang_signal_programs_priorities_and_lonlat() -> None:
    """SOURCES.md §1: 179 static tlLogic (two lights, 56 and 176, have programs 0 and 1, so
    177 lights), one per signalised junction; lane speeds are netconvert's 80/100/50/40 km/h
    defaults; every node has lon/lat inside origBoundary."""
    G = load_sumo(REAL / "beijing_yizhuang.net.xml")
    programs = G.graph["tl_programs"]
    assert sum(len(p) for p in programs.values()) == 179
    assert len(programs) == 177
    assert [p["program_id"] for p in programs["56"]] == ["0", "1"]
    assert {p["type"] for found in programs.values() for p in found} == {"static"}
    first = programs["1"][0]
    assert first["cycle_s"] == sum(d for d, _ in first["phases"]) == 90.0
    signalized = [n for n, d in G.nodes(data=True) if d["signalized"]]
    assert {G.nodes[n]["tl_id"] for n in signalized} == set(programs)
    speeds_kph = {round(d["speed_mps"] * 3.6) for _, _, d in G.edges(data=True)}
    assert speeds_kph == {40, 50, 80, 100}
    assert all(isinstance(d["priority"], int) for _, _, d in G.edges(data=True))
    lon = [d["lon"] for _, d in G.nodes(data=True)]
    assert min(lon) >= 116.440111 - 1e-6
    assert max(lon) <= 116.550523 + 1e-6


def test_old_sumo_lane_maxspeed_and_tl_logic(tmp_path: Path) -> None:
    """SUMO < 0.13 wrote lane ``maxspeed`` and ``<tl-logic>``; both are read."""
    path = tmp_path / "old.net.xml"
    path.write_text(
        '<net><junction id="A" type="priority" x="0" y="0"/>'
        '<junction id="B" type="traffic_light" x="100" y="0"/>'
        '<edge id="e" from="A" to="B" priority="3" function="normal">'
        '<lane id="e_0" index="0" maxspeed="13.89" length="100"/></edge>'
        '<tl-logic id="B" type="static" programID="0" offset="5">'
        '<phase duration="31" state="GG"/><phase duration="4" state="yy"/></tl-logic></net>',
        encoding="utf-8",
    )
    G = load_sumo(path)
    ((_, _, data),) = G.edges(data=True)
    assert (data["speed_mps"], data["priority"]) == (13.89, 3)
    assert G.graph["tl_programs"]["B"][0]["cycle_s"] == 35.0
    assert G.graph["tl_programs"]["B"][0]["offset_s"] == 5.0
    assert G.nodes["B"]["tl_id"] == "B"


def test_map_show_on_sumo_and_geojson(tiny_net: Path, tmp_path: Path) -> None:
    """`avzone map show` draws a SUMO net and its GeoJSON export (PNG signature)."""
    from avzone.cli import main

    geo_net = tmp_path / "geo.net.xml"  # the tiny net placed in UTM 50N, so it can be exported
    geo_net.write_text(
        TINY_NET.replace(
            'projParameter="!"', 'projParameter="+proj=utm +zone=50 +ellps=WGS84"'
        ).replace('netOffset="-100.00,-200.00"', 'netOffset="-450000.00,-4400000.00"')
    )
    geojson = write_geojson(load_sumo(geo_net), tmp_path / "tiny.geojson")
    for source in (tiny_net, geojson):
        picture = tmp_path / f"{source.name}.png"
        assert main(["map", "show", str(source), "-o", str(picture)]) == 0
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
