"""Faults in time: which elements are down now, and the failover the engine asks for.

:func:`resolve_faults` turns the scenario's ``faults:`` into :class:`Occurrence` s (element,
start, end), drawing random targets and MTBF/MTTR repetitions from a stream of their own.
:class:`FaultState` schedules them on the SimPy clock and answers the engine's questions where
it picks a serving station or a route:

- ``station(via, vehicle, sample, station)``: the station serving a message (an RSU for PC5, a
  cell for Uu): the nominal one when it is up; else the next station in range, nearest first
  (up to :data:`RANKED` per road sample); ``-1`` when none is up. A vehicle with degraded GNSS
  is looked up at its *reported* position; if the station found there does not reach its true
  position, the message is lost (out of coverage).
- ``route(ap, site, ...)``: the backhaul delays and loss from an access point to a site while
  links are cut or degraded: the least-delay path of the backhaul graph without the cut links
  and with the degraded ones' extra delay and loss; loss 1 when no path is left.
- sites go down and up through :meth:`avzone.cloud.Site.fail` / ``repair`` (dispatch and
  fallback already pass over a down site); the HD-map service pauses through
  :meth:`avzone.hdmap.process.HdMap.pause` / ``resume``.

Overlapping faults on one element are counted: it is up again when the last one ends.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import networkx as nx
import numpy as np
import simpy
from scipy.spatial import cKDTree
from shapely import contains_xy
from shapely.geometry import Polygon

from avzone.errors import ScenarioError
from avzone.faults.spec import FaultSpec
from avzone.network import build_backhaul, route_table
from avzone.network.backhaul import CORE
from avzone.scenario._reader import short

if TYPE_CHECKING:
    from avzone.cloud import Site
    from avzone.engine.world import World
    from avzone.hdmap.process import HdMap
    from avzone.vehicles.mobility import Vehicle

__all__ = ["FAULT_STREAM", "RANKED", "FaultState", "Occurrence", "fault_rng", "resolve_faults"]

RANKED = 3
"""Stations kept per road sample for failover: the nearest within range, nearest first."""

FAULT_STREAM = 1000
"""Spawn key of the faults' seed sequences, ``SeedSequence(seed, spawn_key=(1000, crc32(name)))``:
beside the run's streams 0–7 (:func:`avzone.engine.draws.run_seeds`), which stay unchanged, and
one per fault name, so adding a fault does not change another's draws."""


def fault_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of the fault called ``name`` in a run of ``seed``."""
    key = (FAULT_STREAM, zlib.crc32(name.encode("utf-8")))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass(frozen=True)
class Occurrence:
    """One element down (or degraded) from ``start_s`` to ``end_s``.

    ``element``: an RSU, cell or site index, a backhaul link (a pair of graph nodes), or
    ``None`` for the map service and a GNSS-degraded vehicle set.
    """

    fault: FaultSpec
    element: Any
    start_s: float
    end_s: float


def _polygon(world: World, spec: FaultSpec) -> Polygon:
    points = np.asarray(spec.target.area, dtype=float)
    where = f"faults.{spec.name}.target.area{'_lonlat' if spec.target.lonlat else ''}"
    if spec.target.lonlat:
        from pyproj import Transformer

        crs = world.graph.graph.get("crs")
        if crs is None:
            raise ScenarioError(where, "the map has no CRS; give the area in metres (area)")
        to_map = Transformer.from_crs("EPSG:4326", str(crs), always_xy=True)
        x, y = to_map.transform(points[:, 0], points[:, 1])
        dx, dy = world.graph.graph.get("offset_m", (0.0, 0.0))
        points = np.column_stack([np.asarray(x) + dx, np.asarray(y) + dy])
    else:
        points = points + np.array(world.bbox_m[:2])
    polygon = Polygon(points)
    if not polygon.is_valid or polygon.area <= 0:
        raise ScenarioError(where, "expected a simple polygon with an area")
    return polygon


def _node(world: World, name: str, where: str) -> object:
    if name == CORE:
        return CORE
    for prefix, offset, count in (
        ("rsu-", 0, world.n_rsus),
        ("cell-", world.n_rsus, len(world.cell_xy)),
    ):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            i = int(name[len(prefix) :])
            if i >= count:
                raise ScenarioError(where, f"{name!r}: expected an index below {count}")
            return ("ap", offset + i)
    if name in {s.name for s in world.sites}:
        return ("site", name)
    raise ScenarioError(
        where, f"unknown backhaul node {short(name)} (core, rsu-N, cell-N or a site name)"
    )


def backhaul_graph(world: World) -> nx.Graph:
    """The world's backhaul graph, rebuilt from its inputs (World keeps only the route table)."""
    scenario = world.scenario
    edge_sites = [(s.name, np.asarray(s.xy)) for s in world.sites if s.tier == "edge" and s.xy]
    distance = {spec.name: spec.distance_km for spec in scenario.cloud.sites}
    remote = [(s.name, s.tier, distance[s.group]) for s in world.sites if s.tier != "edge"]
    access_xy = np.vstack([world.rsu_xy.reshape(-1, 2), world.cell_xy.reshape(-1, 2)])
    box = world.bbox_m
    core_xy = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    return build_backhaul(
        access_xy, edge_sites, remote, core_xy, scenario.network.backhaul, n_rsus=len(world.rsu_xy)
    )


