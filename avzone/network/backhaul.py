"""The backhaul: a fibre graph from access points (RSUs, cells) to compute sites.

Topology (first model): every access point is wired to its nearest edge site
(or to the core when there is none); every edge site to the core; regional and
central sites hang off the core at their configured fibre distance. Fibre in
the zone runs ``fibre_detour`` times the straight line. A route is the path of
least propagation delay; its one-way delay for a message of ``b`` bytes is
``prop_s + 8·b·bit_s`` (propagation plus store-and-forward serialisation on
each link), and it loses the message with ``loss``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx
import numpy as np

from avzone.network.latency import fibre_s
from avzone.scenario import Backhaul

__all__ = ["BackhaulRoutes", "build_backhaul", "route_table"]

CORE = "core"


@dataclass(frozen=True)
class BackhaulRoutes:
    """Route figures from every access point (rows) to every site (columns).

    ``prop_s``: propagation delay; ``bit_s``: seconds per bit summed over the
    links (Σ 1/rate); ``loss``: probability the route loses a message;
    ``hops``: links on the route.
    """

    prop_s: np.ndarray
    bit_s: np.ndarray
    loss: np.ndarray
    hops: np.ndarray

    def delay_s(self, access: int, site: int, size_bytes: float) -> float:
        """One-way delay of a message of ``size_bytes`` from an access point to a site."""
        return float(self.prop_s[access, site] + 8.0 * size_bytes * self.bit_s[access, site])


def build_backhaul(
    access_xy: np.ndarray,
    edge_sites: list[tuple[str, np.ndarray]],
    remote_sites: list[tuple[str, float]],
    core_xy: np.ndarray,
    spec: Backhaul,
) -> nx.Graph:
    """The backhaul graph: nodes ``("ap", i)``, ``("site", name)`` and ``"core"``.

    Each link has ``length_m``, ``delay_s`` (propagation), ``rate_bps`` and ``loss``.
    """
    G = nx.Graph()
    rate_bps = spec.rate_gbps * 1e9

    def link(a: object, b: object, length_m: float) -> None:
        length_m = max(length_m, 1.0)  # co-located equipment still has a patch cable
        G.add_edge(
            a,
            b,
            length_m=length_m,
            delay_s=float(fibre_s(length_m)),
            rate_bps=rate_bps,
            loss=spec.loss,
        )

    G.add_node(CORE)
    edge_xy = np.array([xy for _, xy in edge_sites]).reshape(-1, 2)
    for name, xy in edge_sites:
        link(("site", name), CORE, float(np.hypot(*(xy - core_xy))) * spec.fibre_detour)
    for name, distance_km in remote_sites:
        link(("site", name), CORE, distance_km * 1000.0)
    for i, xy in enumerate(access_xy):
        if len(edge_sites):
            d = np.hypot(*(edge_xy - xy).T)
            j = int(np.argmin(d))
            link(("ap", i), ("site", edge_sites[j][0]), float(d[j]) * spec.fibre_detour)
        else:
            link(("ap", i), CORE, float(np.hypot(*(xy - core_xy))) * spec.fibre_detour)
    return G


def route_table(G: nx.Graph, n_access: int, site_names: list[str]) -> BackhaulRoutes:
    """Least-delay routes from each access point to each site, as arrays."""
    shape = (n_access, len(site_names))
    prop = np.full(shape, np.inf)
    bit = np.zeros(shape)
    loss = np.ones(shape)
    hops = np.zeros(shape, dtype=int)
    column = {("site", name): k for k, name in enumerate(site_names)}
    for i in range(n_access):
        _, paths = nx.single_source_dijkstra(G, ("ap", i), weight="delay_s")
        for target, k in column.items():
            path = paths.get(target)
            if path is None:
                continue
            links = [G.edges[a, b] for a, b in itertools.pairwise(path)]
            prop[i, k] = sum(e["delay_s"] for e in links)
            bit[i, k] = sum(1.0 / e["rate_bps"] for e in links)
            loss[i, k] = 1.0 - float(np.prod([1.0 - e["loss"] for e in links]))
            hops[i, k] = len(links)
    return BackhaulRoutes(prop, bit, loss, hops)
