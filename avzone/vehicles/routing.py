"""Shortest-time routes on the road graph (free-flow travel times).

Routes come from Dijkstra's algorithm (scipy.sparse.csgraph, compiled) on a
simple graph of the fastest parallel edges, one search per origin: the
shortest-path tree to every node is kept (an array of predecessors), so the
next trip from the same origin is a walk back from its destination. The
trees are kept per graph, up to ``_TREES_BUDGET`` node entries in all
(least recently used dropped).
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["add_travel_times", "route_edges"]

_FASTEST: weakref.WeakKeyDictionary[
    nx.MultiDiGraph, tuple[nx.DiGraph, dict[tuple[object, object], int]]
]
_FASTEST = weakref.WeakKeyDictionary()
_ROUTERS: weakref.WeakKeyDictionary[nx.MultiDiGraph, _Router] = weakref.WeakKeyDictionary()
_TREES_BUDGET = 50_000_000
"""Predecessor entries kept per graph (int32: 200 MB at most)."""


def add_travel_times(G: nx.MultiDiGraph, speed_factor: float = 1.0) -> None:
    """Set ``travel_time_s = length_m / (speed_factor · speed_mps)`` on every edge (in place)."""
    for _, _, data in G.edges(data=True):
        data["travel_time_s"] = data["length_m"] / (speed_factor * data["speed_mps"])
    _FASTEST.pop(G, None)
    _ROUTERS.pop(G, None)


def route_edges(
    G: nx.MultiDiGraph, origin: object, destination: object
) -> list[tuple[object, object, int]]:
    """The fastest route as a list of edges ``(u, v, key)``; of parallel edges the fastest.

    Raises ``networkx.NetworkXNoPath`` when there is none (demand is built so
    that this does not happen).
    """
    router = _ROUTERS.get(G)
    if router is None:
        router = _ROUTERS[G] = _Router(*_fastest_graph(G))
    nodes = router.nodes(origin, destination)
    keys = router.keys
    return [(u, v, keys[u, v]) for u, v in itertools.pairwise(nodes)]


class _Router:
    """Shortest-path trees of a simple weighted graph, one per origin, computed on demand."""

    def __init__(self, simple: nx.DiGraph, keys: dict[tuple[object, object], int]) -> None:
        self.keys = keys
        self.names = list(simple)
        self.index = {node: i for i, node in enumerate(self.names)}
        n = len(self.names)
        rows, cols, weights = [], [], []
        for u, v, t in simple.edges(data="travel_time_s"):
            rows.append(self.index[u])
            cols.append(self.index[v])
            weights.append(max(float(t), 1e-12))  # csgraph drops explicit zeros
        self.matrix = csr_matrix((weights, (rows, cols)), shape=(n, n))
        self.trees: OrderedDict[int, np.ndarray] = OrderedDict()
        self.capacity = max(1, _TREES_BUDGET // max(n, 1))

    def nodes(self, origin: object, destination: object) -> list[object]:
        """The fastest route's nodes from ``origin`` to ``destination``."""
        o, d = self.index[origin], self.index[destination]
        tree = self.trees.get(o)
        if tree is None:
            tree = dijkstra(self.matrix, indices=o, return_predecessors=True)[1].astype(np.int32)
            self.trees[o] = tree
            if len(self.trees) > self.capacity:
                self.trees.popitem(last=False)
        else:
            self.trees.move_to_end(o)
        path = [d]
        while path[-1] != o:
            previous = int(tree[path[-1]])
            if previous < 0:
                raise nx.NetworkXNoPath(f"no route from {origin!r} to {destination!r}")
            path.append(previous)
        names = self.names
        return [names[i] for i in reversed(path)]


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
