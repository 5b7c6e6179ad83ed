"""Where RSUs go: pure placement rules over the road graph."""

from __future__ import annotations

import networkx as nx
import numpy as np

from avzone.roads import ARTERIAL_CLASSES
from avzone.scenario import Placement

__all__ = ["place_rsus"]


def place_rsus(
    G: nx.MultiDiGraph, placement: Placement, bbox_m: tuple[float, float, float, float]
) -> np.ndarray:
    """RSU positions in metres, shape (n, 2), in a deterministic order.

    Rules
    -----
    signalized_intersections
        One RSU at every signalised node, in node order.
    along_arterials
        On every arterial road (``ARTERIAL_CLASSES``), one RSU every
        ``spacing_m`` metres of road, the first half a spacing from its
        start; both directions of a two-way road share the RSUs.
    list
        ``positions_m`` offsets from the map's south-west corner.
    none
        No RSUs.

    Examples
    --------
    A 1 km arterial with spacing 400 m gets RSUs at 200 m and 600 m.
    """
    if placement.rule == "signalized_intersections":
        xy = [(d["x"], d["y"]) for _, d in G.nodes(data=True) if d.get("signalized")]
        return np.asarray(xy, dtype=float).reshape(-1, 2)
    if placement.rule == "along_arterials":
        return _along_arterials(G, placement.spacing_m)
    if placement.rule == "list":
        origin = np.array(bbox_m[:2])
        return np.asarray(placement.positions_m, dtype=float).reshape(-1, 2) + origin
    return np.empty((0, 2))


def _along_arterials(G: nx.MultiDiGraph, spacing_m: float) -> np.ndarray:
    seen: set[frozenset[object]] = set()
    points: list[tuple[float, float]] = []
    for u, v, data in G.edges(data=True):
        if data["road_class"] not in ARTERIAL_CLASSES:
            continue
        pair = frozenset((u, v))
        if pair in seen:  # the other direction of a two-way road
            continue
        seen.add(pair)
        line = data["geometry"]
        for s in np.arange(spacing_m / 2, line.length, spacing_m):
            p = line.interpolate(float(s))
            points.append((p.x, p.y))
    return np.asarray(points, dtype=float).reshape(-1, 2)
