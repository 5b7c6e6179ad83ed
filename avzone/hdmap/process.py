"""The accurate-map system in time: world changes, detection, fusion, release.

A change happens at a road spot (a road sample) and raises the world's
version of the spot's tile. The cloud learns of it either at once (no
``hdmap.detection``) or from detections: vehicles that drive over the spot
with a map that lacks the change, and RSUs whose sensors see the spot,
detect it with a probability per pass (per sensing cycle for RSUs) and
upload a detection (Uu for vehicles, the RSU's fibre for RSUs) to the
nearest site hosting the fusion service, where it is a job in the site's
queue. The change is *confirmed* when ``confirm_count`` distinct detectors'
jobs are done, or ``confirm_timeout_s`` after the first one. It is
*released* ``delay_s`` after confirmation (continuous) or at the next
multiple of ``interval_s`` after that (batch). A change can expire
(``duration_s``): the end of works is a second change at the same spot.

The vehicle side — delivery by push, pull and prefetch, per-vehicle map
versions, stale episodes — is :class:`avzone.hdmap.delivery.Delivery`, which
this class extends. The full model is in docs/hdmap.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import simpy
from pyproj import Transformer

from avzone.cloud import Site, make_distribution
from avzone.engine.plans import FlowPlan, plan_flow
from avzone.engine.world import World
from avzone.errors import ScenarioError
from avzone.hdmap.changes import edge_weights, reverse_edges, snap_to_samples, spot_rates_per_s
from avzone.hdmap.delivery import Delivery
from avzone.network import nearest_within
from avzone.scenario.schema import Flow, ScheduledChange
from avzone.vehicles.mobility import Vehicle

__all__ = ["Change", "HdMap", "release_time_s"]


def release_time_s(confirmed_s: float, mode: str, delay_s: float, interval_s: float) -> float:
    """When a change confirmed at ``confirmed_s`` is released.

    Examples
    --------
    >>> release_time_s(100.0, "continuous", 60.0, 600.0)
    160.0
    >>> release_time_s(100.0, "batch", 60.0, 600.0)
    600.0
    """
    ready = confirmed_s + delay_s
    if mode == "continuous":
        return ready
    return math.ceil(ready / interval_s) * interval_s


@dataclass(eq=False)
class Change:
    """One change of the road and what has happened to it so far (times in s, NaN: not yet)."""

    ident: int
    tile: int
    sample: int
    edge: int
    s_m: float
    time_s: float
    version: int
    kind: str = "change"
    detected_s: float = math.nan
    confirmed_s: float = math.nan
    released_s: float = math.nan
    detectors: set[int] = field(default_factory=set)  # whose detections were fused
    reporters: set[int] = field(default_factory=set)  # who detected it (and uploads)
    gone: bool = False  # expired: nothing left to detect


class HdMap(Delivery):
    """World, cloud and vehicle map versions; the records behind summary.json ``hdmap``."""

    def __init__(self, env: simpy.Environment, world: World, rng: np.random.Generator) -> None:
        super().__init__(env, world, rng)
        spec = self.spec
        samples = world.samples
        self.reverse = reverse_edges(samples.edges)
        weight = edge_weights(self.reverse)[samples.edge]
        graph = world.graph
        classes = [str(graph.edges[e].get("road_class", "")) for e in samples.edges]
        self.spot_rate_per_s = spot_rates_per_s(
            world.sample_tile,
            samples.length_m,
            weight,
            [classes[e] for e in samples.edge],
            spec.change_rate_per_tile_per_h,
            dict(spec.change_rate_per_km_per_h),
        )
        self.all_changes: list[Change] = []
        self.by_road: dict[int, list[Change]] = {}
        self.detection = spec.detection
        self.sites: list[Site] = []
        self.world_rsu = np.empty(0, dtype=int)
        self.scheduled = self._scheduled()
        self.detected_s: list[float] = []
        self.confirmed_s: list[float] = []
        self.detections = 0
        self.upload_retries = 0
        self._held_changes: list[Change] = []

    # -- the world ------------------------------------------------------------------

    def run_changes(self) -> Generator[Any, Any, None]:
        """SimPy process: Poisson changes at the road spots; starts the scheduled ones."""
        for time_s, sample, kind, duration_s in self.scheduled:
            self.env.timeout(time_s).callbacks.append(
                self._later(partial(self.change_at, sample, kind, duration_s))
            )
        total = float(self.spot_rate_per_s.sum())
        if total <= 0:
            return
        cumulative = np.cumsum(self.spot_rate_per_s) / total
        draw = self.streams["changes"]
        while True:
            yield self.env.timeout(float(draw.exponential(1 / total)))
            sample = int(np.searchsorted(cumulative, draw.random(), side="right"))
            self.change_at(min(sample, len(cumulative) - 1), duration_s=self.spec.change_duration_s)

    def _scheduled(self) -> list[tuple[float, int, str, float]]:
        """The change file's rows as (time_s, sample, kind, duration_s)."""
        rows = self.spec.scheduled
        if not rows:
            return []
        xy = np.array([self._row_xy(r) for r in rows], dtype=float)
        snapped = snap_to_samples(xy, self.world.samples.xy, "hdmap.changes.file")
        return [
            (r.time_s, int(s), r.kind, r.duration_s) for r, s in zip(rows, snapped, strict=True)
        ]

    def _row_xy(self, row: ScheduledChange) -> tuple[float, float]:
        """A scheduled change's location in map metres."""
        world = self.world
        if row.xy_m is not None:
            return (world.bbox_m[0] + row.xy_m[0], world.bbox_m[1] + row.xy_m[1])
        graph = world.graph
        if row.lonlat is not None:
            crs = graph.graph.get("crs")
            if crs is None:
                raise ScenarioError(
                    "hdmap.changes.file", "lon/lat given but the map has no CRS; use x_m and y_m"
                )
            x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*row.lonlat)
            dx, dy = graph.graph.get("offset_m", (0.0, 0.0))
            return (float(x) + dx, float(y) + dy)
        samples = world.samples
        for i, (u, v, k) in enumerate(samples.edges):
            if str(graph.edges[u, v, k].get("id")) == row.edge:
                mid = int(samples.start[i]) + int(samples.count[i]) // 2
                return (float(samples.xy[mid, 0]), float(samples.xy[mid, 1]))
        raise ScenarioError(
            "hdmap.changes.file", f"expected a road id of the map for 'edge', got {row.edge!r}"
        )

    def change(self, tile: int) -> Change:
        """The road in ``tile`` changes now, at the tile's middle road sample."""
        where = np.flatnonzero(self.world.sample_tile == tile)
        return self.change_at(int(where[len(where) // 2]))

    def change_at(self, sample: int, kind: str = "change", duration_s: float = 0.0) -> Change:
        """The road changes now at road sample ``sample``; with ``duration_s`` > 0 it
        changes back (an ``expiry``) that much later."""
        now = self.env.now
        world = self.world
        tile = int(world.sample_tile[sample])
        edge = int(world.samples.edge[sample])
        s_m = (sample - int(world.samples.start[edge]) + 0.5) * float(world.samples.step_m[edge])
        self.world_version[tile] += 1
        c = Change(
            len(self.all_changes), tile, sample, edge, s_m, now, int(self.world_version[tile]), kind
        )
        self.all_changes.append(c)
        self.tile_changes[tile].append(c)
        if now >= self.warmup_s:
            self.changes += 1
        self.world_changed(tile)
        if self.detection is None:
            c.detected_s = now
            self._record(self.detected_s, c, now)
            self._confirm(c)
        else:
            self.by_road.setdefault(self._road(edge), []).append(c)
            self._watch_rsu(c)
        if duration_s > 0:
            self.env.timeout(duration_s).callbacks.append(lambda _: self._expire(c))
        return c

    @staticmethod
    def _later(action: Callable[[], object]) -> Callable[[simpy.Event], None]:
        """An event callback that runs ``action``."""

        def callback(_: simpy.Event) -> None:
            action()

        return callback

    def _expire(self, c: Change) -> None:
        c.gone = True
        self._forget(c)
        self.change_at(c.sample, kind="expiry")

    def _road(self, edge: int) -> int:
        rev = int(self.reverse[edge])
        return min(edge, rev) if rev >= 0 else edge

    def _forget(self, c: Change) -> None:
        spots = self.by_road.get(self._road(c.edge), [])
        if c in spots:
            spots.remove(c)

    # -- detection --------------------------------------------------------------------

    def use_cloud(self, sites: list[Site]) -> None:
        """Attach the run's compute sites (fusion runs as jobs in their queues)."""
        self.sites = sites
        det = self.detection
        if det is None:
            return
        world = self.world
        scenario = world.scenario
        size = det.upload_bytes
        self.plan_uu: FlowPlan = plan_flow(
            world, Flow("hdmap_detection", 1.0, size, "uu", 1000.0, service=det.service)
        )
        self.plan_rsu: FlowPlan = plan_flow(
            world,
            Flow("hdmap_detection", 1.0, size, "fibre", 1000.0, service=det.service, source="rsu"),
        )
        sensors = scenario.road.sensors
        if sensors is not None and det.rsu_probability > 0:
            self.world_rsu = nearest_within(world.samples.xy, world.rsu_xy, sensors.range_m)
        spec = next(s for s in scenario.cloud.services if s.name == det.service)
        samples_s = tuple(x / 1000 for x in spec.samples_ms) or None
        self.fusion_work = make_distribution(spec.dist, spec.mean_ms / 1000, spec.cv, samples_s)

    def edge_entered(self, vehicle: Vehicle, edge: int) -> None:
        """``vehicle`` starts driving ``edge``: it will pass the changes on that road."""
        self.on_edge(vehicle, edge)
        if self.detection is None:
            return
        spots = self.by_road.get(self._road(edge))
        if not spots:
            return
        length = vehicle.edge_length_m
        for c in spots:
            s_m = c.s_m if c.edge == edge else length - c.s_m
            at_s = max(0.0, s_m) / vehicle.speed_mps
            self.env.timeout(at_s).callbacks.append(
                self._later(partial(self._vehicle_pass, vehicle, edge, c))
            )

    def _vehicle_pass(self, vehicle: Vehicle, edge: int, c: Change) -> None:
        assert self.detection is not None
        if (
            c.gone
            or not vehicle.active
            or vehicle.edge != edge
            or not math.isnan(c.confirmed_s)
            or vehicle.map_versions[c.tile] >= c.version
            or vehicle.ident in c.reporters
        ):
            return
        if self.env.now >= self.warmup_s:
            self.passes += 1
        if self.streams["detect"].random() < self.detection.vehicle_probability:
            self._detected(c, vehicle.ident, lambda d: self._upload_uu(vehicle, c, d))

    def _watch_rsu(self, c: Change) -> None:
        if self.world_rsu.size == 0 or self.world_rsu[c.sample] < 0:
            return
        self.env.process(self._rsu_sensing(c, int(self.world_rsu[c.sample])))

    def _rsu_sensing(self, c: Change, rsu: int) -> Generator[Any, Any, None]:
        assert self.detection is not None
        period_s = self.detection.rsu_period_s
        yield self.env.timeout(float(self.streams["detect"].random()) * period_s)
        while not c.gone and math.isnan(c.confirmed_s):
            if self.streams["detect"].random() < self.detection.rsu_probability:
                self._detected(c, -1 - rsu, lambda d: self._upload_rsu(rsu, c, d))
                return
            yield self.env.timeout(period_s)

    def _detected(self, c: Change, detector: int, upload: Callable[[int], None]) -> None:
        now = self.env.now
        if now >= self.warmup_s:
            self.detections += 1
        if math.isnan(c.detected_s):
            c.detected_s = now
            self._record(self.detected_s, c, now)
        c.reporters.add(detector)
        upload(detector)

    def _upload_uu(self, vehicle: Vehicle, c: Change, detector: int) -> None:
        if c.gone or not math.isnan(c.confirmed_s) or not vehicle.active:
            return
        plan = self.plan_uu
        cell = plan.station[self.sample_of(vehicle)]
        if cell < 0 or self.streams["loss"].random() < plan.first_loss:
            self._retry_upload(lambda: self._upload_uu(vehicle, c, detector), sent=cell >= 0)
            return
        self._to_fusion(plan, self.world.n_rsus + cell, c, detector)

    def _upload_rsu(self, rsu: int, c: Change, detector: int) -> None:
        if c.gone or not math.isnan(c.confirmed_s):
            return
        self._to_fusion(self.plan_rsu, rsu, c, detector)

    def _retry_upload(self, again: Callable[[], None], sent: bool) -> None:
        assert self.detection is not None
        if sent:
            self._count_bytes(up=self.detection.upload_bytes)
        self.upload_retries += 1
        self.env.timeout(self.detection.retry_s).callbacks.append(lambda _: again())

    def _to_fusion(self, plan: FlowPlan, ap: int, c: Change, detector: int) -> None:
        """The detection crosses the backhaul to the first hosting site taking jobs."""
        assert self.detection is not None
        det = self.detection
        ranked = plan.site[ap]
        k = next((k for k, i in enumerate(ranked) if self.sites[i].admits()), 0)
        self._count_bytes(up=det.upload_bytes)
        route_loss = plan.route_loss[ap][k]

        def again() -> None:
            self._to_fusion(plan, ap, c, detector)

        if route_loss and self.streams["loss"].random() < route_loss:
            self._retry_upload(again, sent=False)
            return
        site = self.sites[ranked[k]]

        def fused(_wait_s: float) -> None:
            self._fused(c, detector)

        def refused(_cause: str) -> None:
            self._retry_upload(again, sent=False)

        def at_site(_: object) -> None:
            work_s = float(self.fusion_work.sample(self.streams["service"], 1)[0])
            site.submit(work_s, det.priority, fused, refused, det.service)

        self.env.timeout(plan.first_s + plan.up_s[ap][k]).callbacks.append(at_site)

    def _fused(self, c: Change, detector: int) -> None:
        """A detection's fusion job is done: confirm at k detectors or start the timeout."""
        assert self.detection is not None
        if not math.isnan(c.confirmed_s):
            return
        first = not c.detectors
        c.detectors.add(detector)
        if len(c.detectors) >= self.detection.confirm_count:
            self._confirm(c)
        elif first and self.detection.confirm_timeout_s is not None:
            self.env.timeout(self.detection.confirm_timeout_s).callbacks.append(
                lambda _: self._confirm(c)
            )

    # -- the cloud ----------------------------------------------------------------------

    def _confirm(self, c: Change) -> None:
        if not math.isnan(c.confirmed_s):
            return
        now = self.env.now
        c.confirmed_s = now
        self._record(self.confirmed_s, c, now)
        self._forget(c)
        spec = self.spec
        at = release_time_s(now, spec.release_mode, spec.release_delay_s, spec.release_interval_s)
        self.env.timeout(at - now).callbacks.append(lambda _: self._release(c))

    def resume(self) -> None:
        """The map service is back (a map_service_down fault ended): held releases go out now."""
        super().resume()
        held, self._held_changes = self._held_changes, []
        for c in held:
            self._release(c)

    def _release(self, c: Change) -> None:
        if not self.service_up:  # a map_service_down fault: released when the service is back
            self._held_changes.append(c)
            return
        now = self.env.now
        c.released_s = now
        if c.time_s >= self.warmup_s:
            self.releases += 1
            self.update_lag_s.append(now - c.time_s)
            self.release_wait_s.append(now - c.confirmed_s)
        self.release(c.tile, c.version)

    def _record(self, into: list[float], c: Change, now: float) -> None:
        if c.time_s >= self.warmup_s:
            into.append(now - c.time_s)
