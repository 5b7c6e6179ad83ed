"""The vehicle side of the accurate map: tile versions per vehicle, delivery, staleness.

Every vehicle holds a version of every tile (``Vehicle.map_versions``). A
released tile version reaches a vehicle by the scenario's
``hdmap.distribution.methods``:

- ``push``: at a release, the cloud sends the tile to every vehicle in it or
  within ``push_radius_m`` of its road; and when a vehicle enters a tile, the
  cloud sends the outdated tiles within ``push_radius_m`` of where it is
  (including the one it entered) — the cloud follows vehicles' positions.
- ``pull``: a vehicle entering a tile asks for it; the request costs the Uu
  uplink latency before the download starts.
- ``prefetch``: a vehicle downloads the outdated tiles along the rest of its
  route (within ``prefetch_ahead_m``, or all of it) at each tile entry, and the
  cloud sends a released tile to the vehicles whose route ahead crosses it.

A download starts only where the vehicle has Uu coverage; it takes the
downlink latency plus the tile's bytes at the cells' downlink rate, and is
lost with probability ``loss``. A download that could not start or was lost
is tried again every ``retry_s`` while the vehicle still wants the tile by one
of its methods (for ``pull`` only: while it is in the tile).

A vehicle drives *stale* while its version of the tile it is in is older than
the world's. Each stale episode (from the change, or from entering the tile,
until an up-to-date version arrives or the vehicle leaves the tile) is one
staleness sample per vehicle-tile visit, with the vehicle-km driven in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import simpy

from avzone.engine.world import World
from avzone.hdmap.changes import edge_weights, reverse_edges, road_km_per_tile
from avzone.vehicles.mobility import Vehicle

if TYPE_CHECKING:
    from avzone.hdmap.process import Change

__all__ = ["Delivery", "tile_boxes"]

STREAMS = ("changes", "detect", "loss", "service")
"""The HD map's random streams, spawned in this order from the run's HD-map stream."""


def tile_boxes(sample_tile: np.ndarray, samples_xy: np.ndarray, n_tiles: int) -> np.ndarray:
    """Bounding box (xmin, ymin, xmax, ymax) of each tile's road samples; NaN without road.

    Examples
    --------
    >>> tile_boxes(np.array([1, 1]), np.array([[0.0, 5.0], [10.0, 1.0]]), 2).tolist()[1]
    [0.0, 1.0, 10.0, 5.0]
    """
    lo = np.full((n_tiles, 2), np.inf)
    hi = np.full((n_tiles, 2), -np.inf)
    np.minimum.at(lo, sample_tile, samples_xy)
    np.maximum.at(hi, sample_tile, samples_xy)
    box = np.hstack([lo, hi])
    box[~np.isfinite(box).all(axis=1)] = np.nan
    return box


class Delivery:
    """Tile versions of the world, the cloud and every vehicle; delivery and staleness."""

    def __init__(self, env: simpy.Environment, world: World, rng: np.random.Generator) -> None:
        self.env = env
        self.world = world
        scenario = world.scenario
        self.spec = spec = scenario.hdmap
        self.dist = spec.distribution
        self.streams = dict(zip(STREAMS, rng.spawn(len(STREAMS)), strict=True))
        samples = world.samples
        n = int(world.sample_tile.max()) + 1
        self.n_tiles = n
        weight = edge_weights(reverse_edges(samples.edges))[samples.edge]
        km = road_km_per_tile(world.sample_tile, samples.length_m, weight, n)
        self.tile_bytes = spec.tile_size_bytes + spec.tile_bytes_per_km * km
        cells = scenario.network.cells
        self.download_s = cells.downlink_latency_ms / 1000 + self.tile_bytes * 8 / (
            cells.downlink_rate_mbps * 1e6
        )
        self.request_s = cells.uplink_latency_ms / 1000
        self.boxes = tile_boxes(world.sample_tile, samples.xy, n)
        self.world_version = np.zeros(n, dtype=int)
        self.released = np.zeros(n, dtype=int)
        self.road_tiles = np.unique(world.sample_tile)
        self.inside: dict[int, dict[Vehicle, None]] = {int(t): {} for t in self.road_tiles}
        self.tile_changes: list[list[Change]] = [[] for _ in range(n)]
        self.routes: dict[Vehicle, tuple[list[int], int]] = {}
        self.pending: set[tuple[Vehicle, int]] = set()
        self.service_up = True  # map_service_down faults (avzone/faults) pause releases, downloads
        self._held: list[tuple[int, int]] = []
        self.warmup_s = scenario.warmup_s
        self.control_flows = frozenset(
            spec.control_flows
            if spec.control_flows is not None
            else (
                f.name
                for f in scenario.flows
                if f.source == "vehicle" and f.service is not None and f.reply_bytes > 0
            )
        )
        self.changes = 0
        self.releases = 0
        self.deliveries = 0
        self.passes = 0
        self.update_lag_s: list[float] = []
        self.release_wait_s: list[float] = []
        self.delivered_s: list[float] = []
        self.staleness_s: list[float] = []
        self.stale_km: list[float] = []
        self.control_sent = 0
        self.control_stale = 0
        self.bytes_down = 0.0
        self.bytes_up = 0.0

    # -- hooks of the engine and of mobility ----------------------------------------

    def route(self, vehicle: Vehicle, edges: list[int]) -> None:
        """``vehicle`` starts a trip along ``edges`` (edge indices)."""
        self.routes[vehicle] = (edges, -1)

    def on_edge(self, vehicle: Vehicle, edge: int) -> None:
        """Keep track of where on its route the vehicle is."""
        entry = self.routes.get(vehicle)
        if entry is not None:
            edges, at = entry
            nxt = at + 1
            if nxt < len(edges) and edges[nxt] == edge:
                self.routes[vehicle] = (edges, nxt)

    def control_message(self, vehicle: Vehicle) -> None:
        """A control-loop message leaves ``vehicle`` now (after the warm-up)."""
        self.control_sent += 1
        if vehicle.stale_since_s is not None:
            self.control_stale += 1

    def enter(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` entered ``tile``: deliveries by each method, maybe a stale episode."""
        self.inside[tile][vehicle] = None
        methods = self.dist.methods
        if "push" in methods:
            for t in self._near(vehicle, tile):
                self._download(vehicle, t)
        if "pull" in methods and vehicle.map_versions[tile] < self.released[tile]:
            self._download(vehicle, tile, self.request_s)
        if "prefetch" in methods:
            for t in self._ahead(vehicle):
                self._download(vehicle, t, self.request_s)
        if vehicle.map_versions[tile] < self.world_version[tile]:
            self._stale_begin(vehicle)

    def leave(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` left ``tile`` (or the zone, when it is no longer active)."""
        self.inside[tile].pop(vehicle, None)
        self._stale_end(vehicle)
        if not vehicle.active:
            self.routes.pop(vehicle, None)

    def finish(self) -> None:
        """Close the stale episodes still open at the end of the run (censored)."""
        for members in self.inside.values():
            for vehicle in members:
                self._stale_end(vehicle)

    # -- the world and the cloud call these -------------------------------------------

    def world_changed(self, tile: int) -> None:
        """The world's version of ``tile`` rose: the vehicles in it are now stale."""
        for vehicle in self.inside[tile]:
            self._stale_begin(vehicle)

    def pause(self) -> None:
        """The map service stops: releases are held and no tile is served until :meth:`resume`."""
        self.service_up = False

    def resume(self) -> None:
        """The map service is back: the held releases go out now."""
        self.service_up = True
        held, self._held = self._held, []
        for tile, version in held:
            self.release(tile, version)

    def release(self, tile: int, version: int) -> None:
        """The cloud publishes ``version`` of ``tile`` (with every earlier change of it)."""
        if version <= self.released[tile]:
            return
        if not self.service_up:
            self._held.append((tile, version))
            return
        self.released[tile] = version
        methods = self.dist.methods
        if "push" in methods:
            targets = dict(self.inside[tile])
            if self.dist.push_radius_m > 0:
                for members in self.inside.values():
                    for vehicle in members:
                        if self._distance_m(vehicle, tile) <= self.dist.push_radius_m:
                            targets[vehicle] = None
            for vehicle in targets:
                self._download(vehicle, tile)
        if "prefetch" in methods:
            for vehicle in list(self.routes):
                if vehicle.active and tile in self._ahead(vehicle):
                    self._download(vehicle, tile)

    # -- downloads ------------------------------------------------------------------

    def sample_of(self, vehicle: Vehicle) -> int:
        """The road sample the vehicle is on now."""
        return self.world.samples.at(vehicle.edge, vehicle.s_m(self.env.now))

    def _distance_m(self, vehicle: Vehicle, tile: int) -> float:
        x, y = self.world.samples.xy[self.sample_of(vehicle)]
        x0, y0, x1, y1 = self.boxes[tile]
        return float(np.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1)))

    def _near(self, vehicle: Vehicle, tile: int) -> list[int]:
        """The tile entered and the road tiles within ``push_radius_m`` of the vehicle."""
        radius = self.dist.push_radius_m
        if radius <= 0:
            return [tile]
        x, y = self.world.samples.xy[self.sample_of(vehicle)]
        b = self.boxes
        with np.errstate(invalid="ignore"):
            dx = np.maximum(np.maximum(b[:, 0] - x, 0.0), x - b[:, 2])
            dy = np.maximum(np.maximum(b[:, 1] - y, 0.0), y - b[:, 3])
            near = np.flatnonzero(np.hypot(dx, dy) <= radius)
        return [tile, *(int(t) for t in near if t != tile)]

    def _ahead(self, vehicle: Vehicle) -> list[int]:
        """The tiles on the vehicle's route from where it is, within ``prefetch_ahead_m``."""
        entry = self.routes.get(vehicle)
        if entry is None:
            return []
        edges, at = entry
        limit = self.dist.prefetch_ahead_m
        world = self.world
        now = self.env.now
        start = max(at, 0)
        gone_m = vehicle.s_m(now) if at >= 0 else 0.0
        out: list[int] = [vehicle.tile] if at >= 0 and vehicle.tile >= 0 else []
        base_m = -gone_m
        for edge in edges[start:]:
            for s_m, t in world.edge_tiles[edge]:
                if limit is not None and base_m + s_m > limit:
                    return out
                if (base_m + s_m > 0 or at < 0) and t not in out:
                    out.append(t)
            base_m += float(world.edge_length_m[edge])
        return out

    def _wanted(self, vehicle: Vehicle, tile: int) -> bool:
        """Whether the vehicle still wants ``tile`` by one of its methods."""
        if not vehicle.active or vehicle.map_versions[tile] >= self.released[tile]:
            return False
        methods = self.dist.methods
        return (
            tile == vehicle.tile
            or ("push" in methods and self._distance_m(vehicle, tile) <= self.dist.push_radius_m)
            or ("prefetch" in methods and tile in self._ahead(vehicle))
        )

    def _download(self, vehicle: Vehicle, tile: int, request_s: float = 0.0) -> None:
        if vehicle.map_versions[tile] >= self.released[tile] or (vehicle, tile) in self.pending:
            return
        if vehicle.edge < 0:
            return  # not on the road yet: it asks again at its first tile entry
        self.pending.add((vehicle, tile))
        if self.world.uu_cell[self.sample_of(vehicle)] < 0 or not self.service_up:
            self._retry(vehicle, tile)  # no coverage here (or no map service)
            return
        size = float(self.tile_bytes[tile])
        if self.env.now >= self.warmup_s:
            self.bytes_down += size
        if self.dist.loss and self.streams["loss"].random() < self.dist.loss:
            self._retry(vehicle, tile)
            return
        version = int(self.released[tile])
        self.env.timeout(request_s + float(self.download_s[tile])).callbacks.append(
            lambda _: self._delivered(vehicle, tile, version)
        )

    def _retry(self, vehicle: Vehicle, tile: int) -> None:
        def again(_: object) -> None:
            self.pending.discard((vehicle, tile))
            if self._wanted(vehicle, tile):
                self._download(vehicle, tile)

        self.env.timeout(self.dist.retry_s).callbacks.append(again)

    def _delivered(self, vehicle: Vehicle, tile: int, version: int) -> None:
        self.pending.discard((vehicle, tile))
        old = int(vehicle.map_versions[tile])
        if version <= old:
            return
        vehicle.map_versions[tile] = version
        now = self.env.now
        if now >= self.warmup_s:
            self.deliveries += 1
        for c in reversed(self.tile_changes[tile]):
            if c.version <= old:
                break
            if c.version <= version and c.time_s >= self.warmup_s:
                self.delivered_s.append(now - c.time_s)
        if vehicle.tile == tile and vehicle.active and version >= self.world_version[tile]:
            self._stale_end(vehicle)
        if version < self.released[tile] and self._wanted(vehicle, tile):
            self._download(vehicle, tile)  # a newer version came out meanwhile

    # -- staleness ------------------------------------------------------------------

    def _stale_begin(self, vehicle: Vehicle) -> None:
        if vehicle.stale_since_s is None:
            vehicle.stale_since_s = self.env.now
            vehicle.stale_odo_m = vehicle.odometer_m(self.env.now)

    def _stale_end(self, vehicle: Vehicle) -> None:
        since = vehicle.stale_since_s
        if since is None:
            return
        vehicle.stale_since_s = None
        if since >= self.warmup_s:
            now = self.env.now
            self.staleness_s.append(now - since)
            self.stale_km.append((vehicle.odometer_m(now) - vehicle.stale_odo_m) / 1000)

    def _count_bytes(self, up: float) -> None:
        if self.env.now >= self.warmup_s:
            self.bytes_up += up
