"""The batch evaluator's tables: where vehicles were, who sends when, the routes as
arrays, and one row per request (avzone/engine/batch.py runs them window by window)."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from avzone.cloud.windowed import WindowedQueue
from avzone.engine.plans import FlowPlan
from avzone.engine.steplog import StepLog
from avzone.network.transport import Segments
from avzone.scenario import Flow
from avzone.vehicles.mobility import Vehicle

__all__ = ["Trajectories", "stable_argsort"]


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, faster: a quicksort, then each run of equal
    values put back in index order (float keys rarely tie, so that pass is short).

    >>> stable_argsort(np.array([2.0, 1.0, 2.0, 1.0, 0.5])).tolist()
    [4, 1, 3, 0, 2]
    >>> stable_argsort(np.array([np.nan, 1.0, np.nan, 0.0])).tolist()
    [3, 1, 0, 2]
    """
    order = np.argsort(values)
    _ties_in_index_order(np.asarray(values)[order], order)
    return order


@numba.njit(cache=True)
def _ties_in_index_order(sorted_values: np.ndarray, order: np.ndarray) -> None:  # pragma: no cover
    """Sort ``order`` ascending within each run of equal ``sorted_values`` (insertion sort)."""
    n = order.size
    i = 0
    while i < n:
        j = i + 1
        v = sorted_values[i]
        while j < n and (
            sorted_values[j] == v or (v != v and sorted_values[j] != sorted_values[j])
        ):
            j += 1  # equal, or both NaN (sorted last)
        for k in range(i + 1, j):
            x = order[k]
            m = k - 1
            while m >= i and order[m] > x:
                order[m + 1] = order[m]
                m -= 1
            order[m + 1] = x
        i = j


class Trajectories:
    """Every vehicle's edges in the order it entered them; positions by interpolation.

    A vehicle on edge ``e`` entered at ``t_e`` with speed ``v`` is at
    ``min(L_e, (t − t_e)·v)`` along it (held at the end while waiting at a
    signal), as :meth:`Vehicle.s_m`.
    """

    def __init__(self) -> None:
        self.log = StepLog(edge="q", speed="d", length="d")

    def enter(self, vehicle: Vehicle) -> None:
        """Log ``vehicle`` entering its current edge (the mobility hook)."""
        self.log.append(
            vehicle.ident,
            vehicle.t_enter_s,
            edge=vehicle.edge,
            speed=vehicle.speed_mps,
            length=vehicle.edge_length_m,
        )

    def samples(
        self,
        vehicle: np.ndarray,
        t_s: np.ndarray,
        start: np.ndarray,
        step_m: np.ndarray,
        count: np.ndarray,
    ) -> np.ndarray:
        """The road sample each (vehicle, time) of the current window is on: on the edge
        ``e`` of the vehicle's last entry at or before the time, at ``s = min(L_e, (t −
        t_e)·v)``, the sample ``start[e] + min(⌊s / step_m[e]⌋, count[e] − 1)`` (the road
        samples' layout, :class:`~avzone.network.coverage.RoadSamples`).

        Times must lie at or after the window's start (:meth:`advance`) and before any
        entry not yet logged.
        """
        if vehicle.size == 0:
            return np.empty(0, dtype=np.int64)
        which = self.log.find(vehicle, t_s)
        if (which < 0).any():  # pragma: no cover - a broken invariant
            raise RuntimeError("batch evaluator: a message before its vehicle's first edge")
        log = self.log
        out = np.empty(vehicle.size, dtype=np.int64)
        _samples_at(
            which,
            np.ascontiguousarray(t_s, np.float64),
            np.frombuffer(log.t, np.float64),
            log["edge"],
            log["speed"],
            log["length"],
            start,
            step_m,
            count,
            out,
        )
        return out

    def advance(self) -> None:
        """A window ends: later look-ups are at or after now."""
        self.log.advance()