def _elements(
    world: World, spec: FaultSpec, graph: nx.Graph | None, rng: np.random.Generator
) -> list[Any]:
    """The targeted elements of a fault, in a fixed order."""
    kind, target = spec.kind, spec.target
    where = f"faults.{spec.name}.target"
    if kind in ("map_service_down", "gnss_degraded"):
        return [None]
    if kind in ("rsu_down", "cell_down"):
        xy = world.rsu_xy if kind == "rsu_down" else world.cell_xy
        what = "RSUs" if kind == "rsu_down" else "cells"
        for i, v in enumerate(target.ids):
            if cast(int, v) >= len(xy):  # the parser checked: an integer >= 0
                raise ScenarioError(
                    f"{where}.ids[{i}]", f"expected an index below {len(xy)} (the {what}), got {v}"
                )
        pool: list[Any] = list(range(len(xy)))
        positions: dict[Any, Any] = {i: tuple(xy[i]) for i in pool}
    elif kind == "site_down":
        pool = [i for i, s in enumerate(world.sites) if not target.ids or s.name in target.ids]
        positions = {i: world.sites[i].xy for i in pool}
    else:
        assert graph is not None
        if target.ids:
            pool = []
            for i, pair in enumerate(target.ids):
                a, b = cast(tuple[str, str], pair)
                u, v = (
                    _node(world, a, f"{where}.links[{i}]"),
                    _node(world, b, f"{where}.links[{i}]"),
                )
                if not graph.has_edge(u, v):
                    linked = ", ".join(sorted(_name(world, n) for n in graph.neighbors(u)))
                    raise ScenarioError(
                        f"{where}.links[{i}]", f"no backhaul link {a}–{b} ({a} links to {linked})"
                    )
                pool.append(frozenset((u, v)))
            return pool
        pool = sorted((frozenset(e) for e in graph.edges), key=lambda e: sorted(map(str, e)))
        xy_of = dict(nx.get_node_attributes(graph, "xy"))
        positions = {e: _midpoint(e, xy_of) for e in pool}
    if target.area:
        polygon = _polygon(world, spec)
        pool = [
            e
            for e in pool
            if positions.get(e) is not None and bool(contains_xy(polygon, *positions[e]))
        ]
        if not pool:
            raise ScenarioError(
                f"{where}.area", f"no {kind.removesuffix('_down')} element inside the area"
            )
    elif target.share is not None:
        n = max(1, round(target.share * len(pool)))
        pool = [pool[i] for i in sorted(rng.choice(len(pool), size=n, replace=False))]
    elif target.ids and kind in ("rsu_down", "cell_down"):
        pool = sorted({cast(int, v) for v in target.ids})
    if not pool:
        raise ScenarioError(where, f"nothing to fail: the zone has no target of a {kind} fault")
    return pool


