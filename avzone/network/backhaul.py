"""The backhaul: a transport graph from access points (RSUs, cells) to compute sites.

Topology, from the access points up (each link one tier of
:data:`~avzone.scenario.schema.LINK_TIERS`):

- ``access``: every access point to its nearest aggregation node when the
  scenario has an aggregation layer, else to its nearest edge site (or the
  core when there is no edge site);
- ``aggregation``: every aggregation node to its nearest edge site (or the core);
- ``metro``: every edge site to the core (the zone's hub, at the map centre);
- ``regional``: every regional site to the core, ``distance_km`` long;
- ``central``: every central site to the first regional site (file order)
  that is not farther from the core than itself, by the difference of their
  distances, else to the core: the core-to-site fibre is ``distance_km``
  either way, and central traffic shares the regional site's link.

In-zone links run ``fibre_detour`` times the straight line (at least 1 m);
propagation is 5 µs/km (:func:`~avzone.network.latency.fibre_s`). Each link has
its tier's rate and loss. Routes are least-propagation-delay paths
(:func:`route_table`, Dijkstra); a route's unloaded one-way delay for ``b``
bytes is ``prop_s + 8·b·bit_s`` (store and forward) and it loses a message
with ``1 − Π(1 − loss)``. Queueing on the links is :mod:`avzone.network.transport`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy.cluster.vq import kmeans2

from avzone.errors import ScenarioError
from avzone.network.latency import fibre_s
from avzone.scenario import Backhaul
from avzone.scenario.schema import Aggregation

__all__ = [
    "BackhaulRoutes",
    "LinkTable",
    "build_backhaul",
    "place_aggregation",
    "route_table",
]

CORE = "core"
MIN_LINK_M = 1.0
"""Co-located equipment still has a patch cable: every link is at least 1 m."""


@dataclass(frozen=True)
class LinkTable:
    """The links of a backhaul graph, by index (the edge attribute ``index``).

    ``a`` is the end toward the access points, ``b`` the end toward the core
    and the higher tiers. A link has two directions, each its own transmitter:
    directed link ``2·i`` is *up* (a → b: away from the access points), ``2·i + 1``
    is *down* (b → a). ``name`` is the name of the node the link serves: its
    access point, aggregation node or site (``rsu-3``, ``cell-2``, ``agg-1``,
    ``edge-4``, ``regional``).
    """

    name: tuple[str, ...]
    tier: tuple[str, ...]
    a: tuple[str, ...]
    b: tuple[str, ...]
    length_m: tuple[float, ...]
    prop_s: tuple[float, ...]
    rate_bps: tuple[float, ...]
    loss: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.name)

    @classmethod
    def of(cls, G: nx.Graph) -> LinkTable:
        """The table of the links of ``G`` (built by :func:`build_backhaul`)."""
        edges = sorted(G.edges(data=True), key=lambda e: e[2]["index"])
        label = nx.get_node_attributes(G, "name")

        def column(key: str) -> tuple[Any, ...]:
            return tuple(e[2][key] for e in edges)

        return cls(
            name=column("name"),
            tier=column("tier"),
            a=tuple(label[e[2]["a"]] for e in edges),
            b=tuple(label[e[2]["b"]] for e in edges),
            length_m=column("length_m"),
            prop_s=column("delay_s"),
            rate_bps=column("rate_bps"),
            loss=column("loss"),
        )


@dataclass(frozen=True)
class BackhaulRoutes:
    """Route figures from every access point (rows) to every site (columns).

    ``prop_s``: propagation delay; ``bit_s``: seconds per bit summed over the
    links (Σ 1/rate); ``loss``: probability the route loses a message;
    ``hops``: links on the route; ``paths[ap][site]``: the directed links of
    the route from the access point to the site (ids of ``links``: ``2·i`` up,
    ``2·i + 1`` down), ``None`` when the site is unreachable. The way back is
    the same links reversed, each in the other direction.
    """

    prop_s: np.ndarray
    bit_s: np.ndarray
    loss: np.ndarray
    hops: np.ndarray
    links: LinkTable
    paths: tuple[tuple[tuple[int, ...] | None, ...], ...]

    def delay_s(self, access: int, site: int, size_bytes: float) -> float:
        """Unloaded one-way delay of a message of ``size_bytes`` from an access point to a site."""
        return float(self.prop_s[access, site] + 8.0 * size_bytes * self.bit_s[access, site])


def place_aggregation(access_xy: np.ndarray, spec: Aggregation) -> np.ndarray:
    """Positions (n, 2) of the aggregation nodes over the access points.

    ``count``: k-means centres of the access points (Lloyd's algorithm from a
    deterministic farthest-point start: no random draw); ``spacing_m``: the
    centroid of the access points in each occupied cell of a square grid of
    that spacing, cells in row order from the south-west.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [10.0, 0.0], [1000.0, 0.0], [1010.0, 0.0]])
    >>> place_aggregation(xy, Aggregation(count=2)).tolist()
    [[5.0, 0.0], [1005.0, 0.0]]
    >>> place_aggregation(xy, Aggregation(spacing_m=500.0)).tolist()
    [[5.0, 0.0], [1005.0, 0.0]]
    """
    xy = np.asarray(access_xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        return np.empty((0, 2))
    if spec.count is not None:
        if spec.count > len(xy):
            raise ScenarioError(
                "network.backhaul.aggregation.count",
                f"expected at most {len(xy)} (the access points), got {spec.count}",
            )
        start = [int(np.argmin(np.hypot(*(xy - xy.mean(axis=0)).T)))]
        nearest = np.hypot(*(xy - xy[start[0]]).T)
        while len(start) < spec.count:
            start.append(int(np.argmax(nearest)))
            nearest = np.minimum(nearest, np.hypot(*(xy - xy[start[-1]]).T))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an emptied cluster keeps its centre
            centres, _ = kmeans2(xy, xy[start], minit="matrix", iter=20)
        return np.asarray(centres, dtype=float)
    assert spec.spacing_m is not None  # the parser guarantees one of the two
    cell = np.floor((xy - xy.min(axis=0)) / spec.spacing_m).astype(int)
    keys, inverse = np.unique(cell[:, ::-1], axis=0, return_inverse=True)  # (row, col) order
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=len(keys))
    return np.column_stack(
        [np.bincount(inverse, weights=xy[:, j], minlength=len(keys)) / counts for j in (0, 1)]
    )


def build_backhaul(
    access_xy: np.ndarray,
    edge_sites: list[tuple[str, np.ndarray]],
    remote_sites: list[tuple[str, str, float]],
    core_xy: np.ndarray,
    spec: Backhaul,
    *,
    n_rsus: int | None = None,
) -> nx.Graph:
    """The backhaul graph: nodes ``("ap", i)``, ``("agg", k)``, ``("site", name)`` and ``"core"``.

    ``remote_sites`` are ``(name, tier, distance_km)`` of regional and central
    sites; ``n_rsus``: the first access points are RSUs (named ``rsu-N``), the
    others cells (``cell-N``); without it every access point is ``ap-N``.
    Each node has ``name``; each link ``index``, ``name``, ``tier``, ``a``
    (the end toward the access points), ``b``, ``length_m``, ``delay_s``
    (propagation), ``rate_bps`` and ``loss``.
    """
    G = nx.Graph()
    detour = spec.fibre_detour

    def link(a: object, b: object, length_m: float, tier: str, named: object = None) -> None:
        """A link from ``a`` (toward the access points) to ``b``, named after ``named`` (or ``a``)."""
        settings = spec.tier(tier)
        length_m = max(length_m, MIN_LINK_M)
        G.add_edge(
            a,
            b,
            index=G.number_of_edges(),
            name=G.nodes[a if named is None else named]["name"],
            tier=tier,
            a=a,
            b=b,
            length_m=length_m,
            delay_s=float(fibre_s(length_m)),
            rate_bps=settings.rate_gbps * 1e9,
            loss=settings.loss,
        )

    def distance_m(p: np.ndarray, q: np.ndarray) -> float:
        return float(np.hypot(*(np.asarray(p) - np.asarray(q)))) * detour

    G.add_node(CORE, name=CORE)
    access_xy = np.asarray(access_xy, dtype=float).reshape(-1, 2)
    for i in range(len(access_xy)):
        if n_rsus is None:
            G.add_node(("ap", i), name=f"ap-{i + 1}")
        else:
            kind, k = ("rsu", i) if i < n_rsus else ("cell", i - n_rsus)
            G.add_node(("ap", i), name=f"{kind}-{k + 1}")
    for name, _ in edge_sites:
        G.add_node(("site", name), name=name)
    for name, _, _ in remote_sites:
        G.add_node(("site", name), name=name)
    _check_unique_names(G)

    edge_xy = np.array([xy for _, xy in edge_sites], dtype=float).reshape(-1, 2)

    def up_from(xy: np.ndarray) -> tuple[object, np.ndarray]:
        """The node (and its position) an in-zone node hangs off: nearest edge site or the core."""
        if len(edge_sites) == 0:
            return CORE, core_xy
        j = int(np.argmin(np.hypot(*(edge_xy - xy).T)))
        return ("site", edge_sites[j][0]), edge_xy[j]

    for name, xy in edge_sites:
        link(("site", name), CORE, distance_m(xy, core_xy), "metro")
    regional = [(name, d) for name, tier, d in remote_sites if tier == "regional"]
    for name, tier, distance_km in remote_sites:
        site = ("site", name)
        if tier == "regional":
            link(CORE, site, distance_km * 1000.0, "regional", site)
        else:
            via = next(((r, d) for r, d in regional if d <= distance_km), None)
            if via is None:
                link(CORE, site, distance_km * 1000.0, "central", site)
            else:
                length_m = (distance_km - via[1]) * 1000.0
                link(("site", via[0]), site, length_m, "central", site)
    if spec.aggregation is not None:
        agg_xy = place_aggregation(access_xy, spec.aggregation)
        for k, xy in enumerate(agg_xy):
            G.add_node(("agg", k), name=f"agg-{k + 1}")
            upper, upper_xy = up_from(xy)
            link(("agg", k), upper, distance_m(xy, upper_xy), "aggregation")
        _check_unique_names(G)
        for i, xy in enumerate(access_xy):
            k = int(np.argmin(np.hypot(*(agg_xy - xy).T)))
            link(("ap", i), ("agg", k), distance_m(xy, agg_xy[k]), "access")
    else:
        for i, xy in enumerate(access_xy):
            upper, upper_xy = up_from(xy)
            link(("ap", i), upper, distance_m(xy, upper_xy), "access")
    return G


def _check_unique_names(G: nx.Graph) -> None:
    seen: dict[str, object] = {}
    for node, name in G.nodes(data="name"):
        if name in seen:
            raise ScenarioError(
                "cloud.sites",
                f"site name {name!r} is also the name of a backhaul node "
                "(rsu-N, cell-N, agg-N, core): rename the site",
            )
        seen[name] = node


def route_table(
    G: nx.Graph, n_access: int, site_names: list[str], without: Iterable[str] = ()
) -> BackhaulRoutes:
    """Least-delay routes from each access point to each site, as arrays.

    ``without``: names of links taken out (a fibre cut); routes avoid them,
    and sites they cut off are unreachable (``prop_s`` inf, ``loss`` 1,
    ``paths`` ``None``). Link ids stay those of the whole graph.

    Examples
    --------
    >>> from avzone.scenario import Backhaul
    >>> G = build_backhaul(np.array([[0.0, 0.0]]), [("edge", np.array([0.0, 1000.0]))],
    ...                    [], np.array([0.0, 0.0]), Backhaul(fibre_detour=1.0))
    >>> route_table(G, 1, ["edge"]).paths[0]  # ap-1 up its access link: link 1 (0 is edge → core)
    ((2,),)
    >>> route_table(G, 1, ["edge"], without=["ap-1"]).paths[0]
    (None,)
    """
    links = LinkTable.of(G)
    cut = set(without)
    unknown = cut - set(links.name)
    if unknown:
        raise ValueError(f"without: no link named {sorted(unknown)[0]!r} in the backhaul")
    H = G
    if cut:
        H = G.copy()
        H.remove_edges_from([(u, v) for u, v, name in G.edges(data="name") if name in cut])
    shape = (n_access, len(site_names))
    prop = np.full(shape, np.inf)
    bit = np.zeros(shape)
    loss = np.ones(shape)
    hops = np.zeros(shape, dtype=int)
    paths: list[list[tuple[int, ...] | None]] = []
    column = {("site", name): k for k, name in enumerate(site_names)}
    for i in range(n_access):
        row: list[tuple[int, ...] | None] = [None] * len(site_names)
        paths.append(row)
        if ("ap", i) not in H:
            continue
        _, found = nx.single_source_dijkstra(H, ("ap", i), weight="delay_s")
        for target, k in column.items():
            path = found.get(target)
            if path is None:
                continue
            on_route = [(a, H.edges[a, b]) for a, b in itertools.pairwise(path)]
            prop[i, k] = sum(e["delay_s"] for _, e in on_route)
            bit[i, k] = sum(1.0 / e["rate_bps"] for _, e in on_route)
            loss[i, k] = 1.0 - float(np.prod([1.0 - e["loss"] for _, e in on_route]))
            hops[i, k] = len(on_route)
            row[k] = tuple(2 * e["index"] + (0 if a == e["a"] else 1) for a, e in on_route)
    return BackhaulRoutes(prop, bit, loss, hops, links, tuple(tuple(r) for r in paths))