@numba.njit(cache=True)
def _samples_at(
    which: np.ndarray,
    t_s: np.ndarray,
    t_enter: np.ndarray,
    edge: np.ndarray,
    speed_mps: np.ndarray,
    length_m: np.ndarray,
    start: np.ndarray,
    step_m: np.ndarray,
    count: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Per look-up: its log entry's edge, the distance along it, the sample (see ``samples``)."""
    for j in range(which.size):
        w = which[j]
        e = edge[w]
        s_m = min(length_m[w], (t_s[j] - t_enter[w]) * speed_mps[w])
        out[j] = start[e] + min(np.int64(s_m / step_m[e]), count[e] - 1)


@dataclass
class _Sends:
    """One flow's senders: per (vehicle or RSU), the next send time.

    ``who`` / ``next_s``: the senders so far, in the order they started;
    ``new_who`` / ``new_next_s``: those started since the last window, after them.
    """

    flow: Flow
    plan: FlowPlan
    period_s: float
    who: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    next_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    new_who: array[int] = field(default_factory=lambda: array("q"))
    new_next_s: array[float] = field(default_factory=lambda: array("d"))


@dataclass(frozen=True)
class _PlanArrays:
    """A flow plan's per (access point, candidate) lists as 2-D arrays."""

    station: np.ndarray
    site: np.ndarray
    route_loss: np.ndarray

    @classmethod
    def of(cls, plan: FlowPlan) -> _PlanArrays:
        def table(rows: list[list[Any]], dtype: type) -> np.ndarray:
            return np.array(rows, dtype=dtype) if rows else np.empty((0, 0), dtype=dtype)

        return cls(
            np.asarray(plan.station, dtype=np.int64),
            table(plan.site, np.int64),
            table(plan.route_loss, np.float64),
        )


class _Paths:
    """The backhaul routes in use as padded arrays of directed link ids, per (access point, site).

    ``links[pair]`` is the route (−1 padded) and ``lost_by[pair, j]`` the
    probability that the message is lost at or before its ``j``-th link,
    ``1 − Π_{i≤j}(1 − p_i)`` in the order :func:`~avzone.network.transport.lost_at`
    multiplies, so a uniform ``u`` below the route's loss is lost at the first
    ``j`` with ``u < lost_by[pair, j]``, exactly as in the event evaluator.
    """

    def __init__(self, routes: list[list[Segments | None]], loss: tuple[float, ...]) -> None:
        n_access = len(routes)
        n_sites = len(routes[0]) if routes else 0
        self.pair = np.full((n_access, n_sites), -1, dtype=np.int64)
        paths: list[tuple[int, ...]] = []
        for ap, row in enumerate(routes):
            for site, segments in enumerate(row):
                if segments is not None:
                    self.pair[ap, site] = len(paths)
                    paths.append(tuple(d for segment in segments for d in segment))
        width = max((len(p) for p in paths), default=0)
        self.links = np.full((len(paths), max(width, 1)), -1, dtype=np.int64)
        self.lost_by = np.full((len(paths), max(width, 1)), np.inf)
        for i, path in enumerate(paths):
            self.links[i, : len(path)] = path
            survive = 1.0
            for j, d in enumerate(path):
                survive *= 1.0 - loss[d // 2]
                self.lost_by[i, j] = 1.0 - survive
        self.length = np.array([len(p) for p in paths], dtype=np.int64)

    def of(self, ap: np.ndarray, site: np.ndarray) -> np.ndarray:
        """The routes of each (access point, site), as rows of link ids."""
        return self.links[self.pair[ap, site]]

    def truncated(self, ap: np.ndarray, site: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The routes of lost messages up to the link that loses them (drawn from ``u``)."""
        pair = self.pair[ap, site]
        hit = u[:, None] < self.lost_by[pair]
        position = np.where(hit.any(axis=1), hit.argmax(axis=1), self.length[pair] - 1)
        links = self.links[pair].copy()
        links[np.arange(links.shape[1])[None, :] > position[:, None]] = -1
        return links


# What became of a request (a row of _Jobs).
_TRANSIT, _WAITING, _STARTED, _REFUSED, _LOST, _DONE, _DOWN = range(7)


class _Jobs:
    """Growable columns, one row per request that entered the backhaul.

    ``t_in``: entry into the backhaul; ``arrival``: at the site (NaN while on
    the links); ``start`` / ``end``: of service; ``last``: the reply's access
    hop down (core and radio); ``t_out``: the reply's exit from the backhaul.
    """

    INTS = ("flow", "vehicle", "ap", "k", "site", "status")
    FLOATS = ("t0", "t_in", "arrival", "hold", "start", "end", "last", "t_out")

    def __init__(self) -> None:
        self.size = 0
        self.cols: dict[str, np.ndarray] = {n: np.empty(4096, np.int64) for n in self.INTS}
        self.cols.update({n: np.empty(4096, np.float64) for n in self.FLOATS})

    def add(self, **values: np.ndarray) -> np.ndarray:
        """Append rows (columns not given: NaN, status in transit); their row numbers."""
        n = len(values["t0"])
        if self.size + n > self.cols["t0"].size:
            capacity = max(2 * self.cols["t0"].size, self.size + n)
            for name, col in self.cols.items():
                grown = np.empty(capacity, dtype=col.dtype)
                grown[: self.size] = col[: self.size]
                self.cols[name] = grown
        rows = slice(self.size, self.size + n)
        for name, col in self.cols.items():
            col[rows] = values.get(name, _TRANSIT if name == "status" else math.nan)
        self.size += n
        return np.arange(rows.start, rows.stop, dtype=np.int64)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name][: self.size]

    def live(self) -> np.ndarray:
        """Per row, whether it is still in flight, queued or in service (its times may
        still change); the others are finished."""
        status = self["status"]
        live = (status == _TRANSIT) | (status == _WAITING) | (status == _STARTED)
        live |= (status == _DOWN) & np.isnan(self["t_out"])  # a reply still on the links
        return live

    def drop(self, gone: np.ndarray) -> np.ndarray:
        """Drop the rows where ``gone``; the others keep their order. Returns each old
        row's new number (−1 for the dropped), for the callers to renumber theirs."""
        new_row = np.cumsum(~gone) - 1
        new_row[gone] = -1
        kept = ~gone
        n = int(kept.sum())
        for col in self.cols.values():
            col[:n] = col[: self.size][kept]
        self.size = n
        return new_row


@dataclass
class _SiteQueue:
    """A site's windowed queue and which job rows wait in it (queue id → row)."""

    queue: WindowedQueue
    waiting: dict[int, int] = field(default_factory=dict)
