"""Load an OpenStreetMap extract (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) as a road graph.

The file is read by `pyosmium <https://osmcode.org/pyosmium/>`_ (libosmium),
which reads every one of these formats, so the XML and the PBF of one
extract give the same graph. It is an optional dependency: ``pip install
'avzone[osm]'``.

What is kept
    Ways whose ``highway`` is a road for cars (:data:`DRIVABLE_HIGHWAYS`,
    OSMnx's ``network_type="drive"``: no service roads, tracks, footways,
    cycleways, pedestrian streets), that are not areas (``area=yes``) and
    not closed to cars (``access``/``motor_vehicle``/``motorcar`` =
    ``no``/``private``). Nothing is clipped: an API export also holds the
    complete ways that cross its box, and they are kept whole.
Topology
    Nodes are OSM nodes (integer ids) where a kept way ends, where two kept
    ways share a node (or one way visits it twice) and where a
    ``highway=traffic_signals`` node lies; ways are cut there. A piece of
    way ``W`` gives the edge ``"W#k"`` along the way and, unless one way,
    ``"-W#k"`` against it (netconvert's naming).
One way
    ``oneway=yes|true|1`` along the drawing, ``-1|reverse`` against it,
    ``no`` two-way; ``junction=roundabout|circular`` and ``highway=motorway``
    imply ``oneway=yes`` unless tagged otherwise.
Speeds and lanes
    ``maxspeed`` (or ``maxspeed:forward``/``:backward``) in km/h or
    ``"30 mph"``; anything else (``"none"``, ``"CN:urban"``, absent) gives
    the class default of :mod:`avzone.roads.classes`. ``lanes:forward`` /
    ``lanes:backward`` per direction; ``lanes`` is the total, split evenly
    (rounded down, at least 1) between the directions of a two-way road;
    absent gives the class default.
Coordinates
    Projected to the UTM zone of the centre of the kept nodes' lon/lat box
    (``crs`` ``"EPSG:326zz"`` north, ``"EPSG:327zz"`` south), ``offset_m``
    ``(0, 0)``; nodes keep their ``lon`` and ``lat`` too. ``length_m`` is the
    projected length (UTM scale error below 0.1 % near the central meridian).

Examples
--------
On the OSMnx test extract of Aguascalientes (tests/test_roads_osm.py)::

    a = load_osm("aguascalientes.osm.pbf")
    b = load_osm("aguascalientes.osm.bz2")
    map_info(a) == map_info(b)  # True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from pyproj import Transformer
from shapely.geometry import LineString

from avzone.errors import MapError
from avzone.roads._build import add_road, new_graph
from avzone.roads.classes import class_defaults, speed_mps_from_kph

__all__ = ["DRIVABLE_HIGHWAYS", "OSM_SUFFIXES", "load_osm"]

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
"""File name endings :func:`load_osm` reads."""

DRIVABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "road",
        "busway",
    }
)
"""``highway`` values kept as roads (the roads for cars of OSMnx's ``drive`` network)."""

_CLOSED = frozenset({"no", "private"})
_ONEWAY_YES = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kph|kmh|mph)?\s*$")


@dataclass(frozen=True)
class _Way:
    ident: int
    refs: tuple[int, ...]
    tags: dict[str, str]


