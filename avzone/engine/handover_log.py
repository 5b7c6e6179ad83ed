"""The handover log of the batch evaluator: every change of a vehicle's Uu link state.

An entry is (vehicle ident, time in s, serving cell, interrupted until in s), written
at the exact time of the change (attach, handover at the A3 sample + TTT, radio link
failure, loss of coverage) by the compiled walk (:mod:`avzone.engine.handover_walk`).
Per vehicle the entries come in time order; different vehicles' entries may
interleave in any order, since every reader sorts by vehicle and time.

The state in force at any time is the last change at or before it
(:meth:`HandoverLog.state_at`); :meth:`HandoverLog.fold` forgets what no later
query needs, so between windows the log holds about one entry per vehicle.

>>> log = HandoverLog()
>>> log.append(7, 0.0, 3, -1.0)     # vehicle 7 attaches to cell 3 at t = 0
>>> log.append(7, 5.16, 4, 5.19)    # and hands over to cell 4 at 5.16 s (30 ms interruption)
>>> serving, until = log.state_at(np.array([7, 7, 7, 8]), np.array([-1.0, 5.0, 5.16, 9.0]))
>>> serving.tolist(), until.tolist()
([-1, 3, 4, -1], [-1.0, -1.0, 5.19, -1.0])
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["HandoverLog"]

_FIRST_CAPACITY = 1 << 14
"""Entries the log holds before it first grows."""


class HandoverLog:
    """Changes of vehicles' (serving cell, interrupted until), in numpy buffers.

    ``who``, ``when``, ``serving`` and ``until`` are buffers of :attr:`capacity`
    entries, of which the first :attr:`size` are the log (``n[0]`` holds the size,
    so compiled code can append in place after :meth:`reserve`).
    """

    def __init__(self) -> None:
        self.who = np.empty(_FIRST_CAPACITY, dtype=np.int64)
        self.when = np.empty(_FIRST_CAPACITY, dtype=np.float64)
        self.serving = np.empty(_FIRST_CAPACITY, dtype=np.int64)
        self.until = np.empty(_FIRST_CAPACITY, dtype=np.float64)
        self.n = np.zeros(1, dtype=np.int64)
        self._by_vehicle: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """Entries in the log."""
        return int(self.n[0])

    @property
    def capacity(self) -> int:
        """Entries the buffers hold."""
        return self.who.size

    def reserve(self, extra: int) -> None:
        """Grow the buffers (at least doubling) so that ``extra`` more entries fit."""
        size = self.size
        if size + extra <= self.capacity:
            return
        capacity = max(2 * self.capacity, size + extra)
        for name in ("who", "when", "serving", "until"):
            old = getattr(self, name)
            grown = np.empty(capacity, dtype=old.dtype)
            grown[:size] = old[:size]
            setattr(self, name, grown)

    def append(self, who: int, when_s: float, serving: int, until_s: float) -> None:
        """One change: vehicle ``who`` is served by ``serving`` from ``when_s`` on,
        interrupted until ``until_s``."""
        self.reserve(1)
        i = self.size
        self.who[i], self.when[i], self.serving[i], self.until[i] = who, when_s, serving, until_s
        self.n[0] = i + 1

    def fold(self, before_s: float, alive: np.ndarray) -> None:
        """Forget changes no query at ``t ≥ before_s`` needs: per vehicle, keep the last
        change before ``before_s`` and every later one; vehicles not ``alive`` (a boolean
        array by ident: they left the zone) that changed nothing since keep nothing."""
        size = self.size
        if size == 0:
            return
        who, when = self.who[:size], self.when[:size]
        old = when < before_s
        # the last old entry per vehicle: old entries, in log order (time order per vehicle)
        index = np.flatnonzero(old)
        order = np.argsort(who[index], kind="stable")
        sorted_who = who[index][order]
        is_last = np.ones(index.size, dtype=bool)
        is_last[:-1] = sorted_who[1:] != sorted_who[:-1]
        keep = ~old
        last = index[order[is_last]]
        keep[last[alive[who[last]]]] = True
        kept = int(keep.sum())
        for buffer in (self.who, self.when, self.serving, self.until):
            buffer[:kept] = buffer[:size][keep]
        self.n[0] = kept
        self._by_vehicle = None

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The log sorted by vehicle, then time, then log order, and per vehicle ident v
        its entries' range ``offsets[v] : offsets[v + 1]`` (cached until the log changes)."""
        size = self.size
        if self._by_vehicle is None or self._by_vehicle[1].size != size:
            who, when = self.who[:size], self.when[:size]
            order = np.lexsort((np.arange(size), when, who))
            offsets = np.zeros(int(who.max(initial=-1)) + 2, dtype=np.int64)
            np.cumsum(np.bincount(who, minlength=offsets.size - 1), out=offsets[1:])
            self._by_vehicle = (
                offsets,
                when[order],
                self.serving[:size][order],
                self.until[:size][order],
            )
        return self._by_vehicle

    def state_at(self, vehicle: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each vehicle's (serving cell, interrupted until) in force at each time: the last
        logged change at or before it; (−1, −1.0) before the vehicle's first change.

        Exact for times from the last :meth:`fold` on, as long as every change up to the
        time asked has been logged. A binary search per query (compiled) inside its vehicle's part
        of the sorted log.
        """
        vehicle = np.asarray(vehicle, dtype=np.int64)
        t_s = np.asarray(t_s, dtype=np.float64)
        n = vehicle.size
        serving = np.full(n, -1, dtype=np.int64)
        until = np.full(n, -1.0)
        if self.size == 0 or n == 0:
            return serving, until
        offsets, when, log_serving, log_until = self._sorted()
        _state_at(
            np.ascontiguousarray(vehicle),
            np.ascontiguousarray(t_s),
            offsets,
            when,
            log_serving,
            log_until,
            serving,
            until,
        )
        return serving, until


@numba.njit(cache=True)
def _state_at(
    vehicle: np.ndarray,
    t_s: np.ndarray,
    offsets: np.ndarray,
    when: np.ndarray,
    log_serving: np.ndarray,
    log_until: np.ndarray,
    serving: np.ndarray,
    until: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """For each query, a binary search in its vehicle's part ``offsets[v] : offsets[v+1]``
    of the log sorted by vehicle then time: the last change at or before ``t_s``."""
    n_vehicles = offsets.size - 1
    for j in range(vehicle.size):
        v = vehicle[j]
        if v < 0 or v >= n_vehicles:
            continue
        first, lo, hi = offsets[v], offsets[v], offsets[v + 1]
        t = t_s[j]
        while lo < hi:  # the first entry later than t
            mid = (lo + hi) >> 1
            if when[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        if lo - 1 >= first:
            serving[j] = log_serving[lo - 1]
            until[j] = log_until[lo - 1]
