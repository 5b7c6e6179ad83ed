"""Queries on a road graph: summary figures, bounding box, lon/lat, connectivity.

The road graph is a :class:`networkx.MultiDiGraph` in metres of a projected
CRS. Node attributes: ``x``, ``y`` (m), ``signalized``. Edge attributes:
``id``, ``geometry`` (shapely ``LineString`` from ``u`` to ``v``),
``length_m``, ``speed_mps``, ``lanes`` (this direction), ``road_class``.
Graph attributes: ``name``, ``source``, ``crs`` (a string ``pyproj.CRS``
accepts, or ``None``) and ``offset_m`` (``(dx, dy)``: projected coordinate
= graph coordinate − offset, as in SUMO's ``netOffset``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer

__all__ = ["bbox_m", "largest_strongly_connected", "map_info", "to_lonlat"]


def bbox_m(G: nx.MultiDiGraph) -> tuple[float, float, float, float]:
    """Return ``(xmin, ymin, xmax, ymax)`` of the nodes and edge geometries, in metres.

    Raises
    ------
    ValueError
        The graph has no nodes.
    """
    if G.number_of_nodes() == 0:
        raise ValueError(f"graph {G.graph.get('name')!r} has no nodes, so no bounding box")
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype=float)
    xmin, ymin = xy.min(axis=0)
    xmax, ymax = xy.max(axis=0)
    geometries = [d["geometry"] for _, _, d in G.edges(data=True)]
    if geometries:
        bounds = shapely.bounds(np.array(geometries, dtype=object))
        xmin = min(xmin, bounds[:, 0].min())
        ymin = min(ymin, bounds[:, 1].min())
        xmax = max(xmax, bounds[:, 2].max())
        ymax = max(ymax, bounds[:, 3].max())
    return float(xmin), float(ymin), float(xmax), float(ymax)


def map_info(G: nx.MultiDiGraph) -> dict[str, Any]:
    """Return the summary figures of a road graph.

    Returns
    -------
    dict
        ``{"nodes", "edges", "length_km", "signalized", "bbox"}``: node and
        directed-edge counts, the sum of ``length_m`` over directed edges in km
        (3 decimals), the number of signalised nodes, and
        ``[xmin, ymin, xmax, ymax]`` in the graph's metres (1 decimal).
    """
    length_m = sum(float(d["length_m"]) for _, _, d in G.edges(data=True))
    signalized = sum(1 for _, d in G.nodes(data=True) if d.get("signalized", False))
    return {
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "length_km": round(length_m / 1000.0, 3),
        "signalized": signalized,
        "bbox": [round(value, 1) for value in bbox_m(G)],
    }


# A Transformer takes milliseconds to build; a few graphs' CRSs are cached.
@lru_cache(maxsize=16)
def _to_wgs84(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def to_lonlat(G: nx.MultiDiGraph, xy: np.ndarray) -> np.ndarray | None:
    """Convert graph coordinates (metres) to WGS84 longitude and latitude (degrees).

    Parameters
    ----------
    G
        The road graph; its ``crs`` and ``offset_m`` define the conversion.
    xy
        ``(n, 2)`` array of graph coordinates in metres.

    Returns
    -------
    numpy.ndarray or None
        ``(n, 2)`` array of ``(lon, lat)`` in degrees, or ``None`` when the
        graph is not geo-referenced (``crs`` is ``None``).

    Examples
    --------
    >>> G = nx.MultiDiGraph(crs="EPSG:32650", offset_m=(0.0, 0.0))
    >>> to_lonlat(G, np.array([[500000.0, 0.0]])).round(6).tolist()
    [[117.0, 0.0]]
    """
    crs = G.graph.get("crs")
    if crs is None:
        return None
    points = np.asarray(xy, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"xy: expected an (n, 2) array of metres, got shape {points.shape}")
    dx, dy = G.graph.get("offset_m", (0.0, 0.0))
    lon, lat = _to_wgs84(str(crs)).transform(points[:, 0] - dx, points[:, 1] - dy)
    return np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])


def largest_strongly_connected(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Return a copy of the largest strongly connected part of ``G``.

    Node, edge and graph attributes are kept. Among components of equal
    size the one networkx reports first is taken. An empty graph gives an
    empty copy.
    """
    if G.number_of_nodes() == 0:
        return G.copy()
    largest = max(nx.strongly_connected_components(G), key=len)
    sub: nx.MultiDiGraph = G.subgraph(largest).copy()
    return sub
