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
        Along the arterial roads (``ARTERIAL_CLASSES``), RSUs about
        ``spacing_m`` apart: walking the arterials every 10 m, a point gets
        an RSU when none is within ``spacing_m`` yet; both directions of a
        two-way road share the RSUs.
    list
        ``positions_m`` offsets from the map's south-west corner.
    none
        No RSUs.

    Examples
    --------
    A straight 1 km arterial with spacing 400 m gets RSUs at 0, 400 and 800 m.
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
    """Walk the arterials (each two-way road once, in edge order) every 10 m and keep
    a point when no RSU kept so far is within ``spacing_m``: RSUs end up about
    ``spacing_m`` apart along and across arterials, whatever the block length."""
    seen: set[frozenset[object]] = set()
    kept: list[tuple[float, float]] = []
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for u, v, data in G.edges(data=True):
        if data["road_class"] not in ARTERIAL_CLASSES:
            continue
        pair = frozenset((u, v))
        if pair in seen:  # the other direction of a two-way road
            continue
        seen.add(pair)
        line = data["geometry"]
        for s in np.arange(0.0, line.length, _WALK_STEP_M):
            p = line.interpolate(float(s))
            cx, cy = int(p.x // spacing_m), int(p.y // spacing_m)
            near = (
                q
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
                for q in cells.get((cx + dx, cy + dy), ())
            )
            if all((p.x - q[0]) ** 2 + (p.y - q[1]) ** 2 >= spacing_m**2 for q in near):
                kept.append((p.x, p.y))
                cells.setdefault((cx, cy), []).append((p.x, p.y))
    return np.asarray(kept, dtype=float).reshape(-1, 2)


_WALK_STEP_M = 10.0
