"""Shortest-time routes on the road graph (free-flow travel times)."""

from __future__ import annotations

import itertools
import weakref

import networkx as nx

__all__ = ["add_travel_times", "route_edges"]

_FASTEST: weakref.WeakKeyDictionary[
    nx.MultiDiGraph, tuple[nx.DiGraph, dict[tuple[object, object], int]]
]
_FASTEST = weakref.WeakKeyDictionary()


def add_travel_times(G: nx.MultiDiGraph, speed_factor: float = 1.0) -> None:
    """Set ``travel_time_s = length_m / (speed_factor · speed_mps)`` on every edge (in place)."""
    for _, _, data in G.edges(data=True):
        data["travel_time_s"] = data["length_m"] / (speed_factor * data["speed_mps"])
    _FASTEST.pop(G, None)


def route_edges(
    G: nx.MultiDiGraph, origin: object, destination: object
) -> list[tuple[object, object, int]]:
    """The fastest route as a list of edges ``(u, v, key)``; of parallel edges the fastest.

    Raises ``networkx.NetworkXNoPath`` when there is none (demand is built so
    that this does not happen).
    """
    simple, keys = _fastest_graph(G)
    nodes = nx.bidirectional_dijkstra(simple, origin, destination, weight="travel_time_s")[1]
    return [(u, v, keys[u, v]) for u, v in itertools.pairwise(nodes)]


def _fastest_graph(G: nx.MultiDiGraph) -> tuple[nx.DiGraph, dict[tuple[object, object], int]]:
    """A DiGraph of G with, per node pair, the fastest of its parallel edges (cached).

    Same nodes and neighbour order as G, so Dijkstra explores it in the same
    order and finds the same route as on G with the multigraph weight (the
    minimum over parallel edges) — about twice as fast, because the weight is
    a plain look-up.
    """
    cached = _FASTEST.get(G)
    if cached is not None:
        return cached
    simple = nx.DiGraph()
    simple.add_nodes_from(G)
    keys: dict[tuple[object, object], int] = {}
    for u, neighbours in G.adjacency():
        for v, parallel in neighbours.items():
            key = min(parallel, key=lambda k: parallel[k]["travel_time_s"])
            simple.add_edge(u, v, travel_time_s=parallel[key]["travel_time_s"])
            keys[u, v] = key
    _FASTEST[G] = (simple, keys)
    return simple, keys
