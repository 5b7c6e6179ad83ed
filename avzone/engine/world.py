"""World.build: everything static of a run, computed once from the scenario.

The road graph, the road samples and, per sample, the serving RSU, cell and
perception; the compute sites and the backhaul routes to them; the HD-map
tiles; the demand. Nothing here moves in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from avzone.cloud.placement import hosting_sites_by_preference, place_edge_sites
from avzone.engine.draws import run_seeds
from avzone.errors import MapError, ScenarioError
from avzone.hdmap.changes import reverse_edges
from avzone.hdmap.tiles import TileGrid, edge_tile_segments, road_tiles
from avzone.network import (
    BackhaulRoutes,
    RoadSamples,
    build_backhaul,
    nearest_within,
    place_cells,
    route_table,
    sample_roads,
)
from avzone.radio.tables import RadioTable, system_tables
from avzone.roads import bbox_m, etown_synthetic, load_map
from avzone.roads.points import placement_from_file
from avzone.roadside import place_rsus
from avzone.scenario import Scenario
from avzone.scenario.schema import TIERS
from avzone.vehicles.demand import Demand, build_demand
from avzone.vehicles.routing import add_travel_times
from avzone.vehicles.sumo_routes import ListedRoutes, routes_for
from avzone.vehicles.traces import Traces, traces_for

__all__ = ["SiteInfo", "World", "load_road_graph"]

SAMPLE_STEP_M = 10.0
"""Road sample length: coverage and positions are resolved to ≤ 10 m."""


@dataclass(frozen=True)
class SiteInfo:
    """One compute site after expanding ``count``: ``edge-1``, ``edge-2``, …"""

    name: str
    group: str
    tier: str
    servers: int
    speed: float
    xy: tuple[float, float] | None
    queue_limit: int | None


@dataclass(frozen=True)
class World:
    """The static world of a run. Build it with :meth:`World.build`."""

    scenario: Scenario
    graph: nx.MultiDiGraph
    bbox_m: tuple[float, float, float, float]
    samples: RoadSamples
    edge_length_m: np.ndarray
    edge_speed_mps: np.ndarray
    edge_signalized_end: np.ndarray
    edge_index: dict[tuple[object, object, int], int]
    rsu_xy: np.ndarray
    cell_xy: np.ndarray
    pc5_rsu: np.ndarray
    uu_cell: np.ndarray
    perceived: np.ndarray
    sites: tuple[SiteInfo, ...]
    routes: BackhaulRoutes
    candidates: dict[str, np.ndarray]
    tiles: TileGrid
    sample_tile: np.ndarray
    edge_tiles: tuple[list[tuple[float, int]], ...]
    demand: Demand
    pc5_table: RadioTable | None = None
    uu_table: RadioTable | None = None
    listed_routes: ListedRoutes | None = None
    traces: Traces | None = None

    @property
    def n_rsus(self) -> int:
        """Number of RSUs (access points 0 … n_rsus − 1)."""
        return len(self.rsu_xy)

    def cell_ap(self, cell: int) -> int:
        """Access-point index of a cell (cells follow the RSUs)."""
        return self.n_rsus + cell

    @classmethod
    def build(cls, scenario: Scenario, rng: np.random.Generator | None = None) -> World:
        """Build the world of ``scenario``; ``rng`` seeds the placement rules that draw."""
        rng = rng or np.random.default_rng(run_seeds(scenario.seed)[0])
        G = load_road_graph(scenario)
        add_travel_times(G, scenario.mobility.speed_factor)
        box = bbox_m(G)
        samples = sample_roads(G, SAMPLE_STEP_M)
        edges = samples.edges
        length = np.array([G.edges[e]["length_m"] for e in edges], dtype=float)
        speed = np.array([G.edges[e]["speed_mps"] for e in edges], dtype=float)
        signal_end = np.array([bool(G.nodes[v].get("signalized")) for _, v, _ in edges])

        road = scenario.road
        rsu_place = placement_from_file(road.placement, scenario, G, box, "road.rsu.place.file")
        rsu_xy = place_rsus(G, rsu_place, box)
        cell_place = placement_from_file(
            scenario.network.cells.placement, scenario, G, box, "network.cells.place.file"
        )
        cell_xy = place_cells(cell_place, box)
        pc5 = nearest_within(samples.xy, rsu_xy, road.pc5.range_m)
        uu = nearest_within(samples.xy, cell_xy, scenario.network.cells.range_m)
        pc5_table, uu_table = system_tables(  # SINR coverage where the model is not ``disk``
            scenario.seed, samples, rsu_xy, cell_xy, road.pc5.radio, scenario.network.cells.radio
        )
        pc5 = pc5 if pc5_table is None else pc5_table.serving
        uu = uu if uu_table is None else uu_table.serving
        if road.sensors is not None:
            perceived = nearest_within(samples.xy, rsu_xy, road.sensors.range_m) >= 0
        else:
            perceived = np.zeros(len(samples.xy), dtype=bool)

        sites, routes, candidates = _cloud(scenario, box, rsu_xy, cell_xy, rng, G)
        tiles = TileGrid.over(box, scenario.hdmap.tile_size_m)
        sample_tile = road_tiles(
            scenario.hdmap.tiles_by, tiles, samples.xy, samples.edge, reverse_edges(edges)
        )
        edge_tiles = tuple(
            edge_tile_segments(
                sample_tile, int(samples.start[i]), int(samples.count[i]), float(samples.step_m[i])
            )
            for i in range(len(edges))
        )
        demand = build_demand(G, scenario.zones, scenario.od, box, scenario.map.label)
        return cls(
            scenario=scenario,
            graph=G,
            bbox_m=box,
            samples=samples,
            edge_length_m=length,
            edge_speed_mps=speed * scenario.mobility.speed_factor,
            edge_signalized_end=signal_end,
            edge_index={e: i for i, e in enumerate(edges)},
            rsu_xy=rsu_xy,
            cell_xy=cell_xy,
            pc5_rsu=pc5,
            uu_cell=uu,
            perceived=perceived,
            sites=sites,
            routes=routes,
            candidates=candidates,
            tiles=tiles,
            sample_tile=sample_tile,
            edge_tiles=edge_tiles,
            demand=demand,
            pc5_table=pc5_table,
            uu_table=uu_table,
            listed_routes=routes_for(scenario, G, {e: i for i, e in enumerate(edges)}),
            traces=traces_for(scenario, G, samples, sample_tile),
        )


def load_road_graph(scenario: Scenario) -> nx.MultiDiGraph:
    """The scenario's road graph (built-in or from its file)."""
    if scenario.map.builtin == "etown":
        return etown_synthetic()
    assert scenario.map.file is not None  # the parser guarantees one of the two
    try:
        return load_map(Path(scenario.map.file))
    except MapError as exc:  # name the scenario key too: "FILE: map.file: MAP: what is wrong"
        raise ScenarioError("map.file", str(exc)) from None


