"""Load a SUMO network (``.net.xml`` or ``.net.xml.gz``) as a road graph.

Only normal edges are kept: internal edges (inside junctions) and the
other special functions (``connector``, ``crossing``, ``walkingarea``) are
dropped. Nodes are the non-internal junctions plus every junction a kept
edge refers to. Coordinates stay as SUMO wrote them (metres); the graph's
``offset_m`` is the ``netOffset`` and ``crs`` the ``projParameter``.

Examples
--------
On the real E-Town net (tests/test_roads_sumo.py checks these figures)::

    G = load_sumo("beijing_yizhuang.net.xml")
    map_info(G)["edges"]  # 644
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import LineString

from avzone.errors import MapError
from avzone.roads._build import add_road, new_graph, read_file_bytes
from avzone.roads.classes import DEFAULT_ROAD_CLASS

__all__ = ["SIGNALIZED_JUNCTION_TYPES", "load_sumo"]

SIGNALIZED_JUNCTION_TYPES: frozenset[str] = frozenset(
    {"traffic_light", "traffic_light_unregulated", "traffic_light_right_on_red"}
)
"""SUMO junction types that count as signalised nodes."""


def load_sumo(path: str | Path) -> nx.MultiDiGraph:
    """Read a SUMO ``.net.xml`` (optionally gzipped) into a road graph.

    Parameters
    ----------
    path
        The network file.

    Returns
    -------
    networkx.MultiDiGraph
        One edge per normal SUMO edge, keyed by networkx; edge ``id`` is the
        SUMO edge id, ``length_m`` and ``speed_mps`` those of lane 0,
        ``lanes`` the number of lanes, ``road_class`` the part of the SUMO
        type after ``highway.`` (``"unclassified"`` when untyped). Node ids
        are the SUMO junction ids (strings).

    Raises
    ------
    MapError
        The file is missing, not XML, not a SUMO network, malformed, or has
        no normal edge.
    """
    path = Path(path)
    root = _parse_xml(path)
    crs, offset_m = _location(root, path)
    G = new_graph(_network_name(path), str(path), crs, offset_m)

    junctions = {_required(j, "id", path, "<junction>"): j for j in root.iter("junction")}
    for junction_id, junction in junctions.items():
        if junction.get("type") != "internal":
            _add_junction(G, junction_id, junction, path)

    seen: set[str] = set()
    for edge in root.iter("edge"):
        if edge.get("function", "normal") != "normal":
            continue
        edge_id = _required(edge, "id", path, "<edge>")
        if edge_id in seen:
            raise MapError(f"{path}: duplicate edge id {edge_id!r}; SUMO edge ids must be unique")
        seen.add(edge_id)
        ends = []
        for end in ("from", "to"):
            junction_id = _required(edge, end, path, f"edge {edge_id!r}")
            if junction_id not in junctions:
                raise MapError(
                    f"{path}: edge {edge_id!r} {end}={junction_id!r} names no <junction>"
                )
            if junction_id not in G:
                _add_junction(G, junction_id, junctions[junction_id], path)
            ends.append(junction_id)
        _add_edge(G, edge, edge_id, ends[0], ends[1], path)

    if not seen:
        raise MapError(f"{path}: the SUMO network has no normal <edge> (only internal ones)")
    return G


def _parse_xml(path: Path) -> ET.Element:
    data = read_file_bytes(path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise MapError(f"{path}: not well-formed XML (line {line}, column {column + 1})") from None
    if root.tag != "net":
        raise MapError(f"{path}: not a SUMO network (root element is <{root.tag}>, expected <net>)")
    return root


def _network_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".xml", ".net"):
        name = name.removesuffix(suffix)
    return name


def _location(root: ET.Element, path: Path) -> tuple[str | None, tuple[float, float]]:
    """Return ``(crs, offset_m)`` from the ``<location>`` element."""
    location = root.find("location")
    if location is None:
        return None, (0.0, 0.0)
    offset_text = location.get("netOffset", "0,0")
    try:
        dx, dy = (float(value) for value in offset_text.split(","))
    except ValueError:
        raise MapError(
            f"{path}: <location netOffset={offset_text!r}>: expected 'dx,dy' in metres"
        ) from None
    proj = location.get("projParameter", "!").strip()
    if proj in ("", "!"):
        return None, (dx, dy)
    try:
        CRS.from_user_input(proj)
    except CRSError:
        raise MapError(
            f"{path}: <location projParameter={proj!r}>: expected a proj string pyproj accepts"
        ) from None
    return proj, (dx, dy)


def _required(element: ET.Element, name: str, path: Path, where: str) -> str:
    value = element.get(name)
    if value is None:
        raise MapError(f"{path}: {where} has no {name!r} attribute")
    return value


def _float(element: ET.Element, name: str, path: Path, where: str) -> float:
    text = _required(element, name, path, where)
    try:
        return float(text)
    except ValueError:
        raise MapError(f"{path}: {where} {name}={text!r}: expected a number") from None


def _add_junction(G: nx.MultiDiGraph, junction_id: str, junction: ET.Element, path: Path) -> None:
    where = f"junction {junction_id!r}"
    G.add_node(
        junction_id,
        x=_float(junction, "x", path, where),
        y=_float(junction, "y", path, where),
        signalized=junction.get("type") in SIGNALIZED_JUNCTION_TYPES,
    )


def _shape(text: str, path: Path, where: str) -> LineString:
    try:
        points = [tuple(float(v) for v in point.split(",")[:2]) for point in text.split()]
        if len(points) < 2:
            raise ValueError(text)
        return LineString(points)
    except ValueError:
        raise MapError(
            f"{path}: {where} shape={text!r}: expected at least 2 'x,y' points"
        ) from None


def _road_class(sumo_type: str | None) -> str:
    """``"highway.primary"`` → ``"primary"``; the first ``highway.*`` of a ``|`` list."""
    for part in (sumo_type or "").split("|"):
        if part.startswith("highway.") and len(part) > len("highway."):
            return part.removeprefix("highway.")
    return DEFAULT_ROAD_CLASS


def _add_edge(
    G: nx.MultiDiGraph, edge: ET.Element, edge_id: str, u: str, v: str, path: Path
) -> None:
    where = f"edge {edge_id!r}"
    lanes = edge.findall("lane")
    if not lanes:
        raise MapError(f"{path}: {where} has no <lane>")
    lane0 = next((lane for lane in lanes if lane.get("index") == "0"), lanes[0])
    where0 = f"{where} lane 0"
    shape_text = edge.get("shape") or lane0.get("shape")
    if shape_text:
        geometry = _shape(shape_text, path, where)
    else:
        geometry = LineString([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (u, v)])
    add_road(
        G,
        u,
        v,
        edge_id=edge_id,
        geometry=geometry,
        length_m=_float(lane0, "length", path, where0),
        speed_mps=_float(lane0, "speed", path, where0),
        lanes=len(lanes),
        road_class=_road_class(edge.get("type")),
    )
