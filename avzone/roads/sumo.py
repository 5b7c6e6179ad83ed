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
import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import LineString

from avzone.errors import MapError
from avzone.roads._build import add_road, new_graph, read_file_bytes
from avzone.roads.classes import DEFAULT_ROAD_CLASS
from avzone.roads.graph import to_lonlat

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
    G.graph["tl_programs"] = _tl_programs(root, path)
    _link_signals(G, root)
    _add_lonlat(G)
    return G


def _tl_programs(root: ET.Element, path: Path) -> dict[str, tuple[dict[str, object], ...]]:
    """The ``<tlLogic>`` programs (``<tl-logic>`` in old files) by traffic-light id, in file order.

    Each program: ``type`` (``static``, ``actuated``, …), ``program_id``,
    ``offset_s``, ``cycle_s`` (sum of the phase durations) and ``phases``
    (``(duration_s, state)`` pairs, SUMO's signal state strings).
    """
    programs: dict[str, list[dict[str, object]]] = {}
    for logic in (*root.iter("tlLogic"), *root.iter("tl-logic")):
        tl_id = _required(logic, "id", path, "<tlLogic>")
        where = f"tlLogic {tl_id!r}"
        phases = tuple(
            (_float(phase, "duration", path, f"{where} <phase>"), phase.get("state", ""))
            for phase in logic.iter("phase")
        )
        programs.setdefault(tl_id, []).append(
            {
                "type": logic.get("type", "static"),
                "program_id": logic.get("programID", "0"),
                "offset_s": float(logic.get("offset", "0") or 0.0),
                "cycle_s": sum(duration for duration, _ in phases),
                "phases": phases,
            }
        )
    return {tl_id: tuple(found) for tl_id, found in programs.items()}


def _link_signals(G: nx.MultiDiGraph, root: ET.Element) -> None:
    """Give each node the traffic light that controls it (``tl_id``), from the connections.

    A connection with ``tl="T"`` leaves edge ``from`` at its end node; that
    node is controlled by ``T`` (one light may control several joined
    junctions). A signalised junction without such a connection gets its own id
    if a program of that id exists.
    """
    end_of = {d["id"]: v for _, v, d in G.edges(data=True)}
    for connection in root.iter("connection"):
        tl_id = connection.get("tl")
        node = end_of.get(connection.get("from", ""))
        if tl_id and node is not None:
            G.nodes[node].setdefault("tl_id", tl_id)
    programs = G.graph["tl_programs"]
    for node, data in G.nodes(data=True):
        if data["signalized"] and "tl_id" not in data and node in programs:
            data["tl_id"] = node


def _add_lonlat(G: nx.MultiDiGraph) -> None:
    """Keep each node's WGS84 ``lon``/``lat`` (degrees) when the net is geo-referenced."""
    if G.graph.get("crs") is None or G.number_of_nodes() == 0:
        return
    nodes = list(G.nodes)
    lonlat = to_lonlat(G, np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes]))
    assert lonlat is not None
    for node, (lon, lat) in zip(nodes, lonlat.tolist(), strict=True):
        G.nodes[node]["lon"], G.nodes[node]["lat"] = lon, lat


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
    speed_key = "speed" if lane0.get("speed") is not None else "maxspeed"  # SUMO < 0.13
    add_road(
        G,
        u,
        v,
        edge_id=edge_id,
        geometry=geometry,
        length_m=_float(lane0, "length", path, where0),
        speed_mps=_float(lane0, speed_key, path, where0),
        lanes=len(lanes),
        road_class=_road_class(edge.get("type")),
    )
    data = G.edges[u, v, max(G[u][v])]
    data["priority"] = int(float(edge.get("priority", "-1")))
    data["lane_speeds_mps"] = tuple(
        float(lane.get("speed") or lane.get("maxspeed") or "nan") for lane in lanes
    )
    if edge.get("name"):
        data["name"] = edge.get("name")
