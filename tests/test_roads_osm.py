"""Tests of avzone/roads/osm.py: OpenStreetMap extracts (XML, bz2, gz, PBF) as road graphs.

References outside the code: the real extracts in ../shared/data/real (SOURCES.md
there), read a second time with Python's ElementTree, lengths measured on the
WGS84 ellipsoid by pyproj.Geod (not by the UTM projection the loader uses), and
a hand-written extract whose graph is worked out by hand below.
"""

from __future__ import annotations

import bz2
import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyproj import Geod

from avzone.cli import main
from avzone.errors import MapError
from avzone.roads import load_map, load_osm, map_info
from avzone.roads import osm as osm_module
from avzone.roads.osm import DRIVABLE_HIGHWAYS

pytest.importorskip("osmium", reason="the osmium package (avzone[osm]) is not installed")

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="shared real data not found at ../shared/data/real"
)

# 1 —— 2 —— 3 (signal) —— 4   way 10: primary, two-way, lanes=4, maxspeed 30 mph
#      |                       way 11: residential 2 → 5, oneway=-1 (drawn 2→5, driven 5→2)
#      5 —— 6                  way 12: footway (dropped); way 13: service (dropped)
#                              way 14: tertiary 5 → 6, access=private (dropped)
TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="39.80000" lon="116.50000"/>
  <node id="2" lat="39.80000" lon="116.50100"/>
  <node id="3" lat="39.80000" lon="116.50200"><tag k="highway" v="traffic_signals"/></node>
  <node id="4" lat="39.80000" lon="116.50300"/>
  <node id="5" lat="39.79900" lon="116.50100"/>
  <node id="6" lat="39.79900" lon="116.50200"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="primary"/><tag k="lanes" v="4"/><tag k="maxspeed" v="30 mph"/></way>
  <way id="11"><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="-1"/></way>
  <way id="12"><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/></way>
  <way id="13"><nd ref="4"/><nd ref="6"/><tag k="highway" v="service"/></way>
  <way id="14"><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="tertiary"/><tag k="access" v="private"/></way>
