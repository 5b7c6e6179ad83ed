"""Vehicles driving edge by edge: the SimPy processes of the smart car.

A vehicle drives its route at free flow (``length / speed`` per edge), waits
at signalised nodes, and tells a listener (the HD map) when it enters and
leaves map tiles. Its position at any time is interpolated on the current
edge, so message flows can ask where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import numpy as np
import simpy

__all__ = ["TileListener", "Vehicle", "drive"]


class TileListener(Protocol):
    """Who is told of tile changes (the HD-map process)."""

    def enter(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` entered ``tile``."""

    def leave(self, vehicle: Vehicle, tile: int) -> None:
        """``vehicle`` left ``tile``."""


class Vehicle:
    """One vehicle's moving state. Positions are resolved through the world's road samples."""

    __slots__ = (
        "active",
        "edge",
        "edge_length_m",
        "ident",
        "map_versions",
        "odo_start_m",
        "speed_mps",
        "stale_odo_m",
        "stale_since_s",
        "t_enter_s",
        "tile",
    )

    def __init__(self, ident: int, map_versions: np.ndarray) -> None:
        self.ident = ident
        self.active = True
        self.edge = -1
        self.edge_length_m = 0.0
        self.t_enter_s = 0.0
        self.speed_mps = 1.0
        self.odo_start_m = 0.0
        self.tile = -1
        self.map_versions = map_versions
        self.stale_since_s: float | None = None
        self.stale_odo_m = 0.0

    def s_m(self, t_s: float) -> float:
        """Distance along the current edge at time ``t_s`` (held at its end while waiting)."""
        return min(self.edge_length_m, (t_s - self.t_enter_s) * self.speed_mps)

    def odometer_m(self, t_s: float) -> float:
        """Distance driven since the vehicle appeared."""
        return self.odo_start_m + self.s_m(t_s)


def drive(
    env: simpy.Environment,
    vehicle: Vehicle,
    route: list[int],
    *,
    length_m: np.ndarray,
    speed_mps: np.ndarray,
    signalized_end: np.ndarray,
    edge_tiles: tuple[list[tuple[float, int]], ...],
    signal_wait_s: Callable[[], float],
    tiles: TileListener,
    on_edge: Callable[[Vehicle, int], None] | None = None,
) -> Generator[Any, Any, None]:
    """Drive ``route`` (edge indices) from the vehicle's current state; returns at the end.

    Per edge: enter tiles at their boundaries, take ``length / speed`` in all,
    then wait ``signal_wait_s()`` if the edge ends at a signalised node (not
    after the last edge). ``on_edge(vehicle, edge)`` is called as each edge begins.
    """
    for n, edge in enumerate(route):
        if vehicle.edge >= 0:
            vehicle.odo_start_m += vehicle.edge_length_m
        vehicle.edge = edge
        vehicle.edge_length_m = float(length_m[edge])
        vehicle.speed_mps = float(speed_mps[edge])
        vehicle.t_enter_s = env.now
        if on_edge is not None:
            on_edge(vehicle, edge)
        s_prev = 0.0
        for s_m, tile in edge_tiles[edge]:
            if s_m > s_prev:
                yield env.timeout((s_m - s_prev) / vehicle.speed_mps)
                s_prev = s_m
            if tile != vehicle.tile:
                if vehicle.tile >= 0:
                    tiles.leave(vehicle, vehicle.tile)
                vehicle.tile = tile
                tiles.enter(vehicle, tile)
        yield env.timeout((vehicle.edge_length_m - s_prev) / vehicle.speed_mps)
        if signalized_end[edge] and n + 1 < len(route):
            wait = signal_wait_s()
            if wait > 0:
                yield env.timeout(wait)