def _cloud(
    scenario: Scenario,
    box: tuple[float, float, float, float],
    rsu_xy: np.ndarray,
    cell_xy: np.ndarray,
    rng: np.random.Generator,
    G: nx.MultiDiGraph,
) -> tuple[tuple[SiteInfo, ...], BackhaulRoutes, dict[str, np.ndarray]]:
    sites: list[SiteInfo] = []
    edge_sites: list[tuple[str, np.ndarray]] = []
    remote: list[tuple[str, str, float]] = []
    for spec in scenario.cloud.sites:
        if spec.tier == "edge":
            key = f"cloud.sites.{spec.name}.place"
            placement = placement_from_file(
                spec.placement, scenario, G, box, f"{key}.file", spec.count
            )
            xy = place_edge_sites(placement, spec.count, box, rsu_xy, rng, key)
            for name, p in zip(spec.names, xy, strict=True):
                at = (float(p[0]), float(p[1]))
                sites.append(
                    SiteInfo(
                        name, spec.name, spec.tier, spec.servers, spec.speed, at, spec.queue_limit
                    )
                )
                edge_sites.append((name, p))
        else:
            sites.append(
                SiteInfo(
                    spec.name,
                    spec.name,
                    spec.tier,
                    spec.servers,
                    spec.speed,
                    None,
                    spec.queue_limit,
                )
            )
            remote.append((spec.name, spec.tier, spec.distance_km))
    access_xy = np.vstack([rsu_xy, cell_xy]) if len(rsu_xy) + len(cell_xy) else np.empty((0, 2))
    core_xy = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    graph = build_backhaul(
        access_xy, edge_sites, remote, core_xy, scenario.network.backhaul, n_rsus=len(rsu_xy)
    )
    names = [s.name for s in sites]
    routes = route_table(graph, len(access_xy), names)
    tier_rank = np.array([TIERS.index(s.tier) for s in sites])
    candidates = {}
    for service in scenario.cloud.services:
        hosts = np.array([s.group in service.sites for s in sites], dtype=bool)
        candidates[service.name] = hosting_sites_by_preference(routes.prop_s, hosts, tier_rank)
    return tuple(sites), routes, candidates
