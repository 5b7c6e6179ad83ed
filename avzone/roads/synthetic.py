"""A synthetic road network laid out like the core of Beijing E-Town (Yizhuang).

This is a stand-in, not surveyed data. It imitates the published figures of
the zone's core (REFERENCE.md §6; data/real/SOURCES.md): about 8.8 km × 7.5 km
between lon 116.44–116.55 and lat 39.75–39.83 (UTM zone 50N), an arterial
grid with signalised crossings (E-Town counts about 257–329 signalised
intersections) and local streets between the arterials.

The layout is pure arithmetic (a fixed integer hash stands in for random
draws), so every call gives the identical graph:

- 18 north–south and 16 east–west arterials, about 518 m and 500 m apart,
  each shifted by up to ±60 m and tilted by up to ±1 %; every third one is
  ``primary`` (3 lanes, 60 km/h), the others ``secondary`` (2 lanes, 50 km/h).
  Every arterial crossing is a signalised node (288 of them).
- A few north–south arterial blocks are missing, leaving T-junctions.
- Each block between arterials holds nothing, a north–south or an east–west
  local street, both (crossing in the block), or a dead-end spur; local
  streets are ``tertiary`` (2 lanes, 40 km/h) or ``residential`` (1 lane,
  30 km/h) and meet the arterials at unsignalised junctions.

Run ``python -m avzone.roads etown maps/etown.geojson`` to write the map file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import networkx as nx
import numpy as np
from shapely.geometry import LineString

from avzone.roads._build import add_road, new_graph
from avzone.roads.classes import class_defaults, speed_mps_from_kph

__all__ = ["ETOWN_CRS", "etown_synthetic"]

ETOWN_CRS = "EPSG:32650"
"""WGS 84 / UTM zone 50N, the projection of the built-in E-Town map."""

_X0_M, _Y0_M = 452_650.0, 4_400_600.0  # south-west corner, ≈ 116.4472 E, 39.7540 N
_WIDTH_M, _HEIGHT_M = 8_800.0, 7_500.0
_N_NS, _N_EW = 18, 16  # arterials running north–south (x = const) and east–west
_SHIFT_M, _TILT = 60.0, 0.01  # largest shift of an inner arterial, largest slope
_GAP_SHARE = 0.08  # share of inner north–south arterial blocks left out
_MERGE_FRACTION = 0.06  # local streets this close along an arterial share one junction
_SPUR_SHARE = 0.45  # how far a dead-end spur reaches into its block

Point = tuple[float, float]


def _unit(*keys: int) -> float:
    """Return a fixed number in [0, 1) for integer keys (FNV-1a, then murmur3's finaliser)."""
    h = 2166136261
    for key in keys:
        h = ((h ^ (key & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h / 2**32


def _signed(*keys: int) -> float:
    """Return a fixed number in [-1, 1) for integer keys."""
    return 2.0 * _unit(*keys) - 1.0


def _crossings() -> np.ndarray:
    """Return the ``(N_NS, N_EW, 2)`` crossing points of the arterial lines, in metres.

    North–south line ``i``: ``x = a + b (y - y0)``; east–west line ``j``:
    ``y = c + d (x - x0)``. Their crossing solves both equations.
    """
    inner_ns = np.array([0.0 < i < _N_NS - 1 for i in range(_N_NS)])
    inner_ew = np.array([0.0 < j < _N_EW - 1 for j in range(_N_EW)])
    a = _X0_M + np.arange(_N_NS) * _WIDTH_M / (_N_NS - 1)
    a = a + inner_ns * _SHIFT_M * np.array([_signed(1, i) for i in range(_N_NS)])
    b = _TILT * np.array([_signed(2, i) for i in range(_N_NS)])
    c = _Y0_M + np.arange(_N_EW) * _HEIGHT_M / (_N_EW - 1)
    c = c + inner_ew * _SHIFT_M * np.array([_signed(3, j) for j in range(_N_EW)])
    d = _TILT * np.array([_signed(4, j) for j in range(_N_EW)])
    a, b = a[:, None], b[:, None]
    c, d = c[None, :], d[None, :]
    x = (a + b * (c - _Y0_M) - b * d * _X0_M) / (1.0 - b * d)
    y = c + d * (x - _X0_M)
    return np.round(np.stack([x, y], axis=-1), 2)


def _arterial_class(index: int) -> str:
    return "primary" if index % 3 == 0 else "secondary"


class _Layout:
    """Nodes and undirected roads (node sequences) collected before the graph is built."""

    def __init__(self) -> None:
        self.points: list[Point] = []
        self.signalized: list[bool] = []
        self.roads: list[tuple[list[int], str]] = []
        self.on_segment: dict[tuple[str, int, int], dict[float, int]] = {}

    def node(self, point: Point, *, signalized: bool = False) -> int:
        self.points.append((round(point[0], 2), round(point[1], 2)))
        self.signalized.append(signalized)
        return len(self.points) - 1

    def segments(self) -> Iterator[tuple[int, int, str]]:
        """Yield ``(u, v, road_class)`` for each piece of each road, in order."""
        for nodes, road_class in self.roads:
            for u, v in itertools.pairwise(nodes):
                yield u, v, road_class

    def junction(self, segment: tuple[str, int, int], ends: tuple[int, int], f: float) -> int:
        """Return the node at fraction ``f`` along an arterial segment, reusing a close one."""
        known = self.on_segment.setdefault(segment, {})
        for g, node in known.items():
            if abs(g - f) < _MERGE_FRACTION:
                return node
        p, q = (np.array(self.points[n]) for n in ends)
        known[f] = self.node(tuple((p + f * (q - p)).tolist()))
        return known[f]


def _block_kind(i: int, j: int, gaps: set[tuple[int, int]]) -> str:
    """What block ``(i, j)`` holds: "", "ns", "ew", "cross" or "spur" (15/30/30/15/10 %).

    Where a north–south arterial block beside it is missing, an east–west
    street would end in the open, so "ew" and "cross" become "ns".
    """
    draw = _unit(5, i, j)
    kinds = ((0.15, ""), (0.45, "ns"), (0.75, "ew"), (0.90, "cross"), (1.0, "spur"))
    kind = next(name for limit, name in kinds if draw < limit)
    blocked = (i, j) in gaps or (i + 1, j) in gaps
    return "ns" if blocked and kind in ("ew", "cross") else kind


_SIDES = {
    "ns": ("south", "north"),
    "ew": ("west", "east"),
    "cross": ("south", "north", "west", "east"),
    "spur": ("south",),
}
"""The block sides where each kind of local street meets an arterial."""


def _local_streets(layout: _Layout, ids: np.ndarray, gaps: set[tuple[int, int]]) -> None:
    """Add the local streets of every block (between arterials ``i, i+1`` and ``j, j+1``)."""
    for i in range(_N_NS - 1):
        for j in range(_N_EW - 1):
            kind = _block_kind(i, j, gaps)
            if not kind:
                continue
            f = [0.35 + 0.3 * _unit(7, i, j, k) for k in range(4)]
            minor = "residential" if _unit(6, i, j) < 0.5 else "tertiary"
            sides = {
                "south": (("ew", j, i), (ids[i, j], ids[i + 1, j]), f[0]),
                "north": (("ew", j + 1, i), (ids[i, j + 1], ids[i + 1, j + 1]), f[1]),
                "west": (("ns", i, j), (ids[i, j], ids[i, j + 1]), f[2]),
                "east": (("ns", i + 1, j), (ids[i + 1, j], ids[i + 1, j + 1]), f[3]),
            }
            ends = {side: layout.junction(*sides[side]) for side in _SIDES[kind]}
            if kind == "spur":
                p = np.array(layout.points[ends["south"]])
                q = np.array(layout.points[ids[i, j + 1]])
                dead_end = layout.node(tuple((p + _SPUR_SHARE * (q - p)).tolist()))
                layout.roads.append(([ends["south"], dead_end], "residential"))
            elif kind == "cross":
                cross = layout.node(_intersection(*(layout.points[n] for n in ends.values())))
                layout.roads.append(([ends["south"], cross, ends["north"]], "tertiary"))
                layout.roads.append(([ends["west"], cross, ends["east"]], "residential"))
            else:
                layout.roads.append(([*ends.values()], minor))


def _intersection(p1: Point, p2: Point, p3: Point, p4: Point) -> Point:
    """Crossing point of the lines through ``p1, p2`` and through ``p3, p4``."""
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = p1, p2, p3, p4
    det = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / det
    return x1 + t * (x2 - x1), y1 + t * (y2 - y1)


def _arterials(layout: _Layout, ids: np.ndarray, gaps: set[tuple[int, int]]) -> None:
    """Add every arterial block, cut at the local streets that meet it."""
    for i in range(_N_NS):
        for j in range(_N_EW - 1):
            if (i, j) not in gaps:
                inner = layout.on_segment.get(("ns", i, j), {})
                nodes = [ids[i, j], *(inner[f] for f in sorted(inner)), ids[i, j + 1]]
                layout.roads.append(([int(n) for n in nodes], _arterial_class(i)))
    for j in range(_N_EW):
        for i in range(_N_NS - 1):
            inner = layout.on_segment.get(("ew", j, i), {})
            nodes = [ids[i, j], *(inner[f] for f in sorted(inner)), ids[i + 1, j]]
            layout.roads.append(([int(n) for n in nodes], _arterial_class(j)))


def etown_synthetic() -> nx.MultiDiGraph:
    """Return the built-in synthetic E-Town road graph (deterministic; see the module docs).

    Returns
    -------
    networkx.MultiDiGraph
        Two-way roads as pairs of edges ``eN`` / ``-eN``; node ids are
        integers; ``crs`` is ``"EPSG:32650"`` and coordinates are UTM metres.

    Examples
    --------
    >>> from avzone.roads import map_info
    >>> map_info(etown_synthetic())["signalized"]
    288
    """
    layout = _Layout()
    points = _crossings()
    ids = np.array(
        [
            [layout.node(tuple(points[i, j].tolist()), signalized=True) for j in range(_N_EW)]
            for i in range(_N_NS)
        ]
    )
    gaps = {
        (i, j)
        for i in range(1, _N_NS - 1)
        for j in range(1, _N_EW - 2, 2)  # odd blocks only: no crossing loses both sides
        if _unit(8, i, j) < 2 * _GAP_SHARE  # doubled: only every other block may be a gap
    }
    _local_streets(layout, ids, gaps)
    _arterials(layout, ids, gaps)

    G = new_graph("etown-synthetic", "builtin:etown", ETOWN_CRS, (0.0, 0.0))
    for n, ((x, y), signalized) in enumerate(zip(layout.points, layout.signalized, strict=True)):
        G.add_node(n, x=x, y=y, signalized=signalized)
    for number, (u, v, road_class) in enumerate(layout.segments(), start=1):
        defaults = class_defaults(road_class)
        line = LineString([layout.points[u], layout.points[v]])
        for a, b, edge_id, geometry in (
            (u, v, f"e{number}", line),
            (v, u, f"-e{number}", line.reverse()),
        ):
            add_road(
                G,
                a,
                b,
                edge_id=edge_id,
                geometry=geometry,
                lanes=defaults.lanes,
                speed_mps=speed_mps_from_kph(defaults.speed_kph),
                road_class=road_class,
            )
    return G