def _midpoint(edge: frozenset[Any], xy_of: dict[Any, Any]) -> tuple[float, float] | None:
    ends: list[Any] = [xy_of.get(n) for n in edge]
    if len(ends) != 2 or ends[0] is None or ends[1] is None:
        return None
    return ((ends[0][0] + ends[1][0]) / 2, (ends[0][1] + ends[1][1]) / 2)


def _name(world: World, node: object) -> str:
    if node == CORE:
        return CORE
    kind, value = cast(tuple[str, Any], node)
    if kind == "site":
        return str(value)
    return f"rsu-{value}" if value < world.n_rsus else f"cell-{value - world.n_rsus}"


def link_name(world: World, link: frozenset[Any]) -> str:
    """``"rsu-3–edge-1"``: a backhaul link by its end names."""
    return "–".join(sorted(_name(world, n) for n in link))


def resolve_faults(world: World) -> list[Occurrence]:
    """Every fault occurrence of the world's scenario, in a fixed order (a ScenarioError for a
    target the world does not have)."""
    scenario = world.scenario
    faults = getattr(scenario, "faults", ())
    graph = None
    if any(f.kind in ("link_cut", "link_degraded") for f in faults):
        graph = _with_xy(world, backhaul_graph(world))
    occurrences = []
    for spec in faults:
        rng = fault_rng(scenario.seed, spec.name)
        end_s = scenario.duration_s if spec.end_s is None else min(spec.end_s, scenario.duration_s)
        for element in _elements(world, spec, graph, rng):
            if spec.random is None:
                if spec.start_s < end_s:
                    occurrences.append(Occurrence(spec, element, spec.start_s, end_s))
                continue
            t = spec.start_s
            while True:
                t += float(rng.exponential(spec.random.mtbf_s))
                if t >= end_s:
                    break
                down_s = float(rng.exponential(spec.random.mttr_s))
                occurrences.append(Occurrence(spec, element, t, min(t + down_s, end_s)))
                t += down_s
    return occurrences


def _with_xy(world: World, graph: nx.Graph) -> nx.Graph:
    access_xy = np.vstack([world.rsu_xy.reshape(-1, 2), world.cell_xy.reshape(-1, 2)])
    for i, xy in enumerate(access_xy):
        graph.nodes[("ap", i)]["xy"] = (float(xy[0]), float(xy[1]))
    for s in world.sites:
        if s.xy is not None:
            graph.nodes[("site", s.name)]["xy"] = s.xy
    box = world.bbox_m
    graph.nodes[CORE]["xy"] = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return graph


def ranked_within(
    points: np.ndarray, stations: np.ndarray, range_m: float, k: int = RANKED
) -> np.ndarray:
    """Per point, the indices of the ``k`` nearest stations within ``range_m`` (nearest first),
    ``-1`` where fewer are in range.

    Examples
    --------
    >>> ranked_within(np.array([[0.0, 0.0]]), np.array([[5.0, 0], [1.0, 0], [50.0, 0]]), 10.0).tolist()
    [[1, 0, -1]]
    """
    out = np.full((len(points), k), -1, dtype=int)
    if len(stations) == 0 or len(points) == 0:
        return out
    kk = min(k, len(stations))
    d, i = cKDTree(stations).query(points, k=kk, distance_upper_bound=range_m)
    d, i = d.reshape(len(points), kk), i.reshape(len(points), kk)
    out[:, :kk] = np.where(np.isfinite(d) & (d <= range_m), i, -1)
    return out


