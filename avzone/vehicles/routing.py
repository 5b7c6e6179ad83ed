"""Shortest-time routes on the road graph (free-flow travel times)."""

from __future__ import annotations

import itertools

import networkx as nx

__all__ = ["add_travel_times", "route_edges"]


def add_travel_times(G: nx.MultiDiGraph, speed_factor: float = 1.0) -> None:
    """Set ``travel_time_s = length_m / (speed_factor · speed_mps)`` on every edge (in place)."""
    for _, _, data in G.edges(data=True):
        data["travel_time_s"] = data["length_m"] / (speed_factor * data["speed_mps"])


def route_edges(
    G: nx.MultiDiGraph, origin: object, destination: object
) -> list[tuple[object, object, int]]:
    """The fastest route as a list of edges ``(u, v, key)``; of parallel edges the fastest.

    Raises ``networkx.NetworkXNoPath`` when there is none (demand is built so
    that this does not happen).
    """
    nodes = nx.shortest_path(G, origin, destination, weight="travel_time_s")
    route = []
    for u, v in itertools.pairwise(nodes):
        key = min(G[u][v], key=lambda k: G[u][v][k]["travel_time_s"])
        route.append((u, v, key))
    return route