def load_osm(path: str | Path) -> nx.MultiDiGraph:
    """Read an OSM extract into a road graph (see the module docs for the rules).

    Parameters
    ----------
    path
        ``.osm`` (XML), ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.

    Returns
    -------
    networkx.MultiDiGraph
        Node ids are OSM node ids; edge ``id`` is ``"W#k"`` / ``"-W#k"``;
        ``road_class`` is the ``highway`` value.

    Raises
    ------
    MapError
        The file is missing or malformed (truncated XML, a broken PBF), the
        ``osmium`` package is not installed, or the file holds no drivable road.
    """
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: file not found")
    ways, lonlat, signals = _read(path)
    if not ways:
        raise MapError(
            f"{path}: no drivable road (no way with highway="
            f"{'|'.join(sorted(DRIVABLE_HIGHWAYS))} open to cars)"
        )
    used = {ref for way in ways for ref in way.refs}
    every = np.array([lonlat[ref] for ref in sorted(used)])
    lon_c = (every[:, 0].min() + every[:, 0].max()) / 2
    lat_c = (every[:, 1].min() + every[:, 1].max()) / 2
    zone = min(int((lon_c + 180) // 6) + 1, 60)
    epsg = f"EPSG:{(32600 if lat_c >= 0 else 32700) + zone}"
    x, y = Transformer.from_crs("EPSG:4326", epsg, always_xy=True).transform(
        every[:, 0], every[:, 1]
    )
    xy = {ref: (float(a), float(b)) for ref, a, b in zip(sorted(used), x, y, strict=True)}

    G = new_graph(_name(path), str(path), epsg, (0.0, 0.0))
    cuts = _cut_nodes(ways, signals)
    for way in ways:
        _add_way(G, way, cuts, xy, lonlat, signals)
    return G


def _name(path: Path) -> str:
    name = path.name
    for suffix in (".bz2", ".gz", ".pbf", ".osm"):
        name = name.removesuffix(suffix)
    return name


def _import_osmium() -> Any:
    try:
        import osmium
    except ImportError:
        return None
    return osmium


def _read(path: Path) -> tuple[list[_Way], dict[int, tuple[float, float]], set[int]]:
    """Return the drivable ways (sorted by id), node lon/lat, and signal node ids."""
    osmium = _import_osmium()
    if osmium is None:
        raise MapError(
            f"{path}: reading OpenStreetMap files needs the osmium package: "
            "pip install 'avzone[osm]'"
        )
    ways: list[_Way] = []
    lonlat: dict[int, tuple[float, float]] = {}
    signals: set[int] = set()
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations():
            if obj.is_node():
                if obj.tags.get("highway") == "traffic_signals":
                    signals.add(obj.id)
            elif obj.is_way() and _drivable(obj.tags):
                refs = []
                for node in obj.nodes:
                    if node.location.valid():
                        lonlat[node.ref] = (node.lon, node.lat)
                        refs.append(node.ref)
                    else:  # a node outside the extract: the way is cut there
                        refs.append(-1)
                ways.append(_Way(obj.id, tuple(refs), dict(obj.tags)))
    except RuntimeError as exc:  # libosmium reports parse errors as RuntimeError
        raise MapError(f"{path}: not a readable OSM file ({_one_line(exc)})") from None
    ways.sort(key=lambda w: w.ident)
    return ways, lonlat, signals


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _drivable(tags: Any) -> bool:
    if tags.get("highway") not in DRIVABLE_HIGHWAYS or tags.get("area") == "yes":
        return False
    return all(tags.get(key) not in _CLOSED for key in ("access", "motor_vehicle", "motorcar"))


def _cut_nodes(ways: Iterable[_Way], signals: set[int]) -> set[int]:
    """Nodes where ways are cut: way ends, shared or repeated nodes, signals."""
    counts: Counter[int] = Counter()
    cuts: set[int] = set()
    for way in ways:
        runs = _runs(way.refs)
        for run in runs:
            cuts.update((run[0], run[-1]))
        counts.update(ref for ref in way.refs if ref >= 0)
    cuts.update(ref for ref, n in counts.items() if n > 1 or ref in signals)
    return cuts


def _runs(refs: tuple[int, ...]) -> list[list[int]]:
    """Split a way's node refs at missing nodes (-1) and drop repeated consecutive refs."""
    runs: list[list[int]] = [[]]
    for ref in refs:
        if ref < 0:
            runs.append([])
        elif not runs[-1] or runs[-1][-1] != ref:
            runs[-1].append(ref)
    return [run for run in runs if len(run) >= 2]


def _oneway(tags: dict[str, str]) -> int:
    """0 two-way, +1 along the drawing, -1 against it."""
    value = tags.get("oneway", "").lower()
    if value in _ONEWAY_YES:
        return 1
    if value in _ONEWAY_REVERSE:
        return -1
    if value:
        return 0  # "no", "alternating", "reversible": both directions
    implied = tags.get("junction") in ("roundabout", "circular") or tags["highway"] == "motorway"
    return 1 if implied else 0


def _speed_kph(tags: dict[str, str], direction: str) -> float:
    for key in (f"maxspeed:{direction}", "maxspeed"):
        match = _SPEED.match(tags.get(key, ""))
        if match and float(match[1]) > 0:
            return float(match[1]) * (1.609344 if match[2] == "mph" else 1.0)
    return class_defaults(tags["highway"]).speed_kph


def _lanes(tags: dict[str, str], direction: str, two_way: bool) -> int:
    for key, share in ((f"lanes:{direction}", 1), ("lanes", 2 if two_way else 1)):
        text = tags.get(key, "").strip()
        if text.isdigit() and int(text) > 0:
            return max(1, int(text) // share)
    return class_defaults(tags["highway"]).lanes


def _add_way(
    G: nx.MultiDiGraph,
    way: _Way,
    cuts: set[int],
    xy: dict[int, tuple[float, float]],
    lonlat: dict[int, tuple[float, float]],
    signals: set[int],
) -> None:
    oneway = _oneway(way.tags)
    road_class = way.tags["highway"]
    pieces: list[list[int]] = []
    for run in _runs(way.refs):
        start = 0
        for i in range(1, len(run)):
            if run[i] in cuts:
                pieces.append(run[start : i + 1])
                start = i
    for k, piece in enumerate(pieces):
        for ref in (piece[0], piece[-1]):
            if ref not in G:
                lon, lat = lonlat[ref]
                G.add_node(
                    ref, x=xy[ref][0], y=xy[ref][1], lon=lon, lat=lat, signalized=ref in signals
                )
        line = LineString([xy[ref] for ref in piece])
        edge_id = f"{way.ident}#{k}"
        directions = []
        if oneway >= 0:
            directions.append((piece[0], piece[-1], edge_id, line, "forward"))
        if oneway <= 0:
            back_id = ("-" if oneway == 0 else "") + edge_id
            directions.append((piece[-1], piece[0], back_id, line.reverse(), "backward"))
        for u, v, ident, geometry, direction in directions:
            add_road(
                G,
                u,
                v,
                edge_id=ident,
                geometry=geometry,
                lanes=_lanes(way.tags, direction, oneway == 0),
                speed_mps=speed_mps_from_kph(_speed_kph(way.tags, direction)),
                road_class=road_class,
            )
