"""Trip demand: where vehicles start and end. Pure functions of a seeded generator."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from avzone.errors import ScenarioError
from avzone.scenario import OdPair, Zone

__all__ = ["Demand", "build_demand"]


@dataclass(frozen=True)
class Demand:
    """Origin–destination relations as node arrays, ready to draw trips from.

    Without zones there is one relation: any node to any other node of the
    largest strongly connected part of the map (so every trip has a route).
    """

    origins: tuple[np.ndarray, ...]
    destinations: tuple[np.ndarray, ...]
    weights: np.ndarray

    def draw(self, rng: np.random.Generator) -> tuple[object, object]:
        """One trip (origin node, destination node), origin ≠ destination."""
        k = int(rng.choice(len(self.weights), p=self.weights)) if len(self.weights) > 1 else 0
        origins, destinations = self.origins[k], self.destinations[k]
        while True:
            o = origins[rng.integers(len(origins))]
            d = destinations[rng.integers(len(destinations))]
            if o != d:
                return o, d

    def draw_destination(self, rng: np.random.Generator, origin: object) -> object:
        """A next destination for a vehicle standing at ``origin`` (fixed fleets).

        Drawn from every node of the demand (origins and destinations alike),
        so that a vehicle can drive back.
        """
        candidates = np.concatenate(self.origins + self.destinations)
        while True:
            d = candidates[rng.integers(len(candidates))]
            if d != origin:
                return d


def build_demand(
    G: nx.MultiDiGraph,
    zones: tuple[Zone, ...],
    od: tuple[OdPair, ...],
    bbox_m: tuple[float, float, float, float],
    map_label: str,
) -> Demand:
    """Resolve zones to road nodes and check every relation has a route.

    Raises
    ------
    ScenarioError
        ``car.demand.zones.NAME`` when a zone holds no road node,
        ``car.demand.od[i]`` when no route joins its two zones, ``map`` when
        the map has no two connected nodes.
    """
    main: set[object] = max(nx.strongly_connected_components(G), key=len, default=set())
    if len(main) < 2:
        raise ScenarioError("map", f"{map_label}: no two road nodes are joined by a route")
    order = {n: i for i, n in enumerate(G.nodes)}
    core = np.array(sorted(main, key=order.__getitem__), dtype=object)
    if not zones:
        return Demand((core,), (core,), np.array([1.0]))
    nodes = list(G.nodes)
    xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
    in_main = np.array([n in main for n in nodes])
    members: dict[str, np.ndarray] = {}
    for zone in zones:
        centre = np.array(zone.at_m) + bbox_m[:2]
        inside = np.hypot(*(xy - centre).T) <= zone.radius_m
        if not inside.any():
            raise ScenarioError(
                f"car.demand.zones.{zone.name}",
                f"no road node within {zone.radius_m:g} m of at_m {list(zone.at_m)} "
                f"(offsets from the map's south-west corner; map is "
                f"{bbox_m[2] - bbox_m[0]:.0f} × {bbox_m[3] - bbox_m[1]:.0f} m)",
            )
        keep = inside & in_main
        members[zone.name] = np.array(
            [n for n, ok in zip(nodes, keep, strict=True) if ok], dtype=object
        )
    origins, destinations = [], []
    for i, pair in enumerate(od):
        o, d = members[pair.origin], members[pair.destination]
        if len(o) == 0 or len(d) == 0 or (len(o) == 1 and len(d) == 1 and o[0] == d[0]):
            raise ScenarioError(
                f"car.demand.od[{i}]",
                f"no route from zone {pair.origin!r} to zone {pair.destination!r} on {map_label} "
                "(their nodes are cut off from the rest of the road network)",
            )
        origins.append(o)
        destinations.append(d)
    weights = np.array([p.weight for p in od], dtype=float)
    return Demand(tuple(origins), tuple(destinations), weights / weights.sum())
