"""The accurate-map system in time: world changes, releases, delivery, staleness.

First model. The real world changes in each road tile as a Poisson process.
A change is released by the cloud ``delay_s`` after it happens (continuous
mode) or at the first batch boundary (multiples of ``interval_s``) after that.
On release the new tile version is pushed to every vehicle in the tile that
has Uu coverage where it is; a vehicle entering a tile pulls the released
version if it has coverage there. A download takes the Uu downlink latency
plus ``size_bytes`` at the downlink rate. A vehicle without coverage tries
again at its next tile entry.

A vehicle drives *stale* while its version of the tile it is in is older than
the world's. Each stale episode (from the change, or from entering the tile,
until the update arrives or the vehicle leaves the tile) gives one staleness
sample in seconds and the vehicle-km driven in it.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from avzone.engine.world import World
from avzone.vehicles.mobility import Vehicle

__all__ = ["HdMap", "release_time_s"]


def release_time_s(change_s: float, mode: str, delay_s: float, interval_s: float) -> float:
    """When a change at ``change_s`` is released.

    Examples
    --------
    >>> release_time_s(100.0, "continuous", 60.0, 600.0)
    160.0
    >>> release_time_s(100.0, "batch", 60.0, 600.0)
    600.0
    """
    ready = change_s + delay_s
    if mode == "continuous":
        return ready
    return math.ceil(ready / interval_s) * interval_s


class HdMap:
    """Tile versions of the world, the cloud and every vehicle; staleness records."""

    def __init__(self, env: simpy.Environment, world: World, rng: np.random.Generator) -> None:
        self.env = env
        self.world = world
        self.spec = world.scenario.hdmap
        cells = world.scenario.network.cells
        self.download_s = cells.downlink_latency_ms / 1000 + self.spec.tile_size_bytes * 8 / (
            cells.downlink_rate_mbps * 1e6
        )
        n = world.tiles.columns * world.tiles.rows
        self.world_version = np.zeros(n, dtype=int)
        self.released = np.zeros(n, dtype=int)
        self.road_tiles = np.unique(world.sample_tile)
        self.inside: dict[int, dict[Vehicle, None]] = {int(t): {} for t in self.road_tiles}
        self.rng = rng
        self.warmup_s = world.scenario.warmup_s
        self.changes = 0
        self.releases = 0
        self.update_lag_s: list[float] = []
        self.deliveries = 0
        self.staleness_s: list[float] = []
        self.stale_km: list[float] = []
        self.service_up = (
            True  # map_service_down faults (avzone/faults) pause releases and downloads
        )
        self._held: list[tuple[int, int, float]] = []

    def pause(self) -> None:
        """The map service stops: releases are held and no tile is downloaded until :meth:`resume`."""
        self.service_up = False

    def resume(self) -> None:
        """The map service is back: the held releases go out now (pushed to the vehicles there)."""
        self.service_up = True
        held, self._held = self._held, []
        for tile, version, changed_s in held:
            self.release(tile, version, changed_s)

    # -- the world and the cloud --------------------------------------------------

    def run_changes(self) -> Generator[Any, Any, None]:
        """SimPy process: Poisson changes over the tiles that hold road."""
        rate_per_s = self.spec.change_rate_per_tile_per_h / 3600 * len(self.road_tiles)
        if rate_per_s <= 0:
            return
        while True:
            yield self.env.timeout(float(self.rng.exponential(1 / rate_per_s)))
            tile = int(self.road_tiles[self.rng.integers(len(self.road_tiles))])
            self.change(tile)

    def change(self, tile: int) -> None:
        """The road in ``tile`` changes now."""
        now = self.env.now
        self.world_version[tile] += 1
        if now >= self.warmup_s:
            self.changes += 1
        for vehicle in self.inside[tile]:
            self._stale_begin(vehicle)
        at = release_time_s(
            now, self.spec.release_mode, self.spec.release_delay_s, self.spec.release_interval_s
        )
        version = int(self.world_version[tile])
        self.env.timeout(at - now).callbacks.append(lambda _: self.release(tile, version, now))

    def release(self, tile: int, version: int, changed_s: float) -> None:
        """The cloud publishes ``version`` of ``tile``; push it to the vehicles there."""
        if version <= self.released[tile]:
            return
        if not self.service_up:
            self._held.append((tile, version, changed_s))
            return
        self.released[tile] = version
        if changed_s >= self.warmup_s:
            self.releases += 1
            self.update_lag_s.append(self.env.now - changed_s)
        for vehicle in list(self.inside[tile]):
            self._download(vehicle, tile)

    # -- vehicles ---------------------------------------------------------------

    def enter(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` entered ``tile``: pull an update, maybe start a stale episode."""
        self.inside[tile][vehicle] = None
        if vehicle.map_versions[tile] < self.released[tile]:
            self._download(vehicle, tile)
        if vehicle.map_versions[tile] < self.world_version[tile]:
            self._stale_begin(vehicle)

    def leave(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` left ``tile`` (or the zone)."""
        self.inside[tile].pop(vehicle, None)
        self._stale_end(vehicle)

    def finish(self) -> None:
        """Close the stale episodes still open at the end of the run (censored)."""
        for members in self.inside.values():
            for vehicle in members:
                self._stale_end(vehicle)

    def _download(self, vehicle: Vehicle, tile: int) -> None:
        sample = self.world.samples.at(vehicle.edge, vehicle.s_m(self.env.now))
        if self.world.uu_cell[sample] < 0 or not self.service_up:
            return  # no coverage here (or no service): try again at the next tile entry
        version = int(self.released[tile])
        self.env.timeout(self.download_s).callbacks.append(
            lambda _: self._delivered(vehicle, tile, version)
        )

    def _delivered(self, vehicle: Vehicle, tile: int, version: int) -> None:
        if version <= vehicle.map_versions[tile]:
            return
        vehicle.map_versions[tile] = version
        if self.env.now >= self.warmup_s:
            self.deliveries += 1
        if vehicle.tile == tile and vehicle.active and version >= self.world_version[tile]:
            self._stale_end(vehicle)

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
