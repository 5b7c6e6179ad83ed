"""Turn projected lines into a road graph: nodes where lines meet, edges between them.

Private to the loaders. A line is cut into edges at its nodes: line ends,
vertices that one line visits twice, and vertices shared by lines between
different ends (roads crossing there). Lines between the same two ends (one
road drawn once per direction) may share vertices without making nodes.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from avzone.errors import MapError
from avzone.roads._build import add_road

__all__ = [
    "NODE_PRECISION_M",
    "SIGNAL_SNAP_M",
    "Projector",
    "Road",
    "add_roads",
    "mark_signals",
]

NODE_PRECISION_M = 0.01
"""Projected coordinates are rounded to this; points that round alike are one node."""

SIGNAL_SNAP_M = 2.0
"""A signal point marks the nearest node if that node is at most this far (m)."""

Projector = Callable[[np.ndarray], np.ndarray]
"""File coordinates ``(n, 2)`` → projected metres ``(n, 2)``."""


@dataclass(frozen=True)
class Road:
    """One road of a map file, before projection: attributes and drawn parts."""

    index: int  # position of the feature in the file, for messages
    edge_id: str
    road_class: str
    lanes: int
    speed_mps: float
    oneway: int  # 0 two-way, +1 along the drawing, -1 against it
    parts: list[np.ndarray]  # (k, 2) arrays of file coordinates


def add_roads(G: nx.MultiDiGraph, roads: list[Road], project: Projector, path: Path) -> None:
    """Project, snap, split at nodes and add the directed edges of every road.

    Node ids are integers in order of first appearance. A two-way road gives
    ``id`` along the drawing and ``"-" + id`` against it (SUMO's naming); a
    road cut into pieces gets ``id#0``, ``id#1``, ...

    Raises
    ------
    MapError
        Two directed edges get the same id, or every road has zero length.
    """
    scale = 1.0 / NODE_PRECISION_M
    keyed = [(road, _snap(road.parts, project, scale)) for road in roads]
    cuts = _node_keys([keys for _, parts in keyed for keys in parts])
    node_ids: dict[tuple[int, int], int] = {}
    owners: dict[str, int] = {}

    def node(key: np.ndarray) -> int:
        x, y = key.tolist()
        if (x, y) not in node_ids:
            node_ids[x, y] = len(node_ids)
            G.add_node(node_ids[x, y], x=x / scale, y=y / scale, signalized=False)
        return node_ids[x, y]

    def claim(edge_id: str, index: int) -> str:
        if edge_id in owners:
            raise MapError(
                f"{path}: features[{index}]: road id {edge_id!r} is already used by "
                f"features[{owners[edge_id]}]; ids must be unique"
            )
        owners[edge_id] = index
        return edge_id

    if not any(parts for _, parts in keyed):
        raise MapError(f"{path}: every road has zero length (all its points coincide)")
    for road, parts in keyed:
        pieces = [piece for keys in parts for piece in _split(keys, cuts)]
        for number, piece in enumerate(pieces):
            edge_id = road.edge_id if len(pieces) == 1 else f"{road.edge_id}#{number}"
            u, v = node(piece[0]), node(piece[-1])
            line = LineString(piece / scale)
            directions = []
            if road.oneway >= 0:
                directions.append((u, v, claim(edge_id, road.index), line))
            if road.oneway <= 0:
                back_id = claim(("-" if road.oneway == 0 else "") + edge_id, road.index)
                directions.append((v, u, back_id, line.reverse()))
            for a, b, directed_id, geometry in directions:
                add_road(
                    G,
                    a,
                    b,
                    edge_id=directed_id,
                    geometry=geometry,
                    lanes=road.lanes,
                    speed_mps=road.speed_mps,
                    road_class=road.road_class,
                )


def _snap(parts: list[np.ndarray], project: Projector, scale: float) -> list[np.ndarray]:
    """Project each part and round it to integer keys (units of ``1 / scale`` m).

    Repeated vertices are dropped, and so are parts that shrink to one point.
    """
    snapped = []
    for part in parts:
        keys = np.rint(project(part) * scale).astype(np.int64)
        keep = np.ones(len(keys), dtype=bool)
        keep[1:] = (keys[1:] != keys[:-1]).any(axis=1)
        if keep.sum() >= 2:
            snapped.append(keys[keep])
    return snapped


def _node_keys(lines: list[np.ndarray]) -> set[tuple[int, int]]:
    """Return the vertex keys that are nodes.

    Nodes are line ends, vertices that one line visits twice, and vertices
    inside lines between different pairs of ends (roads that cross there).
    Lines between the same ends (the two carriageways of one road, drawn
    once per direction) may share vertices without making nodes.
    """
    nodes: set[tuple[int, int]] = set()
    groups: dict[frozenset[tuple[int, int]], set[tuple[int, int]]] = {}
    for keys in lines:
        vertices = list(map(tuple, keys.tolist()))
        ends = frozenset((vertices[0], vertices[-1]))
        nodes.update(ends)
        inner = vertices[1:-1]
        if len(set(inner)) < len(inner):
            nodes.update(v for v, n in Counter(inner).items() if n > 1)
        groups.setdefault(ends, set()).update(inner)
    seen: Counter[tuple[int, int]] = Counter()
    for inner_vertices in groups.values():
        seen.update(inner_vertices)
    nodes.update(v for v, n in seen.items() if n > 1)
    return nodes


def _split(keys: np.ndarray, nodes: set[tuple[int, int]]) -> list[np.ndarray]:
    """Cut a line at its interior vertices that are nodes."""
    interior = [i for i in range(1, len(keys) - 1) if tuple(keys[i].tolist()) in nodes]
    cuts = [0, *interior, len(keys) - 1]
    return [keys[a : b + 1] for a, b in itertools.pairwise(cuts)]


def mark_signals(G: nx.MultiDiGraph, points_m: np.ndarray) -> None:
    """Mark the node nearest to each point signalised, if within :data:`SIGNAL_SNAP_M`."""
    nodes = list(G.nodes)
    xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
    distance_m, nearest = cKDTree(xy).query(points_m, distance_upper_bound=SIGNAL_SNAP_M)
    for d, i in zip(distance_m, nearest, strict=True):
        if np.isfinite(d):
            G.nodes[nodes[i]]["signalized"] = True
