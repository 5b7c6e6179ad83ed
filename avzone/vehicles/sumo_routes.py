"""Demand from a SUMO route file (``.rou.xml``): who departs when, over which edges.

Read by :func:`read_routes`, mapped onto a road graph by :func:`plan_routes`.
Understood elements (SUMO's route-file vocabulary):

- ``<route id="r" edges="a b c"/>`` at the top level: a named route.
- ``<vehicle id depart>`` with a ``<route edges=…>`` child, a ``route="r"``
  reference, or ``from``/``to`` (optionally ``via``) edges.
- ``<trip id depart from to [via]>``: routed at load time, fastest by
  free-flow travel time (``length_m / speed_mps``) through the ``via`` edges.
- ``<flow id begin end …>`` with exactly one of ``period`` (s),
  ``vehsPerHour`` or ``number`` (spread evenly over ``[begin, end)``), and a
  route as for vehicles; its vehicles are ``ID.0``, ``ID.1``, … as SUMO
  names them, departing ``begin + k · period`` while that is before ``end``.
  ``probability`` flows are random in SUMO and are refused.

A departure must be a number of seconds (``"triggered"`` and the like are
refused). Vehicles are returned sorted by departure (stable: file order
within one time), as SUMO inserts them.

Examples
--------
On the real E-Town demand (tests/test_sumo_routes.py)::

    vehicles = read_routes("beijing_yizhuang_3600.rou.xml")
    len(vehicles), vehicles[0].edges[0]  # (3600, '240486067#0')
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from avzone.errors import MapError, ScenarioError
from avzone.roads._build import read_file_bytes
from avzone.scenario import Scenario

__all__ = [
    "ListedRoutes",
    "RouteVehicle",
    "depart_in_order",
    "plan_routes",
    "read_routes",
    "routes_for",
]


@dataclass(frozen=True)
class RouteVehicle:
    """One vehicle of a route file: its id, departure (s) and SUMO edge ids.

    For a trip (``from``/``to``) ``edges`` holds the ends and the ``via``
    edges, and ``trip`` is True: :func:`plan_routes` fills in the route.
    """

    ident: str
    depart_s: float
    edges: tuple[str, ...]
    trip: bool = False


@dataclass(frozen=True)
class ListedRoutes:
    """Vehicles with their routes as edge indices of the world (sorted by departure)."""

    ident: tuple[str, ...]
    depart_s: np.ndarray
    routes: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.ident)


def routes_for(
    scenario: Scenario, G: nx.MultiDiGraph, edge_index: dict[tuple[object, object, int], int]
) -> ListedRoutes | None:
    """The scenario's listed routes (``car.fleet.arrivals: routes``), or None for other fleets.

    Raises
    ------
    ScenarioError
        ``car.fleet.routes_file`` with the file's problem (e.g. the vehicle
        and the edge that is not in the map).
    """
    path = scenario.fleet.routes_file
    if scenario.fleet.arrivals != "routes" or path is None:
        return None
    try:
        return plan_routes(G, read_routes(path), edge_index, path)
    except MapError as exc:
        raise ScenarioError("car.fleet.routes_file", str(exc)) from None


def read_routes(path: str | Path) -> list[RouteVehicle]:
    """Read the vehicles, trips and flows of a SUMO route file (optionally ``.gz``).

    Raises
    ------
    MapError
        Missing or malformed file (truncated XML), a departure or flow
        timing that is not a number, a route reference to no ``<route>``, a
        vehicle without a route, or a ``probability`` flow. One line, naming
        the file and the vehicle.
    """
    path = Path(path)
    data = read_file_bytes(path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise MapError(f"{path}: not well-formed XML (line {line}, column {column + 1})") from None
    if root.tag != "routes":
        raise MapError(
            f"{path}: not a SUMO route file (root element is <{root.tag}>, expected <routes>)"
        )
    named = {r.get("id", ""): tuple((r.get("edges") or "").split()) for r in root.findall("route")}
    vehicles: list[RouteVehicle] = []
    for element in root:
        if element.tag in ("vehicle", "trip"):
            ident = _ident(element, path)
            depart_s = _time(element, "depart", path, f"{element.tag} {ident!r}")
            edges, trip = _route_of(element, named, path, f"{element.tag} {ident!r}")
            vehicles.append(RouteVehicle(ident, depart_s, edges, trip))
        elif element.tag == "flow":
            vehicles.extend(_flow(element, named, path))
    vehicles.sort(key=lambda v: v.depart_s)
    return vehicles


def _ident(element: ET.Element, path: Path) -> str:
    ident = element.get("id")
    if not ident:
        raise MapError(f"{path}: a <{element.tag}> has no 'id' attribute")
    return ident


def _time(element: ET.Element, key: str, path: Path, where: str) -> float:
    text = element.get(key)
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise MapError(f"{path}: {where} {key}={text!r}: expected a time in seconds >= 0")
    return value


def _route_of(
    element: ET.Element, named: dict[str, tuple[str, ...]], path: Path, where: str
) -> tuple[tuple[str, ...], bool]:
    """The edges of a vehicle or flow, and whether they are trip ends to be routed."""
    child = element.find("route")
    if child is not None:
        return tuple((child.get("edges") or "").split()), False
    ref = element.get("route")
    if ref is not None:
        if ref not in named:
            raise MapError(f"{path}: {where} route={ref!r} names no <route> in the file")
        return named[ref], False
    if element.get("from") and element.get("to"):
        via = tuple((element.get("via") or "").split())
        return (element.get("from", ""), *via, element.get("to", "")), True
    raise MapError(f"{path}: {where} has no route (expected a <route> child, route=, or from/to)")


def _flow(element: ET.Element, named: dict[str, tuple[str, ...]], path: Path) -> list[RouteVehicle]:
    ident = _ident(element, path)
    where = f"flow {ident!r}"
    if element.get("probability") is not None:
        raise MapError(
            f"{path}: {where}: probability flows are random; give period, vehsPerHour or number"
        )
    begin_s = _time(element, "begin", path, where) if element.get("begin") else 0.0
    end_s = _time(element, "end", path, where) if element.get("end") else math.inf
    given = [k for k in ("period", "vehsPerHour", "number") if element.get(k) is not None]
    if len(given) != 1:
        raise MapError(f"{path}: {where}: expected exactly one of period, vehsPerHour, number")
    value = _time(element, given[0], path, where)
    if given[0] == "number":
        if not math.isfinite(end_s):
            raise MapError(f"{path}: {where}: number= needs an end time")
        count = int(value)
        period_s = (end_s - begin_s) / count if count else math.inf
    else:
        period_s = value if given[0] == "period" else 3600.0 / value if value > 0 else math.inf
        if not math.isfinite(end_s):
            raise MapError(f"{path}: {where}: {given[0]}= needs an end time")
        count = math.ceil((end_s - begin_s) / period_s - 1e-9) if period_s > 0 else 0
    if not period_s > 0:
        raise MapError(f"{path}: {where} {given[0]}={element.get(given[0])!r}: expected a rate > 0")
    edges, trip = _route_of(element, named, path, where)
    return [RouteVehicle(f"{ident}.{k}", begin_s + k * period_s, edges, trip) for k in range(count)]


def plan_routes(
    G: nx.MultiDiGraph,
    vehicles: list[RouteVehicle],
    edge_index: dict[tuple[object, object, int], int],
    path: str | Path,
) -> ListedRoutes:
    """Map the vehicles' SUMO edge ids onto the graph's edges (by the edge ``id`` attribute).

    Listed routes must be connected (each edge starts where the one before
    ends); trips are routed fastest at free flow from ``from`` through each
    ``via`` to ``to``.

    Raises
    ------
    MapError
        ``FILE: vehicle 'V': edge 'E' is not in the map`` for an unknown
        edge; a listed route with a gap; a trip with no path; an empty route.
    """
    by_id: dict[str, tuple[object, object, int]] = {}
    for u, v, k, ident in G.edges(keys=True, data="id"):
        by_id[str(ident)] = (u, v, k)
    weight = _free_flow_weight(G)
    routes: list[tuple[int, ...]] = []
    for vehicle in vehicles:
        where = f"{path}: vehicle {vehicle.ident!r}"
        if not vehicle.edges:
            raise MapError(f"{where}: empty route")
        for edge in vehicle.edges:
            if edge not in by_id:
                raise MapError(f"{where}: edge {edge!r} is not in the map")
        keys = [by_id[e] for e in vehicle.edges]
        if vehicle.trip:
            keys = _route_trip(G, keys, weight, where)
        else:
            for a, b in itertools.pairwise(keys):
                if a[1] != b[0]:
                    raise MapError(
                        f"{where}: route is not connected: edge {G.edges[a]['id']!r} ends at node "
                        f"{a[1]!r} but the next edge {G.edges[b]['id']!r} starts at {b[0]!r}"
                    )
        routes.append(tuple(edge_index[key] for key in keys))
    return ListedRoutes(
        ident=tuple(v.ident for v in vehicles),
        depart_s=np.array([v.depart_s for v in vehicles], dtype=float),
        routes=tuple(routes),
    )


def _free_flow_s(data: dict[str, Any]) -> float:
    return float(data["length_m"]) / float(data["speed_mps"])


def _free_flow_weight(G: nx.MultiDiGraph) -> Callable[[Any, Any, dict[Any, Any]], float]:
    def weight(_u: Any, _v: Any, parallel: dict[Any, Any]) -> float:
        return min(_free_flow_s(d) for d in parallel.values())

    return weight


def _route_trip(
    G: nx.MultiDiGraph,
    ends: list[tuple[object, object, int]],
    weight: Callable[[Any, Any, dict[Any, Any]], float],
    where: str,
) -> list[tuple[object, object, int]]:
    """The fastest route through ``ends`` (first edge, via edges, last edge)."""
    route = [ends[0]]
    for target in ends[1:]:
        if target == route[-1]:  # from == to: the vehicle drives that one edge
            continue
        try:
            nodes = nx.shortest_path(G, route[-1][1], target[0], weight=weight)
        except nx.NetworkXNoPath:
            raise MapError(
                f"{where}: no route from edge {G.edges[route[-1]]['id']!r} "
                f"to edge {G.edges[target]['id']!r}"
            ) from None
        for u, v in itertools.pairwise(nodes):
            parallel = G[u][v]
            key = min(parallel, key=lambda k: _free_flow_s(parallel[k]))
            route.append((u, v, key))
        route.append(target)
    return route


def depart_in_order(
    env: Any, depart_s: np.ndarray, start: Callable[[int], object]
) -> Generator[Any, Any, None]:
    """A SimPy process calling ``start(i)`` at ``depart_s[i]`` (sorted times), one at a time."""
    for i, t_s in enumerate(depart_s.tolist()):
        if t_s > env.now:
            yield env.timeout(t_s - env.now)
        start(i)