class FaultState:
    """The faults of one run on its SimPy clock (see the module docstring)."""

    def __init__(self, world: World, env: simpy.Environment) -> None:
        self.world = world
        self.env = env
        self.occurrences = resolve_faults(world)
        scenario = world.scenario
        self._down: dict[str, np.ndarray] = {
            "pc5": np.zeros(world.n_rsus, dtype=int),
            "uu": np.zeros(len(world.cell_xy), dtype=int),
        }
        self.stations_down = {"pc5": 0, "uu": 0}
        self._tables = {"pc5": world.pc5_rsu, "uu": world.uu_cell}
        self._xy = {"pc5": world.rsu_xy, "uu": world.cell_xy}
        self._range = {"pc5": scenario.road.pc5.range_m, "uu": scenario.network.cells.range_m}
        self._ranked: dict[str, np.ndarray] = {}
        self._site_down = [0] * len(world.sites)
        self._links: dict[frozenset[Any], list[FaultSpec]] = {}
        self._graph: nx.Graph | None = None
        self.routes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._map_down = 0
        self._gnss: list[FaultSpec] = []
        self._gnss_members: dict[tuple[str, int], bool] = {}
        # the position errors: a stream beside the faults' ones (spawn key (1001,))
        self._gnss_rng = np.random.default_rng(
            np.random.SeedSequence(scenario.seed, spawn_key=(FAULT_STREAM + 1,))
        )
        self._polygons: dict[str, Polygon] = {}

    @property
    def active(self) -> bool:
        """Whether any station is down or any vehicle set has degraded positioning now."""
        return bool(self.stations_down["pc5"] or self.stations_down["uu"] or self._gnss)

    def schedule(self, sites: list[Site], hdmap: HdMap) -> None:
        """Put every occurrence's start and end on the clock."""
        for occ in self.occurrences:
            self.env.timeout(occ.start_s).callbacks.append(
                functools.partial(self._apply, occ, sites, hdmap, +1)
            )
            if occ.end_s < self.world.scenario.duration_s:
                self.env.timeout(occ.end_s).callbacks.append(
                    functools.partial(self._apply, occ, sites, hdmap, -1)
                )

    def _apply(
        self, occ: Occurrence, sites: list[Site], hdmap: HdMap, step: int, _event: object
    ) -> None:
        """Start (``step`` +1) or end (−1) an occurrence."""
        kind, e = occ.fault.kind, occ.element
        if kind in ("rsu_down", "cell_down"):
            self._station("pc5" if kind == "rsu_down" else "uu", e, step)
        elif kind == "site_down":
            self._site(sites[e], e, step)
        elif kind in ("link_cut", "link_degraded"):
            self._link(e, occ.fault, step > 0)
        elif kind == "map_service_down":
            self._map(hdmap, step)
        elif step > 0:
            self._gnss.append(occ.fault)
        else:
            self._gnss.remove(occ.fault)

    # -- stations ------------------------------------------------------------------------

    def _station(self, via: str, index: int, step: int) -> None:
        self._down[via][index] += step
        self.stations_down[via] += step
        if via not in self._ranked:
            self._ranked[via] = ranked_within(
                self.world.samples.xy, self._xy[via], self._range[via]
            )

    def station_up(self, via: str, index: int) -> bool:
        """Whether RSU (``via="pc5"``) or cell (``"uu"``) ``index`` is up now."""
        return not self._down[via][index]

    def station(self, via: str, vehicle: Vehicle, sample: int, station: int) -> int:
        """The station serving ``vehicle`` at road sample ``sample`` now (nominally ``station``);
        -1 when none does."""
        true_sample = sample
        if self._gnss:
            spec = self._degraded(vehicle)
            if spec is not None:
                sample = self._reported(vehicle, sample, spec.error_m)
                station = int(self._tables[via][sample])
        down = self._down[via]
        if station >= 0 and down[station]:
            ranked = self._ranked[via][sample]
            station = next((int(s) for s in ranked if s >= 0 and not down[s]), -1)
        if station >= 0 and sample != true_sample:
            dx, dy = self._xy[via][station] - self.world.samples.xy[true_sample]
            if dx * dx + dy * dy > self._range[via] ** 2:
                return -1  # matched to a station that does not reach the vehicle
        return station

    # -- GNSS ------------------------------------------------------------------------------

    def _degraded(self, vehicle: Vehicle) -> FaultSpec | None:
        for spec in self._gnss:
            key = (spec.name, vehicle.ident)
            member = self._gnss_members.get(key)
            if member is None:
                member = self._member(spec, vehicle)
                self._gnss_members[key] = member
            if member or (spec.target.area and self._in_area(spec, vehicle)):
                return spec
        return None

    def _member(self, spec: FaultSpec, vehicle: Vehicle) -> bool:
        if spec.target.area:
            return False  # decided where the vehicle is, message by message
        if spec.target.share is None:
            return True
        rng = np.random.default_rng(
            np.random.SeedSequence(
                self.world.scenario.seed,
                spawn_key=(FAULT_STREAM, zlib.crc32(spec.name.encode()), vehicle.ident),
            )
        )
        return bool(rng.random() < spec.target.share)

    def _in_area(self, spec: FaultSpec, vehicle: Vehicle) -> bool:
        polygons = self._polygons
        if spec.name not in polygons:
            polygons[spec.name] = _polygon(self.world, spec)
        samples = self.world.samples
        sample = samples.at(vehicle.edge, vehicle.s_m(self.env.now))
        return bool(contains_xy(polygons[spec.name], *samples.xy[sample]))

    def _reported(self, vehicle: Vehicle, sample: int, error_m: float) -> int:
        """The road sample at the vehicle's reported position: off by N(0, error_m) along its edge."""
        samples = self.world.samples
        edge = vehicle.edge
        s_m = vehicle.s_m(self.env.now) + float(self._gnss_rng.normal(0.0, error_m))
        length = float(samples.step_m[edge] * samples.count[edge])
        return samples.at(edge, min(max(s_m, 0.0), length - 1e-9))

    # -- sites and the map service -----------------------------------------------------------

    def _site(self, site: Site, index: int, step: int) -> None:
        self._site_down[index] += step
        if step > 0 and self._site_down[index] == 1:
            site.fail()
        elif step < 0 and self._site_down[index] == 0:
            site.repair()

    def _map(self, hdmap: HdMap, step: int) -> None:
        self._map_down += step
        if step > 0 and self._map_down == 1:
            hdmap.pause()
        elif step < 0 and self._map_down == 0:
            hdmap.resume()

    # -- backhaul links ------------------------------------------------------------------------

    def _link(self, link: frozenset[Any], spec: FaultSpec, start: bool) -> None:
        if start:
            self._links.setdefault(link, []).append(spec)
        else:
            self._links[link].remove(spec)
            if not self._links[link]:
                del self._links[link]
        self._reroute()

    def _reroute(self) -> None:
        if not self._links:
            self.routes = None
            return
        if self._graph is None:
            self._graph = backhaul_graph(self.world)
        G = self._graph.copy()
        for link, specs in self._links.items():
            u, v = tuple(link)
            if any(s.kind == "link_cut" for s in specs):
                G.remove_edge(u, v)
                continue
            data = G.edges[u, v]
            for s in specs:
                data["delay_s"] += s.extra_delay_ms / 1000
                data["loss"] = 1 - (1 - data["loss"]) * (1 - s.loss)
        table = route_table(
            G, self.world.n_rsus + len(self.world.cell_xy), [s.name for s in self.world.sites]
        )
        self.routes = (table.prop_s, table.bit_s, table.loss)

    def route(
        self, ap: int, site: int, size_bytes: int, reply_bytes: int
    ) -> tuple[float, float, float]:
        """``(up_s, down_s, loss)`` from access point ``ap`` to site ``site`` on the backhaul as it
        is now (while links are faulty); loss 1 when no path is left."""
        assert self.routes is not None
        prop, bit, loss = self.routes
        p = float(prop[ap, site])
        if not np.isfinite(p):
            return 0.0, 0.0, 1.0
        b = float(bit[ap, site])
        return p + 8.0 * size_bytes * b, p + 8.0 * reply_bytes * b, float(loss[ap, site])

    def reachable(self, ap: int, site: int) -> bool:
        """Whether a path from ``ap`` to ``site`` is left."""
        return self.routes is None or bool(np.isfinite(self.routes[0][ap, site]))
