"""Write a road graph as GeoJSON (RFC 7946: WGS84 lon/lat).

Lines are written from node to node: the first and last vertex of each
edge's geometry are put on its nodes (SUMO geometries stop a few metres
short of the junction centre), so that reading the file back gives the same
nodes and connections. Each pair of opposite edges that are twins (ids ``X`` and ``-X``, reversed
geometry, equal lanes, speed and class) becomes one two-way feature with
id ``X`` and ``oneway: false``; every other edge is a one-way feature with
its own id. Signalised nodes become ``Point`` features with
``signalized: true``. Coordinates are rounded to 7 decimals (about 1 cm), so
:func:`~avzone.roads.load_geojson` gives the same nodes, edge ids and
signals back (node ids become integers; lengths become the planar lengths
of the written lines).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from avzone.roads.graph import to_lonlat

__all__ = ["LONLAT_DECIMALS", "write_geojson"]

LONLAT_DECIMALS = 7
"""Decimals kept in written longitudes and latitudes (1e-7° ≈ 1 cm)."""

_Edge = tuple[Any, Any, Any]
_FILE_MODE = 0o644


def write_geojson(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Write ``G`` to ``path`` as a GeoJSON FeatureCollection, atomically.

    Parameters
    ----------
    G
        A road graph with a ``crs``.
    path
        The output file; written through a temporary file in the same folder
        and renamed, so a failed write leaves no partial file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        ``G`` has no ``crs``, so lon/lat cannot be computed.
    """
    features = [*_road_features(G), *_signal_features(G)]
    lines = [json.dumps(feature, ensure_ascii=False, separators=(",", ":")) for feature in features]
    header = {"type": "FeatureCollection", "name": str(G.graph.get("name", ""))}
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1]
    text += ',"features":[\n' + ",\n".join(lines) + "\n]}\n"
    path = Path(path)
    _write_atomically(path, text)
    return path


def _road_features(G: nx.MultiDiGraph) -> list[dict[str, Any]]:
    by_id: dict[str, _Edge] = {d["id"]: (u, v, k) for u, v, k, d in G.edges(keys=True, data=True)}
    done: set[_Edge] = set()
    features = []
    for edge in G.edges(keys=True):
        if edge in done:
            continue
        edge_id = G.edges[edge]["id"]
        twin = by_id.get("-" + edge_id)
        original = by_id.get(edge_id[1:]) if edge_id.startswith("-") else None
        forward: _Edge = edge
        backward: _Edge | None = None
        if twin is not None and _twins(G, edge, twin):
            backward = twin
        elif original is not None and _twins(G, original, edge):
            forward, backward = original, edge
        done.update([forward] if backward is None else [forward, backward])
        features.append(_road_feature(G, forward, oneway=backward is None))
    return features


def _twins(G: nx.MultiDiGraph, forward: _Edge, backward: _Edge) -> bool:
    """Whether ``backward`` is ``forward`` driven the other way."""
    a, b = G.edges[forward], G.edges[backward]
    if (forward[0], forward[1]) != (backward[1], backward[0]) or forward == backward:
        return False
    if any(a[name] != b[name] for name in ("lanes", "speed_mps", "road_class")):
        return False
    xy_a = np.asarray(a["geometry"].coords)
    xy_b = np.asarray(b["geometry"].coords)[::-1]
    return xy_a.shape == xy_b.shape and bool(np.allclose(xy_a, xy_b, rtol=0.0, atol=1e-6))


def _road_feature(G: nx.MultiDiGraph, edge: _Edge, *, oneway: bool) -> dict[str, Any]:
    data = G.edges[edge]
    return {
        "type": "Feature",
        "properties": {
            "id": data["id"],
            "road_class": data["road_class"],
            "lanes": int(data["lanes"]),
            "speed_kph": round(float(data["speed_mps"]) * 3.6, 3),
            "oneway": oneway,
        },
        "geometry": {"type": "LineString", "coordinates": _lonlat(G, _node_to_node(G, edge))},
    }


def _node_to_node(G: nx.MultiDiGraph, edge: _Edge) -> np.ndarray:
    """The edge's vertices with the first and last moved onto its nodes."""
    xy = np.array(G.edges[edge]["geometry"].coords, dtype=float)[:, :2]
    for index, node in ((0, edge[0]), (-1, edge[1])):
        xy[index] = G.nodes[node]["x"], G.nodes[node]["y"]
    return xy


def _signal_features(G: nx.MultiDiGraph) -> list[dict[str, Any]]:
    signals = [(d["x"], d["y"]) for _, d in G.nodes(data=True) if d.get("signalized", False)]
    return [
        {
            "type": "Feature",
            "properties": {"signalized": True},
            "geometry": {"type": "Point", "coordinates": position},
        }
        for position in (_lonlat(G, signals) if signals else [])
    ]


def _lonlat(G: nx.MultiDiGraph, xy: Any) -> list[list[float]]:
    lonlat = to_lonlat(G, np.asarray(xy, dtype=float))
    if lonlat is None:
        raise ValueError(f"graph {G.graph.get('name')!r} has no crs: cannot write lon/lat")
    rounded: list[list[float]] = np.round(lonlat, LONLAT_DECIMALS).tolist()
    return rounded


def _write_atomically(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
