"""Fastest routes: scipy's Dijkstra trees per origin give networkx's routes on the multigraph.

The reference is ``networkx.shortest_path(G, o, d, weight="travel_time_s")`` on
the MultiDiGraph itself (weight = the fastest of parallel edges), with the
fastest parallel edge's key on each hop.
"""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest

from avzone.roads import etown_synthetic
from avzone.vehicles.routing import add_travel_times, route_edges


def _reference(G: nx.MultiDiGraph, o: object, d: object) -> list[tuple[object, object, int]]:
    nodes = nx.shortest_path(G, o, d, weight="travel_time_s")
    return [
        (u, v, min(G[u][v], key=lambda k: G[u][v][k]["travel_time_s"]))
        for u, v in itertools.pairwise(nodes)
    ]


def test_routes_equal_networkx_on_the_multigraph() -> None:
    G = etown_synthetic()
    add_travel_times(G, 0.8)
    nodes = list(G)
    rng = random.Random(3)
    for _ in range(400):
        o, d = rng.choice(nodes), rng.choice(nodes)
        assert route_edges(G, o, d) == _reference(G, o, d)


def test_parallel_edges_take_the_fastest_and_speed_changes_are_seen() -> None:
    G = nx.MultiDiGraph()
    G.add_edge("a", "b", key=0, length_m=100.0, speed_mps=5.0)
    G.add_edge("a", "b", key=1, length_m=100.0, speed_mps=10.0)
    G.add_edge("b", "c", key=0, length_m=50.0, speed_mps=10.0)
    add_travel_times(G)
    assert route_edges(G, "a", "c") == [("a", "b", 1), ("b", "c", 0)]
    assert route_edges(G, "a", "a") == []
    G.add_node("z")
    add_travel_times(G)
    with pytest.raises(nx.NetworkXNoPath, match="no route from 'a' to 'z'"):
        route_edges(G, "a", "z")
    G.edges["a", "b", 0]["speed_mps"] = 20.0
    add_travel_times(G)  # recomputes the weights and drops the cached graph
    assert route_edges(G, "a", "c") == [("a", "b", 0), ("b", "c", 0)]