</osm>
"""


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


def test_tiny_extract_by_hand(tiny_osm: Path) -> None:
    """Hand-worked graph: way 10 cut at 2 (shared) and 3 (signal); way 11 one way 5 → 2.

    Speeds: 30 mph = 48.28032 km/h; residential default 30 km/h (classes.py).
    Lanes: lanes=4 on a two-way road is 2 per direction; residential default 1.
    The footway, the service road and the private road are dropped.
    """
    G = load_osm(tiny_osm)
    assert sorted(G.nodes) == [1, 2, 3, 4, 5]
    assert dict(G.nodes(data="signalized")) == {1: False, 2: False, 3: True, 4: False, 5: False}
    edges = {d["id"]: (u, v, d) for u, v, d in G.edges(data=True)}
    assert sorted(edges) == ["-10#0", "-10#1", "-10#2", "10#0", "10#1", "10#2", "11#0"]
    assert edges["10#1"][:2] == (2, 3)
    assert edges["-10#1"][:2] == (3, 2)
    assert edges["11#0"][:2] == (5, 2)
    assert edges["10#0"][2]["speed_mps"] == pytest.approx(30 * 1.609344 / 3.6)
    assert edges["10#0"][2]["lanes"] == 2
    assert (edges["11#0"][2]["lanes"], edges["11#0"][2]["road_class"]) == (1, "residential")
    assert edges["11#0"][2]["speed_mps"] == pytest.approx(30 / 3.6)
    # 0.001° of longitude at 39.8° N on the WGS84 ellipsoid
    geod = Geod(ellps="WGS84")
    expected_m = geod.inv(116.500, 39.8, 116.501, 39.8)[2]
    assert edges["10#0"][2]["length_m"] == pytest.approx(expected_m, rel=1e-3)
    assert G.graph["crs"] == "EPSG:32650"
    assert G.nodes[1]["lon"] == 116.5


def test_implied_oneway_roundabout_and_motorway(tmp_path: Path) -> None:
    """OSM wiki: junction=roundabout and highway=motorway imply oneway=yes; oneway=no overrides."""
    path = tmp_path / "ow.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="0" lon="0"/><node id="2" lat="0" lon="0.001"/>'
        '<node id="3" lat="0.001" lon="0"/>'
        '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way>'
        '<way id="2"><nd ref="2"/><nd ref="3"/><tag k="highway" v="tertiary"/>'
        '<tag k="junction" v="roundabout"/></way>'
        '<way id="3"><nd ref="3"/><nd ref="1"/><tag k="highway" v="motorway"/>'
        '<tag k="oneway" v="no"/></way></osm>',
        encoding="utf-8",
    )
    ids = sorted(d["id"] for _, _, d in load_osm(path).edges(data=True))
    assert ids == ["-3#0", "1#0", "2#0", "3#0"]


def _drivable_ways(root: ET.Element) -> list[tuple[list[str], bool]]:
    """Drivable ways read by ElementTree: (node refs, one way?)."""
    ways = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if tags.get("highway") not in DRIVABLE_HIGHWAYS or tags.get("area") == "yes":
            continue
        if any(tags.get(k) in ("no", "private") for k in ("access", "motor_vehicle", "motorcar")):
            continue
        oneway = tags.get("oneway", "").lower()
        one = oneway in ("yes", "true", "1", "-1", "reverse") or (
            not oneway
            and (
                tags.get("junction") in ("roundabout", "circular") or tags["highway"] == "motorway"
            )
        )
        ways.append(([nd.get("ref") for nd in way.iter("nd")], one))
    return ways


@needs_real
@pytest.mark.parametrize(
    "name", ["aguascalientes.osm.bz2", "beijing_cbd_region6.osm", "beijing_chaoyang_region7.osm"]
)
def test_real_extract_against_elementtree_and_geodesic_lengths(name: str) -> None:
    """Ways, signals and total length agree with an independent reading of the same file.

    ElementTree reads the XML again; each drivable way's length is summed on the
    WGS84 ellipsoid (pyproj.Geod), once for a one-way road and twice for a
    two-way one. The loader's UTM lengths must agree within 0.1 % (UTM scale
    factor stays within 0.9996…1.001 inside a zone). Signals: every
    highway=traffic_signals node on a drivable way is one signalised node.
    """
    data = (REAL / name).read_bytes()
    root = ET.fromstring(bz2.decompress(data) if name.endswith(".bz2") else data)
    lonlat = {
        n.get("id"): (float(n.get("lon", 0)), float(n.get("lat", 0))) for n in root.iter("node")
    }
    ways = _drivable_ways(root)
    geod = Geod(ellps="WGS84")
    total_m = 0.0
    for refs, one in ways:
        lons, lats = zip(*(lonlat[r] for r in refs), strict=True)
        total_m += geod.line_length(lons, lats) * (1 if one else 2)
    signal_ids = {
        n.get("id")
        for n in root.iter("node")
        if any(t.get("k") == "highway" and t.get("v") == "traffic_signals" for t in n.iter("tag"))
    }
    on_ways = {r for refs, _ in ways for r in refs}

    G = load_map(REAL / name)
    info = map_info(G)
    assert info["length_km"] * 1000 == pytest.approx(total_m, rel=1e-3)
    assert info["signalized"] == len(signal_ids & on_ways)
    way_ids = {d["id"].lstrip("-").split("#")[0] for _, _, d in G.edges(data=True)}
    assert len(way_ids) == len(ways)


@needs_real
def test_pbf_and_xml_give_the_same_graph() -> None:
    """SOURCES.md §6–7: the PBF and the bz2 XML hold the same data, so the graphs are equal."""
    a = load_map(REAL / "aguascalientes.osm.pbf")
    b = load_map(REAL / "aguascalientes.osm.bz2")
    assert map_info(a) == map_info(b)
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    edges_a = {
        d["id"]: (u, v, d["length_m"], d["lanes"], d["speed_mps"]) for u, v, d in a.edges(data=True)
    }
    edges_b = {
        d["id"]: (u, v, d["length_m"], d["lanes"], d["speed_mps"]) for u, v, d in b.edges(data=True)
    }
    assert edges_a == edges_b


@needs_real
def test_gzipped_xml_reads_the_same(tmp_path: Path) -> None:
    """.osm.gz (what netconvert reads) gives the same graph as the .osm.bz2 it was made from."""
    packed = tmp_path / "aguascalientes.osm.gz"
    packed.write_bytes(
        gzip.compress(bz2.decompress((REAL / "aguascalientes.osm.bz2").read_bytes()))
    )
    assert map_info(load_map(packed)) == map_info(load_map(REAL / "aguascalientes.osm.bz2"))


def test_truncated_xml_is_one_line_map_error(tiny_osm: Path, tmp_path: Path) -> None:
    """A file cut in the middle gives one line naming the file and the parse error."""
    path = tmp_path / "cut.osm"
    path.write_text(TINY_OSM[: len(TINY_OSM) // 2], encoding="utf-8")
    with pytest.raises(MapError) as info:
        load_map(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a readable OSM file (")
    assert "\n" not in message


def test_no_drivable_road(tmp_path: Path) -> None:
    """Only footways → MapError naming what counts as drivable."""
    path = tmp_path / "paths.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="0" lon="0"/><node id="2" lat="0" lon="0.001"/>'
        '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(MapError, match=r"paths\.osm: no drivable road \(no way with highway="):
        load_map(path)


def test_missing_osmium_says_what_to_install(
    tiny_osm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the osmium package the message names the extra to install."""
    monkeypatch.setattr(osm_module, "_import_osmium", lambda: None)
    with pytest.raises(MapError, match=r"pip install 'avzone\[osm\]'"):
        load_map(tiny_osm)


def test_cli_map_info_and_show_on_osm(
    tiny_osm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`avzone map info` prints the figures of an OSM file; `map show` draws it; bad → exit 2."""
    assert main(["map", "info", str(tiny_osm), "--json"]) == 0
    assert '"edges": 7' in capsys.readouterr().out
    picture = tmp_path / "tiny.png"
    assert main(["map", "show", str(tiny_osm), "-o", str(picture)]) == 0
    assert picture.stat().st_size > 0
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    assert main(["map", "info", str(broken)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@needs_real
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("beijing_yizhuang.net.xml", (208, 644, 177)),  # SOURCES.md §1
        ("hangzhou.net.xml", (47, 84, 19)),  # SOURCES.md §3
        ("aguascalientes.osm.pbf", (827, 1575, 33)),  # docs/real-inputs.md, = the bz2
        ("aguascalientes.osm.bz2", (827, 1575, 33)),
        ("beijing_chaoyang_region7.osm", (176, 295, 31)),
    ],
)
def test_map_info_and_show_on_every_real_format(
    name: str, expected: tuple[int, int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`avzone map info --json` on SUMO, OSM XML, bz2 and PBF files (`map show` on the PBF;
    the other formats are drawn by test_cli_map_info_and_show_on_osm and tests/test_cli.py)."""
    assert main(["map", "info", str(REAL / name), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["nodes"], info["edges"], info["signalized"]) == expected
    if name.endswith(".pbf"):
        picture = tmp_path / "map.png"
        assert main(["map", "show", str(REAL / name), "-o", str(picture)]) == 0
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
